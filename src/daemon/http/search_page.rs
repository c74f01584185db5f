//! The `/search` page (DESIGN §5): the form, the newest matches (title, date, section, a
//! snippet) and the feeds of the same query, in the reader's language. Pure: the
//! results come in, the page goes out.

use chrono::TimeZone;
use maud::{html, Markup};

use super::article_page::document;
use crate::config::Format;
use crate::feeds::feed::{summary_of, xml_clean, Site};
use crate::feeds::search::query::{Query, QueryError, PARAMS_MAX};
use crate::feeds::search::text::fold_term;
use crate::i18n::{language_switcher, Lang};
use crate::model::article::{Block, Record};

/// Characters of a snippet at most, and how many of them come before the match.
const SNIPPET_CHARS: usize = 120;
const SNIPPET_BEFORE: usize = 30;

/// What the page shows.
pub(super) enum PageState {
    /// No query yet: the form alone.
    Form,
    /// The search index is being built.
    NotReady,
    /// The query is refused, for this reason.
    Bad(QueryError),
    /// The matches, newest first.
    Found(Query, Vec<Record>),
}

/// `query_string`: the request's, which the language switcher's links keep.
pub(super) fn search_page(
    site: &Site,
    lang: Lang,
    query_string: Option<&str>,
    state: &PageState,
) -> String {
    let m = lang.messages();
    let (typed, query) = match state {
        PageState::Found(q, _) => (q.typed_text(), Some(q)),
        _ => (String::new(), None),
    };
    let title = match query {
        Some(_) if !typed.is_empty() => {
            format!(
                "{}{typed}{}",
                m.search_results_before, m.search_results_after
            )
        }
        Some(q) => q
            .topics
            .iter()
            .map(|t| lang.script(&t.manifest_key()).into_owned())
            .collect::<Vec<_>>()
            .join(" · "),
        None => m.search_title.to_string(),
    };
    let normal = query.map(Query::normal_form);
    let feeds: Vec<(Format, String)> = match &normal {
        Some(n) => site
            .formats
            .iter()
            .map(|&f| (f, format!("/search/{}?{n}", f.file_name())))
            .collect(),
        None => Vec::new(),
    };
    let head = html! {
        @for (format, href) in &feeds {
            link rel="alternate" type=(format.media_type()) title=(xml_clean(&title)) href=(href);
        }
    };
    let body = html! {
        nav { a href="/" { (xml_clean(&site.title)) } " · " a href="/subscribe" { (m.subscribe_link) } }
        (language_switcher(lang, "/search", query_string))
        h1 { (xml_clean(&title)) }
        form method="get" action="/search" role="search" {
            label for="q" { (m.search_label) } " "
            input type="search" id="q" name="q" value=(xml_clean(&typed)) maxlength="100";
            input type="hidden" name="lang" value=(lang.tag());
            " " button type="submit" { (m.search_label) }
        }
        @match state {
            PageState::Form => {},
            PageState::NotReady => p { (m.search_not_ready) },
            PageState::Bad(e) => p { (m.search_invalid) (refusal(e, lang)) },
            PageState::Found(q, records) => {
                @if records.is_empty() {
                    p { (m.search_none) }
                } @else {
                    ol.results {
                        @for rec in records { (result(site, lang, q, rec)) }
                    }
                }
            },
        }
        @if !feeds.is_empty() {
            p.meta {
                (m.search_follow)
                @for (format, href) in &feeds {
                    " " a href=(href) type=(format.media_type()) { (format.key().to_uppercase()) }
                }
            }
        }
        footer { a href="/subscribe" { (m.subscribe_link) } }
    };
    document(lang, &format!("{title} · {}", site.title), head, body)
}

/// Why the query is refused, in the reader's language (the feeds' 400 says it in English).
fn refusal(e: &QueryError, lang: Lang) -> String {
    let m = lang.messages();
    match e {
        QueryError::Empty => m.query_empty.to_string(),
        QueryError::TooManyParameters { count } => (m.query_too_many)(*count, PARAMS_MAX),
        QueryError::TooLong { name, max } => (m.query_too_long)(name, *max),
        QueryError::Control { name } => (m.query_control)(name),
        QueryError::NoSection => m.query_no_section.to_string(),
    }
}

fn result(site: &Site, lang: Lang, query: &Query, rec: &Record) -> Markup {
    let a = &rec.article;
    let when = site
        .tz
        .timestamp_opt(rec.published, 0)
        .single()
        .map(|t| t.fixed_offset());
    let section = rec.deepest_section().map(|(_, name)| lang.script(name));
    html! {
        li {
            a href=(site.link_of(a)) { (xml_clean(&a.title)) }
            div.meta {
                @if let Some(t) = when {
                    time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d")) }
                }
                @if let Some(section) = section { " · " (xml_clean(&section)) }
            }
            p { (xml_clean(&snippet(query, rec))) }
        }
    }
}

/// Up to [`SNIPPET_CHARS`] characters of the first block holding the first term, from a
/// little before it; the article's summary when no block does (or there is no term).
fn snippet(query: &Query, rec: &Record) -> String {
    let a = &rec.article;
    if let Some(term) = query.terms.first() {
        let blocks = a
            .subtitle
            .iter()
            .map(String::as_str)
            .chain(a.body.iter().map(|b| match b {
                Block::Paragraph(s) | Block::Heading(s) => s.as_str(),
            }));
        for block in blocks {
            let folded = fold_term(block);
            let Some(at) = folded.find(term.as_str()) else {
                continue;
            };
            let chars: Vec<char> = block.chars().collect();
            // Folding keeps most texts' length in characters; where it did not, the
            // position is unknown and the block's start is shown.
            let start = if folded.chars().count() == chars.len() {
                folded[..at].chars().count().saturating_sub(SNIPPET_BEFORE)
            } else {
                0
            };
            let end = (start + SNIPPET_CHARS).min(chars.len());
            let mut out: String = chars[start..end].iter().collect();
            if start > 0 {
                out.insert(0, '…');
            }
            if end < chars.len() {
                out.push('…');
            }
            return out;
        }
    }
    let summary = summary_of(rec);
    let chars: Vec<char> = summary.chars().collect();
    if chars.len() > SNIPPET_CHARS {
        let mut out: String = chars[..SNIPPET_CHARS].iter().collect();
        out.push('…');
        out
    } else {
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures;

    #[test]
    fn results_page_in_each_language() {
        let site = fixtures::site();
        let rec = fixtures::seed();
        let q = Query::parse("q=统战工作").unwrap();
        let found = PageState::Found(q.clone(), vec![rec]);
        let hans = search_page(&site, Lang::ZhHans, Some("q=统战工作"), &found);
        assert!(hans.contains("<html lang=\"zh-Hans\">"), "{hans}");
        assert!(hans.contains("搜索“统战工作”"));
        assert!(hans.contains("党派·声音"), "section in the reader's script");
        assert!(hans.contains("href=\"https://news.example/articles/000_8c7ef1c8e8c43d29\""));
        assert!(hans.contains(&format!(
            "rel=\"alternate\" type=\"application/rss+xml\" title=\"搜索“统战工作”\" href=\"/search/rss.xml?{}\"",
            q.normal_form()
        )));
        assert!(hans.contains("href=\"/subscribe\""));
        assert!(
            hans.contains("href=\"/search?q=%E7%BB%9F%E6%88%98%E5%B7%A5%E4%BD%9C&amp;lang=en\""),
            "the switcher keeps the query: {hans}"
        );
        assert!(
            hans.contains("統戰工作"),
            "the snippet as the article wrote it"
        );
        let en = search_page(&site, Lang::En, None, &PageState::Found(q, Vec::new()));
        assert!(en.contains("No article matches."));
        let form = search_page(&site, Lang::ZhHant, None, &PageState::Form);
        assert!(form.contains("搜尋文章") && !form.contains("rel=\"alternate\""));
        let too_long = QueryError::TooLong {
            name: "q",
            max: 100,
        };
        let bad = search_page(&site, Lang::En, None, &PageState::Bad(too_long.clone()));
        assert!(bad.contains("This search cannot be run: q: longer than 100 characters"));
        let bad = search_page(&site, Lang::ZhHant, None, &PageState::Bad(too_long));
        assert!(bad.contains("無法執行這個搜尋：q 超過 100 個字"), "{bad}");
        let bad = search_page(
            &site,
            Lang::ZhHans,
            None,
            &PageState::Bad(QueryError::NoSection),
        );
        assert!(
            bad.contains("无法执行这个搜索：section 不是任何栏目"),
            "{bad}"
        );
    }

    #[test]
    fn snippets_start_a_little_before_the_match() {
        let mut rec = fixtures::seed();
        rec.article.subtitle = None;
        rec.article.body = vec![Block::Paragraph(format!(
            "{}重慶{}",
            "甲".repeat(50),
            "乙".repeat(200)
        ))];
        let s = snippet(&Query::parse("q=重庆").unwrap(), &rec);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 2);
        assert_eq!(s.chars().nth(1 + SNIPPET_BEFORE), Some('重'));
    }
}
