//! Feed rendering: RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents, plus the listings
//! beside them (`index.json`, `opml.xml`, `index.html`). Pure: records and settings in,
//! bytes out; nothing here reads a clock or touches a file.

mod atom;
mod json;
pub mod listing;
mod rss;

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, TimeZone};
use chrono_tz::Tz;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use url::{Position, Url};

use crate::config::{Config, Format};
use crate::model::article::Block;
use crate::model::article::Record;
use crate::model::topic::Topic;

/// What every document needs to know about the site.
#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    /// No trailing slash.
    pub base_url: String,
    pub language: String,
    pub tz: Tz,
    pub hub: Option<String>,
    pub formats: Vec<Format>,
}

impl Site {
    pub fn from_config(config: &Config) -> Site {
        let hub = config.feeds.websub_hub.trim();
        Site {
            title: config.site.title.clone(),
            base_url: config.site.base_url.clone(),
            language: config.site.language.clone(),
            tz: config.tz(),
            hub: (!hub.is_empty()).then(|| hub.to_string()),
            formats: config.feeds.formats.clone(),
        }
    }

    /// Absolute URL of a file below `feeds.output` (served under `/feeds/`).
    pub fn feed_url(&self, rel: &str) -> String {
        format!("{}/feeds/{}", self.base_url, encode_path(rel))
    }

    /// The page tidings serves for an article.
    pub fn article_url(&self, id: &str) -> String {
        format!(
            "{}/articles/{}",
            self.base_url,
            utf8_percent_encode(id, SEGMENT)
        )
    }

    /// Where an article lives: its own URL (made absolute) if it has one, else the page
    /// tidings serves for it.
    pub fn link_of(&self, article: &crate::model::article::Article) -> String {
        article
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| absolute_url(&self.base_url, u))
            .unwrap_or_else(|| self.article_url(&article.id))
    }

    pub fn home_url(&self) -> String {
        format!("{}/", self.base_url)
    }

    fn time(&self, unix: i64) -> DateTime<FixedOffset> {
        self.tz
            .timestamp_opt(unix, 0)
            .single()
            .unwrap_or_else(|| self.tz.timestamp_opt(0, 0).unwrap())
            .fixed_offset()
    }
}

/// One feed's item, built once per article and shared by every feed and format.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `urn:uuid:` derived from the article id alone: stable across edits, rebuilds and
    /// machines.
    pub guid: String,
    pub link: String,
    pub title: String,
    pub summary: String,
    pub content_html: String,
    pub author: Option<String>,
    pub categories: Vec<String>,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
}

impl Item {
    pub fn from_record(site: &Site, rec: &Record) -> Item {
        let a = &rec.article;
        let link = site.link_of(a);
        // The deepest section (its parents are in its spelling) and every keyword.
        let deepest = rec.deepest_section();
        let keywords = rec
            .topics
            .iter()
            .filter(|(t, _)| matches!(t, Topic::Keyword(_)));
        let categories = deepest
            .into_iter()
            .chain(keywords)
            .map(|(_, name)| xml_clean(name).into_owned())
            .collect();
        Item {
            guid: article_guid(&a.id),
            link,
            title: xml_clean(&a.title).into_owned(),
            summary: xml_clean(&summary_of(rec)).into_owned(),
            content_html: content_html(site, rec),
            author: a
                .editor
                .as_deref()
                .or(a.author.as_deref())
                .map(|s| xml_clean(s).trim().to_string())
                .filter(|s| !s.is_empty()),
            categories,
            published: site.time(rec.published),
            updated: site.time(rec.updated.max(rec.published)),
        }
    }
}

/// A feed ready to render.
#[derive(Debug, Clone)]
pub struct FeedDoc<'a> {
    /// The site's feed this is; its id and self links come from it unless `own` is set.
    pub topic: &'a Topic,
    pub title: String,
    pub items: Vec<&'a Item>,
    /// A feed that is not one of the site's (a subscriber's personal feed, DESIGN §5).
    pub own: Option<OwnFeed>,
}

/// The address and id of a feed that is not one of the site's topics. It has no hub
/// link: WebSub pings are sent for the site's feeds only.
#[derive(Debug, Clone)]
pub struct OwnFeed {
    /// Absolute URL of the folder its files are served from, ending in `/`.
    pub base: String,
    /// The feed's id (`urn:uuid:`): stable for as long as the URL is.
    pub id: String,
    /// What the self link carries after the file name: a search feed's `?query` (DESIGN
    /// §5 `/search/…`), or nothing.
    pub query: String,
}

impl FeedDoc<'_> {
    /// Newest `updated` among the items: the feed changes exactly when an item does.
    pub fn updated(&self, site: &Site) -> DateTime<FixedOffset> {
        self.items
            .iter()
            .map(|i| i.updated)
            .max()
            .unwrap_or_else(|| site.time(0))
    }

    pub fn id(&self) -> String {
        match &self.own {
            Some(own) => own.id.clone(),
            None => feed_guid(self.topic),
        }
    }

    /// The URL of the document in `format`: its self link.
    pub fn self_url(&self, site: &Site, format: Format) -> String {
        match &self.own {
            Some(own) => format!("{}{}{}", own.base, format.file_name(), own.query),
            None => site.feed_url(&self.topic.file(format)),
        }
    }

    /// The WebSub hub its documents name, if any.
    pub fn hub<'s>(&self, site: &'s Site) -> Option<&'s str> {
        match &self.own {
            Some(_) => None,
            None => site.hub.as_deref(),
        }
    }
}

pub fn render(site: &Site, doc: &FeedDoc, format: Format) -> Vec<u8> {
    render_in_history(site, doc, format, None)
}

/// A document's place among its feed's archive pages (RFC 5005 §4, DESIGN §2
/// "Archives"). Pages are numbered from 1, oldest first; the newest page is the one new
/// articles join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// The current feed document: its `prev-archive` is page `newest`.
    Current { newest: u32 },
    /// Archive page `page` of `1..=newest`: marked `fh:archive`, with a `current` link,
    /// `prev-archive` unless it is the first and `next-archive` unless it is the newest.
    Archive { page: u32, newest: u32 },
}

/// The namespace of RFC 5005's `fh:archive`.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// The absolute URLs a document of `topic` links to for its history, in one format.
struct HistoryLinks {
    /// The document's own URL (the archive page's, or the current feed's).
    own: String,
    /// The current feed document, on an archive page.
    current: Option<String>,
    prev: Option<String>,
    next: Option<String>,
}

impl HistoryLinks {
    fn new(site: &Site, doc: &FeedDoc, format: Format, history: Option<History>) -> HistoryLinks {
        let page = |n: u32| site.feed_url(&doc.topic.archive_file(n, format));
        let current = doc.self_url(site, format);
        match history {
            None => HistoryLinks {
                own: current,
                current: None,
                prev: None,
                next: None,
            },
            Some(History::Current { newest }) => HistoryLinks {
                own: current,
                current: None,
                prev: Some(page(newest)),
                next: None,
            },
            Some(History::Archive { page: n, newest }) => HistoryLinks {
                own: page(n),
                current: Some(current),
                prev: (n > 1).then(|| page(n - 1)),
                next: (n < newest).then(|| page(n + 1)),
            },
        }
    }

    fn is_archive(&self) -> bool {
        self.current.is_some()
    }

    /// (rel, href) of the RFC 5005 links.
    fn rels(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("current", &self.current),
            ("prev-archive", &self.prev),
            ("next-archive", &self.next),
        ]
        .into_iter()
        .filter_map(|(rel, href)| href.as_deref().map(|h| (rel, h)))
    }
}

/// [`render`] for a feed that has archive pages: the current document with its
/// `prev-archive` link, or one archive page. Archive pages name no WebSub hub (a hub
/// announces changes of the current document only).
pub fn render_in_history(
    site: &Site,
    doc: &FeedDoc,
    format: Format,
    history: Option<History>,
) -> Vec<u8> {
    let links = HistoryLinks::new(site, doc, format, history);
    match format {
        Format::Rss => rss::render(site, doc, &links),
        Format::Atom => atom::render(site, doc, &links),
        Format::Json => json::render(site, doc, &links),
    }
}

/// Display title of a feed: the site's for `all`, else the spelling seen most, with the
/// site's name.
pub fn feed_title(site: &Site, topic: &Topic, name: &str) -> String {
    match topic {
        Topic::All => xml_clean(&site.title).into_owned(),
        _ => xml_clean(&format!("{name} · {}", site.title)).into_owned(),
    }
}

const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5c1d_7a0e_9b3f_4e21_a6d8_0f4b_3c2e_1a97);

pub fn article_guid(id: &str) -> String {
    let name = format!("article:{id}");
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes())
    )
}

pub fn feed_guid(topic: &Topic) -> String {
    let name = format!("feed:{}:{}", topic.kind(), topic.manifest_key());
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes())
    )
}

/// The id of a feed that is not one of the site's topics ([`OwnFeed`]), from a name
/// that only it has.
pub fn own_guid(name: &str) -> String {
    let name = format!("own:{name}");
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes())
    )
}

/// Characters percent-encoded in one URL path segment (non-ASCII always is).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// A `/`-separated relative path, each segment percent-encoded.
pub fn encode_path(rel: &str) -> String {
    rel.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// An article's own URL made absolute and ASCII: relative ones against the site, and
/// characters outside ASCII percent-encoded (IRI → URI).
pub fn absolute_url(base: &str, url: &str) -> String {
    const IRI: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
    let url = url.trim();
    let site = Url::parse(base).ok();
    let abs = if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else if let Some(rest) = url.strip_prefix("//") {
        format!("{}://{rest}", site.as_ref().map_or("https", Url::scheme))
    } else if url.starts_with('/') {
        // Scheme, credentials, host and port, as the parser normalises them.
        let authority = site.as_ref().map_or(base, |s| &s[..Position::BeforePath]);
        format!("{authority}{url}")
    } else {
        format!("{base}/{url}")
    };
    utf8_percent_encode(&abs, IRI).to_string()
}

/// Keeps only characters XML 1.0 allows (readers reject a document with any other).
pub fn xml_clean(s: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }
    if s.chars().all(allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| allowed(c)).collect())
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

const SUMMARY_CHARS: usize = 120;

/// The article's own summary, else the start of its first paragraph.
pub fn summary_of(rec: &Record) -> String {
    let a = &rec.article;
    if let Some(s) = a
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return s.to_string();
    }
    let first = a
        .body
        .iter()
        .find_map(|b| match b {
            Block::Paragraph(p) => Some(p.as_str()),
            Block::Heading(_) => None,
        })
        .or(a.subtitle.as_deref())
        .unwrap_or(&a.title);
    if first.chars().count() <= SUMMARY_CHARS {
        first.to_string()
    } else {
        let mut s: String = first.chars().take(SUMMARY_CHARS).collect();
        s.push('…');
        s
    }
}

/// The full article as HTML: image, subtitle, paragraphs as `<p>`, sub-headings as `<h3>`.
pub fn content_html(site: &Site, rec: &Record) -> String {
    let a = &rec.article;
    let mut html = String::with_capacity(a.body.iter().map(|b| block_text(b).len() + 12).sum());
    if let Some(img) = a.image.as_deref().filter(|s| !s.trim().is_empty()) {
        let src = absolute_url(&site.base_url, img);
        html.push_str(&format!(
            "<p><img src=\"{}\" alt=\"\"></p>",
            escape_html(&src)
        ));
    }
    if let Some(sub) = a.subtitle.as_deref() {
        html.push_str("<p><strong>");
        html.push_str(&escape_html(&xml_clean(sub)));
        html.push_str("</strong></p>");
    }
    for block in &a.body {
        let (open, close) = match block {
            Block::Paragraph(_) => ("<p>", "</p>"),
            Block::Heading(_) => ("<h3>", "</h3>"),
        };
        html.push_str(open);
        html.push_str(&escape_html(&xml_clean(block_text(block))));
        html.push_str(close);
    }
    html
}

fn block_text(b: &Block) -> &str {
    match b {
        Block::Paragraph(t) | Block::Heading(t) => t,
    }
}

#[cfg(test)]
mod tests;
