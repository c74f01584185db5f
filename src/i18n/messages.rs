//! The catalogue's shape: one field per message. Each language fills every field
//! (`zh_hant.rs`, `zh_hans.rs`, `en.rs`), so a message cannot be missing in one of them.
//! A message with a value in it is a pair of halves around the value (`…_before`,
//! `…_after`) or is put together by the caller; no format strings at run time.

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
}
