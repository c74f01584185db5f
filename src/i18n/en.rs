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

    language_switcher: "Language",
    colon: ": ",
    list_separator: ", ",
    quoted: |s| format!("“{s}”"),

    home_all: "Everything",
    home_sections: "Sections",
    home_keywords: "Keywords",
    home_find_keyword: "Find a keyword",
    home_find_keyword_hint: "Type a keyword, in Traditional or Simplified characters.",
    home_top_keywords: |top, all| format!("The {top} most used of {all}"),
    home_opml_every_keyword: "OPML (every keyword)",

    article_author: "Author",
    article_editor: "Editor",
    article_keywords: "Keywords",
    follow_heading: "Follow this section or keyword",
    follow_by_feed: "feed",
    follow_by_email: "email digest",
    follow_section: "Section",
    follow_keyword: "Keyword",
    article_not_found: "Article not found.",
    article_not_found_title: "Article not found",

    subscribe_title: |site| format!("Subscribe to {site} digests"),
    manage_title: |site| format!("Manage your {site} subscription"),
    subscribe_button: "Subscribe",
    save_button: "Save",
    email_label: "Email",
    subscribed_address: "Subscribed address: ",
    sections_legend: "Sections",
    keywords_legend: "Keywords",
    more_keywords_label: "Other keywords (separated by commas)",
    keywords_hint: "Any keyword may be typed, in Traditional or Simplified characters.",
    terms_legend: "Terms",
    terms_hint: "Words searched for in titles and text, separated by commas; Traditional or Simplified.",
    schedule_legend: "When to send",
    schedule_presets: ["Daily 08:00", "Mondays 08:00", "Hourly"],
    schedule_custom: "Custom",
    cron_label_before: "Custom cron (minute hour day month weekday, e.g. ",
    cron_label_after: ")",
    timezone_legend: "Time zone",
    mail_language_legend: "Language of the mails",
    subscribe_hint: "We will send a confirmation mail; the subscription starts once you follow its link.",
    field_topics: "Topics",
    field_sections: "Sections",
    field_keywords: "Keywords",
    field_terms: "Terms",
    field_schedule: "When to send",
    field_timezone: "Time zone",
    error_no_topics: "Check at least one section or keyword, or type a term.",
    error_no_schedule: "Choose a preset or type a custom cron expression.",
    error_name: |name, problem| format!("“{name}” {problem}"),
    problem_empty: "is empty",
    problem_too_long: |max| format!("is longer than {max} characters"),
    problem_separator: "must not contain “;”",
    problem_control: "contains a control character",
    problem_no_section: "names no section",
    error_too_many: |count, max| format!("{count} chosen, at most {max}"),
    error_email_invalid: "not a valid email address",
    error_schedule_invalid: "not a valid schedule (a cron expression of five fields, or @instant)",
    error_timezone_unknown: |zone| format!("“{zone}” is not a known time zone (e.g. Asia/Shanghai)"),
    with_detail: |message, detail| format!("{message} ({detail})"),
    saved_notice: "Saved. The new settings apply from the next digest.",

    subscription_page_link: "Subscription page",
    bad_link_title: "Invalid or expired link",
    bad_link_text: "This link is invalid or has expired. To subscribe, fill in the subscription form again; to unsubscribe or change your subscription, use the link in the latest mail.",
    form_expired_title: "Form expired",
    form_expired_text: "The form has expired or its origin could not be verified. Reload the page and send it again.",
    server_error_title: "Temporarily unavailable",
    server_error_text: "The server cannot handle your request right now; please try again later.",
    rate_limited_title: "Too many requests",
    rate_limited_text: "Too many submissions in a short time; please try again later.",
    check_inbox_title: "Check your inbox",
    check_inbox_text: "Check your inbox: we have sent a mail; follow its instructions to finish. If it has not arrived within a few minutes, look in your spam folder.",
    confirm_title: "Confirm your subscription",
    confirm_text: |site| format!("Press the button below to confirm your subscription to {site} digests."),
    confirm_button: "Confirm subscription",
    confirmed_title: "Subscription confirmed",
    confirmed_text: "Your subscription is confirmed. Digests will be sent at the times you chose.",
    manage_link: "Manage subscription",
    manage_link_hint: " (change sections, keywords or times; keep this link, or use the one at the bottom of every digest)",
    unsubscribe_title: "Unsubscribe",
    unsubscribe_question: "Stop receiving digest mails?",
    unsubscribe_button: "Unsubscribe",
    unsubscribed_title: "Unsubscribed",
    unsubscribed_text: "You have unsubscribed and will receive no more digests.",

    confirm_mail_subject: |site| format!("Please confirm your subscription to {site} digests"),
    confirm_mail_body: |form, site, link| {
        format!(
            "Hello,\r\n\r\nSomeone (hopefully you) subscribed this address to {site} digests at {form}.\r\n\
             Within 48 hours, open the link below and press the button on the page to confirm:\r\n\r\n\
             {link}\r\n\r\n\
             If this was not you, ignore this mail: without confirmation you will receive no digests.\r\n"
        )
    },
    already_subscribed_subject: |site| format!("You are already subscribed to {site} digests"),
    already_subscribed_body: |form, site, manage, leave| {
        format!(
            "Hello,\r\n\r\nSomeone (hopefully you) asked at {form} to subscribe this address to {site} digests;\r\n\
             it is already subscribed, and the subscription has not changed.\r\n\r\n\
             Change sections, keywords or times:\r\n{manage}\r\n\r\nUnsubscribe:\r\n{leave}\r\n"
        )
    },

    schedule_hourly: "Hourly",
    schedule_daily: "Daily",
    schedule_weekly: "Weekly",
    schedule_periodic: "Periodic",
    digest_name: |schedule| format!("{schedule} digest"),
    subject_more: " and more",
    article_count: |n| match n {
        1 => "1 article".to_string(),
        n => format!("{n} articles"),
    },
    new_articles: |n| match n {
        1 => "1 new article".to_string(),
        n => format!("{n} new articles"),
    },
    repeated_all: |n| match n {
        1 => "Its article is listed in a group above.".to_string(),
        n => format!("All {n} of its articles are listed in the groups above."),
    },
    repeated_some: |n| match n {
        1 => "1 more article belongs to a group above and is not repeated.".to_string(),
        n => format!("{n} more articles belong to the groups above and are not repeated."),
    },
    digest_reason: |address, site, digest, topics| {
        format!("You receive this mail because {address} subscribed to the {site} {digest}: {topics}.")
    },
    manage_subscription: "Manage subscription",
    cancel_subscription: "Unsubscribe",
    search_title: "Search articles",
    search_results_before: "Results for “",
    search_results_after: "”",
    search_none: "No article matches.",
    search_follow: "Follow this search: ",
    search_not_ready: "The search index is being built; please try again in a moment.",
    search_invalid: "This search cannot be run: ",
    query_empty: "type a word to search for",
    query_too_many: |count, max| format!("too many parameters: {count}, at most {max}"),
    query_too_long: |name, max| format!("{name}: longer than {max} characters"),
    query_control: |name| format!("{name}: holds a control character"),
    query_no_section: "section: names no section",
};
