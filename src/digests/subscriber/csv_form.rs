//! The CSV form of subscribers (DESIGN §3: `subscriber import|export`).

use super::*;

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
pub const CSV_COLUMNS: [&str; 8] = [
    "email", "sections", "keywords", "terms", "schedule", "timezone", "status", "lang",
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    Email,
    Sections,
    Keywords,
    Terms,
    Schedule,
    Timezone,
    Status,
    Lang,
}

pub(super) fn column(name: &str) -> Option<Col> {
    Some(match name.trim().to_lowercase().as_str() {
        "email" | "e-mail" => Col::Email,
        "sections" | "section" => Col::Sections,
        "keywords" | "keyword" => Col::Keywords,
        "terms" | "term" => Col::Terms,
        "schedule" => Col::Schedule,
        "timezone" | "tz" => Col::Timezone,
        "status" => Col::Status,
        "lang" | "language" => Col::Lang,
        _ => return None,
    })
}

/// Reads subscribers from CSV text: a header row naming the columns of [`CSV_COLUMNS`]
/// (any order, case-insensitive; `email` required, the others optional), then one
/// subscriber a row. Several sections, keywords or terms share a cell, separated by `;`
/// (or `；`). Empty `schedule`, `timezone` and `status` cells take `defaults`; an empty
/// (or absent) `lang` is the site's default language, else it is `zh-Hant`, `zh-Hans` or
/// `en` (DESIGN §5).
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

        let lang = match cell(Col::Lang) {
            "" => Ok(None),
            l => crate::i18n::Lang::parse(l).map(Some).ok_or_else(|| {
                problems.push(format!("lang {l:?}: not one of zh-Hant, zh-Hans, en"))
            }),
        };

        let (Ok(email), Ok(topics), Ok(schedule), Ok(tz), Ok(status), Ok(lang)) =
            (email, topics, schedule, tz, status, lang)
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
            lang,
        });
    }
    (good, bad)
}

pub(super) fn or_default<'a>(cell: &'a str, default: &'a str) -> &'a str {
    if cell.is_empty() {
        default
    } else {
        cell
    }
}

pub(super) fn error_line(e: &csv::Error, fallback: u64) -> u64 {
    e.position().map_or(fallback, |p| p.line())
}

/// The csv crate's own message repeats the position, which the caller prints already.
pub(super) fn csv_message(e: &csv::Error) -> String {
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
            s.lang.map_or("", crate::i18n::Lang::tag),
        ])
        .expect("write to memory");
    }
    let bytes = w.into_inner().expect("flush to memory");
    String::from_utf8(bytes).expect("written from str cells")
}
