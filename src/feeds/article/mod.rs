//! Articles: decoding the store's bytes and parsing both layouts of DESIGN §1.
//! Pure: takes an id and bytes, touches no file, clock or network.
//!
//! * [`decode`] turns bytes into text: a byte-order mark wins, then strict UTF-8, then
//!   whichever of GB18030 and Big5 reads as Chinese text (see [`decode`] for the score).
//! * [`Article::parse`] reads the page export (`*.txt`, §1a) or the structured layout
//!   (`*.json`, §1b) into an [`Article`], or says in an [`ArticleError`] why it cannot.
//!
//! Error messages are short lowercase reasons; the caller prefixes them with the path.

mod decode;
mod json;
mod page;
pub use decode::*;
use json::*;
pub use page::*;

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::model::article::{Article, Block, Layout, Stamp};
use crate::model::limits::{beyond_limits, Beyond};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use encoding_rs::{Encoding, BIG5, GB18030, UTF_8};
use serde::Deserialize;

/// Why a file is not an article. Each message is a short lowercase reason; the caller
/// prefixes it with the file's path ("articles/x.txt: no title").
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ArticleError {
    /// Zero bytes (or nothing but a byte-order mark).
    #[error("empty file")]
    Empty,
    /// Only whitespace.
    #[error("file holds only whitespace")]
    Blank,
    /// No encoding we accept yields sensible text; the string says what went wrong.
    #[error("cannot decode: {0}")]
    Undecodable(String),
    /// No title line, or an empty title.
    #[error("no title")]
    MissingTitle,
    /// No breadcrumb with at least one section below the home crumb, or empty `sections`.
    #[error("no section (expected a breadcrumb such as 首頁>黨派·聲音>統一戰線)")]
    MissingSection,
    /// The JSON layout does not parse, or a value has the wrong type.
    #[error("invalid JSON at line {line}, column {column}: {msg}")]
    InvalidJson {
        line: usize,
        column: usize,
        msg: String,
    },
    /// A required key of the JSON layout is absent or `null`.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// A date that cannot be read: a JSON `published`/`updated` that is not RFC 3339, or a
    /// date line of a page export naming an impossible day or time.
    #[error("invalid date in `{field}`: {value:?}")]
    InvalidDate { field: &'static str, value: String },
    /// A JSON `id` that is empty or cannot be used in a URL path segment or file name.
    #[error("invalid id {0:?} (must be non-empty, without '/', '\\' or control characters)")]
    InvalidId(String),
    /// Past one of the limits of one article (docs/articles.md).
    #[error("past the limits of one article: {0}")]
    Beyond(Beyond),
}

type Result<T, E = ArticleError> = std::result::Result<T, E>;

impl Article {
    /// Decodes `bytes` (see [`decode`]) and reads them in `layout`. `id` is the file stem,
    /// used by the Text layout; the JSON layout carries its own `id`.
    ///
    /// An article past one of the limits of one article ([`crate::model::limits`]) is
    /// rejected: each section and keyword is a feed and a folder, so their number and
    /// length bound what one file can cost to index and publish.
    pub fn parse(id: &str, bytes: &[u8], layout: Layout) -> Result<Article> {
        let text = decode_cow(bytes)?;
        let mut article = match layout {
            Layout::Text => parse_text(id, &text),
            Layout::Json => parse_json(&text),
        }?;
        dedup_keeping_first(&mut article.keywords);
        if let Some(beyond) = beyond_limits(
            article.sections.iter().map(String::as_str),
            article.keywords.iter().map(String::as_str),
        ) {
            return Err(ArticleError::Beyond(beyond));
        }
        Ok(article)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/articles/000_8c7ef1c8e8c43d29.txt"
    ));
    const SEED_ID: &str = "000_8c7ef1c8e8c43d29";

    fn seed_text() -> &'static str {
        std::str::from_utf8(SEED).unwrap()
    }

    fn text(s: &str) -> Result<Article> {
        Article::parse("t", s.as_bytes(), Layout::Text)
    }

    fn json(s: &str) -> Result<Article> {
        Article::parse("ignored", s.as_bytes(), Layout::Json)
    }

    fn encode(encoding: &'static Encoding, s: &str) -> Vec<u8> {
        let (bytes, used, unmappable) = encoding.encode(s);
        assert_eq!(used, encoding, "encoding_rs switched the output encoding");
        assert!(!unmappable, "{} cannot encode the text", encoding.name());
        bytes.into_owned()
    }

    fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in s.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    const HEADINGS: [&str; 4] = [
        "區委書記高度重視,切實履行“第一責任人”職責",
        "區委統戰部積極行動,切實把學習領會會議精神抓在手上",
        "開展形式多樣的宣傳,切實增強全黨全社會重視支持統戰工作的濃厚氛圍",
        "謀劃工作有創新,切實把會議精神落到實處",
    ];

    #[test]
    fn seed_field_by_field() {
        let a = Article::parse(SEED_ID, SEED, Layout::Text).unwrap();
        assert_eq!(a.id, SEED_ID);
        assert_eq!(a.sections, ["黨派·聲音", "統一戰線"]);
        assert_eq!(a.title, "把握要求積極作為 推動基層統戰工作創新發展");
        assert_eq!(
            a.subtitle.as_deref(),
            Some("重慶主城九區深入學習貫徹中央統戰工作會議精神")
        );
        assert_eq!(
            a.original_title.as_deref(),
            Some("把握要求積極作為 推動基層統戰工作創新發展 重慶主城九區深入學習貫徹中央統戰工作會議精神")
        );
        assert_eq!(a.body.len(), 14);
        let headings: Vec<(usize, &str)> = a
            .body
            .iter()
            .enumerate()
            .filter_map(|(i, b)| match b {
                Block::Heading(h) => Some((i, h.as_str())),
                Block::Paragraph(_) => None,
            })
            .collect();
        assert_eq!(
            headings,
            [
                (1, HEADINGS[0]),
                (4, HEADINGS[1]),
                (6, HEADINGS[2]),
                (8, HEADINGS[3])
            ]
        );
        match &a.body[0] {
            Block::Paragraph(p) => {
                assert!(p.starts_with("中央統戰工作會議召開后"));
                assert!(p.ends_with("推動基層統戰工作創新發展。"));
            }
            other => panic!("first block {other:?}"),
        }
        match &a.body[13] {
            Block::Paragraph(p) => assert!(p.starts_with("在統戰干部隊伍自身建設方面")),
            other => panic!("last block {other:?}"),
        }
        assert_eq!(a.editor.as_deref(), Some("孫莉姍"));
        assert_eq!(
            a.keywords,
            ["重慶市", "中央統戰工作會議精神", "基層統戰工作"]
        );
        assert_eq!(a.author, None);
        assert_eq!(a.url, None);
        assert_eq!(a.published, None);
        assert_eq!(a.updated, None);
        assert_eq!(a.summary, None);
        assert_eq!(a.image, None);
    }

    #[test]
    fn seed_in_every_encoding_parses_identically() {
        let expected = Article::parse(SEED_ID, SEED, Layout::Text).unwrap();
        let t = seed_text();
        let crlf = t.replace('\n', "\r\n");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("gb18030", encode(GB18030, t)),
            ("gb18030+crlf", encode(GB18030, &crlf)),
            // Every character of the seed, `·` included, is in Big5 (checked by `encode`).
            ("big5", encode(BIG5, t)),
            ("big5+crlf", encode(BIG5, &crlf)),
            ("utf-16le+bom", utf16(t, false)),
            ("utf-16be+bom", utf16(t, true)),
            ("utf-16le+bom+crlf", utf16(&crlf, false)),
            ("utf-8+bom", [&b"\xEF\xBB\xBF"[..], SEED].concat()),
            ("utf-8+crlf", crlf.clone().into_bytes()),
            ("utf-8+cr", t.replace('\n', "\r").into_bytes()),
            (
                "utf-8+bom+crlf",
                [&b"\xEF\xBB\xBF"[..], crlf.as_bytes()].concat(),
            ),
        ];
        for (name, bytes) in cases {
            assert_eq!(decode(&bytes).unwrap(), t, "{name}: decoded text");
            let got = Article::parse(SEED_ID, &bytes, Layout::Text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, expected, "{name}");
        }
    }

    const SIMPLIFIED: &str = "\
首页 ＞ 党派·声音 ＞ 统一战线 统一战线
把握要求积极作为 推动基层统战工作创新发展
重庆主城九区深入学习贯彻中央统战工作会议精神
原标题：把握要求积极作为 推动基层统战工作创新发展
中央统战工作会议召开后，重庆市主城九区迅速行动，以改革的精神和务实的举措推动基层统战工作创新发展。
区委书记高度重视，切实履行“第一责任人”职责
主城九区区委书记认真学习传达会议精神，迅速部署贯彻落实，并撰写心得体会文章。
　　谋划工作有创新，切实把会议精神落到实处　
在统战干部队伍自身建设方面，沙坪坝区表示要树立主动作为的思想。
责任编辑：孙莉姗
关键词：a、b，c,d　e  a
";

    #[test]
    fn simplified_variant_with_spaced_fullwidth_crumbs() {
        let a = text(SIMPLIFIED).unwrap();
        assert_eq!(a.sections, ["党派·声音", "统一战线"]);
        assert_eq!(a.title, "把握要求积极作为 推动基层统战工作创新发展");
        assert_eq!(
            a.subtitle.as_deref(),
            Some("重庆主城九区深入学习贯彻中央统战工作会议精神")
        );
        assert_eq!(
            a.original_title.as_deref(),
            Some("把握要求积极作为 推动基层统战工作创新发展")
        );
        assert_eq!(a.editor.as_deref(), Some("孙莉姗"));
        assert_eq!(a.keywords, ["a", "b", "c", "d", "e"]);
        assert_eq!(a.body.len(), 5);
        assert_eq!(
            a.body[1],
            Block::Heading("区委书记高度重视，切实履行“第一责任人”职责".into())
        );
        assert_eq!(
            a.body[3],
            Block::Heading("谋划工作有创新，切实把会议精神落到实处".into())
        );
        assert!(matches!(a.body[4], Block::Paragraph(_)));
        // The same in GB18030 (Simplified text cannot be Big5).
        let gb = encode(GB18030, SIMPLIFIED);
        assert_eq!(Article::parse("t", &gb, Layout::Text).unwrap(), a);
    }

    #[test]
    fn breadcrumb_forms() {
        let sections = |first: &str| text(&format!("{first}\n標題\n正文。")).map(|a| a.sections);
        assert_eq!(
            sections("首頁>黨派·聲音>統一戰線 統一戰線").unwrap(),
            ["黨派·聲音", "統一戰線"]
        );
        assert_eq!(sections("首頁 > 時政").unwrap(), ["時政"]);
        assert_eq!(sections("主頁＞時政 時政").unwrap(), ["時政"]);
        assert_eq!(sections("主页>>时政>").unwrap(), ["时政"]);
        assert_eq!(sections("人民網首頁>時政").unwrap(), ["時政"]);
        // A section name with a space, repeated.
        assert_eq!(
            sections("首頁>港澳 台灣>兩岸 交流 兩岸 交流").unwrap(),
            ["港澳 台灣", "兩岸 交流"]
        );
        // A space without a repeat stays.
        assert_eq!(sections("首頁>港澳 台灣").unwrap(), ["港澳 台灣"]);
        // No home crumb: nothing is dropped.
        assert_eq!(
            sections("黨派·聲音>統一戰線").unwrap(),
            ["黨派·聲音", "統一戰線"]
        );
    }

    #[test]
    fn subtitle_only_before_original_title() {
        // Line 3 without an 原標題 line after it is body, not a subtitle.
        let a = text("首頁>時政\n標題\n短的一行\n正文。").unwrap();
        assert_eq!(a.subtitle, None);
        assert_eq!(a.original_title, None);
        assert_eq!(
            a.body,
            [
                Block::Heading("短的一行".into()),
                Block::Paragraph("正文。".into())
            ]
        );
        // 原標題 right after the title.
        let a = text("首頁>時政\n標題\n原標題 ： 舊標題\n正文。").unwrap();
        assert_eq!(a.subtitle, None);
        assert_eq!(a.original_title.as_deref(), Some("舊標題"));
        assert_eq!(a.body, [Block::Paragraph("正文。".into())]);
    }

    #[test]
    fn labels_in_both_scripts_and_colons() {
        let a = text("首頁>時政\n標題\n正文。\n（責任編輯：甲）\n關鍵字 : 乙, 丙；丁\n作者：戊")
            .unwrap();
        assert_eq!(a.editor.as_deref(), Some("甲"));
        assert_eq!(a.keywords, ["乙", "丙", "丁"]);
        assert_eq!(a.author.as_deref(), Some("戊"));
        assert_eq!(a.body, [Block::Paragraph("正文。".into())]);
        let a = text("首頁>時政\n標題\n正文。\n编辑:己\n关键字：").unwrap();
        assert_eq!(a.editor.as_deref(), Some("己"));
        assert!(a.keywords.is_empty());
        // A word that merely starts like a label is text.
        let a = text("首頁>時政\n標題\n編輯部認為這很好。").unwrap();
        assert_eq!(a.editor, None);
        assert_eq!(a.body.len(), 1);
    }

    #[test]
    fn heading_rule() {
        for h in [
            "區委書記高度重視,切實履行“第一責任人”職責",
            "切實履行“第一責任人”",
            "（一）加強領導",
            "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十",
        ] {
            assert!(is_heading(h), "{h}");
        }
        for p in [
            "他說：“好。”",
            "要奮鬥！）",
            "真的嗎?",
            "主要措施如下：",
            "一句話沒有說完，",
            "好。很好",
            "省略……",
            "”",
            // 41 characters
            "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一",
        ] {
            assert!(!is_heading(p), "{p}");
        }
    }

    #[test]
    fn date_lines() {
        let at = |s: &str| {
            Some(Stamp::Local(
                NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap(),
            ))
        };
        let cases = [
            ("2015年06月05日08:16", "2015-06-05 08:16:00"),
            ("2015年6月5日 08:16", "2015-06-05 08:16:00"),
            ("2015-06-05 08:16", "2015-06-05 08:16:00"),
            ("2015/6/5 8:16:30", "2015-06-05 08:16:30"),
            ("2015年06月05日", "2015-06-05 00:00:00"),
            ("發布時間：2015-06-05 08:16", "2015-06-05 08:16:00"),
            ("发布时间: 2015年6月5日 08:16", "2015-06-05 08:16:00"),
            (
                "發佈時間：２０１５年０６月０５日０８：１６",
                "2015-06-05 08:16:00",
            ),
            (
                "2015年06月05日08:16  來源：人民網－中國共產黨新聞網",
                "2015-06-05 08:16:00",
            ),
        ];
        for (line, want) in cases {
            // Before the body (after the title, and after the 原標題 line).
            for doc in [
                format!("首頁>時政\n標題\n{line}\n正文。"),
                format!("首頁>時政\n{line}\n標題\n正文。"),
                format!("{line}\n首頁>時政\n標題\n正文。"),
                format!("首頁>時政\n標題\n副標題\n{line}\n原標題：舊\n正文。"),
                format!("首頁>時政\n標題\n副標題\n原標題：舊\n{line}\n正文。"),
            ] {
                let a = text(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
                assert_eq!(a.published, at(want), "{doc}");
                assert_eq!(a.title, "標題", "{doc}");
                assert_eq!(a.body, [Block::Paragraph("正文。".into())], "{doc}");
            }
        }
        let a = text("首頁>時政\n標題\n副標題\n2015-06-05 08:16\n原標題：舊\n正文。").unwrap();
        assert_eq!(a.subtitle.as_deref(), Some("副標題"));
        assert_eq!(a.original_title.as_deref(), Some("舊"));
        let a =
            text("首頁>時政\n標題\n發布時間：2015-06-05 08:16\n更新時間：2015-06-06 09:00\n正文。")
                .unwrap();
        assert_eq!(a.published, at("2015-06-05 08:16:00"));
        assert_eq!(a.updated, at("2015-06-06 09:00:00"));
        // A paragraph that starts with a date is a paragraph.
        let a = text("首頁>時政\n標題\n2015年6月5日，重慶市召開會議。").unwrap();
        assert_eq!(a.published, None);
        assert_eq!(a.body.len(), 1);
        // Inside the body a date line is just text.
        let a = text("首頁>時政\n標題\n正文。\n2015-06-05 08:16").unwrap();
        assert_eq!(a.published, None);
        assert_eq!(a.body.len(), 2);
        // Shaped like a date but impossible.
        assert_eq!(
            text("首頁>時政\n標題\n2015年13月05日 08:16\n正文。"),
            Err(ArticleError::InvalidDate {
                field: "published",
                value: "2015年13月05日 08:16".into()
            })
        );
        assert!(matches!(
            text("首頁>時政\n標題\n發布時間：明天\n正文。"),
            Err(ArticleError::InvalidDate {
                field: "published",
                ..
            })
        ));
    }

    #[test]
    fn whitespace_and_blank_lines() {
        let a = text("\n\n　首頁>時政　\n\n  標題 \u{3000}\n\n\n　　正文。　\n\n").unwrap();
        assert_eq!(a.sections, ["時政"]);
        assert_eq!(a.title, "標題");
        assert_eq!(a.body, [Block::Paragraph("正文。".into())]);
    }

    // ---- bad input ----

    #[test]
    fn binary_garbage_is_undecodable() {
        // A fixed pseudo-random byte string (xorshift), like a stray image or archive.
        let mut x: u32 = 0x9E37_79B9;
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(matches!(
            Article::parse("x", &bytes, Layout::Text),
            Err(ArticleError::Undecodable(_))
        ));
        // A PNG header with NULs.
        assert!(matches!(
            decode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10"),
            Err(ArticleError::Undecodable(_))
        ));
        // UTF-16 without a byte-order mark is not accepted (NULs).
        let no_bom = &utf16(seed_text(), false)[2..];
        assert!(matches!(decode(no_bom), Err(ArticleError::Undecodable(_))));
        // Invalid data after a BOM.
        assert!(matches!(
            decode(b"\xEF\xBB\xBF\xFF\xFE\xFD"),
            Err(ArticleError::Undecodable(_))
        ));
    }

    // ---- the fast paths of decoding against plain definitions ----

    /// A small deterministic generator (xorshift) for the tests below.
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Strings of characters where the tables matter: ASCII and C0/C1 controls, `\r\n`,
    /// whitespace, CJK punctuation and 〇, Han inside and outside U+4E00–U+9FFF, kana,
    /// private use, full-width forms, U+FEFF, U+FFFD, non-BMP, and the layout markers.
    fn mixed_strings(seed: u64, count: usize) -> Vec<String> {
        const RANGES: [(u32, u32); 12] = [
            (0x00, 0x80),
            (0x80, 0x100),
            (0x2000, 0x2070),
            (0x3000, 0x3100),
            (0x3400, 0x3410),
            (0x4E00, 0xA000),
            (0x9FF0, 0xA010),
            (0xE000, 0xE010),
            (0xF900, 0xF910),
            (0xFE30, 0x10000),
            (0x1F600, 0x1F610),
            (0x20000, 0x20010),
        ];
        const PIECES: [&str; 8] = ["首頁", "编辑", "原標題", "＞", "\r\n", "\r", "，", "中國"];
        let mut next = xorshift(seed);
        (0..count)
            .map(|_| {
                let mut s = String::new();
                for _ in 0..next() % 40 {
                    let (lo, hi) = RANGES[(next() % 12) as usize];
                    s.extend(char::from_u32(lo + (next() % u64::from(hi - lo)) as u32));
                    if next() % 4 == 0 {
                        s.push_str(PIECES[(next() % 8) as usize]);
                    }
                }
                s
            })
            .collect()
    }

    #[test]
    fn flag_tables_hold_their_definitions() {
        let (sensible, score) = (sensible_table(), score_table());
        let common_han: std::collections::HashSet<char> = COMMON_HAN.chars().collect();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                lookup(sensible, c, sensible_flags),
                sensible_flags(c),
                "{c:?}"
            );
            let common = is_han(c) && common_han.contains(&c);
            let want = score_flags(c) | if common { COMMON_HAN_CHAR } else { 0 };
            assert_eq!(lookup(score, c, score_flags), want, "{c:?}");
        }
        for (c, want) in [
            ('a', VISIBLE | LETTER),
            ('中', VISIBLE | LETTER),
            ('\u{9FFF}', VISIBLE | LETTER),
            ('〇', VISIBLE | LETTER),
            ('１', VISIBLE | LETTER),
            ('Ｚ', VISIBLE | LETTER),
            ('，', VISIBLE),
            ('「', VISIBLE),
            ('\u{FFFD}', VISIBLE | REPLACEMENT),
            ('\u{1F}', VISIBLE | CONTROL | STRAY),
            ('\0', VISIBLE | CONTROL | STRAY | NUL),
            ('\r', CR),
            ('\u{85}', STRAY),
            ('\n', 0),
            ('\u{3000}', 0),
            ('\u{FEFF}', 0),
        ] {
            assert_eq!(sensible_flags(c), want, "{c:?}");
        }
        assert_eq!(score_flags('＞'), MARKER_START);
        assert_eq!(score_flags('\u{20000}'), SUSPICIOUS);
    }

    #[test]
    fn sensible_test_and_cleaning_match_a_plain_reference() {
        // The checks as plain passes over the text, one per rule.
        fn reference(text: &str) -> Result<String> {
            let text = text.replace("\r\n", "\n").replace('\r', "\n");
            let (mut visible, mut letters, mut controls, mut replacements) = (0, 0, 0, 0);
            for c in text.chars() {
                if c == '\0' {
                    return Err(ArticleError::Undecodable("binary data (NUL bytes)".into()));
                }
                if c.is_whitespace() || c == '\u{FEFF}' {
                    continue;
                }
                visible += 1;
                if c.is_control() {
                    controls += 1;
                } else if c == '\u{FFFD}' {
                    replacements += 1;
                } else if c.is_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
                    letters += 1;
                }
            }
            let reason = if visible == 0 {
                return Err(ArticleError::Blank);
            } else if controls * 100 > visible {
                "binary data (control characters)"
            } else if replacements * 100 > visible {
                "damaged text (U+FFFD replacement characters)"
            } else if letters * 5 < visible {
                "almost no letters"
            } else {
                let stray = |c: char| c.is_control() && c != '\n' && c != '\t';
                return Ok(text.chars().filter(|&c| !stray(c)).collect());
            };
            Err(ArticleError::Undecodable(reason.into()))
        }
        let mut strings = mixed_strings(1, 20_000);
        strings.push("\r\r\n\r\u{1}\n\u{85}中\u{7F}\t".into());
        for s in strings.iter().filter(|s| !s.is_empty()) {
            let fast = sensible(Cow::Borrowed(s)).map(Cow::into_owned);
            assert_eq!(fast, reference(s), "{s:?}");
        }
    }

    #[test]
    fn legacy_score_matches_a_plain_reference() {
        // The score as plain passes over the sample, one per marker.
        fn reference(text: &str) -> (i64, usize, usize) {
            let sample: String = text.chars().take(SCORE_SAMPLE_CHARS).collect();
            let han = sample.chars().filter(|&c| is_han(c)).count();
            let hits = sample
                .chars()
                .filter(|&c| is_han(c) && COMMON_HAN.contains(c))
                .count();
            let bad = sample.chars().filter(|&c| is_suspicious(c)).count();
            let markers: usize = LAYOUT_MARKERS
                .iter()
                .map(|m| sample.matches(m).count())
                .sum();
            (hits as i64 + 5 * markers as i64 - bad as i64, hits, han)
        }
        let mut texts = mixed_strings(2, 5_000);
        // Markers across the end of the sample count only if they end inside it.
        for before in SCORE_SAMPLE_CHARS - 3..=SCORE_SAMPLE_CHARS {
            for marker in LAYOUT_MARKERS {
                texts.push("x".repeat(before) + marker + marker);
            }
        }
        for text in &texts {
            assert_eq!(legacy_score(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn utf8_error_offset_is_where_std_stops() {
        let cases: [&[u8]; 8] = [
            b"ab\xE4\xB8",
            b"\xE4\xB8\xAD\x80",
            b"x\xED\xA0\x80",
            b"\xC0\xAF",
            b"\xF5\x80\x80\x80",
            b"\xF4\x90\x80\x80",
            b"\xE4\xB8\xAD\xE4\xB8",
            b"\xE4\xB8\xAD\xFF\xE4\xB8\xAD",
        ];
        for bytes in cases {
            let std = std::str::from_utf8(bytes).unwrap_err().valid_up_to();
            assert_eq!(Encoding::utf8_valid_up_to(bytes), std, "{bytes:?}");
        }
    }

    #[test]
    fn damaged_utf8_is_not_taken_for_gb18030() {
        // One byte of the UTF-8 seed cut out: neither legacy decoder accepts the rest.
        let mut bytes = SEED.to_vec();
        bytes.remove(200);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(
            decode(&bytes),
            Err(ArticleError::Undecodable(
                "neither UTF-8 (bad byte at offset 199) nor GB18030 nor Big5".into()
            ))
        );
    }

    #[test]
    fn other_encodings_are_not_taken_for_chinese() {
        // These decode without error as GB18030, but into mojibake whose share of common
        // characters is far below MIN_COMMON_PERCENT.
        let korean = "대한민국 헌법 제1조 대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 \
                      있고, 모든 권력은 국민으로부터 나온다.";
        let japanese = "日本国民は、正当に選挙された国会における代表者を通じて行動し、われらと\
                        われらの子孫のために、諸国民との協和による成果と、わが国全土にわたつて\
                        自由のもたらす恵沢を確保し";
        for (encoding, s) in [
            (encoding_rs::EUC_KR, korean),
            (encoding_rs::SHIFT_JIS, japanese),
        ] {
            let bytes = encode(encoding, s);
            assert!(GB18030
                .decode_without_bom_handling_and_without_replacement(&bytes)
                .is_some());
            assert_eq!(
                decode(&bytes),
                Err(ArticleError::Undecodable(
                    "not UTF-8 (bad byte at offset 0), and it reads as neither GB18030 nor \
                     Big5 text"
                        .into()
                )),
                "{}",
                encoding.name()
            );
        }
    }

    #[test]
    fn nonsense_text_is_rejected() {
        assert_eq!(
            decode("!!!! #### ---- ????".as_bytes()),
            Err(ArticleError::Undecodable("almost no letters".into()))
        );
        assert!(matches!(
            decode("\u{FFFD}\u{FFFD}\u{FFFD}標題".as_bytes()),
            Err(ArticleError::Undecodable(_))
        ));
        assert!(matches!(
            decode("首頁\u{1}\u{2}\u{3}\u{4}>時政".as_bytes()),
            Err(ArticleError::Undecodable(_))
        ));
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(
            Article::parse("x", b"", Layout::Text),
            Err(ArticleError::Empty)
        );
        assert_eq!(
            Article::parse("x", b"\xEF\xBB\xBF", Layout::Text),
            Err(ArticleError::Empty)
        );
        assert_eq!(
            Article::parse("x", b"", Layout::Json),
            Err(ArticleError::Empty)
        );
        assert_eq!(
            Article::parse("x", " \n\r\n\t\u{3000}".as_bytes(), Layout::Text),
            Err(ArticleError::Blank)
        );
    }

    #[test]
    fn missing_title() {
        assert_eq!(
            text("首頁>黨派·聲音>統一戰線 統一戰線"),
            Err(ArticleError::MissingTitle)
        );
        assert_eq!(text("首頁>時政\n\n\n"), Err(ArticleError::MissingTitle));
        assert_eq!(
            text("首頁>時政\n編輯:孫莉姍"),
            Err(ArticleError::MissingTitle)
        );
    }

    #[test]
    fn missing_section() {
        // First line without crumbs.
        assert_eq!(
            text("把握要求積極作為\n重慶主城九區\n正文。"),
            Err(ArticleError::MissingSection)
        );
        // Only the home crumb.
        assert_eq!(
            text("首頁\n標題\n正文。"),
            Err(ArticleError::MissingSection)
        );
        assert_eq!(
            text("首頁 >\n標題\n正文。"),
            Err(ArticleError::MissingSection)
        );
        assert_eq!(
            text("首页＞＞\n標題\n正文。"),
            Err(ArticleError::MissingSection)
        );
    }

    // ---- JSON layout ----

    const FULL_JSON: &str = r#"{ "id": "a-123", "title": "標題", "subtitle": "副標題",
  "sections": ["黨派·聲音", " 統一戰線 "], "keywords": ["重慶市", "重慶市", " ", "統戰"],
  "editor": "孫莉姍", "author": "記者", "url": "https://example.org/a-123",
  "published": "2015-06-05T08:16:00+08:00", "updated": "2015-06-06T01:00:00Z",
  "body": ["第一段。", "第二段。\n第三段。", "  "], "summary": "摘要", "image": "https://example.org/a.jpg",
  "future_key": {"nested": [1, 2]} }"#;

    #[test]
    fn json_full() {
        let a = json(FULL_JSON).unwrap();
        assert_eq!(a.id, "a-123");
        assert_eq!(a.title, "標題");
        assert_eq!(a.subtitle.as_deref(), Some("副標題"));
        assert_eq!(a.sections, ["黨派·聲音", "統一戰線"]);
        assert_eq!(a.keywords, ["重慶市", "統戰"]);
        assert_eq!(a.editor.as_deref(), Some("孫莉姍"));
        assert_eq!(a.author.as_deref(), Some("記者"));
        assert_eq!(a.url.as_deref(), Some("https://example.org/a-123"));
        assert_eq!(
            a.published,
            Some(Stamp::Zoned(
                DateTime::parse_from_rfc3339("2015-06-05T08:16:00+08:00").unwrap()
            ))
        );
        assert_eq!(
            a.updated,
            Some(Stamp::Zoned(
                DateTime::parse_from_rfc3339("2015-06-06T01:00:00+00:00").unwrap()
            ))
        );
        assert_eq!(
            a.body,
            [
                Block::Paragraph("第一段。".into()),
                Block::Paragraph("第二段。".into()),
                Block::Paragraph("第三段。".into()),
            ]
        );
        assert_eq!(a.summary.as_deref(), Some("摘要"));
        assert_eq!(a.image.as_deref(), Some("https://example.org/a.jpg"));
    }

    #[test]
    fn json_minimal_and_unknown_keys() {
        let a = json(r#"{"id":"1","title":"t","sections":["s"],"body":[],"x":1}"#).unwrap();
        assert_eq!(a.id, "1");
        assert!(a.body.is_empty() && a.keywords.is_empty());
        assert_eq!((a.published, a.editor), (None, None));
        // With a BOM, and in UTF-16.
        let bom = [&b"\xEF\xBB\xBF"[..], FULL_JSON.as_bytes()].concat();
        assert_eq!(Article::parse("x", &bom, Layout::Json), json(FULL_JSON));
        let u16 = utf16(FULL_JSON, false);
        assert_eq!(Article::parse("x", &u16, Layout::Json), json(FULL_JSON));
    }

    #[test]
    fn json_missing_each_required_field() {
        for field in ["id", "title", "sections", "body"] {
            let mut v: serde_json::Value = serde_json::from_str(FULL_JSON).unwrap();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(
                json(&v.to_string()),
                Err(ArticleError::MissingField(field)),
                "without {field}"
            );
            v[field] = serde_json::Value::Null;
            assert_eq!(
                json(&v.to_string()),
                Err(ArticleError::MissingField(field)),
                "{field}: null"
            );
        }
    }

    #[test]
    fn json_bad_values() {
        let with = |field: &str, value: serde_json::Value| {
            let mut v: serde_json::Value = serde_json::from_str(FULL_JSON).unwrap();
            v[field] = value;
            json(&v.to_string())
        };
        assert_eq!(
            with("title", " \n ".into()),
            Err(ArticleError::MissingTitle)
        );
        assert_eq!(
            with("sections", serde_json::json!([])),
            Err(ArticleError::MissingSection)
        );
        assert_eq!(
            with("sections", serde_json::json!(["", " "])),
            Err(ArticleError::MissingSection)
        );
        assert_eq!(
            with("id", "".into()),
            Err(ArticleError::InvalidId(String::new()))
        );
        assert_eq!(
            with("id", "../etc".into()),
            Err(ArticleError::InvalidId("../etc".into()))
        );
        for field in ["published", "updated"] {
            assert_eq!(
                with(field, "2015-06-05 08:16".into()),
                Err(ArticleError::InvalidDate {
                    field: if field == "published" {
                        "published"
                    } else {
                        "updated"
                    },
                    value: "2015-06-05 08:16".into()
                })
            );
        }
        assert!(matches!(
            with("published", "2015-13-05T08:16:00+08:00".into()),
            Err(ArticleError::InvalidDate {
                field: "published",
                ..
            })
        ));
        // Wrong type: an error with a position.
        assert!(matches!(
            with("sections", "黨派·聲音".into()),
            Err(ArticleError::InvalidJson { line: 1, .. })
        ));
    }

    #[test]
    fn invalid_json_has_line_and_column() {
        let bad = "{\n  \"id\": \"a\",\n  \"title\": \"t\" oops\n}";
        match json(bad) {
            Err(ArticleError::InvalidJson { line, column, msg }) => {
                assert_eq!((line, column), (3, 16));
                assert!(!msg.contains("at line"), "{msg}");
                let shown = ArticleError::InvalidJson { line, column, msg }.to_string();
                assert!(
                    shown.starts_with("invalid JSON at line 3, column 16: "),
                    "{shown}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            json("{\"id\": \"a\","),
            Err(ArticleError::InvalidJson { line: 1, .. })
        ));
        assert!(matches!(
            json("[1, 2]"),
            Err(ArticleError::InvalidJson { .. })
        ));
    }

    #[test]
    fn error_messages_are_short_and_lowercase() {
        assert_eq!(ArticleError::MissingTitle.to_string(), "no title");
        assert_eq!(
            ArticleError::MissingField("body").to_string(),
            "missing required field `body`"
        );
        assert_eq!(
            ArticleError::InvalidDate {
                field: "published",
                value: "x".into()
            }
            .to_string(),
            "invalid date in `published`: \"x\""
        );
    }

    /// A page export whose breadcrumb holds `crumbs` sections and whose keyword line
    /// holds `keywords`.
    fn page_with(crumbs: usize, keywords: &[String]) -> String {
        let path: Vec<String> = (0..crumbs).map(|n| format!("欄目{n}")).collect();
        format!(
            "首頁>{}\n標題\n正文。\n關鍵詞:{}\n",
            path.join(">"),
            keywords.join(" ")
        )
    }

    fn beyond(result: Result<Article>) -> Beyond {
        match result {
            Err(ArticleError::Beyond(b)) => b,
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn limits_of_one_article_are_enforced_in_both_layouts() {
        use crate::model::limits::*;
        let ok = text(&page_with(MAX_SECTION_DEPTH, &[])).unwrap();
        assert_eq!(ok.sections.len(), MAX_SECTION_DEPTH);
        // A breadcrumb of 700 crumbs once made every build fail.
        let deep = page_with(700, &[]);
        assert_eq!(beyond(text(&deep)), Beyond::SectionDepth(700));
        assert_eq!(
            ArticleError::Beyond(Beyond::SectionDepth(700)).to_string(),
            "past the limits of one article: 700 sections deep; the limit is 8"
        );
        // 4,000 crumbs: rejected after one pass over the line.
        assert_eq!(
            beyond(text(&page_with(4000, &[]))),
            Beyond::SectionDepth(4000)
        );

        let long = "長".repeat(MAX_SECTION_CHARS + 1);
        let page = format!("首頁>{long}\n標題\n正文。\n");
        assert_eq!(
            beyond(text(&page)),
            Beyond::SectionChars(MAX_SECTION_CHARS + 1)
        );
        // The heading repeat is dropped before the name is measured.
        let name = "長".repeat(MAX_SECTION_CHARS);
        let page = format!("首頁>{name} {name}\n標題\n正文。\n");
        assert_eq!(text(&page).unwrap().sections, [name]);

        let many: Vec<String> = (0..=MAX_KEYWORDS).map(|n| format!("詞{n}")).collect();
        assert_eq!(beyond(text(&page_with(1, &many))), Beyond::Keywords(65));
        // Repeats are one keyword, however many.
        let repeated = vec!["重慶市".to_string(); 100_000];
        assert_eq!(text(&page_with(1, &repeated)).unwrap().keywords, ["重慶市"]);
        let long = "詞".repeat(MAX_KEYWORD_CHARS + 1);
        assert_eq!(
            beyond(text(&page_with(1, std::slice::from_ref(&long)))),
            Beyond::KeywordChars(MAX_KEYWORD_CHARS + 1)
        );

        let sections: Vec<String> = (0..9).map(|n| format!("\"s{n}\"")).collect();
        let doc = format!(
            r#"{{"id":"j","title":"t","sections":[{}],"body":["b"]}}"#,
            sections.join(",")
        );
        assert_eq!(beyond(json(&doc)), Beyond::SectionDepth(9));
        let keywords: Vec<String> = (0..65).map(|n| format!("\"k{n}\"")).collect();
        let doc = format!(
            r#"{{"id":"j","title":"t","sections":["s"],"keywords":[{}],"body":["b"]}}"#,
            keywords.join(",")
        );
        assert_eq!(beyond(json(&doc)), Beyond::Keywords(65));
    }

    // The fuzzer's findings (fuzz/regressions/): each reproducer, and the shapes behind
    // the ones found on the fuzz branch, is rejected by a limit after one pass over it.

    #[test]
    fn fuzz_reproducers_of_deep_breadcrumbs_are_rejected() {
        for (bytes, crumbs) in [
            (
                &include_bytes!("../../../fuzz/regressions/article/breadcrumb-700-crumbs.txt")[..],
                700,
            ),
            (
                &include_bytes!("../../../fuzz/regressions/article/breadcrumb-4000-crumbs.txt")[..],
                4000,
            ),
        ] {
            let result = Article::parse("fuzz", bytes, Layout::Text);
            assert_eq!(beyond(result), Beyond::SectionDepth(crumbs));
        }
    }

    #[test]
    fn a_megabyte_blank_run_in_the_last_crumb_is_one_pass() {
        // 40,000 blanks took 15 s when every blank was tried as the middle of a repeat;
        // a million would take hours.
        let crumb = format!("甲{}乙", " ".repeat(1_000_000));
        let page = format!("首頁>黨派·聲音>統一戰線>{crumb}\n標題\n正文。\n");
        assert_eq!(beyond(text(&page)), Beyond::SectionChars(1_000_002));
        // A repeat around a long run is still found.
        let page = format!(
            "首頁>港澳 台灣{}港澳 台灣\n標題\n正文。\n",
            "\u{3000}".repeat(1000)
        );
        assert_eq!(text(&page).unwrap().sections, ["港澳 台灣"]);
        assert_eq!(drop_repeat("統一戰線 統一戰線"), "統一戰線");
        assert_eq!(drop_repeat("港澳 台灣 港澳 台灣"), "港澳 台灣");
        assert_eq!(drop_repeat("港澳 台灣"), "港澳 台灣");
        assert_eq!(drop_repeat("甲  乙  甲  乙"), "甲  乙");
    }

    #[test]
    fn hundreds_of_thousands_of_keywords_are_one_pass() {
        // 30,000 distinct keywords took 18 s when each was looked for in the list so far.
        let keywords: Vec<String> = (0..300_000).map(|n| format!("詞{n}")).collect();
        let page = format!("首頁>時政\n標題\n正文。\n關鍵詞:{}\n", keywords.join(" "));
        assert_eq!(beyond(text(&page)), Beyond::Keywords(300_000));
        let doc = format!(
            r#"{{"id":"j","title":"t","sections":["s"],"keywords":[{}],"body":["b"]}}"#,
            keywords
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(beyond(json(&doc)), Beyond::Keywords(300_000));
    }
}
