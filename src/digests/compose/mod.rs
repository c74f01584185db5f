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

mod headers;
mod html;
mod text;
pub use headers::*;
use html::*;
use text::*;

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

use crate::feeds::feed::{summary_of, xml_clean, Site};
use crate::i18n::Lang;
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
    /// `每日`, `每週` or a custom name: the subject says `{schedule_name}摘要`
    /// (`Messages::digest_name`).
    pub schedule_name: &'a str,
    /// An `@instant` alert (DESIGN §4): the subject and heading name it by
    /// `schedule_name` alone (`即時快訊`), not as a digest.
    pub alert: bool,
    /// The subscriber's language: every text of the mail, group headings in its script.
    pub lang: Lang,
    pub now: DateTime<Utc>,
    /// The subscriber's personal feed (DESIGN §5), linked beside manage and unsubscribe.
    pub feed_url: &'a str,
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
    let subject = subject_line(input, &plan, article_count);
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
        .header(ContentLanguage(input.lang))
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
    format!("<digest.{}@{right}>", hex::encode(&hash[..16]))
}

/// The multipart boundary: derived from the Message-ID so the same digest has the
/// same bytes (lettre's default is random). `=_` never occurs in base64 text.
fn boundary(message_id: &str) -> String {
    let hash = Sha256::digest(format!("boundary\0{message_id}").as_bytes());
    format!("=_{}", hex::encode(&hash[..16]))
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

/// Host of a URL, without scheme, credentials, port or path: an internationalised name
/// in ASCII, an IPv6 literal in its brackets (an address literal in a msg-id).
fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures::{record, seed, site};
    use crate::model::article::{Article, Layout};

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
            alert: false,
            lang: crate::i18n::Lang::ZhHant,
            now: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(),
            feed_url: "https://news.example/me/abc/rss.xml",
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
        insta::assert_snapshot!("seed_html", digest.html.replace("><", ">\n<"));
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
            .starts_with("<!DOCTYPE html>\n<html lang=\"zh-Hant\">"));
        assert!(!digest.html.contains("<style"));
    }

    /// The subscriber's language (DESIGN §5): every text, and the group headings and
    /// section names in its script.
    #[test]
    fn seed_digest_in_simplified_and_english() {
        let site = site();
        let rec = seed();
        let groups = || {
            vec![
                group("黨派·聲音 > 統一戰線", &[&rec]),
                group("重慶市", &[&rec]),
            ]
        };
        let mut hans = input(&site, groups());
        hans.lang = crate::i18n::Lang::ZhHans;
        let digest = compose(&hans).unwrap();
        assert_eq!(
            digest.subject,
            "“统一战线、重庆市”每日摘要 · 1 篇 · 2026-11-24"
        );
        assert!(
            digest
                .text
                .contains("\n== 党派·声音 > 统一战线 · 1 篇 ==\n"),
            "{}",
            digest.text
        );
        assert!(digest.text.contains("本组的 1 篇都已列在上方的分组里。"));
        assert!(digest.text.contains("管理订阅：\n"));
        assert!(digest
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"zh-Hans\">"));
        assert!(headers(&digest.bytes).contains("\nContent-Language: zh-Hans\n"));

        let mut en = input(&site, groups());
        en.lang = crate::i18n::Lang::En;
        en.schedule_name = "Daily";
        let digest = compose(&en).unwrap();
        assert_eq!(
            digest.subject,
            "“統一戰線, 重慶市” Daily digest · 1 article · 2026-11-24"
        );
        assert!(digest.text.contains("1 new article\n"), "{}", digest.text);
        assert!(digest
            .text
            .contains("Its article is listed in a group above."));
        assert!(digest
            .text
            .contains("\nManage subscription:\nhttps://news.example/manage?t=abc\n"));
        assert!(digest
            .text
            .contains("You receive this mail because reader@example.org"));
        assert!(digest.html.contains(">Unsubscribe</a>"));
        assert!(!digest.text.contains("訂閱"), "{}", digest.text);
        assert!(headers(&digest.bytes).contains("\nContent-Language: en\n"));
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
        assert_eq!(host_of("http://[0:0::1]:8080/").as_deref(), Some("[::1]"));
        assert_eq!(
            host_of("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1")
        );
        // Userinfo with an `@` or `:` of its own is not the host.
        assert_eq!(
            host_of("https://a%40b:p@ss@news.example/").as_deref(),
            Some("news.example")
        );
        assert_eq!(
            host_of("https://新聞.例子.广告/").as_deref(),
            Some("xn--efvv70d.xn--fsqu00a.xn--4rr70v")
        );
        assert_eq!(
            host_of("https://News.Example./").as_deref(),
            Some("news.example.")
        );
        assert_eq!(host_of("not a url"), None);
    }

    #[test]
    fn list_id_names_the_sites_host() {
        for (base_url, id) in [
            ("http://127.0.0.1:8080", "digest.127.0.0.1"),
            ("https://news.example", "digest.news.example"),
            (
                "https://user:pw@News.Example.:8443/tidings/",
                "digest.news.example",
            ),
            (
                "https://新聞.例子.广告",
                "digest.xn--efvv70d.xn--fsqu00a.xn--4rr70v",
            ),
            ("http://[::1]:8080", "digest.localhost"),
            ("not a url", "digest.localhost"),
        ] {
            assert_eq!(list_id_of(base_url), id, "{base_url}");
        }
    }

    #[test]
    fn an_alert_says_it_is_one() {
        let site = site();
        let a = other("a", "甲", 2, 1_700_000_000);
        let mut i = input(&site, vec![group("重慶市", &[&a])]);
        i.schedule_name = "即時快訊";
        i.alert = true;
        i.period = "2026-11-24 09:46";
        let alert = compose(&i).unwrap();
        assert_eq!(
            alert.subject,
            "「重慶市」即時快訊 · 1 篇 · 2026-11-24 09:46"
        );
        assert!(
            alert
                .text
                .starts_with("tidings · 即時快訊 · 2026-11-24 09:46\n"),
            "{}",
            alert.text
        );
        assert!(
            alert.text.contains("訂閱了「tidings」的即時快訊："),
            "{}",
            alert.text
        );
        assert!(alert.html.contains("即時快訊") && !alert.html.contains("摘要"));
        // Its own Message-ID, the same again for the same alert.
        assert_eq!(compose(&i).unwrap().message_id, alert.message_id);
        i.period = "2026-11-24 09:47";
        assert_ne!(compose(&i).unwrap().message_id, alert.message_id);
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
