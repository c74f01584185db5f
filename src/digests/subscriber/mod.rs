//! Subscribers: who gets a digest, of what, when — the model, its validation and the
//! CSV form that `tidings subscriber import|export` reads and writes (DESIGN §3).
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

mod address;
mod csv_form;
mod topics;
pub use address::*;
pub use csv_form::*;
pub use topics::*;

pub mod admin;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::digests::schedule::Cron;
use crate::feeds::topic::fold_name;
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

/// What is wrong with a section, keyword or term as typed: a kind of its own, so that the
/// subscription pages can say it in the reader's language (the command line prints the
/// English text of `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Nothing left once trimmed, or once folded.
    Empty,
    TooLong {
        max: usize,
    },
    /// Holds `;`, which separates names in a CSV field.
    Separator,
    Control,
    /// A section path whose segments are all empty.
    NoSection,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameProblem::Empty => write!(f, "empty"),
            NameProblem::TooLong { max } => write!(f, "longer than {max} characters"),
            NameProblem::Separator => write!(f, "must not contain ';'"),
            NameProblem::Control => write!(f, "contains a control character"),
            NameProblem::NoSection => write!(f, "names no section"),
        }
    }
}

/// Why an address, topic, schedule, zone or status is refused. One line each, naming the
/// field and quoting the input, e.g. `email "a@b": domain has no dot`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SubscriberError {
    #[error("email {email:?}: {reason}")]
    Email { email: String, reason: String },
    #[error("section {input:?}: {problem}")]
    Section { input: String, problem: NameProblem },
    #[error("keyword {input:?}: {problem}")]
    Keyword { input: String, problem: NameProblem },
    #[error("term {input:?}: {problem}")]
    Term { input: String, problem: NameProblem },
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

/// Checks a schedule with [`Cron::parse`] and returns it trimmed; `@instant` (alerts,
/// DESIGN §4) in any letter case is returned as `@instant`.
pub fn validate_schedule(schedule: &str) -> Result<String, SubscriberError> {
    let schedule = schedule.trim();
    if crate::digests::schedule::instant::is_instant(schedule) {
        return Ok(crate::digests::schedule::instant::INSTANT.to_string());
    }
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
            lang: None,
        })
    }

    /// [`email_key`] of the address.
    pub fn key(&self) -> String {
        email_key(&self.email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures::{self, seed};
    use crate::model::article::{Article, Layout};

    fn record(article: Article) -> Record {
        fixtures::record(article, 1, fixtures::SEED_PUBLISHED)
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
        // Alerts (DESIGN §4), stored in one spelling.
        let alert = Subscriber::new("a@example.com", t.clone(), " @Instant ", "UTC", 0).unwrap();
        assert_eq!(alert.schedule, "@instant");
        let e = err("a@example.com", t.clone(), "@instantly", "UTC");
        assert!(e.contains("unknown shorthand \"@instantly\""), "{e}");
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
                "no header row (expected email,sections,keywords,terms,schedule,timezone,status,lang)",
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
        let mut subs = subs;
        subs[0].lang = Some(crate::i18n::Lang::En);
        subs[1].lang = Some(crate::i18n::Lang::ZhHans);
        let csv = export_csv(&subs);
        assert!(csv.starts_with("email,sections,keywords,terms,schedule,timezone,status,lang\n"));
        let (back, bad) = import_csv(&csv, &defaults(), 5);
        assert!(bad.is_empty(), "{bad:?}\n{csv}");
        assert_eq!(back, subs, "{csv}");
        assert_eq!(export_csv(&back), csv);
    }

    #[test]
    fn import_reads_the_language_column_optionally() {
        let text = "email,keywords,lang\na@example.com,AI,zh-hans\nb@example.com,AI,\nc@example.com,AI,fr\n";
        let (good, bad) = import_csv(text, &defaults(), 0);
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].lang, Some(crate::i18n::Lang::ZhHans));
        assert_eq!(good[1].lang, None);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 4);
        assert!(bad[0].1.contains("lang \"fr\""), "{}", bad[0].1);
        // Without the column, the site's default.
        let (good, _) = import_csv("email,keywords\nd@example.com,AI\n", &defaults(), 0);
        assert_eq!(good[0].lang, None);
    }
}
