//! The listings published beside the feeds: `index.json` (the manifest other programs
//! read, DESIGN §2), `opml.xml` (for import into a reader) and `index.html` (a page with
//! autodiscovery links).

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::{escape_html, Site};
use crate::config::Format;
use crate::model::topic::Topic;

/// One published feed as the listings show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub topic: Topic,
    pub title: String,
    /// Items in the feed documents (at most `feeds.items`).
    pub items: usize,
    pub updated: DateTime<FixedOffset>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    feeds: Vec<ManifestFeed<'a>>,
}

#[derive(Serialize)]
struct ManifestFeed<'a> {
    kind: &'static str,
    key: String,
    title: &'a str,
    items: usize,
    updated: String,
    files: std::collections::BTreeMap<&'static str, String>,
}

pub fn manifest(site: &Site, feeds: &[Listed]) -> Vec<u8> {
    let manifest = Manifest {
        feeds: feeds
            .iter()
            .map(|f| ManifestFeed {
                kind: f.topic.kind(),
                key: f.topic.manifest_key(),
                title: &f.title,
                items: f.items,
                updated: f.updated.to_rfc3339(),
                files: site
                    .formats
                    .iter()
                    .map(|&fmt| (fmt.key(), f.topic.file(fmt)))
                    .collect(),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&manifest).expect("manifest always serializes");
    out.push(b'\n');
    out
}

/// The format a reader should subscribe to when only one link fits.
fn preferred(site: &Site) -> Format {
    site.formats.first().copied().unwrap_or(Format::Rss)
}

fn opml_type(fmt: Format) -> &'static str {
    match fmt {
        Format::Rss => "rss",
        Format::Atom => "atom",
        Format::Json => "json",
    }
}

pub fn opml(site: &Site, feeds: &[Listed]) -> Vec<u8> {
    let fmt = preferred(site);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape_html(&site.title)
    ));
    let outline = |out: &mut String, f: &Listed, indent: &str| {
        out.push_str(&format!(
            "{indent}<outline type=\"{}\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>\n",
            opml_type(fmt),
            escape_html(&site.feed_url(&f.topic.file(fmt))),
            escape_html(&site.home_url()),
            t = escape_html(&f.title),
        ));
    };
    for f in feeds.iter().filter(|f| f.topic == Topic::All) {
        outline(&mut out, f, "    ");
    }
    for (kind, label) in [("section", "Sections"), ("keyword", "Keywords")] {
        let group: Vec<&Listed> = feeds.iter().filter(|f| f.topic.kind() == kind).collect();
        if group.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "    <outline text=\"{label}\" title=\"{label}\">\n"
        ));
        for f in group {
            outline(&mut out, f, "      ");
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}

pub fn index_html(site: &Site, feeds: &[Listed]) -> Vec<u8> {
    let title = escape_html(&site.title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n",
        escape_html(&site.language)
    );
    // Autodiscovery for the site-wide feed and the sections; keywords can number in the
    // thousands, too many for a reader's subscribe dialog, so they are listed in the body.
    for f in feeds
        .iter()
        .filter(|f| !matches!(f.topic, Topic::Keyword(_)))
    {
        for &fmt in &site.formats {
            out.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
                fmt.media_type(),
                escape_html(&f.title),
                escape_html(&site.feed_url(&f.topic.file(fmt)))
            ));
        }
    }
    out.push_str(
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:auto;padding:1rem;line-height:1.5}\
         li{margin:.2rem 0}a{margin-left:.4rem}small{color:#666}</style>\n</head>\n<body>\n",
    );
    out.push_str(&format!("<h1>{title}</h1>\n"));
    for (kind, label) in [
        ("all", "全部"),
        ("section", "欄目 Sections"),
        ("keyword", "關鍵詞 Keywords"),
    ] {
        let group: Vec<&Listed> = feeds.iter().filter(|f| f.topic.kind() == kind).collect();
        if group.is_empty() {
            continue;
        }
        out.push_str(&format!("<h2>{label}</h2>\n<ul>\n"));
        for f in group {
            out.push_str(&format!(
                "<li>{} <small>({})</small>",
                escape_html(&f.title),
                f.items
            ));
            for &fmt in &site.formats {
                out.push_str(&format!(
                    "<a href=\"{}\">{}</a>",
                    escape_html(&site.feed_url(&f.topic.file(fmt))),
                    fmt.key().to_uppercase()
                ));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str(&format!(
        "<p><a href=\"{}\">OPML</a> <a href=\"{}\">index.json</a></p>\n</body>\n</html>\n",
        escape_html(&format!("{}/opml.xml", site.base_url)),
        escape_html(&format!("{}/index.json", site.base_url)),
    ));
    out.into_bytes()
}
