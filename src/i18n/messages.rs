//! The catalogue's shape: one field per message. Each language fills every field
//! (`zh_hant.rs`, `zh_hans.rs`, `en.rs`), so a message cannot be missing in one of them.
//! A message with a value in it is a function of the values (word order differs between
//! the languages), or a pair of halves around the value (`…_before`, `…_after`); no
//! format strings at run time.

/// Every message a reader sees, in one language.
#[derive(Debug)]
pub struct Messages {
    /// The language's own name, for the language switcher: `繁體中文`, `简体中文`, `English`.
    pub language_name: &'static str,
    /// The link to the subscription page on every page.
    pub subscribe_link: &'static str,
    /// The label of a search box over articles.
    pub search_label: &'static str,
    /// A personal feed's title is `{site title} · {before}{masked address}{after}`
    /// (DESIGN §5: whose selection, the address masked as in the logs).
    pub personal_feed_title_before: &'static str,
    pub personal_feed_title_after: &'static str,
    /// The label of the personal feed's link in a digest's footer and on `/manage`.
    pub personal_feed_link: &'static str,
    /// On `/manage`, before the personal feed's links (one per format).
    pub personal_feed_hint: &'static str,
    /// The `@instant` choice among the subscription form's schedules (DESIGN §4).
    pub schedule_instant: &'static str,
    /// What an `@instant` alert mail is called in its subject and heading.
    pub alert_name: &'static str,

    // Every page
    /// The language switcher's label (it is a `nav` with one link per language).
    pub language_switcher: &'static str,
    /// Between a label and its value: `：` in Chinese, `: ` in English.
    pub colon: &'static str,
    /// Between items of a list in running text: `、` or `, `.
    pub list_separator: &'static str,
    /// A quoted name: `「…」` or `“…”`.
    pub quoted: fn(&str) -> String,

    // The home page (`/`, `index.html`)
    pub home_all: &'static str,
    pub home_sections: &'static str,
    pub home_keywords: &'static str,
    pub home_find_keyword: &'static str,
    /// The search box's placeholder.
    pub home_find_keyword_hint: &'static str,
    /// `最常用的 100 個，共 5000 個`: (shown, all).
    pub home_top_keywords: fn(top: usize, all: usize) -> String,
    pub home_opml_every_keyword: &'static str,

    // The article page
    pub article_author: &'static str,
    pub article_editor: &'static str,
    pub article_keywords: &'static str,
    /// The heading of "follow this section / keyword".
    pub follow_heading: &'static str,
    /// The link to a section's or keyword's feed.
    pub follow_by_feed: &'static str,
    /// The link to the subscription form, pre-filled.
    pub follow_by_email: &'static str,
    pub follow_section: &'static str,
    pub follow_keyword: &'static str,
    pub article_not_found: &'static str,
    pub article_not_found_title: &'static str,

    // The subscription form
    pub subscribe_title: fn(site: &str) -> String,
    pub manage_title: fn(site: &str) -> String,
    pub subscribe_button: &'static str,
    pub save_button: &'static str,
    pub email_label: &'static str,
    pub subscribed_address: &'static str,
    pub sections_legend: &'static str,
    pub keywords_legend: &'static str,
    pub more_keywords_label: &'static str,
    pub keywords_hint: &'static str,
    pub terms_legend: &'static str,
    pub terms_hint: &'static str,
    pub schedule_legend: &'static str,
    /// The presets' labels, in the order of the form's presets (daily, weekly, hourly).
    pub schedule_presets: [&'static str; 3],
    pub schedule_custom: &'static str,
    pub cron_label_before: &'static str,
    pub cron_label_after: &'static str,
    pub timezone_legend: &'static str,
    /// The language the mails are written in.
    pub mail_language_legend: &'static str,
    pub subscribe_hint: &'static str,
    pub field_topics: &'static str,
    pub field_sections: &'static str,
    pub field_keywords: &'static str,
    pub field_terms: &'static str,
    pub field_schedule: &'static str,
    pub field_timezone: &'static str,
    pub error_no_topics: &'static str,
    pub error_no_schedule: &'static str,
    /// A section, keyword or term the form refuses: the name as typed (quoted by the
    /// catalogue) and one of the `problem_…` texts.
    pub error_name: fn(name: &str, problem: &str) -> String,
    pub problem_empty: &'static str,
    pub problem_too_long: fn(max: usize) -> String,
    pub problem_separator: &'static str,
    pub problem_control: &'static str,
    pub problem_no_section: &'static str,
    /// More sections, keywords or terms than a subscription may have.
    pub error_too_many: fn(count: usize, max: usize) -> String,
    pub error_email_invalid: &'static str,
    pub error_schedule_invalid: &'static str,
    pub error_timezone_unknown: fn(zone: &str) -> String,
    /// A message followed by the technical detail (the command line's English words for
    /// an address or a cron expression).
    pub with_detail: fn(message: &str, detail: &str) -> String,
    pub saved_notice: &'static str,

    // The other subscription pages
    pub subscription_page_link: &'static str,
    pub bad_link_title: &'static str,
    pub bad_link_text: &'static str,
    pub form_expired_title: &'static str,
    pub form_expired_text: &'static str,
    pub server_error_title: &'static str,
    pub server_error_text: &'static str,
    pub rate_limited_title: &'static str,
    pub rate_limited_text: &'static str,
    pub check_inbox_title: &'static str,
    pub check_inbox_text: &'static str,
    pub confirm_title: &'static str,
    pub confirm_text: fn(site: &str) -> String,
    pub confirm_button: &'static str,
    pub confirmed_title: &'static str,
    pub confirmed_text: &'static str,
    pub manage_link: &'static str,
    pub manage_link_hint: &'static str,
    pub unsubscribe_title: &'static str,
    pub unsubscribe_question: &'static str,
    pub unsubscribe_button: &'static str,
    pub unsubscribed_title: &'static str,
    pub unsubscribed_text: &'static str,

    // Mails from the subscription pages
    pub confirm_mail_subject: fn(site: &str) -> String,
    /// The body around the link, CRLF line endings: (form URL, site title, link).
    pub confirm_mail_body: fn(form: &str, site: &str, link: &str) -> String,
    pub already_subscribed_subject: fn(site: &str) -> String,
    /// (form URL, site title, manage link, unsubscribe link).
    pub already_subscribed_body: fn(form: &str, site: &str, manage: &str, leave: &str) -> String,

    // Digests
    /// The schedule's name: hourly, daily, weekly, or any other.
    pub schedule_hourly: &'static str,
    pub schedule_daily: &'static str,
    pub schedule_weekly: &'static str,
    pub schedule_periodic: &'static str,
    /// `每日摘要`, `Daily digest` from the schedule's name.
    pub digest_name: fn(schedule: &str) -> String,
    /// After the topics in the subject when more are left out: `等`, ` and more`.
    pub subject_more: &'static str,
    /// `12 篇`, `12 articles`.
    pub article_count: fn(n: usize) -> String,
    /// `共 12 篇新文章`, `12 new articles`.
    pub new_articles: fn(n: usize) -> String,
    pub repeated_all: fn(n: usize) -> String,
    pub repeated_some: fn(n: usize) -> String,
    /// Why the reader gets the mail: (address, site title, digest name, topics listed).
    pub digest_reason: fn(address: &str, site: &str, digest: &str, topics: &str) -> String,
    pub manage_subscription: &'static str,
    pub cancel_subscription: &'static str,
    /// The title of `/search` before a query is typed.
    pub search_title: &'static str,
    /// Around the query in the heading of the results: `搜尋「` … `」`.
    pub search_results_before: &'static str,
    pub search_results_after: &'static str,
    /// When nothing matches.
    pub search_none: &'static str,
    /// Before the links to the feeds of a search.
    pub search_follow: &'static str,
    /// `/search` while the search index is being built (the answer is 503).
    pub search_not_ready: &'static str,
    /// Before the reason a query is refused (the reason itself is in English).
    pub search_invalid: &'static str,
    /// Why a search is refused (after `search_invalid`); `name` is the URL parameter.
    pub query_empty: &'static str,
    pub query_too_many: fn(count: usize, max: usize) -> String,
    pub query_too_long: fn(name: &str, max: usize) -> String,
    pub query_control: fn(name: &str) -> String,
    pub query_no_section: &'static str,
}
