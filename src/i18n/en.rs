//! English (`en`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "English",
    subscribe_link: "Subscribe",
    search_label: "Search",
    schedule_instant: "Breaking news: within 2 minutes of a new article",
    alert_name: "Breaking news",
};
