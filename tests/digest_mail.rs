//! A composed digest read back by an independent mail parser: Python's `email` package
//! with `policy=default`, as a receiving client parses it (DESIGN §6). The message has
//! several groups, a 3 KB Chinese summary and a hostile title; the checks are the ones
//! a receiving system makes — structure, decoding, line lengths, headers — plus the
//! escaping of the HTML part. Fails (never skips) when python3 is missing.

use std::io::Write as _;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use tidings::config::Format;
use tidings::digests::compose::{compose, message_id, Composed, DigestInput, Group};
use tidings::feeds::feed::Site;
use tidings::feeds::topic::record_at as record;

use tidings::model::article::{Article, Layout, Record};

use crate::support::{page_export, python_json, SEED, SEED_ID};

const HOSTILE_TITLE: &str = "<script>alert('x')</script> 壞標題\u{0}\u{1b}[31m\u{7f}\u{202e}結尾";
const UNSUBSCRIBE: &str = "https://news.example/unsubscribe?t=eyJzIjoiNWYyYyJ9.c2lnbmF0dXJl";
const MAILTO: &str = "mailto:unsubscribe@news.example?subject=unsubscribe%20eyJzIjoiNWYyYyJ9";

fn site() -> Site {
    Site {
        title: "新聞摘要".into(),
        base_url: "https://news.example".into(),
        language: "zh-Hant".into(),
        tz: chrono_tz::Asia::Shanghai,
        hub: None,
        formats: Format::ALL.to_vec(),
    }
}

fn article(id: &str, sections: &str, title: &str, keyword: &str) -> Article {
    let text = page_export(sections, title, keyword);
    Article::parse(id, text.as_bytes(), Layout::Text).unwrap()
}

/// Python's verdict on the message in `path`, as JSON.
fn python_reads(path: &std::path::Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
data = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(data, policy=email.policy.default)
names = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'List-Id',
         'List-Unsubscribe', 'List-Unsubscribe-Post', 'Auto-Submitted', 'Precedence']
parts = []
for p in msg.iter_parts():
    parts.append({
        'type': p.get_content_type(),
        'charset': p.get_content_charset(),
        'cte': p.get('Content-Transfer-Encoding'),
        'content': p.get_content(),
        'defects': [type(d).__name__ for d in p.defects],
    })
print(json.dumps({
    'type': msg.get_content_type(),
    'defects': [type(d).__name__ for d in msg.defects],
    'headers': {n: str(msg[n]) if msg[n] is not None else None for n in names},
    'counts': {n: len(msg.get_all(n) or []) for n in names},
    'from_name': msg['From'].addresses[0].display_name,
    'from_addr': msg['From'].addresses[0].addr_spec,
    'to_addr': msg['To'].addresses[0].addr_spec,
    'date': msg['Date'].datetime.isoformat(),
    'parts': parts,
    'lines': len(data.split(b'\r\n')),
    'longest_line': max(len(l) for l in data.split(b'\r\n')),
    'bare_lf': b'\n' in data.replace(b'\r\n', b''),
    'non_ascii': any(b > 127 for b in data),
}, ensure_ascii=False))
"#;
    python_json(script, path)
}

fn compose_digest(site: &Site, records: &[Record]) -> Composed {
    let [seed, hostile, long, econ, tech] = records else {
        panic!("five records")
    };
    let input = DigestInput {
        to: "reader@xn--fsqu00a.xn--fiqs8s",
        subscriber_key: "5f2c0e9a",
        period: "2026-11-24",
        groups: vec![
            Group {
                label: "黨派·聲音 > 統一戰線".into(),
                records: vec![seed, hostile],
            },
            Group {
                // The seed article again: listed once, under the first group.
                label: "重慶市".into(),
                records: vec![seed, long],
            },
            Group {
                label: "經濟".into(),
                records: vec![econ],
            },
            Group {
                label: "科技".into(),
                records: vec![tech],
            },
            Group {
                label: "沒有新聞".into(),
                records: vec![],
            },
        ],
        site,
        from: "新聞 <news@mail.news.example>",
        list_id: "digest.news.example",
        manage_url: "https://news.example/manage?t=eyJzIjoiNWYyYyJ9.bWFuYWdl",
        unsubscribe_url: UNSUBSCRIBE,
        unsubscribe_mailto: MAILTO,
        schedule_name: "每日",
        alert: false,
        lang: tidings::i18n::Lang::ZhHant,
        now: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 5).unwrap(),
        feed_url: "https://news.example/me/ZmVlZA/rss.xml",
    };
    compose(&input).expect("five articles make a digest")
}

fn records() -> Vec<Record> {
    let seed = Article::parse(SEED_ID, SEED, Layout::Text).unwrap();
    let mut hostile = article("hostile", "黨派·聲音>統一戰線", "標題", "統一戰線");
    hostile.title = HOSTILE_TITLE.into();
    let mut long = article("long", "地方", "長摘要", "重慶市");
    // About 3 KB of Chinese without a single space or line break.
    long.summary = Some("重慶市主城九區深入學習貫徹中央統戰工作會議精神，".repeat(44));
    assert!(long.summary.as_ref().unwrap().len() > 3000);
    vec![
        record(seed, 1, 1_433_463_360),
        record(hostile, 2, 1_764_000_000),
        record(long, 3, 1_764_000_100),
        record(
            article("econ", "經濟", "經濟新聞", "經濟"),
            4,
            1_764_000_200,
        ),
        record(
            article("tech", "科技", "科技新聞", "科技"),
            5,
            1_764_000_300,
        ),
    ]
}

#[test]
fn python_reads_the_digest() {
    let site = site();
    let records = records();
    let digest = compose_digest(&site, &records);
    assert_eq!(digest.article_count, 5);
    assert_eq!(
        digest.subject,
        "「統一戰線、重慶市、經濟等」每日摘要 · 5 篇 · 2026-11-24"
    );
    assert_eq!(
        digest.message_id,
        message_id("5f2c0e9a", "2026-11-24", "mail.news.example")
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&digest.bytes).unwrap();
    file.flush().unwrap();
    let mail = python_reads(file.path());

    // Structure: multipart/alternative, text then HTML, both UTF-8, both decode.
    assert_eq!(mail["type"], "multipart/alternative");
    assert_eq!(mail["defects"], Value::Array(vec![]), "{mail:#}");
    let parts = mail["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "text/html");
    for part in parts {
        assert_eq!(part["charset"], "utf-8");
        assert_eq!(part["cte"], "base64");
        assert_eq!(part["defects"], Value::Array(vec![]));
    }
    let text = parts[0]["content"].as_str().unwrap().replace("\r\n", "\n");
    let html = parts[1]["content"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(text, digest.text);
    assert_eq!(html, digest.html);

    // Lines: CRLF only, none near the 998-octet limit, 7-bit clean throughout.
    assert_eq!(mail["bare_lf"], false);
    assert_eq!(mail["non_ascii"], false);
    let longest = mail["longest_line"].as_u64().unwrap();
    assert!(longest <= 998, "a line of {longest} octets");

    // Headers: each once, with the right decoded values.
    let h = &mail["headers"];
    for (name, count) in mail["counts"].as_object().unwrap() {
        assert_eq!(count, 1, "{name} should appear exactly once");
    }
    assert_eq!(h["Subject"], digest.subject.as_str());
    assert_eq!(mail["from_name"], "新聞");
    assert_eq!(mail["from_addr"], "news@mail.news.example");
    assert_eq!(mail["to_addr"], "reader@xn--fsqu00a.xn--fiqs8s");
    assert_eq!(mail["date"], "2026-11-24T00:00:05+00:00");
    assert_eq!(h["Message-ID"], digest.message_id.as_str());
    assert!(h["Message-ID"]
        .as_str()
        .unwrap()
        .ends_with("@mail.news.example>"));
    assert_eq!(h["MIME-Version"], "1.0");
    assert_eq!(h["List-Id"], "新聞摘要 <digest.news.example>");
    assert_eq!(
        h["List-Unsubscribe"],
        format!("<{UNSUBSCRIBE}>, <{MAILTO}>").as_str()
    );
    assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    assert_eq!(h["Auto-Submitted"], "auto-generated");
    assert_eq!(h["Precedence"], "bulk");

    // Content: the hostile title escaped in HTML and stripped of control characters;
    // every article linked; the footer's links.
    assert!(!html.contains("<script"), "raw <script> in the HTML part");
    // `<`, `>`, `&` and `"` are escaped; an apostrophe is inert in text and in the
    // double-quoted attributes the template writes, so it stays as it is.
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; 壞標題[31m結尾"));
    assert!(
        text.contains("* <script>alert('x')</script> 壞標題[31m結尾\n  黨派·聲音 > 統一戰線 · ")
    );
    for s in [&text, &html] {
        assert!(!s.contains(['\u{0}', '\u{1b}', '\u{7f}', '\u{202e}']));
    }
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"zh-Hant\">"));
    for id in [SEED_ID, "hostile", "long", "econ", "tech"] {
        let url = format!("https://news.example/articles/{id}");
        assert!(html.contains(&format!("href=\"{url}\"")), "{id} not linked");
        assert!(
            text.contains(&format!("\n  {url}\n")),
            "{id} URL not on its own line"
        );
    }
    assert_eq!(html.matches("把握要求積極作為").count(), 1);
    assert!(html.contains("href=\"https://news.example/manage?t=eyJzIjoiNWYyYyJ9.bWFuYWdl\""));
    assert!(html.contains(&format!("href=\"{UNSUBSCRIBE}\"")));
    assert!(text.contains(&format!("取消訂閱：\n{UNSUBSCRIBE}\n")));
    // A group that matched nothing is left out whole: no heading in either part, no
    // topic in the subject, and the footer names only the groups the mail holds.
    for (part, s) in [
        ("text", &text),
        ("HTML", &html),
        ("subject", &digest.subject),
    ] {
        assert!(
            !s.contains("沒有新聞"),
            "the empty group shows in the {part}: {s}"
        );
    }
    let footer = "訂閱了「新聞摘要」的每日摘要：黨派·聲音 > 統一戰線、重慶市、經濟、科技。";
    assert!(text.replace('\n', "").contains(footer), "{text}");
    assert!(html.contains(&footer.replace('>', "&gt;")), "{html}");
    // The 3 KB summary is cut to a teaser in both parts.
    assert!(text.contains('…') && html.contains('…'));
    assert!(html.len() < 20_000, "HTML part of {} bytes", html.len());
}

#[test]
fn a_resend_is_the_same_message() {
    let site = site();
    let records = records();
    let a = compose_digest(&site, &records);
    let b = compose_digest(&site, &records);
    assert_eq!(a.bytes, b.bytes);
}
