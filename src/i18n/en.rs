//! English (`en`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "English",
    subscribe_link: "Subscribe",
    search_label: "Search",
    personal_feed_title_before: "Selection for ",
    personal_feed_title_after: "",
    personal_feed_link: "Follow in a feed reader",
    personal_feed_hint: "Rather read in a feed reader? The same selection as a feed (this link is yours alone: do not share it; unsubscribing revokes it):",
    schedule_instant: "Breaking news: within 2 minutes of a new article",
    alert_name: "Breaking news",
    search_title: "Search articles",
    search_results_before: "Results for “",
    search_results_after: "”",
    search_none: "No article matches.",
    search_follow: "Follow this search: ",
    search_not_ready: "The search index is being built; please try again in a moment.",
    search_invalid: "This search cannot be run: ",
};
