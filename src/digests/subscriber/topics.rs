//! What a subscriber follows: sections, keywords and terms, folded like feeds, and matching
//! an article against them.

use super::*;

/// Splits a section path as an operator or reader writes it — `黨派·聲音 > 統一戰線`,
/// `黨派·聲音/統一戰線`, a pasted breadcrumb `首頁>黨派·聲音>統一戰線` — into folded
/// segments. Separators: `>`, `＞`, `/`, `／`. Empty segments and a leading home crumb
/// (`首頁`/`首页`, which is never a section) are dropped.
///
/// ```
/// use tidings::digests::subscriber::parse_section;
/// assert_eq!(parse_section("黨派·聲音 > 統一戰線"), ["党派·声音", "统一战线"]);
/// assert_eq!(parse_section("党派·声音/统一战线"), ["党派·声音", "统一战线"]);
/// ```
pub fn parse_section(path: &str) -> Vec<String> {
    section_segments(path, &mut Folder::default())
        .into_iter()
        .map(|(_, key)| key)
        .collect()
}

/// `(typed, folded)` for each segment of a section path; see [`parse_section`].
pub(super) fn section_segments<'p>(path: &'p str, folder: &mut Folder) -> Vec<(&'p str, String)> {
    let mut out: Vec<(&str, String)> = path
        .split(['>', '＞', '/', '／'])
        .map(str::trim)
        .map(|typed| (typed, folder.name(typed)))
        .filter(|(_, key)| !key.is_empty())
        .collect();
    if out.first().is_some_and(|(_, key)| key == "首页") {
        out.remove(0);
    }
    out
}

/// Memoised [`fold_name`]. Folding runs OpenCC's phrase matching and is by far the
/// costliest step of reading a subscription, while an import repeats the same few
/// hundred section and keyword names across thousands of rows.
#[derive(Default)]
pub(super) struct Folder(HashMap<String, String>);

impl Folder {
    pub(super) fn name(&mut self, s: &str) -> String {
        if let Some(key) = self.0.get(s) {
            return key.clone();
        }
        let key = fold_name(s);
        self.0.insert(s.to_string(), key.clone());
        key
    }

    /// The key of a free-text term: folded, then lowercased, like the text it is
    /// searched in ([`crate::feeds::search::text::fold_term`]).
    pub(super) fn term(&mut self, s: &str) -> String {
        self.name(s).to_lowercase()
    }
}

/// Checks one typed name; the reason, if any, goes into the caller's error variant.
pub(super) fn check_name(name: &str) -> Result<&str, NameProblem> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.chars().count() > NAME_MAX {
        return Err(NameProblem::TooLong { max: NAME_MAX });
    }
    if name.contains(LIST_SEPARATORS) {
        // It would split in two on the way through a CSV file.
        return Err(NameProblem::Separator);
    }
    if name.chars().any(char::is_control) {
        return Err(NameProblem::Control);
    }
    Ok(name)
}

impl Topics {
    /// Validates and folds what a subscriber typed. Names are trimmed; duplicates after
    /// folding are dropped (the first spelling stays); a name that folds to nothing, is
    /// longer than 100 characters, holds `;` or a control character is an error, as are
    /// more than 100 of a kind. All three lists empty is not an error here — see
    /// [`Topics::is_empty`].
    pub fn from_input(
        sections: &[String],
        keywords: &[String],
        terms: &[String],
    ) -> Result<Topics, SubscriberError> {
        Topics::build(sections, keywords, terms, &mut Folder::default())
    }

    pub(super) fn build(
        sections: &[String],
        keywords: &[String],
        terms: &[String],
        folder: &mut Folder,
    ) -> Result<Topics, SubscriberError> {
        let mut t = Topics::default();
        for input in sections {
            let bad = |problem| SubscriberError::Section {
                input: input.clone(),
                problem,
            };
            check_name(input).map_err(bad)?;
            let segments = section_segments(input, folder);
            if segments.is_empty() {
                return Err(bad(NameProblem::NoSection));
            }
            let path: Vec<String> = segments.iter().map(|(_, key)| key.clone()).collect();
            if !t.sections.contains(&path) {
                let typed: Vec<&str> = segments.iter().map(|(typed, _)| *typed).collect();
                t.sections.push(path);
                t.section_names.push(typed.join(" > "));
            }
        }
        for input in keywords {
            let bad = |problem| SubscriberError::Keyword {
                input: input.clone(),
                problem,
            };
            let name = check_name(input).map_err(bad)?;
            let key = folder.name(name);
            if key.is_empty() {
                return Err(bad(NameProblem::Empty));
            }
            if !t.keywords.contains(&key) {
                t.keywords.push(key);
                t.keyword_names.push(name.to_string());
            }
        }
        for input in terms {
            let bad = |problem| SubscriberError::Term {
                input: input.clone(),
                problem,
            };
            let name = check_name(input).map_err(bad)?;
            let key = folder.term(name);
            if key.is_empty() {
                return Err(bad(NameProblem::Empty));
            }
            if !t.terms.contains(&key) {
                t.terms.push(key);
                t.term_names.push(name.to_string());
            }
        }
        for (field, count) in [
            ("sections", t.sections.len()),
            ("keywords", t.keywords.len()),
            ("terms", t.terms.len()),
        ] {
            if count > TOPICS_MAX {
                return Err(SubscriberError::TooMany {
                    field,
                    count,
                    max: TOPICS_MAX,
                });
            }
        }
        Ok(t)
    }

    /// No section, keyword or term: such a subscription matches nothing, so the CLI and
    /// the web form refuse it ([`SubscriberError::NoTopics`]).
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty() && self.keywords.is_empty() && self.terms.is_empty()
    }

    /// Display labels of every topic in matching order — sections, then keywords, then
    /// terms — as used for the digest's groups. [`Topics::matching`] indexes into it.
    pub fn labels(&self) -> Vec<&str> {
        self.section_names
            .iter()
            .chain(&self.keyword_names)
            .chain(&self.term_names)
            .map(String::as_str)
            .collect()
    }

    /// The label of the first topic (in [`Topics::labels`] order) that the article
    /// matches, or `None`. Sections: a subscribed path is a prefix of the article's folded
    /// section path. Keywords: equal after folding. Terms: a substring of the folded,
    /// lowercased title, subtitle or body.
    ///
    /// Folds the article's text when a term has to be searched; to match one article
    /// against many subscriptions, wrap it in a [`Haystack`] once and use
    /// [`Topics::first_match`].
    pub fn matches(&self, record: &Record) -> Option<String> {
        self.first_match(&Haystack::new(record))
    }

    /// [`Topics::matches`] against a shared [`Haystack`].
    pub fn first_match(&self, hay: &Haystack<'_>) -> Option<String> {
        let i = self.matching_iter(hay).next()?;
        self.section_names
            .iter()
            .chain(&self.keyword_names)
            .chain(&self.term_names)
            .nth(i)
            .cloned()
    }

    /// Indices into [`Topics::labels`] of every topic the article matches, in order. The
    /// digest lists an article under the first and counts it under the others.
    pub fn matching(&self, hay: &Haystack<'_>) -> Vec<usize> {
        self.matching_iter(hay).collect()
    }

    pub(super) fn matching_iter<'s>(
        &'s self,
        hay: &'s Haystack<'_>,
    ) -> impl Iterator<Item = usize> + 's {
        let path = hay.section_path();
        let sections = self
            .sections
            .iter()
            .enumerate()
            .filter(move |(_, sub)| path.starts_with(sub))
            .map(|(i, _)| i);
        let n = self.sections.len();
        let keywords = self
            .keywords
            .iter()
            .enumerate()
            .filter(move |(_, kw)| hay.has_keyword(kw))
            .map(move |(i, _)| n + i);
        let n = n + self.keywords.len();
        let terms = self
            .terms
            .iter()
            .enumerate()
            .filter(move |(_, term)| crate::feeds::search::text::has_term(hay.text(), term))
            .map(move |(i, _)| n + i);
        sections.chain(keywords).chain(terms)
    }
}

/// One article prepared for matching against many subscriptions: its deepest folded
/// section path is found once, and its text is folded at most once, on first need.
/// Folding a long body costs far more than all other matching, so a digest round
/// shares one `Haystack` per article across its subscribers (it is `Sync`).
#[derive(Debug)]
pub struct Haystack<'a> {
    pub(super) record: &'a Record,
    pub(super) path: Vec<String>,
    pub(super) text: OnceLock<String>,
}

impl<'a> Haystack<'a> {
    pub fn new(record: &'a Record) -> Haystack<'a> {
        // The index lists every prefix of the section path among the topics; the longest
        // is the path itself. Records without topics (hand-built ones) fold the article.
        let path = record
            .topics
            .iter()
            .filter_map(|(t, _)| match t {
                Topic::Section(p) => Some(p),
                _ => None,
            })
            .max_by_key(|p| p.len())
            .cloned()
            .unwrap_or_else(|| {
                record
                    .article
                    .sections
                    .iter()
                    .map(|s| fold_name(s))
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        Haystack {
            record,
            path,
            text: OnceLock::new(),
        }
    }

    pub fn record(&self) -> &'a Record {
        self.record
    }

    pub(super) fn section_path(&self) -> &[String] {
        &self.path
    }

    pub(super) fn has_keyword(&self, key: &str) -> bool {
        if self.record.topics.is_empty() {
            return self
                .record
                .article
                .keywords
                .iter()
                .any(|k| fold_name(k) == key);
        }
        self.record
            .topics
            .iter()
            .any(|(t, _)| matches!(t, Topic::Keyword(k) if k == key))
    }

    /// Title, subtitle and body blocks, folded as search folds them
    /// ([`crate::feeds::search::text::searchable_text`]).
    pub(super) fn text(&self) -> &str {
        self.text
            .get_or_init(|| crate::feeds::search::text::searchable_text(&self.record.article))
    }
}
