//! English (`en`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "English",
    subscribe_link: "Subscribe",
    search_label: "Search",
};
