//! RSS 2.0 with the rss crate: atom:link rel=self (and rel=hub), content:encoded,
//! dc:creator, categories and a guid that is not a permalink.

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item as RssItem};

use super::{escape_html, FeedDoc, Site};
use crate::config::Format;

pub fn render(site: &Site, doc: &FeedDoc) -> Vec<u8> {
    let mut links = vec![atom_link(
        "self",
        &doc.self_url(site, Format::Rss),
        Some(Format::Rss.media_type()),
    )];
    if let Some(hub) = doc.hub(site) {
        links.push(atom_link("hub", hub, None));
    }
    let mut atom_ext = AtomExtension::default();
    atom_ext.set_links(links);

    let items: Vec<RssItem> = doc
        .items
        .iter()
        .map(|item| {
            let mut out = RssItem::default();
            out.set_title(item.title.clone());
            out.set_link(item.link.clone());
            // Readers treat <description> as HTML: the plain-text summary is escaped.
            out.set_description(escape_html(&item.summary).into_owned());
            out.set_content(item.content_html.clone());
            out.set_guid(Guid {
                value: item.guid.clone(),
                permalink: false,
            });
            out.set_pub_date(item.published.to_rfc2822());
            out.set_categories(
                item.categories
                    .iter()
                    .map(|c| Category {
                        name: c.clone(),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            if let Some(author) = &item.author {
                let mut dc = DublinCoreExtension::default();
                dc.set_creators(vec![author.clone()]);
                out.set_dublin_core_ext(dc);
            }
            out
        })
        .collect();

    let mut channel = Channel::default();
    channel.set_title(doc.title.clone());
    channel.set_link(site.home_url());
    channel.set_description(doc.title.clone());
    channel.set_language(site.language.clone());
    channel.set_generator("tidings".to_string());
    channel.set_last_build_date(doc.updated(site).to_rfc2822());
    channel.set_atom_ext(atom_ext);
    channel.set_items(items);
    let mut out = channel
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    out.push(b'\n');
    out
}

fn atom_link(rel: &str, href: &str, mime: Option<&str>) -> Link {
    let mut link = Link::default();
    link.set_rel(rel.to_string());
    link.set_href(href.to_string());
    if let Some(m) = mime {
        link.set_mime_type(m.to_string());
    }
    link
}
