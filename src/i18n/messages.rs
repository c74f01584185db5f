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
    /// The `@instant` choice among the subscription form's schedules (DESIGN §4).
    pub schedule_instant: &'static str,
    /// What an `@instant` alert mail is called in its subject and heading.
    pub alert_name: &'static str,
}
