//! An article as parsed (DESIGN §1) and as the index records it: the data the feed side
//! produces and the digest side reads. Types only; parsing is `feeds::article`.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::model::topic::Topic;

/// Which of the two layouts of DESIGN §1 a file uses (chosen by its extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `*.txt`, the page export (§1a).
    Text,
    /// `*.json`, the structured layout (§1b).
    Json,
}

/// One block of an article's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    Paragraph(String),
    /// A short line without closing punctuation inside the body.
    Heading(String),
}

/// A time found in the article itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stamp {
    /// With an explicit offset (JSON layout, RFC 3339).
    Zoned(DateTime<FixedOffset>),
    /// Wall-clock time without offset (a date line in a page export); it is read in
    /// `site.timezone` by the caller, which knows the zone.
    Local(NaiveDateTime),
}

/// A parsed article, as written (not folded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub original_title: Option<String>,
    /// Section path from the top, home crumb and repeated heading dropped.
    pub sections: Vec<String>,
    /// Keywords as written, duplicates removed, order kept.
    pub keywords: Vec<String>,
    pub editor: Option<String>,
    pub author: Option<String>,
    /// Canonical URL, when the source gives one (JSON layout).
    pub url: Option<String>,
    pub published: Option<Stamp>,
    pub updated: Option<Stamp>,
    pub body: Vec<Block>,
    /// Explicit summary from the source; feeds fall back to the first paragraph.
    pub summary: Option<String>,
    pub image: Option<String>,
}

/// A file's modification time and size, to skip files that have not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub mtime_ns: i128,
    pub size: u64,
}

/// One article as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub article: Article,
    /// Store-relative path, `/`-separated.
    pub path: String,
    pub hash: u128,
    /// Unix seconds.
    pub published: i64,
    pub updated: i64,
    /// Arrival order in this index (digests count by it, so back-dated articles are not
    /// skipped).
    pub seq: u64,
    /// The feeds it belongs to, with the spelling it uses for each.
    pub topics: Vec<(Topic, String)>,
}

impl Record {
    /// The deepest section feed the article belongs to, with its spelling — which holds
    /// the whole path as written (`黨派·聲音 > 統一戰線`).
    pub fn deepest_section(&self) -> Option<&(Topic, String)> {
        self.topics
            .iter()
            .rev()
            .find(|(t, _)| matches!(t, Topic::Section(_)))
    }
}
