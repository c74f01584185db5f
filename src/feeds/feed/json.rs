//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1): authors, content_html, summary,
//! tags, date_published and date_modified.

use serde::Serialize;

use super::{FeedDoc, Site};
use crate::config::Format;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    language: &'a str,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
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

pub fn render(site: &Site, doc: &FeedDoc) -> Vec<u8> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &doc.title,
        home_page_url: site.home_url(),
        feed_url: doc.self_url(site, Format::Json),
        language: &site.language,
        authors: vec![Author { name: &site.title }],
        hubs: doc
            .hub(site)
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
    };
    let mut out = serde_json::to_vec_pretty(&feed).expect("feeds always serialize");
    out.push(b'\n');
    out
}
