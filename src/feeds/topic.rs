//! Topics: the feeds an article belongs to — all, every node of its section path, each
//! keyword — named by folded keys so that Traditional and Simplified spellings meet.
//! Pure. The feed's identity itself, and its folder name, is [`crate::model::topic`].

use crate::fold::fold;
use crate::model::article::{Article, Record};
use crate::model::topic::Topic;

/// The index record of `article` as a store file `{id}.txt` arriving `seq`-th, published
/// (and last updated) at `published`: what tests and benchmarks feed to rendering and
/// composition without an index.
pub fn record_at(article: Article, seq: u64, published: i64) -> Record {
    Record {
        topics: topics_of(&article),
        path: format!("{}.txt", article.id),
        article,
        hash: 0,
        published,
        updated: published,
        seq,
    }
}

/// Every topic of an article with the spelling it uses for it (for feed titles: the
/// spelling seen most often wins). Sections: each prefix of the path, so a parent's feed
/// includes its descendants. Keywords: deduplicated after folding.
pub fn topics_of(article: &Article) -> Vec<(Topic, String)> {
    let mut out = vec![(Topic::All, String::new())];
    let mut folded_path = Vec::new();
    let mut written_path: Vec<&str> = Vec::new();
    for seg in &article.sections {
        let key = fold_name(seg);
        if key.is_empty() {
            continue;
        }
        folded_path.push(key);
        written_path.push(seg.trim());
        out.push((
            Topic::Section(folded_path.clone()),
            written_path.join(" > "),
        ));
    }
    for kw in &article.keywords {
        let key = fold_name(kw);
        if key.is_empty() || out.iter().any(|(t, _)| *t == Topic::Keyword(key.clone())) {
            continue;
        }
        out.push((Topic::Keyword(key), kw.trim().to_string()));
    }
    out
}

/// Folded identity of a name, without characters that could not stand in a key.
///
/// Memoized per thread: a store repeats a small vocabulary of sections and keywords in
/// every article, and folding (NFKC, then the OpenCC dictionaries) cost more than the
/// rest of building an article's topics.
pub fn fold_name(s: &str) -> String {
    FOLDED.with(|memo| {
        if let Some(folded) = memo.borrow().get(s) {
            return folded.clone();
        }
        let folded = fold_name_uncached(s);
        let mut memo = memo.borrow_mut();
        if memo.len() >= MEMO_NAMES {
            memo.clear();
        }
        memo.insert(s.to_string(), folded.clone());
        folded
    })
}

/// Bounds [`fold_name`]'s memo (a store with more distinct names only folds some twice).
const MEMO_NAMES: usize = 50_000;

thread_local! {
    static FOLDED: std::cell::RefCell<std::collections::HashMap<String, String>> =
        Default::default();
}

/// Empties this thread's memo of [`fold_name`] and gives its memory back: after a large
/// reconciliation, when each builder thread's memo is full (up to [`MEMO_NAMES`] names, a
/// few MB) and the next rounds fold a few names only.
pub fn forget_folded_names() {
    FOLDED.with(|memo| *memo.borrow_mut() = Default::default());
}

/// [`fold_name`] without the memo: for long texts (an article's paragraphs), which would
/// only fill it.
pub fn fold_name_uncached(s: &str) -> String {
    let folded = fold(s);
    if folded.chars().any(char::is_control) {
        folded.chars().filter(|c| !c.is_control()).collect()
    } else {
        folded
    }
}
