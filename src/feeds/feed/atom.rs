//! Atom 1.0 with atom_syndication: id, updated, published, self/alternate (and hub) links,
//! author, categories, summary and `content type="html"` with xml:base.

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};

use super::{FeedDoc, Site};
use crate::config::Format;

pub fn render(site: &Site, doc: &FeedDoc) -> Vec<u8> {
    let mut links = vec![
        link(
            "self",
            &doc.self_url(site, Format::Atom),
            Some(Format::Atom.media_type()),
        ),
        link("alternate", &site.home_url(), Some("text/html")),
    ];
    if let Some(hub) = doc.hub(site) {
        links.push(link("hub", hub, None));
    }
    let entries: Vec<Entry> = doc
        .items
        .iter()
        .map(|item| {
            let mut entry = Entry::default();
            entry.set_id(item.guid.clone());
            entry.set_title(Text::plain(item.title.clone()));
            entry.set_updated(item.updated);
            entry.set_published(Some(item.published));
            entry.set_links(vec![link("alternate", &item.link, Some("text/html"))]);
            if let Some(author) = &item.author {
                entry.set_authors(vec![person(author)]);
            }
            entry.set_categories(
                item.categories
                    .iter()
                    .map(|c| {
                        let mut cat = Category::default();
                        cat.set_term(c.clone());
                        cat
                    })
                    .collect::<Vec<_>>(),
            );
            entry.set_summary(Some(Text::plain(item.summary.clone())));
            let mut content = Content::default();
            content.set_content_type(Some("html".to_string()));
            content.set_base(Some(item.link.clone()));
            content.set_value(Some(item.content_html.clone()));
            entry.set_content(Some(content));
            entry
        })
        .collect();

    let mut feed = Feed::default();
    feed.set_id(doc.id());
    feed.set_title(Text::plain(doc.title.clone()));
    // Set explicitly: atom_syndication writes 1970 otherwise.
    feed.set_updated(doc.updated(site));
    feed.set_lang(Some(site.language.clone()));
    feed.set_links(links);
    // A feed-level author keeps entries without an editor valid (RFC 4287 §4.1.1).
    feed.set_authors(vec![person(&site.title)]);
    feed.set_generator(Some(Generator {
        value: "tidings".to_string(),
        uri: None,
        version: None,
    }));
    feed.set_entries(entries);
    let body = feed
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    // atom_syndication declares no encoding; say it, as the RSS and the HTTP header do.
    let body = body
        .strip_prefix(b"<?xml version=\"1.0\"?>".as_slice())
        .unwrap_or(&body);
    let mut out = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n".to_vec();
    out.extend_from_slice(body.strip_prefix(b"\n".as_slice()).unwrap_or(body));
    out.push(b'\n');
    out
}

fn link(rel: &str, href: &str, mime: Option<&str>) -> Link {
    let mut l = Link::default();
    l.set_rel(rel.to_string());
    l.set_href(href.to_string());
    l.set_mime_type(mime.map(str::to_string));
    l
}

fn person(name: &str) -> Person {
    let mut p = Person::default();
    p.set_name(name.to_string());
    p
}
