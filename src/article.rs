//! Articles: decoding the store's bytes and parsing both layouts of DESIGN §1.
//! Pure: takes an id and bytes, touches no file.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};

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

// TEMPORARY STUB (replaced by the parser)
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArticleError {
    #[error("stub")]
    Stub,
}
impl Article {
    pub fn parse(_id: &str, _bytes: &[u8], _layout: Layout) -> Result<Article, ArticleError> {
        Err(ArticleError::Stub)
    }
}
