//! Articles: decoding the store's bytes and parsing both layouts of DESIGN §1.
//! Pure: takes an id and bytes, touches no file, clock or network.
//!
//! * [`decode`] turns bytes into text: a byte-order mark wins, then strict UTF-8, then
//!   whichever of GB18030 and Big5 reads as Chinese text (see [`decode`] for the score).
//! * [`Article::parse`] reads the page export (`*.txt`, §1a) or the structured layout
//!   (`*.json`, §1b) into an [`Article`], or says in an [`ArticleError`] why it cannot.
//!
//! Error messages are short lowercase reasons; the caller prefixes them with the path.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::model::article::{Article, Block, Layout, Stamp};
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
}

type Result<T, E = ArticleError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// Very common Chinese characters, in Simplified and in Traditional form: about 500 of the
/// most frequent characters of running text, plus the Traditional forms of those that
/// differ (684 distinct in all). In real text they make up most of the Han characters; in
/// text decoded with the wrong one of GB18030/Big5 (mojibake spread over thousands of code
/// points) about a tenth or less.
const COMMON_HAN: &str = concat!(
    // Simplified
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工",
    "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小",
    "物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形",
    "相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建",
    "月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长",
    "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战",
    "先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受",
    "联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议",
    "声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且",
    "究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支",
    "般史感劳便团往历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按",
    "格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞",
    // Traditional forms that differ
    "這為個國們來時說對會發動過於產種後學經進著電裡裏現實兩體機當點從業應開還義間樣與關線",
    "數麼質氣變條沒結問無軍題黨員總設長頭資邊級圖統較將組見計別論運農幾區強決幹戰則據處隊",
    "給門規熱領東導壓爭濟階術極聯認權證採轉單風帶場車務萬達積議聲報鬥類離華確張馬節話況溫",
    "傳許廣記觀織裝眾書復兒須際驗連斷難礦備辦習響約勞團歷構稱準號維劃選標寫親養層卻專狀廠",
    "識適屬圓調滿縣參紅細聽該鐵價嚴龍飛",
);

/// Strings that the page export itself carries, in both scripts.
const LAYOUT_MARKERS: &[&str] = &[
    "首頁",
    "首页",
    "關鍵詞",
    "关键词",
    "編輯",
    "编辑",
    "原標題",
    "原标题",
    "＞",
];

/// Below this share (in percent) of `COMMON_HAN` characters among the Han characters of a
/// GB18030/Big5 decoding, the bytes are taken for something else (damaged UTF-8, another
/// encoding, binary). The seed scores 80 % in GB18030 and in Big5; its Big5 bytes read as
/// GB18030 score 12 %, Simplified GB18030 text read as Big5 1 %, Korean EUC-KR read as
/// GB18030 12 %, Japanese Shift_JIS 0 %.
const MIN_COMMON_PERCENT: usize = 20;
/// The share test is only meaningful with enough Han characters to count.
const MIN_HAN_FOR_RATIO: usize = 20;
/// Scoring looks at this many characters from the start; plenty to tell the encodings apart.
const SCORE_SAMPLE_CHARS: usize = 65_536;

/// One byte of flags for every character of the BMP, as `flags` gives them (64 KiB, built
/// once). Every character of every file is looked up in such a table: one load, where
/// computing the flags takes branches that mixed text mispredicts and, in
/// `char::is_alphanumeric` outside ASCII (CJK punctuation such as `，。「」` included), a
/// search of the standard library's tables.
fn bmp_table(flags: impl Fn(char) -> u8) -> Box<[u8]> {
    (0..=0xFFFF)
        .map(|cp| char::from_u32(cp).map_or(0, &flags))
        .collect()
}

/// `c`'s flags: from `table` (see [`bmp_table`]) in the BMP, from `flags` outside it.
fn lookup(table: &[u8], c: char, flags: fn(char) -> u8) -> u8 {
    match table.get(c as usize) {
        Some(&f) => f,
        None => flags(c),
    }
}

// What `legacy_score` needs to know of a character.
const HAN: u8 = 1;
/// One of `COMMON_HAN` (and `HAN`).
const COMMON_HAN_CHAR: u8 = 2;
const SUSPICIOUS: u8 = 4;
/// The first character of one of `LAYOUT_MARKERS`.
const MARKER_START: u8 = 8;

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Characters that real Chinese news text almost never holds but a wrong legacy decoding
/// produces in bulk: private use, kana and bopomofo (GB18030's and Big5's symbol rows), and
/// anything outside the BMP (Big5-HKSCS extensions).
fn is_suspicious(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{3040}'..='\u{31BF}') || c > '\u{FFFF}'
}

/// `c`'s flags for `legacy_score`, except `COMMON_HAN_CHAR`, which `score_table` adds.
fn score_flags(c: char) -> u8 {
    let mut flags = 0;
    if is_han(c) {
        flags |= HAN;
    }
    if is_suspicious(c) {
        flags |= SUSPICIOUS;
    }
    if LAYOUT_MARKERS.iter().any(|m| m.starts_with(c)) {
        flags |= MARKER_START;
    }
    flags
}

/// [`score_flags`] with `COMMON_HAN_CHAR`, for the BMP (where every Han character is).
fn score_table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = bmp_table(score_flags);
        for c in COMMON_HAN.chars().filter(|&c| is_han(c)) {
            table[c as usize] |= COMMON_HAN_CHAR;
        }
        table
    })
}

/// How a candidate decoding reads: (score, common Han characters, all Han characters).
/// One pass over the sample. Markers are counted where they start, if they end inside the
/// sample; as no marker overlaps itself, that is the count `str::matches` gives for each.
fn legacy_score(text: &str) -> (i64, usize, usize) {
    let table = score_table();
    let (mut hits, mut han, mut bad, mut markers) = (0usize, 0usize, 0usize, 0usize);
    for (n, (i, c)) in text.char_indices().take(SCORE_SAMPLE_CHARS).enumerate() {
        let flags = lookup(table, c, score_flags);
        han += usize::from(flags & HAN != 0);
        hits += usize::from(flags & COMMON_HAN_CHAR != 0);
        bad += usize::from(flags & SUSPICIOUS != 0);
        if flags & MARKER_START != 0 {
            let chars_left = SCORE_SAMPLE_CHARS - n;
            markers += LAYOUT_MARKERS
                .iter()
                .filter(|m| text[i..].starts_with(**m) && m.chars().count() <= chars_left)
                .count();
        }
    }
    let score = hits as i64 + 5 * markers as i64 - bad as i64;
    (score, hits, han)
}

/// Bytes → text.
///
/// 1. A byte-order mark (UTF-8, UTF-16LE, UTF-16BE) decides the encoding; the bytes after
///    it must then be valid in it.
/// 2. Otherwise strict UTF-8.
/// 3. Otherwise GB18030 and Big5 are both tried without replacement. Big5's byte ranges are
///    valid GBK, so both often succeed; the winner is the one with the higher score:
///    occurrences of `COMMON_HAN` characters, plus 5 per layout marker (首頁, 關鍵詞,
///    編輯, `＞` … in both scripts), minus 1 per private-use, kana, bopomofo or non-BMP
///    character. A tie goes to GB18030. The winner must still have at least
///    `MIN_COMMON_PERCENT` % common characters among its Han characters (when it has at
///    least `MIN_HAN_FOR_RATIO`), else the bytes are rejected: that is how damaged UTF-8
///    or a third encoding shows.
///
/// Whatever the encoding, the text is then rejected when it decodes to nothing sensible:
/// any NUL, more than 1 % control characters or U+FFFD replacement characters, or fewer
/// than one letter or digit in five non-space characters. Line ends become `\n`; the few
/// control characters left (other than `\n` and `\t`) are removed.
pub fn decode(bytes: &[u8]) -> Result<String> {
    decode_cow(bytes).map(Cow::into_owned)
}

/// [`decode`], borrowing `bytes` when they already are the text: valid UTF-8 without a
/// `\r` or a control character to remove, as most of a store is.
fn decode_cow(bytes: &[u8]) -> Result<Cow<'_, str>> {
    if bytes.is_empty() {
        return Err(ArticleError::Empty);
    }
    let text = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom_len..])
            .ok_or_else(|| {
                ArticleError::Undecodable(format!(
                    "invalid {} after its byte-order mark",
                    encoding.name()
                ))
            })?,
        // encoding_rs validates UTF-8 several times faster than `std::str::from_utf8` on
        // Chinese text, and borrows when it is valid.
        None => match UTF_8.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(text) => text,
            None => Cow::Owned(decode_legacy(bytes, Encoding::utf8_valid_up_to(bytes))?),
        },
    };
    sensible(text)
}

/// `text` if it passes the sensible-text test of [`decode`], with `\n` line ends and
/// without stray control characters.
fn sensible(text: Cow<'_, str>) -> Result<Cow<'_, str>> {
    let seen = check_sensible(&text)?;
    if seen & (CR | STRAY) == 0 {
        return Ok(text);
    }
    let mut text = if seen & CR != 0 {
        lf_line_ends(&text)
    } else {
        text.into_owned()
    };
    if seen & STRAY != 0 {
        text.retain(|c| !is_stray_control(c));
    }
    Ok(Cow::Owned(text))
}

fn is_stray_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// `\r\n` and lone `\r` as `\n`. Splitting at `\r` finds them with `memchr`.
fn lf_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pieces = text.split('\r');
    out.extend(pieces.next());
    for piece in pieces {
        if !piece.starts_with('\n') {
            out.push('\n');
        }
        out.push_str(piece);
    }
    out
}

fn decode_legacy(bytes: &[u8], utf8_error_at: usize) -> Result<String> {
    let gb = GB18030.decode_without_bom_handling_and_without_replacement(bytes);
    let big5 = BIG5.decode_without_bom_handling_and_without_replacement(bytes);
    let (text, (_, common, han)) = match (gb, big5) {
        (Some(gb), Some(big5)) => {
            let (gs, bs) = (legacy_score(&gb), legacy_score(&big5));
            if bs.0 > gs.0 {
                (big5, bs)
            } else {
                (gb, gs)
            }
        }
        (Some(gb), None) => {
            let s = legacy_score(&gb);
            (gb, s)
        }
        (None, Some(big5)) => {
            let s = legacy_score(&big5);
            (big5, s)
        }
        (None, None) => {
            return Err(ArticleError::Undecodable(format!(
                "neither UTF-8 (bad byte at offset {utf8_error_at}) nor GB18030 nor Big5"
            )))
        }
    };
    if han >= MIN_HAN_FOR_RATIO && common * 100 < han * MIN_COMMON_PERCENT {
        return Err(ArticleError::Undecodable(format!(
            "not UTF-8 (bad byte at offset {utf8_error_at}), and it reads as neither \
             GB18030 nor Big5 text"
        )));
    }
    Ok(text.into_owned())
}

// What `check_sensible` needs to know of a character.
/// Neither whitespace nor U+FEFF.
const VISIBLE: u8 = 1;
/// A visible letter or digit; the whole of U+4E00–U+9FFF counts, assigned or not.
const LETTER: u8 = 2;
/// A visible control character.
const CONTROL: u8 = 4;
/// U+FFFD.
const REPLACEMENT: u8 = 8;
const NUL: u8 = 16;
/// `\r`, which becomes `\n` (or goes, before one).
const CR: u8 = 32;
/// A control character other than `\n`, `\t` and `\r`: removed.
const STRAY: u8 = 64;

/// `c`'s flags for `check_sensible`, from the standard library's character properties.
fn sensible_flags(c: char) -> u8 {
    let mut flags = 0;
    if c == '\0' {
        flags |= NUL;
    }
    if c == '\r' {
        flags |= CR;
    } else if is_stray_control(c) {
        flags |= STRAY;
    }
    if !c.is_whitespace() && c != '\u{FEFF}' {
        flags |= VISIBLE;
        if c.is_control() {
            flags |= CONTROL;
        } else if c == '\u{FFFD}' {
            flags |= REPLACEMENT;
        } else if c.is_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            flags |= LETTER;
        }
    }
    flags
}

fn sensible_table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| bmp_table(sensible_flags))
}

/// The sensible-text test of [`decode`], in one pass over `text`; `Ok` holds the flags of
/// all its characters together. Counting before `\r\n` becomes `\n` gives the same
/// figures as after: `\r` is whitespace, so not counted.
fn check_sensible(text: &str) -> Result<u8> {
    if text.is_empty() {
        return Err(ArticleError::Empty);
    }
    let table = sensible_table();
    let (mut visible, mut letters, mut controls, mut replacements) = (0usize, 0, 0, 0);
    let mut seen = 0;
    for c in text.chars() {
        let flags = lookup(table, c, sensible_flags);
        seen |= flags;
        visible += usize::from(flags & VISIBLE != 0);
        letters += usize::from(flags & LETTER != 0);
        controls += usize::from(flags & CONTROL != 0);
        replacements += usize::from(flags & REPLACEMENT != 0);
    }
    // A NUL outranks the other reasons, wherever it is.
    if seen & NUL != 0 {
        return Err(ArticleError::Undecodable("binary data (NUL bytes)".into()));
    }
    if visible == 0 {
        return Err(ArticleError::Blank);
    }
    if controls * 100 > visible {
        return Err(ArticleError::Undecodable(
            "binary data (control characters)".into(),
        ));
    }
    if replacements * 100 > visible {
        return Err(ArticleError::Undecodable(
            "damaged text (U+FFFD replacement characters)".into(),
        ));
    }
    if letters * 5 < visible {
        return Err(ArticleError::Undecodable("almost no letters".into()));
    }
    Ok(seen)
}

// ---------------------------------------------------------------------------------------
// Page export (§1a)
// ---------------------------------------------------------------------------------------

/// Home crumbs; a first crumb equal to one of these, or ending in one (人民網首頁), is the
/// site's home and not a section. A breadcrumb whose first crumb is not a home keeps it.
const HOME_CRUMBS: &[&str] = &["首頁", "首页", "主頁", "主页"];
const ORIGINAL_TITLE_LABELS: &[&str] = &["原標題", "原标题"];
const EDITOR_LABELS: &[&str] = &["責任編輯", "责任编辑", "編輯", "编辑"];
const KEYWORD_LABELS: &[&str] = &["關鍵詞", "关键词", "關鍵字", "关键字"];
/// Not in the contract, but exporters add it and [`Article`] has the field.
const AUTHOR_LABELS: &[&str] = &["作者"];
const PUBLISHED_LABELS: &[&str] = &[
    "發布時間",
    "发布时间",
    "發佈時間",
    "发佈时间",
    "發表時間",
    "发表时间",
    "發布日期",
    "发布日期",
    "發佈日期",
];
const UPDATED_LABELS: &[&str] = &["更新時間", "更新时间", "更新日期"];
/// What may follow a date on its line (`2015年06月05日08:16  來源：人民網`).
const SOURCE_LABELS: &[&str] = &["來源", "来源"];

/// Longest line, in characters, that can still be a sub-heading. News sub-headings run
/// from about 8 to 30 characters (the seed's longest has 31), while body paragraphs of
/// this store run from about 60 to several hundred; 40 leaves a quarter of headroom above
/// the longest heading seen, and a paragraph that short *and* without closing punctuation
/// is rare (and then harmless: it is shown bold).
pub const HEADING_MAX_CHARS: usize = 40;
/// A line whose last character (after closing quotes/brackets) is one of these is prose.
const SENTENCE_END: &[char] = &['。', '！', '？', '!', '?', '…', '‥', '；', ';', '．', '.'];
/// A line ending in one of these continues elsewhere (a lead-in "如下：", a broken
/// sentence), so it is prose, not a heading.
const CONTINUATION: &[char] = &['，', ',', '、', '：', ':'];
/// Closing quotes and brackets that may follow the sentence end (`……。”`, `！）`).
const CLOSERS: &[char] = &[
    '”', '’', '"', '\'', '」', '』', '）', ')', '》', '〉', '】', '〕', '〗', '］', ']', '｝', '}',
];

/// Whether a body line is a sub-heading: at most [`HEADING_MAX_CHARS`] characters, no
/// `。` anywhere (a heading is not a run of sentences), and its last character once
/// closing quotes/brackets are set aside is neither sentence-final nor continuing
/// punctuation. So `切實履行“第一責任人”職責` and `“第一責任人”` are headings, while
/// `他說：“好。”`, `要奮鬥！）` and `措施如下：` are paragraphs.
fn is_heading(line: &str) -> bool {
    // A character takes one to four bytes: only lines in between need counting.
    let too_long = match line.len() {
        n if n <= HEADING_MAX_CHARS => false,
        n if n > 4 * HEADING_MAX_CHARS => true,
        _ => line.chars().count() > HEADING_MAX_CHARS,
    };
    if too_long || line.contains('。') {
        return false;
    }
    match line.trim_end_matches(CLOSERS).chars().next_back() {
        None => false,
        Some(c) => !SENTENCE_END.contains(&c) && !CONTINUATION.contains(&c),
    }
}

fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{FEFF}' | '\u{200B}')
}

fn trim(s: &str) -> &str {
    s.trim_matches(is_blank_char)
}

/// The value of a `LABEL: value` line (ASCII or full-width colon, whitespace around it
/// allowed, the whole line optionally in brackets: `（責任編輯：孫莉姍）`).
fn label_value<'a>(line: &'a str, labels: &[&str]) -> Option<&'a str> {
    let (inner, bracketed) = match line.strip_prefix(['(', '（', '【', '[']) {
        Some(rest) => (rest.trim_start_matches(is_blank_char), true),
        None => (line, false),
    };
    // Every body line is tried against every label. Comparing first characters settles
    // most pairs inline; `strip_prefix`, like `starts_with(char)`, calls `memcmp`.
    let first = inner.chars().next()?;
    labels.iter().find_map(|label| {
        #[allow(clippy::chars_next_cmp)]
        let same_start = label.chars().next() == Some(first);
        if !same_start {
            return None;
        }
        let rest = inner.strip_prefix(label)?.trim_start_matches(is_blank_char);
        let mut value = rest.strip_prefix([':', '：'])?;
        if bracketed {
            value = value.trim_end_matches(is_blank_char);
            value = value.strip_suffix([')', '）', '】', ']']).unwrap_or(value);
        }
        Some(trim(value))
    })
}

fn is_label_line(line: &str) -> bool {
    [
        ORIGINAL_TITLE_LABELS,
        EDITOR_LABELS,
        KEYWORD_LABELS,
        AUTHOR_LABELS,
    ]
    .iter()
    .any(|labels| label_value(line, labels).is_some())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DateKind {
    Published,
    Updated,
}

impl DateKind {
    fn field(self) -> &'static str {
        match self {
            DateKind::Published => "published",
            DateKind::Updated => "updated",
        }
    }
}

/// Reads a date line: `2015年06月05日08:16`, `2015年6月5日 08:16`, `2015-06-05 08:16`,
/// `2015/6/5`, seconds optional, full-width digits and colons allowed, optionally after
/// `發布時間：` (→ published) or `更新時間：` (→ updated) and optionally followed by
/// `來源：…`. `None`: not a date line. `Some(Err)`: shaped like one (or labelled as one)
/// but not a real date.
fn date_line(line: &str) -> Option<Result<(DateKind, NaiveDateTime)>> {
    let (kind, rest, labelled) = if let Some(v) = label_value(line, UPDATED_LABELS) {
        (DateKind::Updated, v, true)
    } else if let Some(v) = label_value(line, PUBLISHED_LABELS) {
        (DateKind::Published, v, true)
    } else {
        (DateKind::Published, line, false)
    };
    let invalid = || {
        Err(ArticleError::InvalidDate {
            field: kind.field(),
            value: line.to_string(),
        })
    };
    let Some((parts, remainder)) = scan_date(rest) else {
        return labelled.then(invalid);
    };
    let remainder = trim(remainder);
    if !remainder.is_empty() && !SOURCE_LABELS.iter().any(|l| remainder.starts_with(l)) {
        return labelled.then(invalid);
    }
    let [y, mo, d, h, mi, s] = parts;
    let date = i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, mo, d));
    let time = NaiveTime::from_hms_opt(h, mi, s);
    Some(match (date, time) {
        (Some(date), Some(time)) => Ok((kind, date.and_time(time))),
        _ => invalid(),
    })
}

/// The numbers of a date (and optional time) at the start of `s`, and what follows.
fn scan_date(s: &str) -> Option<([u32; 6], &str)> {
    let mut cur = Cursor { s, pos: 0 };
    let year = cur.digits(4, 4)?;
    let sep = cur.one_of(&['年', '-', '/', '.', '－', '／'])?;
    let month = cur.digits(1, 2)?;
    if sep == '年' {
        cur.one_of(&['月'])?;
    } else {
        cur.one_of(&[sep])?;
    }
    let day = cur.digits(1, 2)?;
    if sep == '年' {
        cur.one_of(&['日']);
    }
    let date_end = cur.pos;
    // Optional time, after optional whitespace or a `T`.
    cur.skip_while(|c| is_blank_char(c) || c == 'T');
    if let Some(hour) = cur.digits(1, 2) {
        if cur.one_of(&[':', '：', '時', '时']).is_some() {
            if let Some(minute) = cur.digits(2, 2) {
                cur.one_of(&['分']);
                let before_seconds = cur.pos;
                let mut second = 0;
                if cur.one_of(&[':', '：']).is_some() {
                    match cur.digits(2, 2) {
                        Some(s) => second = s,
                        None => cur.pos = before_seconds,
                    }
                }
                return Some(([year, month, day, hour, minute, second], &s[cur.pos..]));
            }
        }
    }
    Some(([year, month, day, 0, 0, 0], &s[date_end..]))
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    /// Between `min` and `max` ASCII or full-width digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        let (mut n, mut value) = (0, 0u32);
        while n < max {
            let Some(c) = self.peek() else { break };
            let d = match c {
                '0'..='9' => c as u32 - '0' as u32,
                '０'..='９' => c as u32 - '０' as u32,
                _ => break,
            };
            value = value * 10 + d;
            n += 1;
            self.pos += c.len_utf8();
        }
        // More digits than allowed means this is some other number.
        let followed_by_digit = matches!(self.peek(), Some('0'..='9' | '０'..='９'));
        if n < min || followed_by_digit {
            self.pos = start;
            return None;
        }
        Some(value)
    }

    fn one_of(&mut self, set: &[char]) -> Option<char> {
        let c = self.peek().filter(|c| set.contains(c))?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek().filter(|&c| f(c)) {
            self.pos += c.len_utf8();
        }
    }
}

/// The section path of a breadcrumb line: crumbs split on `>`/`＞`, empty ones dropped, a
/// home crumb first dropped, the heading repeated after the last crumb dropped.
fn parse_breadcrumb(line: &str) -> Result<Vec<String>> {
    let crumbs: Vec<&str> = line.split(['>', '＞']).map(trim).collect();
    if crumbs.len() < 2 {
        return Err(ArticleError::MissingSection);
    }
    let mut crumbs: Vec<&str> = crumbs.into_iter().filter(|c| !c.is_empty()).collect();
    if crumbs.first().is_some_and(|c| is_home(c)) {
        crumbs.remove(0);
    }
    if let Some(last) = crumbs.last_mut() {
        *last = drop_repeat(last);
    }
    if crumbs.is_empty() {
        return Err(ArticleError::MissingSection);
    }
    Ok(crumbs.into_iter().map(str::to_string).collect())
}

fn is_home(crumb: &str) -> bool {
    crumb.eq_ignore_ascii_case("home") || HOME_CRUMBS.iter().any(|h| crumb.ends_with(h))
}

/// `統一戰線 統一戰線` → `統一戰線`; `港澳 台灣 港澳 台灣` → `港澳 台灣` (a section name
/// may hold a space, so every whitespace is tried as the middle). Without a repeat the
/// crumb stays whole.
fn drop_repeat(crumb: &str) -> &str {
    crumb
        .char_indices()
        .filter(|&(_, c)| is_blank_char(c))
        .find_map(|(i, _)| {
            let (left, right) = (trim(&crumb[..i]), trim(&crumb[i..]));
            (!left.is_empty() && left == right).then_some(left)
        })
        .unwrap_or(crumb)
}

/// Keywords split on whitespace, `、`, `，`, `,` (and semicolons), trimmed, empties dropped,
/// duplicates dropped keeping the first.
fn push_keywords(keywords: &mut Vec<String>, value: &str) {
    for k in value.split(|c: char| is_blank_char(c) || matches!(c, '、' | '，' | ',' | '；' | ';'))
    {
        push_unique(keywords, trim(k));
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !item.is_empty() && !list.iter().any(|k| k == item) {
        list.push(item.to_string());
    }
}

fn set_first(slot: &mut Option<String>, value: &str) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value.to_string());
    }
}

fn parse_text(id: &str, text: &str) -> Result<Article> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(ArticleError::Blank);
    }
    let mut published = None;
    let mut updated = None;
    // Consumes the date lines starting at `*i` (the header may hold them anywhere).
    let mut take_dates = |i: &mut usize| -> Result<()> {
        while let Some(found) = lines.get(*i).and_then(|l| date_line(l)) {
            let (kind, at) = found?;
            let slot = match kind {
                DateKind::Published => &mut published,
                DateKind::Updated => &mut updated,
            };
            slot.get_or_insert(Stamp::Local(at));
            *i += 1;
        }
        Ok(())
    };

    let mut i = 0;
    take_dates(&mut i)?;
    let sections = parse_breadcrumb(lines.get(i).ok_or(ArticleError::MissingSection)?)?;
    i += 1;
    take_dates(&mut i)?;
    let title = match lines.get(i) {
        Some(l) if !is_label_line(l) => l.to_string(),
        _ => return Err(ArticleError::MissingTitle),
    };
    i += 1;
    take_dates(&mut i)?;

    let mut subtitle = None;
    let mut original_title = None;
    if let Some(value) = lines
        .get(i)
        .and_then(|l| label_value(l, ORIGINAL_TITLE_LABELS))
    {
        set_first(&mut original_title, value);
        i += 1;
    } else if lines.get(i).is_some_and(|l| !is_label_line(l)) {
        // A subtitle only when an 原標題 line follows it (date lines between allowed).
        let mut j = i + 1;
        while lines.get(j).is_some_and(|l| date_line(l).is_some()) {
            j += 1;
        }
        if let Some(value) = lines
            .get(j)
            .and_then(|l| label_value(l, ORIGINAL_TITLE_LABELS))
        {
            subtitle = Some(lines[i].to_string());
            let mut k = i + 1;
            take_dates(&mut k)?;
            set_first(&mut original_title, value);
            i = j + 1;
        }
    }
    take_dates(&mut i)?;

    let mut body = Vec::new();
    let mut editor = None;
    let mut author = None;
    let mut keywords = Vec::new();
    for line in &lines[i..] {
        if let Some(v) = label_value(line, ORIGINAL_TITLE_LABELS) {
            set_first(&mut original_title, v);
        } else if let Some(v) = label_value(line, EDITOR_LABELS) {
            set_first(&mut editor, v);
        } else if let Some(v) = label_value(line, KEYWORD_LABELS) {
            push_keywords(&mut keywords, v);
        } else if let Some(v) = label_value(line, AUTHOR_LABELS) {
            set_first(&mut author, v);
        } else if is_heading(line) {
            body.push(Block::Heading(line.to_string()));
        } else {
            body.push(Block::Paragraph(line.to_string()));
        }
    }

    Ok(Article {
        id: id.to_string(),
        title,
        subtitle,
        original_title,
        sections,
        keywords,
        editor,
        author,
        url: None,
        published,
        updated,
        body,
        summary: None,
        image: None,
    })
}

// ---------------------------------------------------------------------------------------
// Structured layout (§1b)
// ---------------------------------------------------------------------------------------

/// The JSON layout as written. Every key is optional here so that a missing required key
/// is reported as [`ArticleError::MissingField`] naming it. Unknown keys are ignored on
/// purpose (no `deny_unknown_fields`): a CMS may add keys before tidings knows them, and a
/// newer exporter must not make an older daemon drop articles (forward compatibility).
#[derive(Deserialize)]
struct JsonArticle {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    subtitle: Option<String>,
    #[serde(default)]
    original_title: Option<String>,
    #[serde(default)]
    sections: Option<Vec<String>>,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    editor: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    body: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

fn json_error(e: serde_json::Error) -> ArticleError {
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let msg = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ArticleError::InvalidJson { line, column, msg }
}

/// One line of text: control characters removed, whitespace runs made one space, trimmed.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(is_blank_char)
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

fn optional(s: Option<String>) -> Option<String> {
    s.map(|s| one_line(&s)).filter(|s| !s.is_empty())
}

fn stamp(field: &'static str, value: Option<String>) -> Result<Option<Stamp>> {
    match value {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v.trim())
            .map(|t| Some(Stamp::Zoned(t)))
            .map_err(|_| ArticleError::InvalidDate { field, value: v }),
    }
}

fn parse_json(text: &str) -> Result<Article> {
    let raw: JsonArticle = serde_json::from_str(text).map_err(json_error)?;
    let id = raw.id.ok_or(ArticleError::MissingField("id"))?;
    let title = raw.title.ok_or(ArticleError::MissingField("title"))?;
    let sections = raw.sections.ok_or(ArticleError::MissingField("sections"))?;
    let body = raw.body.ok_or(ArticleError::MissingField("body"))?;

    let id = id.trim().to_string();
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.chars().any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(ArticleError::InvalidId(id));
    }
    let title = one_line(&title);
    if title.is_empty() {
        return Err(ArticleError::MissingTitle);
    }
    let mut section_path = Vec::new();
    for s in &sections {
        let s = one_line(s);
        if !s.is_empty() {
            section_path.push(s);
        }
    }
    if section_path.is_empty() {
        return Err(ArticleError::MissingSection);
    }
    let mut keywords = Vec::new();
    for k in raw.keywords.unwrap_or_default() {
        push_unique(&mut keywords, &one_line(&k));
    }
    // One paragraph per line, as in the page export.
    let body = body
        .iter()
        .flat_map(|p| p.lines())
        .map(one_line)
        .filter(|p| !p.is_empty())
        .map(Block::Paragraph)
        .collect();

    Ok(Article {
        id,
        title,
        subtitle: optional(raw.subtitle),
        original_title: optional(raw.original_title),
        sections: section_path,
        keywords,
        editor: optional(raw.editor),
        author: optional(raw.author),
        url: optional(raw.url),
        published: stamp("published", raw.published)?,
        updated: stamp("updated", raw.updated)?,
        body,
        summary: optional(raw.summary),
        image: optional(raw.image),
    })
}

impl Article {
    /// Decodes `bytes` (see [`decode`]) and reads them in `layout`. `id` is the file stem,
    /// used by the Text layout; the JSON layout carries its own `id`.
    pub fn parse(id: &str, bytes: &[u8], layout: Layout) -> Result<Article> {
        let text = decode_cow(bytes)?;
        match layout {
            Layout::Text => parse_text(id, &text),
            Layout::Json => parse_json(&text),
        }
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
}
