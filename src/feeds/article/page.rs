//! The page export layout (`*.txt`, DESIGN §1a).

use super::*;

/// Home crumbs; a first crumb equal to one of these, or ending in one (人民網首頁), is the
/// site's home and not a section. A breadcrumb whose first crumb is not a home keeps it.
pub(super) const HOME_CRUMBS: &[&str] = &["首頁", "首页", "主頁", "主页"];
pub(super) const ORIGINAL_TITLE_LABELS: &[&str] = &["原標題", "原标题"];
pub(super) const EDITOR_LABELS: &[&str] = &["責任編輯", "责任编辑", "編輯", "编辑"];
pub(super) const KEYWORD_LABELS: &[&str] = &["關鍵詞", "关键词", "關鍵字", "关键字"];
/// Not in the contract, but exporters add it and [`Article`] has the field.
pub(super) const AUTHOR_LABELS: &[&str] = &["作者"];
pub(super) const PUBLISHED_LABELS: &[&str] = &[
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
pub(super) const UPDATED_LABELS: &[&str] = &["更新時間", "更新时间", "更新日期"];
/// What may follow a date on its line (`2015年06月05日08:16  來源：人民網`).
pub(super) const SOURCE_LABELS: &[&str] = &["來源", "来源"];

/// Longest line, in characters, that can still be a sub-heading. News sub-headings run
/// from about 8 to 30 characters (the seed's longest has 31), while body paragraphs of
/// this store run from about 60 to several hundred; 40 leaves a quarter of headroom above
/// the longest heading seen, and a paragraph that short *and* without closing punctuation
/// is rare (and then harmless: it is shown bold).
pub const HEADING_MAX_CHARS: usize = 40;
/// A line whose last character (after closing quotes/brackets) is one of these is prose.
pub(super) const SENTENCE_END: &[char] =
    &['。', '！', '？', '!', '?', '…', '‥', '；', ';', '．', '.'];
/// A line ending in one of these continues elsewhere (a lead-in "如下：", a broken
/// sentence), so it is prose, not a heading.
pub(super) const CONTINUATION: &[char] = &['，', ',', '、', '：', ':'];
/// Closing quotes and brackets that may follow the sentence end (`……。”`, `！）`).
pub(super) const CLOSERS: &[char] = &[
    '”', '’', '"', '\'', '」', '』', '）', ')', '》', '〉', '】', '〕', '〗', '］', ']', '｝', '}',
];

/// Whether a body line is a sub-heading: at most [`HEADING_MAX_CHARS`] characters, no
/// `。` anywhere (a heading is not a run of sentences), and its last character once
/// closing quotes/brackets are set aside is neither sentence-final nor continuing
/// punctuation. So `切實履行“第一責任人”職責` and `“第一責任人”` are headings, while
/// `他說：“好。”`, `要奮鬥！）` and `措施如下：` are paragraphs.
pub(super) fn is_heading(line: &str) -> bool {
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

pub(super) fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{FEFF}' | '\u{200B}')
}

pub(super) fn trim(s: &str) -> &str {
    s.trim_matches(is_blank_char)
}

/// The value of a `LABEL: value` line (ASCII or full-width colon, whitespace around it
/// allowed, the whole line optionally in brackets: `（責任編輯：孫莉姍）`).
pub(super) fn label_value<'a>(line: &'a str, labels: &[&str]) -> Option<&'a str> {
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

pub(super) fn is_label_line(line: &str) -> bool {
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
pub(super) enum DateKind {
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
pub(super) fn date_line(line: &str) -> Option<Result<(DateKind, NaiveDateTime)>> {
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
pub(super) fn scan_date(s: &str) -> Option<([u32; 6], &str)> {
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

pub(super) struct Cursor<'a> {
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
pub(super) fn parse_breadcrumb(line: &str) -> Result<Vec<String>> {
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

pub(super) fn is_home(crumb: &str) -> bool {
    crumb.eq_ignore_ascii_case("home") || HOME_CRUMBS.iter().any(|h| crumb.ends_with(h))
}

/// `統一戰線 統一戰線` → `統一戰線`; `港澳 台灣 港澳 台灣` → `港澳 台灣` (a section name
/// may hold a space, so every whitespace is tried as the middle). Without a repeat the
/// crumb stays whole.
///
/// Each maximal run of blanks is tried once as the middle (trying each blank of a run
/// walked the rest of the run every time: a crumb of 40,000 spaces took seconds); the
/// halves beside a run are compared only when their lengths match, so the whole is linear.
pub(super) fn drop_repeat(crumb: &str) -> &str {
    let crumb = trim(crumb);
    let mut chars = crumb.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !is_blank_char(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(at, c)) = chars.peek().filter(|&&(_, c)| is_blank_char(c)) {
            end = at + c.len_utf8();
            chars.next();
        }
        let (left, right) = (&crumb[..start], &crumb[end..]);
        if !left.is_empty() && left == right {
            return left;
        }
    }
    crumb
}

/// Keywords split on whitespace, `、`, `，`, `,` (and semicolons), trimmed, empties dropped
/// (duplicates are dropped once all are read: [`dedup_keeping_first`]).
pub(super) fn push_keywords(keywords: &mut Vec<String>, value: &str) {
    for k in value.split(|c: char| is_blank_char(c) || matches!(c, '、' | '，' | ',' | '；' | ';'))
    {
        push_nonempty(keywords, trim(k));
    }
}

pub(super) fn push_nonempty(list: &mut Vec<String>, item: &str) {
    if !item.is_empty() {
        list.push(item.to_string());
    }
}

/// Drops repeated entries, keeping the first of each, in one pass (a file of a million
/// keywords costs a million steps, not a million squared).
pub(super) fn dedup_keeping_first(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    list.retain(|k| seen.insert(k.clone()));
}

pub(super) fn set_first(slot: &mut Option<String>, value: &str) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value.to_string());
    }
}

pub(super) fn parse_text(id: &str, text: &str) -> Result<Article> {
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
