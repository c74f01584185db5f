//! What a digest holds and its plain-text part: the plan of groups, subject, reason line,
//! and line wrapping that counts wide characters.

use super::*;

// Content

/// Longest summary shown, in characters: feeds carry the full text, a digest entry is
/// a teaser that has to stay readable on a phone.
pub(super) const SUMMARY_MAX: usize = 200;
/// Longest topic label in the subject, in characters.
pub(super) const LABEL_MAX: usize = 24;
/// Topics named in the subject before `等`.
pub(super) const SUBJECT_TOPICS: usize = 3;
/// Text part width in columns (a CJK character takes two).
pub(super) const TEXT_WIDTH: usize = 72;

/// One article as shown, cleaned once for both parts.
pub(super) struct Entry {
    pub(super) title: String,
    pub(super) url: String,
    pub(super) section: Option<String>,
    pub(super) time: Option<String>,
    pub(super) summary: String,
}

/// One group as shown.
pub(super) struct Section {
    pub(super) label: String,
    pub(super) entries: Vec<Entry>,
    /// Matched articles left out because an earlier group lists them.
    pub(super) repeated: usize,
}

/// Groups with their entries, each article once (under its first group), newest first
/// within a group. Groups that matched nothing are dropped.
pub(super) fn plan(input: &DigestInput) -> Vec<Section> {
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
            label: clean_line(&input.lang.script(&group.label)),
            entries: records.iter().map(|r| entry(input, r)).collect(),
            repeated,
        });
    }
    out
}

pub(super) fn entry(input: &DigestInput, rec: &Record) -> Entry {
    let site = input.site;
    let a = &rec.article;
    let url = site.link_of(a);
    // The deepest section's spelling holds its parents (`黨派·聲音 > 統一戰線`).
    let section = rec
        .deepest_section()
        .map(|(_, name)| clean_line(&input.lang.script(name)))
        .or_else(|| {
            (!a.sections.is_empty())
                .then(|| clean_line(&input.lang.script(&a.sections.join(" > "))))
        })
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
pub(super) fn clean_line(s: &str) -> String {
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

pub(super) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", s[..i].trim_end()),
    }
}

/// `「統一戰線、重慶市」每日摘要 · 12 篇 · 2026-11-24`: the last segment of each
/// section path, up to three topics and then `等` (in the subscriber's language).
pub(super) fn subject_line(input: &DigestInput, plan: &[Section], count: usize) -> String {
    let m = input.lang.messages();
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
        .join(m.list_separator);
    if names.len() > SUBJECT_TOPICS {
        topics.push_str(m.subject_more);
    }
    let mut subject = String::new();
    if !topics.is_empty() {
        subject.push_str(&(m.quoted)(&topics));
        if input.lang == Lang::En {
            subject.push(' ');
        }
    }
    let _ = write!(
        subject,
        "{} · {}",
        digest_name(input),
        (m.article_count)(count)
    );
    let period = clean_line(input.period);
    if !period.is_empty() {
        let _ = write!(subject, " · {period}");
    }
    subject
}

/// Why the reader gets this mail, for both footers.
pub(super) fn reason(input: &DigestInput, plan: &[Section], address: &str) -> String {
    let m = input.lang.messages();
    let labels: Vec<&str> = plan.iter().map(|s| s.label.as_str()).collect();
    (m.digest_reason)(
        address,
        &clean_line(&input.site.title),
        &digest_name(input),
        &labels.join(m.list_separator),
    )
}

/// `每日摘要`, `Daily digest`.
/// What the mail is called: `每日摘要`, `Daily digest`; an `@instant` alert by its
/// schedule's name alone (`即時快訊`, `Breaking news`).
pub(super) fn digest_name(input: &DigestInput) -> String {
    if input.alert {
        clean_line(input.schedule_name)
    } else {
        (input.lang.messages().digest_name)(&clean_line(input.schedule_name))
    }
}

/// Said under a group that left out articles an earlier group lists.
pub(super) fn repeated_note(input: &DigestInput, section: &Section) -> String {
    let m = input.lang.messages();
    let n = section.repeated;
    if section.entries.is_empty() {
        (m.repeated_all)(n)
    } else {
        (m.repeated_some)(n)
    }
}

pub(super) fn text_body(
    input: &DigestInput,
    plan: &[Section],
    count: usize,
    address: &str,
) -> String {
    let m = input.lang.messages();
    let mut t = String::with_capacity(512 + count * 600);
    let _ = writeln!(
        t,
        "{} · {} · {}",
        clean_line(&input.site.title),
        digest_name(input),
        clean_line(input.period)
    );
    let _ = writeln!(t, "{}", (m.new_articles)(count));
    for section in plan {
        // A group whose articles all sit under earlier groups shows no count of 0.
        match section.entries.len() {
            0 => writeln!(t, "\n== {} ==", section.label),
            n => writeln!(t, "\n== {} · {} ==", section.label, (m.article_count)(n)),
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
            push_wrapped(&mut t, &repeated_note(input, section), "", "");
        }
    }
    // "-- " (with its space) is the signature separator clients recognise.
    t.push_str("\n-- \n");
    push_wrapped(&mut t, &reason(input, plan, address), "", "");
    let _ = writeln!(
        t,
        "{}{}\n{}",
        m.manage_subscription,
        m.colon.trim_end(),
        input.manage_url
    );
    let _ = writeln!(
        t,
        "{}{}\n{}",
        m.cancel_subscription,
        m.colon.trim_end(),
        input.unsubscribe_url
    );
    let _ = writeln!(
        t,
        "{}{}\n{}",
        m.personal_feed_link,
        m.colon.trim_end(),
        input.feed_url
    );
    t
}

pub(super) fn push_wrapped(out: &mut String, text: &str, first: &str, rest: &str) {
    let width = TEXT_WIDTH.saturating_sub(first.chars().count()).max(20);
    for (i, line) in wrap(text, width).iter().enumerate() {
        out.push_str(if i == 0 { first } else { rest });
        out.push_str(line);
        out.push('\n');
    }
}

/// Columns a character takes in a terminal or a monospace mail client.
pub(super) fn char_width(c: char) -> usize {
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
pub(super) fn no_break_before(c: char) -> bool {
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
pub(super) fn no_break_after(c: char) -> bool {
    matches!(
        c,
        '「' | '『' | '（' | '《' | '〈' | '【' | '〔' | '“' | '‘' | '(' | '[' | '{'
    )
}

/// Wraps to `width` columns. CJK text has no spaces, so a line may break between any
/// two wide characters (not before closing or after opening punctuation); runs of
/// other characters — Latin words, numbers, URLs — are never split, even when longer
/// than a line.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
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
