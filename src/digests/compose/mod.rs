//! Digest mail: one subscriber's digest composed into a complete RFC 5322 message
//! (DESIGN §6). Pure: the records, the addresses, the links and the time come in as
//! arguments; nothing here reads a clock, a file or the network, so the same input
//! always gives the same bytes — which is what lets a resend after a crash carry the
//! same `Message-ID` and body.
//!
//! The message is `multipart/alternative` with a `text/plain` part first and a
//! `text/html` part second (clients show the last part they understand), both UTF-8
//! and base64-encoded. Articles are grouped under the subscription's sections and
//! keywords in subscription order; an article that matches several of them is listed
//! once, under the first, and each later group says how many it left out for that
//! reason.

use std::fmt::Write as _;
use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, TimeZone, Utc};
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue, MessageId,
};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use sha2::{Digest as _, Sha256};

use crate::feeds::feed::{escape_html, summary_of, xml_clean, Site};
use crate::model::article::Record;

/// One subscribed section or keyword and the new articles it matched.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The subscribed section path or keyword as displayed, e.g. `黨派·聲音 > 統一戰線`
    /// or `重慶市`.
    pub label: String,
    pub records: Vec<&'a Record>,
}

/// Everything one digest needs. Addresses are expected to be validated already
/// (`mail.from` by the config check, `to` when the subscriber was added).
#[derive(Debug, Clone)]
pub struct DigestInput<'a> {
    /// The subscriber's address (an internationalised domain already in ASCII).
    pub to: &'a str,
    /// Stable opaque id of the subscriber, for the `Message-ID`.
    pub subscriber_key: &'a str,
    /// The scheduler's name for this run, e.g. `2026-11-24`.
    pub period: &'a str,
    /// In subscription order.
    pub groups: Vec<Group<'a>>,
    pub site: &'a Site,
    /// `mail.from`, e.g. `tidings <tidings@localhost>`.
    pub from: &'a str,
    /// e.g. `tidings.127.0.0.1`; sent as `List-Id: <site title> <tidings.127.0.0.1>`.
    pub list_id: &'a str,
    pub manage_url: &'a str,
    /// The https one-click URL (RFC 8058) with its signed token.
    pub unsubscribe_url: &'a str,
    pub unsubscribe_mailto: &'a str,
    /// `每日`, `每週` or a custom name: the subject says `{schedule_name}摘要`.
    pub schedule_name: &'a str,
    pub now: DateTime<Utc>,
}

/// A digest ready to hand to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// With its angle brackets, as in the header.
    pub message_id: String,
    /// Decoded (the header carries it RFC 2047-encoded).
    pub subject: String,
    /// Distinct articles in the digest.
    pub article_count: usize,
    /// The full message, CRLF line endings, every line at most 78 octets but for
    /// unbreakable header tokens (still far below the 998 limit).
    pub bytes: Vec<u8>,
    /// The text part as composed (LF line endings), for `digest preview`.
    pub text: String,
    /// The HTML part as composed, for `digest preview --html`.
    pub html: String,
}

/// Why a digest could not be composed at all. Validated input never gives one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("mail.from {0:?} is not a mailbox: {1}")]
    From(String, String),
    #[error("recipient {0:?} is not an address: {1}")]
    To(String, String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Composes the digest, or `None` when there is nothing to send ("Nothing new, no
/// mail"). `None` also stands for an address that does not parse, which validated
/// input never has; [`try_compose`] tells the two apart.
pub fn compose(input: &DigestInput) -> Option<Composed> {
    try_compose(input).ok().flatten()
}

/// [`compose`], with an error for an unusable `from` or `to` instead of `None`.
pub fn try_compose(input: &DigestInput) -> Result<Option<Composed>, DigestError> {
    let from = Mailbox::from_str(input.from.trim())
        .map_err(|e| DigestError::From(input.from.to_string(), e.to_string()))?;
    let to = Mailbox::from_str(input.to.trim())
        .map_err(|e| DigestError::To(input.to.to_string(), e.to_string()))?;

    let plan = plan(input);
    let article_count: usize = plan.iter().map(|s| s.entries.len()).sum();
    if article_count == 0 {
        return Ok(None);
    }

    let domain = id_right(from.email.domain())
        .or_else(|| host_of(&input.site.base_url).and_then(|h| id_right(&h)))
        .unwrap_or_else(|| "localhost".to_string());
    let message_id = message_id(input.subscriber_key, input.period, &domain);
    let subject = subject_line(&plan, input.schedule_name, article_count, input.period);
    let address = to.email.to_string();
    let text = text_body(input, &plan, article_count, &address);
    let html = html_body(input, &plan, article_count, &address, &subject);

    // base64 for both parts, chosen rather than left to lettre: it picks base64 for
    // mostly-CJK text anyway but quoted-printable for mostly-ASCII text, and a fixed
    // choice keeps the output predictable. base64 costs 4/3 of the UTF-8 size where
    // quoted-printable costs 3× for every CJK character, its lines are 76 octets
    // whatever the paragraph length, and its alphabet can never contain the `=_`
    // that starts our boundary.
    let part = |kind: ContentType, body: &str| {
        SinglePart::builder()
            .header(kind)
            .header(ContentTransferEncoding::Base64)
            .body(body.to_string())
    };
    let alternative = MultiPart::alternative()
        .boundary(boundary(&message_id))
        .singlepart(part(ContentType::TEXT_PLAIN, &text))
        .singlepart(part(ContentType::TEXT_HTML, &html));

    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject.clone())
        .date(SystemTime::from(input.now))
        .header(MessageId::from(message_id.clone()))
        .header(ListId {
            name: input.site.title.clone(),
            id: input.list_id.to_string(),
        })
        .header(ListUnsubscribe(vec![
            header_uri(input.unsubscribe_url),
            header_uri(input.unsubscribe_mailto),
        ]))
        .header(ListUnsubscribePost)
        // RFC 3834: a digest is "auto-generated"; vacation responders and other
        // automatic repliers must not answer it (and loops stay impossible).
        .header(AutoSubmitted)
        // Not standard (RFC 2076 only describes it), but older auto-responders such
        // as vacation(1) and many mail filters check it rather than Auto-Submitted.
        // Gmail's bulk-sender rules do not ask for it: they ask for the one-click
        // List-Unsubscribe above and for DKIM/SPF, which belong to the relay.
        .header(PrecedenceBulk)
        .multipart(alternative)
        .map_err(|e| DigestError::Build(e.to_string()))?;

    Ok(Some(Composed {
        message_id,
        subject,
        article_count,
        bytes: message.formatted(),
        text,
        html,
    }))
}

/// The `Message-ID` (with its angle brackets) of one subscriber's digest for one
/// period: derived from both and nothing else, so a resend carries the same one and
/// receiving systems can recognise the duplicate. `domain` is used when it can stand in a
/// message id (an internationalised one is converted to ASCII), else `localhost`.
pub fn message_id(subscriber_key: &str, period: &str, domain: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tidings digest\0");
    h.update(subscriber_key.as_bytes());
    h.update(b"\0");
    h.update(period.as_bytes());
    let hash = h.finalize();
    let right = id_right(domain).unwrap_or_else(|| "localhost".to_string());
    format!("<digest.{}@{right}>", hex(&hash[..16]))
}

/// The multipart boundary: derived from the Message-ID so the same digest has the
/// same bytes (lettre's default is random). `=_` never occurs in base64 text.
fn boundary(message_id: &str) -> String {
    let hash = Sha256::digest(format!("boundary\0{message_id}").as_bytes());
    format!("=_{}", hex(&hash[..16]))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A domain usable as the right side of a message id: ASCII (IDNA-converted), or an
/// address literal in brackets.
fn id_right(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.');
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ok = !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'\\'));
        return ok.then(|| domain.to_string());
    }
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let ok = !ascii.is_empty()
        && ascii
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    ok.then_some(ascii)
}

/// Host of a URL, without scheme, credentials, port or path.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        // An IPv6 literal keeps its brackets (it is an address literal in a msg-id).
        &host_port[..host_port.find(']')? + 1]
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

// ---------------------------------------------------------------------------------
// Content

/// Longest summary shown, in characters: feeds carry the full text, a digest entry is
/// a teaser that has to stay readable on a phone.
const SUMMARY_MAX: usize = 200;
/// Longest topic label in the subject, in characters.
const LABEL_MAX: usize = 24;
/// Topics named in the subject before `等`.
const SUBJECT_TOPICS: usize = 3;
/// Text part width in columns (a CJK character takes two).
const TEXT_WIDTH: usize = 72;

/// One article as shown, cleaned once for both parts.
struct Entry {
    title: String,
    url: String,
    section: Option<String>,
    time: Option<String>,
    summary: String,
}

/// One group as shown.
struct Section {
    label: String,
    entries: Vec<Entry>,
    /// Matched articles left out because an earlier group lists them.
    repeated: usize,
}

/// Groups with their entries, each article once (under its first group), newest first
/// within a group. Groups that matched nothing are dropped.
fn plan(input: &DigestInput) -> Vec<Section> {
    // Article id → index of the group that lists it.
    let mut listed: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for group in &input.groups {
        if group.records.is_empty() {
            continue;
        }
        let here = out.len();
        let mut records: Vec<&Record> = Vec::with_capacity(group.records.len());
        let mut repeated = 0;
        for &rec in &group.records {
            match listed.get(rec.article.id.as_str()) {
                // The same record twice in one group is a caller slip, not news.
                Some(&g) if g == here => {}
                Some(_) => repeated += 1,
                None => {
                    listed.insert(rec.article.id.as_str(), here);
                    records.push(rec);
                }
            }
        }
        records.sort_by_key(|r| std::cmp::Reverse((r.published, r.seq)));
        out.push(Section {
            label: clean_line(&group.label),
            entries: records.iter().map(|r| entry(input.site, r)).collect(),
            repeated,
        });
    }
    out
}

fn entry(site: &Site, rec: &Record) -> Entry {
    let a = &rec.article;
    let url = site.link_of(a);
    // The deepest section's spelling holds its parents (`黨派·聲音 > 統一戰線`).
    let section = rec
        .deepest_section()
        .map(|(_, name)| clean_line(name))
        .or_else(|| (!a.sections.is_empty()).then(|| clean_line(&a.sections.join(" > "))))
        .filter(|s| !s.is_empty());
    let time = site
        .tz
        .timestamp_opt(rec.published, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string());
    let mut title = clean_line(&a.title);
    if title.is_empty() {
        title = clean_line(&a.id);
    }
    Entry {
        title,
        url,
        section,
        time,
        summary: truncate(&clean_line(&summary_of(rec)), SUMMARY_MAX),
    }
}

/// Text for one line of a header or a heading: XML-clean, without control or
/// bidi-override characters (a hostile title must neither break a header nor reorder
/// what the reader sees), each run of whitespace — line breaks included — one space.
fn clean_line(s: &str) -> String {
    let s = xml_clean(s);
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", s[..i].trim_end()),
    }
}

/// `「統一戰線、重慶市」每日摘要 · 12 篇 · 2026-11-24`: the last segment of each
/// section path, up to three topics and then `等`.
fn subject_line(plan: &[Section], schedule: &str, count: usize, period: &str) -> String {
    let names: Vec<String> = plan
        .iter()
        .map(|s| {
            let last = s.label.rsplit('>').next().unwrap_or(&s.label).trim();
            truncate(last, LABEL_MAX)
        })
        .filter(|n| !n.is_empty())
        .collect();
    let mut topics = names
        .iter()
        .take(SUBJECT_TOPICS)
        .cloned()
        .collect::<Vec<_>>()
        .join("、");
    if names.len() > SUBJECT_TOPICS {
        topics.push('等');
    }
    let mut subject = String::new();
    if !topics.is_empty() {
        let _ = write!(subject, "「{topics}」");
    }
    let _ = write!(subject, "{}摘要 · {count} 篇", clean_line(schedule));
    let period = clean_line(period);
    if !period.is_empty() {
        let _ = write!(subject, " · {period}");
    }
    subject
}

/// Why the reader gets this mail, for both footers.
fn reason(input: &DigestInput, plan: &[Section], address: &str) -> String {
    let labels: Vec<&str> = plan.iter().map(|s| s.label.as_str()).collect();
    format!(
        "你收到這封郵件，是因為 {address} 訂閱了「{}」的{}摘要：{}。",
        clean_line(&input.site.title),
        clean_line(input.schedule_name),
        labels.join("、")
    )
}

/// Said under a group that left out articles an earlier group lists.
fn repeated_note(section: &Section) -> String {
    let n = section.repeated;
    if section.entries.is_empty() {
        format!("本組的 {n} 篇都已列在上方的分組裡。")
    } else {
        format!("另有 {n} 篇同時屬於上方的分組，不再重複列出。")
    }
}

fn text_body(input: &DigestInput, plan: &[Section], count: usize, address: &str) -> String {
    let mut t = String::with_capacity(512 + count * 600);
    let _ = writeln!(
        t,
        "{} · {}摘要 · {}",
        clean_line(&input.site.title),
        clean_line(input.schedule_name),
        clean_line(input.period)
    );
    let _ = writeln!(t, "共 {count} 篇新文章");
    for section in plan {
        // A group whose articles all sit under earlier groups shows no count of 0.
        match section.entries.len() {
            0 => writeln!(t, "\n== {} ==", section.label),
            n => writeln!(t, "\n== {} · {n} 篇 ==", section.label),
        }
        .ok();
        for e in &section.entries {
            t.push('\n');
            push_wrapped(&mut t, &e.title, "* ", "  ");
            let meta: Vec<&str> = [e.section.as_deref(), e.time.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !meta.is_empty() {
                push_wrapped(&mut t, &meta.join(" · "), "  ", "  ");
            }
            if !e.summary.is_empty() && e.summary != e.title {
                push_wrapped(&mut t, &e.summary, "  ", "  ");
            }
            // A URL is never wrapped: it stands alone on its line so every client
            // can turn it into a link.
            let _ = writeln!(t, "  {}", e.url);
        }
        if section.repeated > 0 {
            t.push('\n');
            push_wrapped(&mut t, &repeated_note(section), "", "");
        }
    }
    // "-- " (with its space) is the signature separator clients recognise.
    t.push_str("\n-- \n");
    push_wrapped(&mut t, &reason(input, plan, address), "", "");
    let _ = writeln!(t, "管理訂閱：\n{}", input.manage_url);
    let _ = writeln!(t, "取消訂閱：\n{}", input.unsubscribe_url);
    t
}

fn push_wrapped(out: &mut String, text: &str, first: &str, rest: &str) {
    let width = TEXT_WIDTH.saturating_sub(first.chars().count()).max(20);
    for (i, line) in wrap(text, width).iter().enumerate() {
        out.push_str(if i == 0 { first } else { rest });
        out.push_str(line);
        out.push('\n');
    }
}

/// Columns a character takes in a terminal or a monospace mail client.
fn char_width(c: char) -> usize {
    let wide = matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

/// Punctuation that must not start a line (it stays with the character before it).
fn no_break_before(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '」'
            | '』'
            | '）'
            | '》'
            | '〉'
            | '】'
            | '〕'
            | '”'
            | '’'
            | '…'
            | '·'
            | '・'
            | ','
            | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Punctuation that must not end a line (it stays with the character after it).
fn no_break_after(c: char) -> bool {
    matches!(
        c,
        '「' | '『' | '（' | '《' | '〈' | '【' | '〔' | '“' | '‘' | '(' | '[' | '{'
    )
}

/// Wraps to `width` columns. CJK text has no spaces, so a line may break between any
/// two wide characters (not before closing or after opening punctuation); runs of
/// other characters — Latin words, numbers, URLs — are never split, even when longer
/// than a line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    // Unbreakable units: (text, columns, preceded by a space).
    let mut units: Vec<(String, usize, bool)> = Vec::new();
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !units.is_empty();
            continue;
        }
        let w = char_width(c);
        let join = !space
            && units.last().is_some_and(|(u, _, _)| {
                let prev = u.chars().next_back().unwrap_or(' ');
                (w == 1 && char_width(prev) == 1) || no_break_before(c) || no_break_after(prev)
            });
        match units.last_mut() {
            Some((u, uw, _)) if join => {
                u.push(c);
                *uw += w;
            }
            _ => units.push((c.to_string(), w, space)),
        }
        space = false;
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for (u, w, spaced) in units {
        let gap = usize::from(spaced && !line.is_empty());
        if !line.is_empty() && used + gap + w > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        } else if gap == 1 {
            line.push(' ');
            used += 1;
        }
        line.push_str(&u);
        used += w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

// Inline styles: Gmail and many webmail clients drop or rewrite <style> blocks, so
// every element carries its own. Sizes in px read well on a phone; the container is
// fluid up to 640px.
const S_BODY: &str = "margin:0;padding:0;background:#f3f4f6;";
const S_WRAP: &str = "max-width:640px;margin:0 auto;padding:16px 20px;background:#ffffff;\
color:#1f2328;font-family:-apple-system,'PingFang TC','Noto Sans CJK TC','Microsoft JhengHei',\
'Helvetica Neue',Arial,sans-serif;font-size:16px;line-height:1.6;";
const S_H1: &str = "margin:0 0 4px;font-size:20px;line-height:1.3;";
const S_LEAD: &str = "margin:0 0 8px;font-size:14px;color:#57606a;";
const S_H2: &str = "margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #d0d7de;\
font-size:18px;line-height:1.4;";
const S_COUNT: &str = "font-size:14px;font-weight:normal;color:#57606a;";
const S_ITEM: &str = "margin:0 0 20px;";
const S_H3: &str = "margin:0 0 2px;font-size:17px;line-height:1.4;";
const S_LINK: &str = "color:#0b57d0;text-decoration:none;";
const S_META: &str = "margin:0 0 4px;font-size:13px;color:#57606a;";
const S_SUMMARY: &str = "margin:0;font-size:15px;";
const S_NOTE: &str = "margin:0 0 16px;font-size:13px;color:#57606a;";
const S_FOOT: &str = "margin:32px 0 0;padding-top:12px;border-top:1px solid #d0d7de;\
font-size:13px;line-height:1.6;color:#57606a;";
const S_FOOT_LINK: &str = "color:#57606a;";

fn html_body(
    input: &DigestInput,
    plan: &[Section],
    count: usize,
    address: &str,
    subject: &str,
) -> String {
    let e = |s: &str| escape_html(s).into_owned();
    let site = input.site;
    let lang = clean_line(&site.language);
    let lang = if lang.is_empty() { "zh" } else { lang.as_str() };
    let mut h = String::with_capacity(2048 + count * 1200);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n</head>\n<body style=\"{S_BODY}\">\n<div style=\"{S_WRAP}\">\n\
<h1 style=\"{S_H1}\">{} · {}摘要</h1>\n<p style=\"{S_LEAD}\">{} · 共 {count} 篇新文章</p>\n",
        e(lang),
        e(subject),
        e(&clean_line(&site.title)),
        e(&clean_line(input.schedule_name)),
        e(&clean_line(input.period)),
    );
    for section in plan {
        let _ = write!(h, "<h2 style=\"{S_H2}\">{}", e(&section.label));
        if !section.entries.is_empty() {
            let n = section.entries.len();
            let _ = write!(h, " <span style=\"{S_COUNT}\">{n} 篇</span>");
        }
        h.push_str("</h2>\n");
        for item in &section.entries {
            let _ = write!(
                h,
                "<div style=\"{S_ITEM}\">\n<h3 style=\"{S_H3}\"><a href=\"{}\" style=\"{S_LINK}\">{}</a></h3>\n",
                e(&item.url),
                e(&item.title)
            );
            let meta: Vec<&str> = [item.section.as_deref(), item.time.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !meta.is_empty() {
                let _ = writeln!(h, "<p style=\"{S_META}\">{}</p>", e(&meta.join(" · ")));
            }
            if !item.summary.is_empty() && item.summary != item.title {
                let _ = writeln!(h, "<p style=\"{S_SUMMARY}\">{}</p>", e(&item.summary));
            }
            h.push_str("</div>\n");
        }
        if section.repeated > 0 {
            let _ = writeln!(
                h,
                "<p style=\"{S_NOTE}\">{}</p>",
                e(&repeated_note(section))
            );
        }
    }
    let _ = write!(
        h,
        "<div style=\"{S_FOOT}\">\n<p style=\"margin:0 0 8px;\">{}</p>\n<p style=\"margin:0;\">\
<a href=\"{}\" style=\"{S_FOOT_LINK}\">管理訂閱</a> · \
<a href=\"{}\" style=\"{S_FOOT_LINK}\">取消訂閱</a></p>\n</div>\n</div>\n</body>\n</html>\n",
        e(&reason(input, plan, address)),
        e(input.manage_url),
        e(input.unsubscribe_url),
    );
    h
}

// ---------------------------------------------------------------------------------
// Headers lettre does not have

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Recommended header line length (RFC 5322 §2.1.1); folding keeps to it where it can.
const FOLD_AT: usize = 78;

/// Joins header tokens with spaces, folding (CRLF + space) before a token that would
/// take the line past [`FOLD_AT`]. Tokens themselves are never split.
fn fold(name: &str, tokens: &[String]) -> String {
    let mut out = String::new();
    let mut line = name.len() + 2;
    for (i, tok) in tokens.iter().enumerate() {
        if i > 0 {
            if line + 1 + tok.len() > FOLD_AT {
                out.push_str("\r\n ");
                line = 1;
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(tok);
        line += tok.len();
    }
    out
}

/// A URI for an RFC 2369 header: printable ASCII without spaces or angle brackets
/// (anything else percent-encoded), so it can neither break the header nor end the
/// `<…>` early.
fn header_uri(uri: &str) -> String {
    const SET: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
    utf8_percent_encode(uri.trim(), SET).to_string()
}

/// A phrase (display name) as header tokens: plain words when they are atoms, a quoted
/// string for other ASCII, RFC 2047 encoded words (base64, UTF-8) for anything else.
fn phrase_tokens(name: &str) -> Vec<String> {
    let name = clean_line(name);
    if name.is_empty() {
        return Vec::new();
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if name.chars().all(|c| c == ' ' || atext(c)) {
        return name.split(' ').map(str::to_string).collect();
    }
    if name.is_ascii() {
        let mut q = String::from("\"");
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        return vec![q];
    }
    // 39 bytes → 52 base64 characters → a 64-character encoded word, so even the first
    // one fits on a line after `List-Id: `. Chunks end on character boundaries, as
    // RFC 2047 §5 requires.
    let mut words = Vec::new();
    let mut start = 0;
    while start < name.len() {
        let mut end = (start + 39).min(name.len());
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!(
            "=?utf-8?b?{}?=",
            base64(&name.as_bytes()[start..end])
        ));
        start = end;
    }
    words
}

fn base64(bytes: &[u8]) -> String {
    crate::digests::token::base64_encode(bytes, crate::digests::token::BASE64_STANDARD, true)
}

/// `List-Id: tidings <tidings.127.0.0.1>` (RFC 2919): lets filters and clients
/// recognise the list; the phrase is the site's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListId {
    pub name: String,
    pub id: String,
}

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let open = s.rfind('<').ok_or("List-Id without <…>")?;
        let id = s[open + 1..]
            .strip_suffix('>')
            .ok_or("List-Id without closing >")?;
        Ok(ListId {
            name: s[..open].trim().trim_matches('"').to_string(),
            id: id.to_string(),
        })
    }

    fn display(&self) -> HeaderValue {
        // A list id is a dot-atom: anything else would make the header unparsable.
        let id: String = self
            .id
            .chars()
            .filter(|&c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            .collect();
        let mut tokens = phrase_tokens(&self.name);
        tokens.push(format!("<{id}>"));
        let raw = format!("{} <{id}>", clean_line(&self.name));
        HeaderValue::dangerous_new_pre_encoded(Self::name(), raw, fold("List-Id", &tokens))
    }
}

/// `List-Unsubscribe: <https://…>, <mailto:…>` (RFC 2369); with [`ListUnsubscribePost`]
/// the https one is the RFC 8058 one-click URL that Gmail and Yahoo require of bulk
/// senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(pub Vec<String>);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let uris: Vec<String> = s
            .split(',')
            .filter_map(|u| {
                let u = u.trim();
                u.strip_prefix('<')?.strip_suffix('>').map(str::to_string)
            })
            .collect();
        if uris.is_empty() {
            return Err("List-Unsubscribe without <…>".into());
        }
        Ok(ListUnsubscribe(uris))
    }

    fn display(&self) -> HeaderValue {
        let uris: Vec<String> = self
            .0
            .iter()
            .map(|u| header_uri(u))
            .filter(|u| !u.is_empty())
            .collect();
        let last = uris.len().saturating_sub(1);
        let tokens: Vec<String> = uris
            .iter()
            .enumerate()
            .map(|(i, u)| {
                if i < last {
                    format!("<{u}>,")
                } else {
                    format!("<{u}>")
                }
            })
            .collect();
        let raw = uris
            .iter()
            .map(|u| format!("<{u}>"))
            .collect::<Vec<_>>()
            .join(", ");
        HeaderValue::dangerous_new_pre_encoded(Self::name(), raw, fold("List-Unsubscribe", &tokens))
    }
}

/// Declares a header whose only value is a fixed ASCII string.
macro_rules! fixed_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty;

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, BoxError> {
                if s.trim().eq_ignore_ascii_case($value) {
                    Ok($ty)
                } else {
                    Err(format!("{}: expected {:?}", $name, $value).into())
                }
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::dangerous_new_pre_encoded(
                    Self::name(),
                    $value.to_string(),
                    $value.to_string(),
                )
            }
        }
    };
}

fixed_header!(
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST to the
    /// https `List-Unsubscribe` URL unsubscribes without further interaction.
    ListUnsubscribePost,
    "List-Unsubscribe-Post",
    "List-Unsubscribe=One-Click"
);
fixed_header!(
    /// `Auto-Submitted: auto-generated` (RFC 3834).
    AutoSubmitted,
    "Auto-Submitted",
    "auto-generated"
);
fixed_header!(
    /// `Precedence: bulk`: the de facto signal auto-responders check.
    PrecedenceBulk,
    "Precedence",
    "bulk"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;
    use crate::feeds::topic::topics_of;
    use crate::model::article::{Article, Layout};

    const SEED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/articles/000_8c7ef1c8e8c43d29.txt"
    ));

    fn site() -> Site {
        Site {
            title: "tidings".into(),
            base_url: "https://news.example".into(),
            language: "zh".into(),
            tz: chrono_tz::Asia::Shanghai,
            hub: None,
            formats: Format::ALL.to_vec(),
        }
    }

    fn record(article: Article, seq: u64, published: i64) -> Record {
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

    /// The seed article, published 2015-06-05 08:16 in Shanghai.
    fn seed() -> Record {
        let a = Article::parse("000_8c7ef1c8e8c43d29", SEED, Layout::Text).unwrap();
        record(a, 1, 1_433_463_360)
    }

    fn other(id: &str, title: &str, seq: u64, published: i64) -> Record {
        let text = format!("首頁>經濟 經濟\n{title}\n第一段文字，說明{title}。\n關鍵詞:經濟\n");
        record(
            Article::parse(id, text.as_bytes(), Layout::Text).unwrap(),
            seq,
            published,
        )
    }

    fn input<'a>(site: &'a Site, groups: Vec<Group<'a>>) -> DigestInput<'a> {
        DigestInput {
            to: "reader@example.org",
            subscriber_key: "5f2c0e",
            period: "2026-11-24",
            groups,
            site,
            from: "tidings <tidings@localhost>",
            list_id: "tidings.127.0.0.1",
            manage_url: "https://news.example/manage?t=abc",
            unsubscribe_url: "https://news.example/unsubscribe?t=abc",
            unsubscribe_mailto: "mailto:unsubscribe@news.example?subject=unsubscribe%20abc",
            schedule_name: "每日",
            now: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(),
        }
    }

    fn group<'a>(label: &str, records: &[&'a Record]) -> Group<'a> {
        Group {
            label: label.into(),
            records: records.to_vec(),
        }
    }

    fn headers(bytes: &[u8]) -> String {
        let s = String::from_utf8(bytes.to_vec()).unwrap();
        s[..s.find("\r\n\r\n").unwrap()].replace("\r\n", "\n")
    }

    #[test]
    fn seed_digest() {
        let site = site();
        let rec = seed();
        let digest = compose(&input(
            &site,
            vec![
                group("黨派·聲音 > 統一戰線", &[&rec]),
                group("重慶市", &[&rec]),
            ],
        ))
        .unwrap();
        assert_eq!(digest.article_count, 1);
        assert_eq!(
            digest.subject,
            "「統一戰線、重慶市」每日摘要 · 1 篇 · 2026-11-24"
        );
        insta::assert_snapshot!("seed_text", digest.text);
        insta::assert_snapshot!("seed_headers", headers(&digest.bytes));
        // Listed once, under the first group; the second says why it is empty.
        assert_eq!(digest.text.matches("把握要求積極作為").count(), 1);
        assert!(digest
            .text
            .contains("\n== 重慶市 ==\n\n本組的 1 篇都已列在上方的分組裡。\n"));
        assert!(digest
            .html
            .contains("href=\"https://news.example/articles/000_8c7ef1c8e8c43d29\""));
        assert!(digest.html.contains("2015-06-05 08:16"));
        assert!(digest
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"zh\">"));
        assert!(!digest.html.contains("<style"));
    }

    #[test]
    fn nothing_new_no_mail() {
        let site = site();
        assert_eq!(compose(&input(&site, vec![])), None);
        assert_eq!(
            compose(&input(
                &site,
                vec![group("重慶市", &[]), group("經濟", &[])]
            )),
            None
        );
        assert_eq!(
            try_compose(&input(&site, vec![group("重慶市", &[])])),
            Ok(None)
        );
    }

    #[test]
    fn bad_addresses_are_errors_not_mail() {
        let site = site();
        let rec = seed();
        let mut i = input(&site, vec![group("重慶市", &[&rec])]);
        i.from = "not a mailbox";
        assert!(matches!(try_compose(&i), Err(DigestError::From(..))));
        assert_eq!(compose(&i), None);
        i.from = "tidings <tidings@localhost>";
        i.to = "nobody";
        assert!(matches!(try_compose(&i), Err(DigestError::To(..))));
    }

    #[test]
    fn same_input_same_bytes() {
        let site = site();
        let rec = seed();
        let i = input(&site, vec![group("重慶市", &[&rec])]);
        let a = compose(&i).unwrap();
        let b = compose(&i).unwrap();
        assert_eq!(a, b);
        let boundary = boundary(&a.message_id);
        assert!(boundary.starts_with("=_"));
        assert!(String::from_utf8_lossy(&a.bytes).contains(&format!("--{boundary}--\r\n")));
        // Another period is another message; a later resend of this one is not.
        let mut later = i.clone();
        later.now = i.now + chrono::Duration::hours(3);
        assert_eq!(compose(&later).unwrap().message_id, a.message_id);
        later.period = "2026-11-25";
        assert_ne!(compose(&later).unwrap().message_id, a.message_id);
    }

    #[test]
    fn message_ids() {
        let id = message_id("key", "2026-11-24", "localhost");
        assert!(
            id.starts_with("<digest.") && id.ends_with("@localhost>"),
            "{id}"
        );
        assert_eq!(id, message_id("key", "2026-11-24", "LOCALHOST."));
        assert_ne!(id, message_id("key2", "2026-11-24", "localhost"));
        assert_ne!(id, message_id("key", "2026-11-25", "localhost"));
        // Not ambiguous when the parts shift.
        assert_ne!(
            message_id("ab", "c", "localhost"),
            message_id("a", "bc", "localhost")
        );
        assert!(message_id("k", "p", "例子.中国").ends_with("@xn--fsqu00a.xn--fiqs8s>"));
        assert!(message_id("k", "p", "[127.0.0.1]").ends_with("@[127.0.0.1]>"));
        assert!(message_id("k", "p", "bad domain>").ends_with("@localhost>"));
        assert!(message_id("k", "p", "").ends_with("@localhost>"));
    }

    #[test]
    fn message_id_domain_from_sender_else_site() {
        let site = site();
        let rec = seed();
        let mut i = input(&site, vec![group("重慶市", &[&rec])]);
        i.from = "新聞 <news@mail.example.org>";
        assert!(compose(&i)
            .unwrap()
            .message_id
            .ends_with("@mail.example.org>"));
        assert_eq!(
            host_of("https://user@news.example:8443/x?y").as_deref(),
            Some("news.example")
        );
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("[::1]"));
        assert_eq!(
            host_of("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1")
        );
    }

    #[test]
    fn subjects() {
        let site = site();
        let a = other("a", "甲", 2, 1_700_000_000);
        let b = other("b", "乙", 3, 1_700_000_100);
        let c = other("c", "丙", 4, 1_700_000_200);
        let d = other("d", "丁", 5, 1_700_000_300);
        let mut i = input(
            &site,
            vec![
                group("黨派·聲音 > 統一戰線", &[&a]),
                group("重慶市", &[&b]),
                group("經濟 > 財經", &[&c]),
                group("科技", &[&d]),
            ],
        );
        i.schedule_name = "每週";
        let digest = compose(&i).unwrap();
        assert_eq!(
            digest.subject,
            "「統一戰線、重慶市、財經等」每週摘要 · 4 篇 · 2026-11-24"
        );
        // The header carries it RFC 2047-encoded, on lines of at most 78 octets.
        let head = headers(&digest.bytes);
        let subject = head
            .split("\nSubject: ")
            .nth(1)
            .unwrap()
            .split("\nDate:")
            .next()
            .unwrap();
        assert!(subject.starts_with("=?utf-8?b?"), "{subject}");
        assert!(head.lines().all(|l| l.len() <= FOLD_AT), "{head}");
        // Three topics, no `等`; a group emptied by deduplication still counts: it
        // matched.
        i.groups.truncate(3);
        i.groups[2].records = vec![&a];
        assert_eq!(
            compose(&i).unwrap().subject,
            "「統一戰線、重慶市、財經」每週摘要 · 2 篇 · 2026-11-24"
        );
        assert_eq!(truncate("一二三四五", 3), "一二三…");
    }

    #[test]
    fn newest_first_within_a_group() {
        let site = site();
        let old = other("old", "舊聞", 9, 1_600_000_000);
        let new = other("new", "新聞", 2, 1_700_000_000);
        let digest = compose(&input(&site, vec![group("經濟", &[&old, &new])])).unwrap();
        assert!(digest.text.find("新聞").unwrap() < digest.text.find("舊聞").unwrap());
        assert_eq!(digest.article_count, 2);
        assert!(digest.subject.contains("2 篇"));
    }

    #[test]
    fn hostile_text_is_escaped_and_cleaned() {
        let site = site();
        let mut a = other("x", "標題", 2, 1_700_000_000);
        a.article.title = "<script>alert(1)</script>\u{1}\u{7}壞\u{202E}標題\r\nBcc: x@y".into();
        a.article.summary = Some("摘要 & \"引號\" <b>粗</b>\u{0}".into());
        a.article.url = Some("javascript:alert(1)".into());
        let digest = compose(&input(&site, vec![group("<img src=x onerror=1>", &[&a])])).unwrap();
        assert!(!digest.html.contains("<script"));
        assert!(!digest.html.contains("<img"));
        assert!(digest
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;壞標題 Bcc: x@y"));
        assert!(digest
            .html
            .contains("摘要 &amp; &quot;引號&quot; &lt;b&gt;粗&lt;/b&gt;"));
        // A relative or odd URL is made absolute below the site, never a script link.
        assert!(digest
            .html
            .contains("href=\"https://news.example/javascript:alert(1)\""));
        for part in [&digest.text, &digest.html] {
            assert!(!part.chars().any(|c| c.is_control() && c != '\n'), "{part}");
            assert!(!part.contains('\u{202E}'));
        }
        assert!(!headers(&digest.bytes).contains("\nBcc"));
    }

    #[test]
    fn long_summaries_are_cut_and_lines_stay_short() {
        let site = site();
        let mut a = other("long", "長文", 2, 1_700_000_000);
        a.article.summary = Some("統一戰線工作會議精神".repeat(300));
        let digest = compose(&input(&site, vec![group("經濟", &[&a])])).unwrap();
        assert!(digest
            .html
            .contains(&format!("{}…", "統一戰線工作會議精神".repeat(20))));
        for line in digest.bytes.split(|&b| b == b'\n') {
            assert!(line.len() <= 78, "{}", String::from_utf8_lossy(line));
        }
        // The text part is wrapped to 72 columns (a CJK character is two).
        for line in digest.text.lines() {
            let cols: usize = line.chars().map(char_width).sum();
            assert!(cols <= TEXT_WIDTH || !line.contains(' ') || line.starts_with("  http"));
            assert!(cols <= TEXT_WIDTH + 2 || line.contains("://"), "{line}");
        }
    }

    #[test]
    fn wrapping() {
        let text = "中央統戰工作會議召開后，重慶市主城九區迅速行動，認真學習深刻領會中央統戰工作會議精神和《中國共產黨統一戰線工作條例（試行）》。";
        let lines = wrap(text, 20);
        assert_eq!(lines.concat(), text);
        for l in &lines {
            let cols: usize = l.chars().map(char_width).sum();
            assert!(cols <= 22, "{l}");
            assert!(!l.starts_with(['，', '。', '）', '》']), "{l}");
            assert!(!l.ends_with(['《', '（']), "{l}");
        }
        // Latin words and URLs are never split, even when longer than the line.
        let url = "https://news.example/articles/000_8c7ef1c8e8c43d29?utm=digest";
        let lines = wrap(&format!("見 {url} 全文 word wrapping works"), 20);
        assert!(lines.iter().any(|l| l.contains(url)), "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| !l.starts_with(' ') && !l.ends_with(' ')));
        assert_eq!(wrap("a  b\n c", 80), vec!["a b c"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn custom_headers() {
        let id = ListId {
            name: "新聞摘要".into(),
            id: "tidings.127.0.0.1".into(),
        };
        let value = id.display();
        let mut h = lettre::message::header::Headers::new();
        h.insert_raw(value);
        let shown = h.to_string();
        assert_eq!(
            shown,
            format!(
                "List-Id: =?utf-8?b?{}?= <tidings.127.0.0.1>\r\n",
                base64("新聞摘要".as_bytes())
            )
        );
        assert_eq!(h.get::<ListId>().unwrap().id, "tidings.127.0.0.1");

        let ascii = ListId {
            name: "Site \"News\"".into(),
            id: "a b<c>.d".into(),
        };
        let mut h = lettre::message::header::Headers::new();
        h.set(ascii);
        assert_eq!(h.to_string(), "List-Id: \"Site \\\"News\\\"\" <abc.d>\r\n");

        let unsub = ListUnsubscribe(vec![
            format!("https://news.example/unsubscribe?t={}", "x".repeat(60)),
            "mailto:u@news.example?subject=退訂".into(),
        ]);
        let mut h = lettre::message::header::Headers::new();
        h.set(unsub);
        let shown = h.to_string();
        assert!(shown.starts_with("List-Unsubscribe: <https://"), "{shown}");
        assert!(shown.contains(">,\r\n <mailto:u@news.example?subject=%E9%80%80%E8%A8%82>\r\n"));
        assert_eq!(h.get::<ListUnsubscribe>().unwrap().0.len(), 2);
        assert!(ListUnsubscribePost::parse("List-Unsubscribe=One-Click").is_ok());
        assert!(AutoSubmitted::parse("no").is_err());
    }

    #[test]
    fn rfc2047_words_split_on_characters() {
        let long = "統一戰線".repeat(12);
        let words = phrase_tokens(&long);
        assert!(words.len() > 1);
        for w in &words {
            assert!(w.len() <= 75 - "List-Id: ".len() + 9, "{w}");
            let b64 = w
                .strip_prefix("=?utf-8?b?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            assert_eq!(b64.len() % 4, 0);
        }
        assert_eq!(phrase_tokens("tidings news"), vec!["tidings", "news"]);
        assert!(phrase_tokens(" \u{1} ").is_empty());
    }

    #[test]
    fn base64_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("統", "57Wx"),
        ] {
            assert_eq!(base64(input.as_bytes()), output, "{input}");
        }
    }
}
