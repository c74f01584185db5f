//! Subscribers: who gets a digest, of what, when — the model, its validation and the
//! CSV form that `tidings subscriber import|export` reads and writes (DESIGN §3, issue 4).
//!
//! Pure: no file, clock or network. Callers pass `now` and the index's current arrival
//! sequence, and store the results themselves.
//!
//! # Identity
//! An address is kept as the subscriber typed its local part, with the domain lowercased
//! and converted to ASCII (IDNA/punycode), because that is the form every SMTP server
//! accepts. Two addresses are the same subscriber when their [`email_key`]s — the whole
//! address lowercased — are equal: RFC 5321 lets a server treat `Li` and `li` as two
//! mailboxes, but no real one does, and a reader who subscribes twice with different case
//! must not get two digests.
//!
//! # Topics
//! Sections and keywords are folded exactly like feeds ([`crate::feeds::topic::fold_name`]: NFKC
//! and Traditional→Simplified), so a subscription to `黨派·聲音` is the feed `党派·声音`
//! and gets the articles of its child sections too. Free-text terms are folded the same
//! way and also lowercased, then searched in the folded title and body.

pub mod admin;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::digests::schedule::Cron;
use crate::feeds::topic::fold_name;
use crate::model::article::Block;
use crate::model::article::Record;
use crate::model::subscriber::{Status, Subscriber, Topics};
use crate::model::topic::Topic;

/// RFC 5321 §4.5.3.1.1.
const LOCAL_MAX: usize = 64;
/// RFC 5321 allows a 256-octet path including its angle brackets: 254 for the address.
const ADDRESS_MAX: usize = 254;
/// Longest section, keyword or term, in characters. Real ones are a few words; the bound
/// keeps a pasted paragraph (or a hostile form post) out of the index.
const NAME_MAX: usize = 100;
/// Most sections, keywords or terms in one subscription, each. Far above what a reader
/// picks, low enough that matching 100,000 subscribers stays cheap.
const TOPICS_MAX: usize = 100;
/// What CSV cells use between several sections, keywords or terms. The full-width form is
/// what a Chinese input method types.
const LIST_SEPARATORS: [char; 2] = [';', '；'];

impl FromStr for Status {
    type Err = SubscriberError;

    /// Case-insensitive, surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Status, SubscriberError> {
        let wanted = s.trim();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| SubscriberError::Status(s.to_string()))
    }
}

/// Why an address, topic, schedule, zone or status is refused. One line each, naming the
/// field and quoting the input, e.g. `email "a@b": domain has no dot`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SubscriberError {
    #[error("email {email:?}: {reason}")]
    Email { email: String, reason: String },
    #[error("section {input:?}: {reason}")]
    Section { input: String, reason: String },
    #[error("keyword {input:?}: {reason}")]
    Keyword { input: String, reason: String },
    #[error("term {input:?}: {reason}")]
    Term { input: String, reason: String },
    #[error("{count} {field} (at most {max})")]
    TooMany {
        field: &'static str,
        count: usize,
        max: usize,
    },
    #[error("no sections, keywords or terms: a subscription needs at least one")]
    NoTopics,
    /// The schedule module's message, which names the schedule or the cron field.
    #[error("{0}")]
    Schedule(String),
    #[error("timezone: {0}")]
    Timezone(String),
    #[error("status {0:?}: expected pending, active, unsubscribed or bounced")]
    Status(String),
}

fn email_error(email: &str, reason: impl Into<String>) -> SubscriberError {
    SubscriberError::Email {
        email: email.to_string(),
        reason: reason.into(),
    }
}

/// Characters that arrive with copy-and-paste and are never part of an address.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{AD}'
    )
}

/// Validates an address and puts it in the stored form: surrounding whitespace trimmed,
/// the local part as typed, the domain lowercased and in ASCII (IDNA, UTS #46 with the
/// strict STD3 rules).
///
/// Accepted local parts are RFC 5321 dot-atoms (RFC 6531 lets them hold non-ASCII
/// characters, e.g. `用户`) and quoted strings. Rejected, to be practical: whitespace,
/// control and invisible characters anywhere (also inside quotes), a leading, trailing or
/// doubled dot, a local part over 64 octets, an address over 254 octets, address literals
/// (`[192.0.2.1]`), and domains without a dot, with an empty label, a trailing dot, or a
/// label outside letters, digits and inner hyphens. A full-width `＠` counts as `@`, and
/// the ideographic full stop `。` in a domain as a dot (UTS #46 maps it).
///
/// ```
/// use tidings::digests::subscriber::normalize_email;
/// assert_eq!(normalize_email(" Li.Wei@Example.COM ").unwrap(), "Li.Wei@example.com");
/// assert_eq!(normalize_email("用户@例子.广告").unwrap(), "用户@xn--fsqu00a.xn--4rr70v");
/// ```
pub fn normalize_email(raw: &str) -> Result<String, SubscriberError> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
    // A Chinese input method types the full-width `＠`; it can only have meant `@`.
    let email = &trimmed.replace('＠', "@");
    let err = |reason: &str| Err(email_error(email, reason));
    if email.is_empty() {
        return err("empty");
    }
    if let Some(c) = email
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || is_invisible(c))
    {
        let reason = if c.is_whitespace() {
            "contains a space".to_string()
        } else if c.is_control() {
            format!("contains the control character U+{:04X}", c as u32)
        } else {
            format!("contains the invisible character U+{:04X}", c as u32)
        };
        return Err(email_error(email, reason));
    }
    // A quoted local part may itself hold an `@`, so the domain starts at the last one.
    let Some((local, domain)) = email.rsplit_once('@') else {
        return err("no @");
    };
    check_local(local).map_err(|reason| email_error(email, reason))?;
    let domain = check_domain(domain).map_err(|reason| email_error(email, reason))?;
    let normalized = format!("{local}@{domain}");
    if normalized.len() > ADDRESS_MAX {
        return Err(email_error(
            email,
            format!("{} octets long (at most {ADDRESS_MAX})", normalized.len()),
        ));
    }
    // The digest is built with lettre; an address it refuses would fail every send, so
    // refuse it here, where the operator sees the message.
    if lettre::Address::new(local, &domain).is_err() {
        return err("not accepted as a mailbox");
    }
    Ok(normalized)
}

/// Checks a local part; whitespace and control characters are already excluded.
fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("nothing before the @".into());
    }
    if local.len() > LOCAL_MAX {
        return Err(format!(
            "part before the @ is {} octets long (at most {LOCAL_MAX})",
            local.len()
        ));
    }
    if let Some(inner) = local.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err("unterminated quoted local part".into());
        };
        if inner.is_empty() {
            return Err("empty quoted local part".into());
        }
        // RFC 5321 qtextSMTP and quoted-pairs; non-ASCII per RFC 6531.
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) if e.is_ascii_graphic() => {}
                    _ => return Err("bad escape in quoted local part".into()),
                },
                '"' => return Err("stray quote in the quoted local part".into()),
                _ => {}
            }
        }
        return Ok(());
    }
    if local.contains('@') {
        return Err("more than one @".into());
    }
    if local.starts_with('.') {
        return Err("local part starts with a dot".into());
    }
    if local.ends_with('.') {
        return Err("local part ends with a dot".into());
    }
    if local.contains("..") {
        return Err("two dots in a row".into());
    }
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";
    if let Some(c) = local
        .chars()
        .find(|&c| c.is_ascii() && !c.is_ascii_alphanumeric() && !SPECIALS.contains(c))
    {
        return Err(format!("{c:?} is not allowed before the @"));
    }
    Ok(())
}

/// Checks a domain and returns its lowercase ASCII form.
fn check_domain(domain: &str) -> Result<String, String> {
    if domain.is_empty() {
        return Err("nothing after the @".into());
    }
    if domain.starts_with('[') {
        return Err("address literals are not accepted".into());
    }
    // Checked on the input as well as on the IDNA result: UTS #46 maps the ideographic
    // full stop `。` to a dot, and a plain message beats the IDNA crate's error list.
    let dots = |c: char| matches!(c, '.' | '。' | '．' | '｡');
    if domain.ends_with(dots) {
        return Err("domain ends with a dot".into());
    }
    if domain.starts_with(dots) {
        return Err("domain starts with a dot".into());
    }
    if domain.split(dots).any(str::is_empty) {
        return Err("domain has an empty label (two dots in a row)".into());
    }
    if domain.is_ascii() {
        // The IDNA crate would refuse these too, with a less specific error.
        check_labels(domain)?;
    }
    let ascii = idna::domain_to_ascii_strict(domain)
        .map_err(|_| "domain is not a valid host name (IDNA)".to_string())?;
    check_labels(&ascii)?;
    Ok(ascii.to_ascii_lowercase())
}

/// Checks an ASCII domain's labels: LDH, 1–63 octets, no hyphen at either end, a
/// non-numeric top-level label, and at least two labels.
fn check_labels(ascii: &str) -> Result<(), String> {
    if !ascii.contains('.') {
        return Err("domain has no dot".into());
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err("domain has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("domain label {label:?} is longer than 63 octets"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "domain label {label:?} holds characters other than letters, digits and '-'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "domain label {label:?} starts or ends with a hyphen"
            ));
        }
    }
    let tld = ascii.rsplit('.').next().unwrap_or_default();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err("domain is an IP address; address literals are not accepted".into());
    }
    Ok(())
}

/// The identity of a normalised address: all of it lowercased (see the module docs).
pub fn email_key(normalized: &str) -> String {
    normalized.to_lowercase()
}

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
fn section_segments<'p>(path: &'p str, folder: &mut Folder) -> Vec<(&'p str, String)> {
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
struct Folder(HashMap<String, String>);

impl Folder {
    fn name(&mut self, s: &str) -> String {
        if let Some(key) = self.0.get(s) {
            return key.clone();
        }
        let key = fold_name(s);
        self.0.insert(s.to_string(), key.clone());
        key
    }

    /// The key of a free-text term: folded, then lowercased, like the text it is
    /// searched in ([`term_key`]).
    fn term(&mut self, s: &str) -> String {
        self.name(s).to_lowercase()
    }
}

/// Checks one typed name; the reason, if any, goes into the caller's error variant.
fn check_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("longer than {NAME_MAX} characters"));
    }
    if name.contains(LIST_SEPARATORS) {
        // It would split in two on the way through a CSV file.
        return Err("must not contain ';'".into());
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(name)
}

/// The folded form a free-text term and the text it is searched in share.
fn term_key(s: &str) -> String {
    fold_name(s).to_lowercase()
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

    fn build(
        sections: &[String],
        keywords: &[String],
        terms: &[String],
        folder: &mut Folder,
    ) -> Result<Topics, SubscriberError> {
        let mut t = Topics::default();
        for input in sections {
            let bad = |reason: &str| SubscriberError::Section {
                input: input.clone(),
                reason: reason.to_string(),
            };
            check_name(input).map_err(|r| bad(&r))?;
            let segments = section_segments(input, folder);
            if segments.is_empty() {
                return Err(bad("names no section"));
            }
            let path: Vec<String> = segments.iter().map(|(_, key)| key.clone()).collect();
            if !t.sections.contains(&path) {
                let typed: Vec<&str> = segments.iter().map(|(typed, _)| *typed).collect();
                t.sections.push(path);
                t.section_names.push(typed.join(" > "));
            }
        }
        for input in keywords {
            let bad = |reason: &str| SubscriberError::Keyword {
                input: input.clone(),
                reason: reason.to_string(),
            };
            let name = check_name(input).map_err(|r| bad(&r))?;
            let key = folder.name(name);
            if key.is_empty() {
                return Err(bad("empty"));
            }
            if !t.keywords.contains(&key) {
                t.keywords.push(key);
                t.keyword_names.push(name.to_string());
            }
        }
        for input in terms {
            let bad = |reason: &str| SubscriberError::Term {
                input: input.clone(),
                reason: reason.to_string(),
            };
            let name = check_name(input).map_err(|r| bad(&r))?;
            let key = folder.term(name);
            if key.is_empty() {
                return Err(bad("empty"));
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

    fn matching_iter<'s>(&'s self, hay: &'s Haystack<'_>) -> impl Iterator<Item = usize> + 's {
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
            .filter(move |(_, term)| hay.text().contains(term.as_str()))
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
    record: &'a Record,
    path: Vec<String>,
    text: OnceLock<String>,
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

    fn section_path(&self) -> &[String] {
        &self.path
    }

    fn has_keyword(&self, key: &str) -> bool {
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

    /// Title, subtitle and body blocks, each folded and lowercased, one per line so that
    /// a term never matches across two of them.
    fn text(&self) -> &str {
        self.text.get_or_init(|| {
            let a = &self.record.article;
            let mut out = term_key(&a.title);
            for part in a
                .subtitle
                .iter()
                .map(String::as_str)
                .chain(a.body.iter().map(|b| match b {
                    Block::Paragraph(s) | Block::Heading(s) => s.as_str(),
                }))
            {
                out.push('\n');
                out.push_str(&term_key(part));
            }
            out
        })
    }
}

/// Checks a schedule with [`Cron::parse`] and returns it trimmed.
pub fn validate_schedule(schedule: &str) -> Result<String, SubscriberError> {
    let schedule = schedule.trim();
    Cron::parse(schedule).map_err(|e| {
        let msg = e.to_string();
        // Most of the schedule module's messages name the schedule; the per-field ones
        // name only the field.
        SubscriberError::Schedule(if msg.contains("schedule") {
            msg
        } else {
            format!("schedule {schedule:?}: {msg}")
        })
    })?;
    Ok(schedule.to_string())
}

/// Checks an IANA zone name and returns its canonical spelling.
pub fn validate_timezone(tz: &str) -> Result<String, SubscriberError> {
    crate::config::parse_zone(tz.trim())
        .map(|z| z.name().to_string())
        .map_err(SubscriberError::Timezone)
}

impl Subscriber {
    /// A validated subscriber with status [`Status::Pending`], watermark 0 and no runs or
    /// bounces yet. The caller sets `status` (an operator's `subscriber add` makes it
    /// active) and `watermark` — to the index's current arrival sequence, so that the
    /// first digest covers only what arrives after subscribing.
    pub fn new(
        email: &str,
        topics: Topics,
        schedule: &str,
        tz: &str,
        now: i64,
    ) -> Result<Subscriber, SubscriberError> {
        let email = normalize_email(email)?;
        if topics.is_empty() {
            return Err(SubscriberError::NoTopics);
        }
        Ok(Subscriber {
            email,
            topics,
            schedule: validate_schedule(schedule)?,
            tz: validate_timezone(tz)?,
            status: Status::Pending,
            created: now,
            watermark: 0,
            last_run: None,
            bounces: 0,
        })
    }

    /// [`email_key`] of the address.
    pub fn key(&self) -> String {
        email_key(&self.email)
    }
}

// ---------------------------------------------------------------------------------------
// CSV

/// What an imported row gets for the cells it leaves empty or lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `digest.schedule`.
    pub schedule: String,
    /// `digest.timezone`.
    pub timezone: String,
    /// `active` for an operator's import: the addresses are the operator's to vouch for.
    pub status: Status,
    /// The index's current arrival sequence, so that nobody is sent the back catalogue.
    pub watermark: u64,
}

/// The columns of the CSV form, in the order [`export_csv`] writes them.
pub const CSV_COLUMNS: [&str; 7] = [
    "email", "sections", "keywords", "terms", "schedule", "timezone", "status",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Email,
    Sections,
    Keywords,
    Terms,
    Schedule,
    Timezone,
    Status,
}

fn column(name: &str) -> Option<Col> {
    Some(match name.trim().to_lowercase().as_str() {
        "email" | "e-mail" => Col::Email,
        "sections" | "section" => Col::Sections,
        "keywords" | "keyword" => Col::Keywords,
        "terms" | "term" => Col::Terms,
        "schedule" => Col::Schedule,
        "timezone" | "tz" => Col::Timezone,
        "status" => Col::Status,
        _ => return None,
    })
}

/// Reads subscribers from CSV text: a header row naming the columns of [`CSV_COLUMNS`]
/// (any order, case-insensitive; `email` required, the others optional), then one
/// subscriber a row. Several sections, keywords or terms share a cell, separated by `;`
/// (or `；`). Empty `schedule`, `timezone` and `status` cells take `defaults`.
///
/// Returns the good rows and, for each bad row, its line number (the header is line 1; a
/// quoted cell spanning lines counts all of them, as an editor shows them) with every
/// problem of the row in one message. It never stops at a bad row. An unknown or repeated
/// column is reported on line 1 and nothing is imported, since each row would be read
/// wrongly. Rows whose cells are all empty (spreadsheet padding) are skipped. A UTF-8 BOM
/// and CRLF line ends are fine. An address seen again (case-insensitively) after an
/// imported row is reported, and the first stays.
pub fn import_csv(
    text: &str,
    defaults: &Defaults,
    now: i64,
) -> (Vec<Subscriber>, Vec<(u64, String)>) {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut good = Vec::new();
    let mut bad = Vec::new();

    let mut records = reader.records();
    let header = loop {
        match records.next() {
            None => {
                bad.push((
                    1,
                    format!("no header row (expected {})", CSV_COLUMNS.join(",")),
                ));
                return (good, bad);
            }
            Some(Err(e)) => bad.push((error_line(&e, 1), csv_message(&e))),
            Some(Ok(r)) => break r,
        }
    };
    let header_line = header.position().map_or(1, |p| p.line());
    let mut cols = Vec::with_capacity(header.len());
    for name in &header {
        match column(name) {
            Some(c) if cols.contains(&Some(c)) => {
                bad.push((
                    header_line,
                    format!("column {:?} appears twice", name.trim()),
                ));
            }
            Some(c) => cols.push(Some(c)),
            // Trailing empty header cells come from spreadsheets; they must stay empty.
            None if name.trim().is_empty() => cols.push(None),
            None => bad.push((
                header_line,
                format!(
                    "unknown column {:?} (expected {})",
                    name.trim(),
                    CSV_COLUMNS.join(",")
                ),
            )),
        }
    }
    if !cols.contains(&Some(Col::Email)) {
        bad.push((header_line, "no \"email\" column".to_string()));
    }
    if !bad.is_empty() {
        return (good, bad);
    }

    // A file usually repeats a few schedules and zones; parse each once.
    let mut schedules: HashMap<String, Result<String, SubscriberError>> = HashMap::new();
    let mut zones: HashMap<String, Result<String, SubscriberError>> = HashMap::new();
    // Key → line of the imported row.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut folder = Folder::default();

    for result in records {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                bad.push((error_line(&e, 0), csv_message(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() > cols.len() {
            bad.push((
                line,
                format!(
                    "{} cells, but the header names {} columns (quote cells that hold a comma)",
                    record.len(),
                    cols.len()
                ),
            ));
            continue;
        }
        let cell = |c: Col| -> &str {
            cols.iter()
                .position(|&x| x == Some(c))
                .and_then(|i| record.get(i))
                .map_or("", str::trim)
        };
        let list = |c: Col| -> Vec<String> {
            cell(c)
                .split(LIST_SEPARATORS)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };

        let mut problems: Vec<String> = Vec::new();
        let email = normalize_email(cell(Col::Email)).map_err(|e| problems.push(e.to_string()));
        let topics = Topics::build(
            &list(Col::Sections),
            &list(Col::Keywords),
            &list(Col::Terms),
            &mut folder,
        )
        .and_then(|t| {
            if t.is_empty() {
                Err(SubscriberError::NoTopics)
            } else {
                Ok(t)
            }
        })
        .map_err(|e| problems.push(e.to_string()));
        let schedule = or_default(cell(Col::Schedule), &defaults.schedule);
        let schedule = schedules
            .entry(schedule.to_string())
            .or_insert_with(|| validate_schedule(schedule))
            .clone()
            .map_err(|e| problems.push(e.to_string()));
        let tz = or_default(cell(Col::Timezone), &defaults.timezone);
        let tz = zones
            .entry(tz.to_string())
            .or_insert_with(|| validate_timezone(tz))
            .clone()
            .map_err(|e| problems.push(e.to_string()));
        let status = match cell(Col::Status) {
            "" => Ok(defaults.status),
            s => s
                .parse::<Status>()
                .map_err(|e| problems.push(e.to_string())),
        };

        let (Ok(email), Ok(topics), Ok(schedule), Ok(tz), Ok(status)) =
            (email, topics, schedule, tz, status)
        else {
            bad.push((line, problems.join("; ")));
            continue;
        };
        let key = email_key(&email);
        if let Some(first) = seen.get(&key) {
            bad.push((
                line,
                format!("email {email:?}: already imported from line {first}"),
            ));
            continue;
        }
        seen.insert(key, line);
        good.push(Subscriber {
            email,
            topics,
            schedule,
            tz,
            status,
            created: now,
            watermark: defaults.watermark,
            last_run: None,
            bounces: 0,
        });
    }
    (good, bad)
}

fn or_default<'a>(cell: &'a str, default: &'a str) -> &'a str {
    if cell.is_empty() {
        default
    } else {
        cell
    }
}

fn error_line(e: &csv::Error, fallback: u64) -> u64 {
    e.position().map_or(fallback, |p| p.line())
}

/// The csv crate's own message repeats the position, which the caller prints already.
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8: {err}"),
        _ => format!("unreadable CSV: {e}"),
    }
}

/// Writes subscribers in the form [`import_csv`] reads: the header of [`CSV_COLUMNS`],
/// then a row each, sections, keywords and terms as typed and joined by `;`, LF line
/// ends, cells quoted only where needed. Creation times, watermarks and bounce counts
/// are index state and are not exported.
pub fn export_csv(subscribers: &[Subscriber]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail, and every cell is a String.
    w.write_record(CSV_COLUMNS).expect("write to memory");
    for s in subscribers {
        w.write_record([
            s.email.as_str(),
            &s.topics.section_names.join(";"),
            &s.topics.keyword_names.join(";"),
            &s.topics.term_names.join(";"),
            &s.schedule,
            &s.tz,
            s.status.as_str(),
        ])
        .expect("write to memory");
    }
    let bytes = w.into_inner().expect("flush to memory");
    String::from_utf8(bytes).expect("written from str cells")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::topic::topics_of;
    use crate::model::article::{Article, Layout};

    const SEED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/articles/000_8c7ef1c8e8c43d29.txt"
    ));

    fn record(article: Article) -> Record {
        Record {
            topics: topics_of(&article),
            path: format!("{}.txt", article.id),
            article,
            hash: 0,
            published: 1_433_463_360,
            updated: 1_433_463_360,
            seq: 1,
        }
    }

    fn seed() -> Record {
        record(Article::parse("000_8c7ef1c8e8c43d29", SEED, Layout::Text).unwrap())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn topics(sections: &[&str], keywords: &[&str], terms: &[&str]) -> Topics {
        Topics::from_input(&strings(sections), &strings(keywords), &strings(terms)).unwrap()
    }

    #[test]
    fn valid_emails() {
        for (input, normalized) in [
            ("user@example.com", "user@example.com"),
            ("  A@Example.COM \n", "A@example.com"),
            ("\u{FEFF}li.wei@example.com\u{200B}", "li.wei@example.com"),
            (
                "first.last+tag@sub.example.co.uk",
                "first.last+tag@sub.example.co.uk",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "x_y-z!#$%&*/=?^`{|}~@a-b.example",
                "x_y-z!#$%&*/=?^`{|}~@a-b.example",
            ),
            (
                "\"quoted@local\"@example.com",
                "\"quoted@local\"@example.com",
            ),
            ("\"a\\\"b\"@example.com", "\"a\\\"b\"@example.com"),
            ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
            ("用户@例子。广告", "用户@xn--fsqu00a.xn--4rr70v"),
            ("用户＠例子。广告", "用户@xn--fsqu00a.xn--4rr70v"),
            ("user@Bücher.Example", "user@xn--bcher-kva.example"),
            ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
            ("a@b.co", "a@b.co"),
            ("1@123.example", "1@123.example"),
        ] {
            let got = normalize_email(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got, normalized, "{input:?}");
            // Idempotent, and accepted by the mail library that sends the digest.
            assert_eq!(normalize_email(&got).unwrap(), got);
            assert!(lettre::Address::new(
                got.rsplit_once('@').unwrap().0,
                got.rsplit_once('@').unwrap().1
            )
            .is_ok());
        }
    }

    #[test]
    fn invalid_emails() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("{}@{}example.com", "a".repeat(64), "b.".repeat(95));
        for (input, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("plain", "no @"),
            ("a@b", "domain has no dot"),
            ("a@localhost", "domain has no dot"),
            ("a b@example.com", "contains a space"),
            ("a@exa mple.com", "contains a space"),
            ("\"a b\"@example.com", "contains a space"),
            ("a\tb@example.com", "contains a space"),
            ("a\u{0}b@example.com", "control character U+0000"),
            ("a\u{200B}b@example.com", "invisible character U+200B"),
            ("a@@example.com", "more than one @"),
            ("a@b@example.com", "more than one @"),
            ("a@example.com.", "domain ends with a dot"),
            ("a@.example.com", "domain starts with a dot"),
            ("a@example..com", "empty label"),
            (".a@example.com", "local part starts with a dot"),
            ("a.@example.com", "local part ends with a dot"),
            ("a..b@example.com", "two dots in a row"),
            ("@example.com", "nothing before the @"),
            ("a@", "nothing after the @"),
            ("<a@example.com>", "'<' is not allowed"),
            ("a(c)@example.com", "'(' is not allowed"),
            ("a,b@example.com", "',' is not allowed"),
            ("\"\"@example.com", "empty quoted"),
            ("\"abc@example.com", "unterminated quoted"),
            ("a@-example.com", "hyphen"),
            ("a@exa_mple.com", "other than letters, digits and '-'"),
            ("a@exa\u{FFFD}mple.com", "not a valid host name"),
            ("a@xn--zz.com", "not a valid host name"),
            ("a@[192.0.2.1]", "address literals"),
            ("a@192.0.2.1", "IP address"),
            (long_local.as_str(), "65 octets long (at most 64)"),
            (long_total.as_str(), "(at most 254)"),
        ] {
            let err = normalize_email(input).expect_err(input).to_string();
            assert!(err.starts_with("email \""), "{input:?}: {err}");
            assert!(err.contains(reason), "{input:?}: {err}");
            assert!(!err.contains('\n'), "{input:?}: {err}");
        }
        assert_eq!(
            normalize_email("a@b").unwrap_err().to_string(),
            "email \"a@b\": domain has no dot"
        );
    }

    #[test]
    fn keys_compare_case_insensitively() {
        let a = normalize_email("A@Example.COM").unwrap();
        assert_eq!(a, "A@example.com");
        assert_eq!(email_key(&a), "a@example.com");
        assert_eq!(
            email_key(&a),
            email_key(&normalize_email("a@example.com").unwrap())
        );
        assert_eq!(email_key("Ää@X.Y"), "ää@x.y");
    }

    #[test]
    fn section_paths_fold_and_meet() {
        let want = ["党派·声音", "统一战线"];
        for input in [
            "黨派·聲音 > 統一戰線",
            "黨派·聲音>統一戰線",
            "黨派·聲音/統一戰線",
            "党派·声音 / 统一战线",
            "黨派‧聲音＞統一戰線",
            "首頁>黨派·聲音>統一戰線",
            "首页 > 党派·声音 > 统一战线 >",
            " / 黨派·聲音 // 統一戰線 ",
            "黨派·聲音／統一戰線",
        ] {
            assert_eq!(parse_section(input), want, "{input:?}");
        }
        assert_eq!(parse_section("黨派·聲音"), ["党派·声音"]);
        assert!(parse_section(" > / ").is_empty());
        assert!(parse_section("首頁").is_empty());
    }

    #[test]
    fn topics_from_input() {
        let t = topics(
            &["黨派·聲音 > 統一戰線", "党派·声音/统一战线", " 黨派·聲音 "],
            &["重慶市", "重庆市", " ＡＩ "],
            &["統戰", "COVID"],
        );
        assert_eq!(
            t.sections,
            [vec!["党派·声音", "统一战线"], vec!["党派·声音"]]
        );
        assert_eq!(t.section_names, ["黨派·聲音 > 統一戰線", "黨派·聲音"]);
        assert_eq!(t.keywords, ["重庆市", "AI"]);
        assert_eq!(t.keyword_names, ["重慶市", "ＡＩ"]);
        assert_eq!(t.terms, ["统战", "covid"]);
        assert_eq!(t.term_names, ["統戰", "COVID"]);
        assert_eq!(
            t.labels(),
            [
                "黨派·聲音 > 統一戰線",
                "黨派·聲音",
                "重慶市",
                "ＡＩ",
                "統戰",
                "COVID"
            ]
        );
        assert!(!t.is_empty());
        assert!(topics(&[], &[], &[]).is_empty());

        let err = |s: &[&str], k: &[&str], t: &[&str]| {
            Topics::from_input(&strings(s), &strings(k), &strings(t))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err(&[], &["  "], &[]), "keyword \"  \": empty");
        assert_eq!(
            err(&["首頁"], &[], &[]),
            "section \"首頁\": names no section"
        );
        assert_eq!(err(&[" > "], &[], &[]), "section \" > \": names no section");
        assert_eq!(
            err(&[], &["a;b"], &[]),
            "keyword \"a;b\": must not contain ';'"
        );
        assert_eq!(
            err(&[], &[], &["a\u{7}"]),
            "term \"a\\u{7}\": contains a control character"
        );
        assert!(err(&[], &[&"長".repeat(101)], &[]).contains("longer than 100"));
        let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
        assert_eq!(
            Topics::from_input(&[], &many, &[]).unwrap_err().to_string(),
            "101 keywords (at most 100)"
        );
    }

    #[test]
    fn seed_matches_section_keyword_and_term() {
        let rec = seed();
        // The parent section matches a child's article, in either script.
        assert_eq!(
            topics(&["党派·声音"], &[], &[]).matches(&rec).as_deref(),
            Some("党派·声音")
        );
        assert_eq!(
            topics(&["黨派·聲音 > 統一戰線"], &[], &[])
                .matches(&rec)
                .as_deref(),
            Some("黨派·聲音 > 統一戰線")
        );
        // A sibling, a deeper path and an unrelated section do not.
        for other in [
            "党派·声音 > 其他",
            "党派·声音 > 统一战线 > 更深",
            "统一战线",
            "经济",
        ] {
            assert_eq!(topics(&[other], &[], &[]).matches(&rec), None, "{other}");
        }
        // The article has 重慶市; the subscriber typed 重庆市.
        assert_eq!(
            topics(&[], &["重庆市"], &[]).matches(&rec).as_deref(),
            Some("重庆市")
        );
        assert_eq!(topics(&[], &["重庆"], &[]).matches(&rec), None);
        // Terms search the folded body (統戰 throughout) and title.
        assert_eq!(
            topics(&[], &[], &["统战"]).matches(&rec).as_deref(),
            Some("统战")
        );
        assert_eq!(
            topics(&[], &[], &["積極作為"]).matches(&rec).as_deref(),
            Some("積極作為")
        );
        assert_eq!(
            topics(&[], &[], &["渝中区委统战部"])
                .matches(&rec)
                .as_deref(),
            Some("渝中区委统战部")
        );
        assert_eq!(topics(&[], &[], &["台湾"]).matches(&rec), None);
        assert_eq!(topics(&[], &[], &[]).matches(&rec), None);

        // The first matching topic in section, keyword, term order gives the label;
        // `matching` lists them all.
        let t = topics(&["经济", "党派·声音"], &["台湾", "重庆市"], &["统战"]);
        assert_eq!(t.matches(&rec).as_deref(), Some("党派·声音"));
        let hay = Haystack::new(&rec);
        assert_eq!(t.matching(&hay), [1, 3, 4]);
        let t = topics(&["经济"], &["台湾"], &["统战"]);
        assert_eq!(t.first_match(&hay).as_deref(), Some("统战"));
    }

    #[test]
    fn terms_ignore_case_and_never_span_paragraphs() {
        let json = r#"{"id": "j1", "title": "COVID-19 疫情通報", "sections": ["國際"],
            "body": ["第一段 Alpha", "Beta 第二段"]}"#;
        let rec = record(Article::parse("j1", json.as_bytes(), Layout::Json).unwrap());
        assert!(topics(&[], &[], &["covid"]).matches(&rec).is_some());
        assert!(topics(&[], &[], &["疫情通报"]).matches(&rec).is_some());
        assert!(topics(&[], &[], &["ＡＬＰＨＡ"]).matches(&rec).is_some());
        assert!(topics(&[], &[], &["alpha beta"]).matches(&rec).is_none());
        assert!(topics(&["国际"], &[], &[]).matches(&rec).is_some());

        // A hand-built record without topics still matches by folding the article.
        let mut bare = seed();
        bare.topics.clear();
        assert!(topics(&["党派·声音"], &[], &[]).matches(&bare).is_some());
        assert!(topics(&[], &["重庆市"], &[]).matches(&bare).is_some());
    }

    #[test]
    fn subscriber_new_validates_every_field() {
        let t = topics(&[], &["重庆市"], &[]);
        let s = Subscriber::new(
            "Li@Example.com",
            t.clone(),
            " 0 8 * * 1 ",
            "Asia/Shanghai",
            7,
        )
        .unwrap();
        assert_eq!(s.email, "Li@example.com");
        assert_eq!(s.key(), "li@example.com");
        assert_eq!(s.schedule, "0 8 * * 1");
        assert_eq!(s.status, Status::Pending);
        assert_eq!(s.created, 7);

        let err = |email: &str, t: Topics, sched: &str, tz: &str| {
            Subscriber::new(email, t, sched, tz, 0)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("a@example.com", Topics::default(), "@daily", "UTC"),
            "no sections, keywords or terms: a subscription needs at least one"
        );
        let e = err("a@example.com", t.clone(), "0 25 * * *", "UTC");
        assert!(e.starts_with("schedule \"0 25 * * *\": hour field"), "{e}");
        let e = err("a@example.com", t.clone(), "0 8 * *", "UTC");
        assert!(
            e.starts_with("schedule \"0 8 * *\": expected 5 fields"),
            "{e}"
        );
        let e = err("a@example.com", t, "@daily", "Asia/Chongqingg");
        assert!(
            e.starts_with("timezone: \"Asia/Chongqingg\" is not an IANA"),
            "{e}"
        );
    }

    #[test]
    fn status_names() {
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>(), Ok(st));
            assert_eq!(st.to_string().to_uppercase().parse::<Status>(), Ok(st));
        }
        assert_eq!(
            "gone".parse::<Status>().unwrap_err().to_string(),
            "status \"gone\": expected pending, active, unsubscribed or bounced"
        );
    }

    fn defaults() -> Defaults {
        Defaults {
            schedule: "0 8 * * *".into(),
            timezone: "Asia/Shanghai".into(),
            status: Status::Active,
            watermark: 42,
        }
    }

    const SECTIONS: &[&str] = &["經濟", "国际", "黨派·聲音", "社會 > 法治", "文化/教育"];
    const KEYWORDS: &[&str] = &[
        "重慶市",
        "统战",
        "一帶一路",
        "脫貧攻堅",
        "AI",
        "長江",
        "疫情防控",
    ];
    const ZONES: &[&str] = &["America/New_York", "Asia/Shanghai", "Europe/Berlin", ""];

    #[test]
    fn import_ten_thousand_rows_reports_bad_lines_exactly() {
        let mut text = String::from("email,sections,keywords,terms,schedule,timezone,status\n");
        let mut line = 1u64;
        let mut expected_bad = Vec::new();
        for i in 0..10_000u64 {
            line += 1;
            let row = match i {
                // A quoted cell spanning three lines: the next row starts three lines on.
                17 => {
                    let r = format!(
                        "u{i}@example.com,\"黨派·聲音 > 統一戰線;\n經濟\n\",\"重慶市,\"\"直轄市\"\"\",,,,\n"
                    );
                    text.push_str(&r);
                    line += 2;
                    continue;
                }
                100 => "not-an-address,經濟,,,,,\n".to_string(),
                2_500 => format!("u{i}@example.com,經濟,,,0 25 * * *,,\n"),
                5_000 => format!("u{i}@example.com,,,,,,\n"),
                7_777 => "U17@EXAMPLE.com,經濟,,,,,\n".to_string(),
                9_998 => format!("u{i}@example.com,經濟,,,,Mars/Base,sleeping\n"),
                _ => format!(
                    "user{i}@example.com,黨派·聲音 > 統一戰線;{},{},{},{} {} * * *,{},{}\n",
                    SECTIONS[i as usize % SECTIONS.len()],
                    KEYWORDS[i as usize % KEYWORDS.len()],
                    KEYWORDS[i as usize * 7 % KEYWORDS.len()],
                    i % 60,
                    i % 24,
                    ZONES[i as usize % ZONES.len()],
                    if i % 3 == 0 { "pending" } else { "" }
                ),
            };
            if matches!(i, 100 | 2_500 | 5_000 | 7_777 | 9_998) {
                expected_bad.push(line);
            }
            text.push_str(&row);
        }

        let (good, bad) = import_csv(&text, &defaults(), 1_700_000_000);

        assert_eq!(
            bad.iter().map(|b| b.0).collect::<Vec<_>>(),
            expected_bad,
            "{bad:?}"
        );
        assert_eq!(good.len(), 10_000 - expected_bad.len());
        assert!(
            bad[0].1.starts_with("email \"not-an-address\": no @"),
            "{}",
            bad[0].1
        );
        assert!(
            bad[1].1.starts_with("schedule \"0 25 * * *\": hour field"),
            "{}",
            bad[1].1
        );
        assert_eq!(
            bad[2].1,
            "no sections, keywords or terms: a subscription needs at least one"
        );
        assert_eq!(
            bad[3].1,
            "email \"U17@example.com\": already imported from line 19"
        );
        // Every problem of a row, in one message.
        assert!(bad[4].1.contains("timezone: \"Mars/Base\""), "{}", bad[4].1);
        assert!(bad[4].1.contains("status \"sleeping\""), "{}", bad[4].1);

        let multi = good.iter().find(|s| s.email == "u17@example.com").unwrap();
        assert_eq!(multi.topics.section_names, ["黨派·聲音 > 統一戰線", "經濟"]);
        assert_eq!(multi.topics.keyword_names, ["重慶市,\"直轄市\""]);
        assert_eq!(multi.schedule, "0 8 * * *");
        assert_eq!(multi.tz, "Asia/Shanghai");
        let first = &good[0];
        assert_eq!(first.email, "user0@example.com");
        assert_eq!(first.status, Status::Pending);
        assert_eq!(good[1].status, Status::Active);
        assert_eq!(first.tz, "America/New_York");
        assert_eq!(first.schedule, "0 0 * * *");
        assert_eq!(
            first.topics.sections,
            [vec!["党派·声音", "统一战线"], vec!["经济"]]
        );
        assert_eq!(first.topics.keywords, ["重庆市"]);
        assert_eq!(first.topics.terms, ["重庆市"]);
        assert_eq!(good[3].tz, "Asia/Shanghai");
        assert_eq!((first.created, first.watermark), (1_700_000_000, 42));
        assert!(first.matches_seed());
    }

    impl Subscriber {
        fn matches_seed(&self) -> bool {
            self.topics.matches(&seed()).is_some()
        }
    }

    #[test]
    fn import_handles_bom_crlf_column_order_and_padding() {
        let text = "\u{FEFF}Keywords,EMAIL,TZ\r\n重慶市,a@example.com,UTC\r\n,,\r\n\r\n統戰,b@example.com,\r\n";
        let (good, bad) = import_csv(text, &defaults(), 0);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].email, "a@example.com");
        assert_eq!(good[0].tz, "UTC");
        assert_eq!(good[1].tz, "Asia/Shanghai");
        assert_eq!(good[1].topics.keywords, ["统战"]);

        // Too many cells; fewer cells than columns is fine (the rest are empty).
        let text = "email,keywords,schedule\nc@example.com,a,b,c\nd@example.com,k\n";
        let (good, bad) = import_csv(text, &defaults(), 0);
        assert_eq!(good.len(), 1);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 2);
        assert!(bad[0]
            .1
            .starts_with("4 cells, but the header names 3 columns"));
    }

    #[test]
    fn import_rejects_bad_headers_as_a_whole() {
        for (text, msg) in [
            (
                "",
                "no header row (expected email,sections,keywords,terms,schedule,timezone,status)",
            ),
            ("email,name\na@example.com,A\n", "unknown column \"name\""),
            ("keywords\nx\n", "no \"email\" column"),
            ("email,Email\n", "column \"Email\" appears twice"),
        ] {
            let (good, bad) = import_csv(text, &defaults(), 0);
            assert!(good.is_empty());
            assert_eq!(bad[0].0, 1);
            assert!(bad[0].1.starts_with(msg), "{text:?}: {}", bad[0].1);
        }
    }

    #[test]
    fn export_then_import_round_trips() {
        let mk = |email: &str, t: Topics, sched: &str, tz: &str, status: Status| {
            let mut s = Subscriber::new(email, t, sched, tz, 5).unwrap();
            s.status = status;
            s.watermark = 42;
            s
        };
        let subs = vec![
            mk(
                "Li.Wei@Example.com",
                topics(
                    &["黨派·聲音 > 統一戰線", "經濟"],
                    &["重慶市", "a,b \"c\""],
                    &["統戰"],
                ),
                "0 8 * * 1",
                "Asia/Shanghai",
                Status::Active,
            ),
            mk(
                "用户@例子.广告",
                topics(&[], &[], &["COVID-19"]),
                "@weekly",
                "America/New_York",
                Status::Pending,
            ),
            mk(
                "\"odd,one\"@example.org",
                topics(&["国际"], &[], &[]),
                "*/30 9-17 * * mon-fri",
                "UTC",
                Status::Bounced,
            ),
            mk(
                "gone@example.net",
                topics(&[], &["AI"], &[]),
                "@daily",
                "Europe/Berlin",
                Status::Unsubscribed,
            ),
        ];
        let csv = export_csv(&subs);
        assert!(csv.starts_with("email,sections,keywords,terms,schedule,timezone,status\n"));
        let (back, bad) = import_csv(&csv, &defaults(), 5);
        assert!(bad.is_empty(), "{bad:?}\n{csv}");
        assert_eq!(back, subs, "{csv}");
        assert_eq!(export_csv(&back), csv);
    }
}
