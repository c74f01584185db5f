//! English (`en`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "English",
    subscribe_link: "Subscribe",
    search_label: "Search",
    search_title: "Search articles",
    search_results_before: "Results for “",
    search_results_after: "”",
    search_none: "No article matches.",
    search_follow: "Follow this search: ",
    search_not_ready: "The search index is being built; please try again in a moment.",
    search_invalid: "This search cannot be run: ",
};
