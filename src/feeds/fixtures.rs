//! Fixtures for the unit tests of both products: the seed article (`articles/` holds the
//! real one), the site the snapshots are rendered for, and index records.

use crate::config::Format;
use crate::feeds::feed::Site;
use crate::model::article::{Article, Layout, Record};

pub const SEED_ID: &str = "000_8c7ef1c8e8c43d29";
pub const SEED: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/articles/000_8c7ef1c8e8c43d29.txt"
));
/// 2015-06-05 08:16 in Shanghai, the seed's publication time.
pub const SEED_PUBLISHED: i64 = 1_433_463_360;

/// The site of the snapshots: `https://news.example`, Shanghai, every format.
pub fn site() -> Site {
    Site {
        title: "tidings".into(),
        base_url: "https://news.example".into(),
        language: "zh".into(),
        tz: chrono_tz::Asia::Shanghai,
        hub: None,
        formats: Format::ALL.to_vec(),
    }
}

pub use crate::feeds::topic::record_at as record;

/// The seed article's record: the first arrival, published at [`SEED_PUBLISHED`].
pub fn seed() -> Record {
    let article = Article::parse(SEED_ID, SEED, Layout::Text).unwrap();
    record(article, 1, SEED_PUBLISHED)
}
