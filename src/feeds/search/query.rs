//! A search or combined-feed query (DESIGN §5 `/search…`): read from the URL's query
//! string, checked, folded, and put in one normal form that names it in links and caches.
//! Pure.

use std::fmt;

use crate::feeds::topic::fold_name;
use crate::model::topic::Topic;

use super::text::fold_term;

/// Parameters a query may have at most, of all names together.
pub const PARAMS_MAX: usize = 32;
/// Characters of one `q` at most (a subscriber's term has the same limit).
pub const TERM_MAX: usize = 100;
/// Characters of one `section` or `keyword` at most.
pub const NAME_MAX: usize = 200;

/// A checked query. `terms` must all match; the article must be in one of `topics`
/// when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Folded ([`fold_term`]), sorted, each once.
    pub terms: Vec<String>,
    /// Sections (every one below included, as feeds include them) and keywords, folded
    /// as `index.json` keys them; sorted, each once.
    pub topics: Vec<Topic>,
    /// The `q` values as typed, trimmed, for the search box.
    pub typed: Vec<String>,
}

/// Why a query is refused: one line, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    Empty,
    TooManyParameters { count: usize },
    TooLong { name: &'static str, max: usize },
    Control { name: &'static str },
    NoSection,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Empty => {
                write!(f, "empty query: give q=, section= or keyword=")
            }
            QueryError::TooManyParameters { count } => {
                write!(f, "too many parameters: {count}, at most {PARAMS_MAX}")
            }
            QueryError::TooLong { name, max } => {
                write!(f, "{name}: longer than {max} characters")
            }
            QueryError::Control { name } => write!(f, "{name}: holds a control character"),
            QueryError::NoSection => write!(f, "section: names no section"),
        }
    }
}

impl std::error::Error for QueryError {}

impl Query {
    /// Reads a URL query string (`q=重慶&q=經濟&section=黨派·聲音/統一戰線&keyword=重慶市`).
    /// Each `q` is split at white space into terms (`q=重慶 經濟` is `q=重慶&q=經濟`); a
    /// blank `q` is no term. Parameters other than `q`, `section` and `keyword` (`lang`,
    /// a reader's `utm_…`) are ignored but counted against [`PARAMS_MAX`].
    pub fn parse(query_string: &str) -> Result<Query, QueryError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query_string.as_bytes())
            .into_owned()
            .collect();
        if pairs.len() > PARAMS_MAX {
            return Err(QueryError::TooManyParameters { count: pairs.len() });
        }
        let mut query = Query {
            terms: Vec::new(),
            topics: Vec::new(),
            typed: Vec::new(),
        };
        for (name, value) in &pairs {
            let value = value.trim();
            match name.as_str() {
                "q" => {
                    check(value, "q", TERM_MAX)?;
                    if value.is_empty() {
                        continue;
                    }
                    query.typed.push(value.to_string());
                    query
                        .terms
                        .extend(fold_term(value).split_whitespace().map(str::to_string));
                }
                "section" => {
                    check(value, "section", NAME_MAX)?;
                    let path: Vec<String> = value
                        .split('/')
                        .map(fold_name)
                        .filter(|s| !s.is_empty())
                        .collect();
                    if path.is_empty() {
                        return Err(QueryError::NoSection);
                    }
                    query.topics.push(Topic::Section(path));
                }
                "keyword" => {
                    check(value, "keyword", NAME_MAX)?;
                    let key = fold_name(value);
                    if !key.is_empty() {
                        query.topics.push(Topic::Keyword(key));
                    }
                }
                _ => {}
            }
        }
        query.terms.sort();
        query.terms.dedup();
        query.topics.sort();
        query.topics.dedup();
        if query.terms.is_empty() && query.topics.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(query)
    }

    /// The normal form as a URL query string: terms, then sections, then keywords, each
    /// folded and sorted. Two spellings of one query (`重慶`, `重庆`; any order) have one
    /// normal form, so one self link, one feed id and one cache entry.
    pub fn normal_form(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for term in &self.terms {
            out.append_pair("q", term);
        }
        for topic in &self.topics {
            if let Topic::Section(_) = topic {
                out.append_pair("section", &topic.manifest_key());
            }
        }
        for topic in &self.topics {
            if let Topic::Keyword(key) = topic {
                out.append_pair("keyword", key);
            }
        }
        out.finish()
    }

    /// The search box's text: the `q` values as typed.
    pub fn typed_text(&self) -> String {
        self.typed.join(" ")
    }
}

fn check(value: &str, name: &'static str, max: usize) -> Result<(), QueryError> {
    if value.chars().count() > max {
        return Err(QueryError::TooLong { name, max });
    }
    if value.chars().any(char::is_control) {
        return Err(QueryError::Control { name });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_folded_split_sorted_and_deduplicated() {
        let q =
            Query::parse("q=%E9%87%8D%E6%85%B6+%E7%B6%93%E6%BF%9F&q=重庆&q=%20&lang=en").unwrap();
        assert_eq!(q.terms, ["经济", "重庆"]);
        assert!(q.topics.is_empty());
        assert_eq!(q.typed, ["重慶 經濟", "重庆"]);
        assert_eq!(
            q.normal_form(),
            Query::parse("q=經濟&q=重慶").unwrap().normal_form()
        );
        assert_eq!(
            Query::parse("q=ＡＢＣ").unwrap().terms,
            ["abc"],
            "NFKC and lowercase"
        );
    }

    #[test]
    fn sections_and_keywords_are_folded_like_index_json_keys() {
        let q =
            Query::parse("keyword=重慶市&section=黨派·聲音/統一戰線&section=党派·声音/统一战线")
                .unwrap();
        assert!(q.terms.is_empty());
        assert_eq!(
            q.topics,
            [
                Topic::Section(vec!["党派·声音".into(), "统一战线".into()]),
                Topic::Keyword("重庆市".into()),
            ]
        );
        assert_eq!(
            q.normal_form(),
            "section=%E5%85%9A%E6%B4%BE%C2%B7%E5%A3%B0%E9%9F%B3%2F%E7%BB%9F%E4%B8%80%E6%88%98%E7%BA%BF\
             &keyword=%E9%87%8D%E5%BA%86%E5%B8%82"
        );
    }

    #[test]
    fn bad_queries_say_why() {
        let err = |s: &str| Query::parse(s).unwrap_err().to_string();
        assert_eq!(err(""), "empty query: give q=, section= or keyword=");
        assert_eq!(
            err("q=&q=+&lang=en"),
            "empty query: give q=, section= or keyword="
        );
        assert_eq!(
            err(&"q=a&".repeat(33)),
            "too many parameters: 33, at most 32"
        );
        assert_eq!(
            err(&format!("q={}", "長".repeat(101))),
            "q: longer than 100 characters"
        );
        assert!(Query::parse(&format!("q={}", "長".repeat(100))).is_ok());
        assert_eq!(err("q=a%00b"), "q: holds a control character");
        assert_eq!(err("section=%2F%2F"), "section: names no section");
        assert_eq!(
            err(&format!("keyword={}", "k".repeat(201))),
            "keyword: longer than 200 characters"
        );
    }
}
