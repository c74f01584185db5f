//! The one matching rule of free text (DESIGN §5 `/search`, and a subscriber's terms in
//! DESIGN §6): a term matches when its folded form — NFKC, Traditional→Simplified,
//! lowercased — is a substring of the folded title, subtitle or body of the article.
//! `重庆` finds `重慶`. Also the keys of the search index: every character and every pair
//! of adjacent characters of that folded text. Pure.

use crate::feeds::topic::fold_name_uncached;
use crate::model::article::{Article, Block};

/// The folded form a free-text term and the text it is searched in share: a name's
/// folding ([`crate::feeds::topic::fold_name`], unmemoised: paragraphs are not worth
/// remembering), lowercased.
pub fn fold_term(s: &str) -> String {
    fold_name_uncached(s).to_lowercase()
}

/// Title, subtitle and body blocks, each folded with [`fold_term`], one per line so that
/// a term (which never holds a line break) never matches across two of them.
pub fn searchable_text(article: &Article) -> String {
    let mut out = fold_term(&article.title);
    for part in article
        .subtitle
        .iter()
        .map(String::as_str)
        .chain(article.body.iter().map(|b| match b {
            Block::Paragraph(s) | Block::Heading(s) => s.as_str(),
        }))
    {
        out.push('\n');
        out.push_str(&fold_term(part));
    }
    out
}

/// Whether a folded term (from [`fold_term`]) occurs in a [`searchable_text`].
pub fn has_term(text: &str, term: &str) -> bool {
    text.contains(term)
}

/// Whether every folded term occurs in the article: the same as [`has_term`] on its
/// [`searchable_text`] for each term, but folding one block at a time and stopping once
/// all are found, as most matches are in the title or the first paragraphs. For one
/// article and one query; a digest round, which matches one article against many
/// subscribers, folds the whole text once instead.
pub fn has_terms(article: &Article, terms: &[String]) -> bool {
    let mut missing: Vec<&str> = terms.iter().map(String::as_str).collect();
    let blocks = std::iter::once(article.title.as_str())
        .chain(article.subtitle.iter().map(String::as_str))
        .chain(article.body.iter().map(|b| match b {
            Block::Paragraph(s) | Block::Heading(s) => s.as_str(),
        }));
    for block in blocks {
        if missing.is_empty() {
            break;
        }
        let folded = fold_term(block);
        missing.retain(|term| !has_term(&folded, term));
    }
    missing.is_empty()
}

/// The index key of one character.
fn unigram(c: char) -> u64 {
    (u64::from(u32::from(c)) << 32) | u64::from(u32::MAX)
}

/// The index key of two adjacent characters (`u32::MAX` is no character, so the two
/// kinds of key never meet).
fn bigram(a: char, b: char) -> u64 {
    (u64::from(u32::from(a)) << 32) | u64::from(u32::from(b))
}

/// Every index key of a searchable text, sorted, each once: each character and each
/// pair of adjacent characters within a line.
pub fn text_grams(text: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(text.len() / 2);
    for line in text.split('\n') {
        let mut prev = None;
        for c in line.chars() {
            out.push(unigram(c));
            if let Some(p) = prev {
                out.push(bigram(p, c));
            }
            prev = Some(c);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The keys every text holding the folded `term` has: its character when it is one, else
/// its pairs of adjacent characters. A text with all of them is a candidate only (`重慶市`
/// has 重慶 and 慶市, as does `重慶，慶市`), verified with [`has_term`].
pub fn term_grams(term: &str) -> Vec<u64> {
    let chars: Vec<char> = term.chars().collect();
    let mut out: Vec<u64> = match chars.as_slice() {
        [] => Vec::new(),
        [c] => vec![unigram(*c)],
        _ => chars.windows(2).map(|w| bigram(w[0], w[1])).collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures;

    #[test]
    fn terms_and_text_fold_alike() {
        assert_eq!(fold_term("重慶"), fold_term("重庆"));
        assert_eq!(fold_term("ＡＢＣ"), "abc");
        let text = searchable_text(&fixtures::seed().article);
        assert!(has_term(&text, &fold_term("重庆")));
        assert!(has_term(&text, &fold_term("統一戰線")));
        assert!(!has_term(&text, &fold_term("並無此詞")));
    }

    #[test]
    fn block_by_block_is_the_same_rule() {
        let mut a = fixtures::seed().article;
        a.subtitle = Some("丙丁".into());
        let text = searchable_text(&a);
        let terms = |t: &[&str]| t.iter().map(|s| fold_term(s)).collect::<Vec<_>>();
        for query in [
            &["重庆"][..],
            &["重庆", "统战"],
            &["丙丁", "把握"],
            &["重庆", "不在"],
            &["丁把"],
            &[],
        ] {
            let folded = terms(query);
            assert_eq!(
                has_terms(&a, &folded),
                folded.iter().all(|t| has_term(&text, t)),
                "{query:?}"
            );
        }
    }

    #[test]
    fn a_term_never_spans_two_blocks() {
        let mut a = fixtures::seed().article;
        a.title = "甲乙".into();
        a.subtitle = Some("丙丁".into());
        let text = searchable_text(&a);
        assert!(has_term(&text, "乙"));
        assert!(!has_term(&text, "乙丙"));
        assert!(!text_grams(&text).contains(&bigram('乙', '丙')));
    }

    #[test]
    fn every_key_of_a_term_is_a_key_of_a_text_holding_it() {
        let text = fold_term("把握要求積極作為 推動基層統戰工作 abc");
        let grams = text_grams(&text);
        for term in ["積", "積極", "基層統戰", "作 推", "abc", "c"] {
            let term = fold_term(term);
            let keys = term_grams(&term);
            assert!(!keys.is_empty(), "{term}");
            assert!(
                keys.iter().all(|k| grams.binary_search(k).is_ok()),
                "{term}"
            );
        }
        assert_eq!(term_grams("a"), vec![unigram('a')]);
        assert_eq!(term_grams("aaa"), vec![bigram('a', 'a')]);
        assert!(term_grams("").is_empty());
    }
}
