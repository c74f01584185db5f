//! Raw bytes through both layouts of the article parser (DESIGN §1): no panic, and what
//! parses keeps the promises of `check_article`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{check_article, Article, Layout};

fuzz_target!(|bytes: &[u8]| {
    for layout in [Layout::Text, Layout::Json] {
        if let Ok(article) = Article::parse("000_fuzz", bytes, layout) {
            check_article(&article);
        }
    }
});
