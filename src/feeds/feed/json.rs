//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1): authors, content_html, summary,
//! tags, date_published and date_modified.

use serde::Serialize;

use super::{FeedDoc, HistoryLinks, Site};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: &'a str,
    /// JSON Feed's own paging: the next (older) archive page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    language: &'a str,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
    /// RFC 5005's links and archive mark, as a JSON Feed extension (`_`-prefixed keys
    /// are JSON Feed 1.1's extension mechanism; DESIGN §2 "Archives", docs/http.md).
    #[serde(rename = "_rfc5005", skip_serializing_if = "Option::is_none")]
    rfc5005: Option<Rfc5005<'a>>,
}

#[derive(Serialize)]
struct Rfc5005<'a> {
    about: &'static str,
    /// RFC 5005 §4 `fh:archive`: this document is an archive page.
    archive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<&'a str>,
    #[serde(rename = "prev-archive", skip_serializing_if = "Option::is_none")]
    prev_archive: Option<&'a str>,
    #[serde(rename = "next-archive", skip_serializing_if = "Option::is_none")]
    next_archive: Option<&'a str>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_html: &'a str,
    summary: &'a str,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
}

pub(super) fn render(site: &Site, doc: &FeedDoc, history: &HistoryLinks) -> Vec<u8> {
    let rfc5005 = (history.prev.is_some() || history.is_archive()).then(|| Rfc5005 {
        about: "https://www.rfc-editor.org/rfc/rfc5005#section-4",
        archive: history.is_archive(),
        current: history.current.as_deref(),
        prev_archive: history.prev.as_deref(),
        next_archive: history.next.as_deref(),
    });
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &doc.title,
        home_page_url: site.home_url(),
        feed_url: &history.own,
        next_url: history.prev.as_deref(),
        language: &site.language,
        authors: vec![Author { name: &site.title }],
        hubs: doc
            .hub(site)
            .filter(|_| !history.is_archive())
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .into_iter()
            .collect(),
        items: doc
            .items
            .iter()
            .map(|item| JsonItem {
                id: &item.guid,
                url: &item.link,
                title: &item.title,
                content_html: &item.content_html,
                summary: &item.summary,
                date_published: item.published.to_rfc3339(),
                date_modified: item.updated.to_rfc3339(),
                authors: item
                    .author
                    .as_deref()
                    .map(|name| Author { name })
                    .into_iter()
                    .collect(),
                tags: &item.categories,
            })
            .collect(),
        rfc5005,
    };
    let mut out = serde_json::to_vec_pretty(&feed).expect("feeds always serialize");
    out.push(b'\n');
    out
}
