//! When digests are due: Unix cron schedules evaluated in a subscriber's IANA time zone.
//!
//! Operators and subscribers write the standard 5-field crontab(5) syntax
//! (`min hour dom month dow`; `0` and `7` are Sunday, `1` is Monday; three-letter or full
//! English names such as `mon`, `jan`; lists, ranges, steps such as `*/15`) or one of
//! `@hourly`, `@daily` (= `@midnight`), `@weekly` (= `0 0 * * 0`), `@monthly`, `@yearly`
//! (= `@annually`). [`Cron::parse`] validates every field itself, so an error names the
//! field and the bad token on one line, then compiles the sets into the `cron` crate's
//! Quartz-style form.
//!
//! # What the `cron` crate (0.17) does, and what this module changes
//!
//! * It wants a leading seconds field and numbers days of the week 1 = Sunday … 7 =
//!   Saturday. We expand every field to an explicit list, translate day-of-week values
//!   (`n` → `n + 1`, with `7` folded to Sunday first) and prepend `0` seconds.
//! * When both day-of-month and day-of-week are restricted it requires BOTH to match.
//!   Vixie cron (and cronie, and POSIX) fire when EITHER matches, unless one of the two
//!   fields starts with `*` — then both must match (so `0 8 */2 * 1` is "odd-numbered
//!   Mondays", as in Vixie). We follow Vixie: the OR case is compiled into two crate
//!   schedules (one per field) whose runs are merged.
//! * Evaluated in a `chrono_tz::Tz` it skips a local time that falls in a spring-forward
//!   gap entirely, and it yields a local time that occurs twice (fall back) twice. Neither
//!   is acceptable for a digest, so we never hand it a zone: it enumerates naive local
//!   wall-clock times (in UTC, which has no transitions), and we map each one to
//!   an instant with the rules below.
//! * It knows no years after 2100; a schedule has no runs past that.
//!
//! # DST semantics (Vixie cron's rule for fixed-time jobs, applied to every schedule)
//!
//! * A scheduled local time that does not exist (02:30 on a spring-forward day in
//!   America/New_York, where 02:00 jumps to 03:00) fires once, at the first instant after
//!   the gap (03:00 EDT = 07:00 UTC), as Vixie cron runs jobs skipped by a forward jump
//!   right after it. The digest is late by at most the gap, never skipped. Several scheduled times inside one gap (e.g. `*/15`) collapse into that one
//!   run, together with a run scheduled exactly at the end of the gap.
//! * A scheduled local time that occurs twice (01:30 on a fall-back day) fires once, at its
//!   first occurrence (01:30 EDT). Repeating it would send a second digest for the same
//!   period. Vixie cron runs wildcard-hour jobs in both passes; we do not, so `@hourly`
//!   has one two-hour interval on a fall-back day. Nothing is lost, since a digest covers
//!   everything since the previous one, and every run keeps a distinct period label.
//!
//! Together: every scheduled wall-clock time fires at most once, and runs are strictly
//! increasing instants. The mapping from local time to instant is monotone, which is what
//! lets [`due`] search backwards from `now` instead of forwards from a possibly ancient
//! `last_run`.
//!
//! `@instant` is no cron schedule: alerts follow arrivals, see [`instant`].
//!
//! Pure: no clock, no I/O. Callers pass `now`.

pub mod instant;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed cron schedule: the text as the user wrote it, plus its compiled form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The expression with runs of whitespace collapsed to one space.
    text: String,
    /// The expanded field sets (Unix numbering).
    spec: Spec,
    /// What the `cron` crate evaluates; the runs are the union of these schedules' runs.
    /// One schedule normally. Two under Vixie's OR rule (both day fields restricted): one
    /// restricted by day of month, one by day of week.
    schedules: Vec<cron::Schedule>,
}

/// One of the five cron fields, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        })
    }
}

/// Why a schedule was rejected. Every message is one line and quotes the offending text.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("empty schedule: expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly")]
    Empty,
    #[error("schedule {expr:?}: expected 5 fields (minute hour day-of-month month day-of-week), found {found}")]
    FieldCount { expr: String, found: usize },
    #[error("unknown shorthand {0:?}: expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @instant")]
    Shorthand(String),
    #[error("{field} field {token:?}: {reason}")]
    Field {
        field: CronField,
        token: String,
        reason: String,
    },
    /// The `cron` crate refused our translation: a bug here, not in the user's input.
    #[error("schedule {expr:?}: internal translation {translated:?} rejected by the cron crate: {message}")]
    Internal {
        expr: String,
        translated: String,
        message: String,
    },
}

/// What a scheduler should do now; see [`due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing is due; the next run is at `next`.
    NotYet { next: DateTime<Utc> },
    /// Send the digest for the run at `at` (the latest run not yet handled).
    Run { at: DateTime<Utc> },
    /// The latest unhandled run, at `at`, is older than the allowed lateness: skip it, log
    /// and count it, and record `at` as handled.
    TooLate { at: DateTime<Utc> },
}

/// Expanded field sets, bit `n` set when value `n` is included. Day of week uses Unix
/// numbering with 7 folded into 0 (Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// The day-of-month field starts with `*` (Vixie's `DOM_STAR`).
    dom_star: bool,
    /// The day-of-week field starts with `*` (Vixie's `DOW_STAR`).
    dow_star: bool,
}

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const MONTH_FULL_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_FULL_NAMES: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

impl CronField {
    /// Inclusive bounds of the values crontab(5) accepts.
    fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    fn name_value(self, token: &str) -> Option<u32> {
        let lower = token.to_ascii_lowercase();
        let find = |short: &[&str], full: &[&str], first: u32| {
            short
                .iter()
                .position(|n| *n == lower)
                .or_else(|| full.iter().position(|n| *n == lower))
                .map(|i| i as u32 + first)
        };
        match self {
            CronField::Month => find(&MONTH_NAMES, &MONTH_FULL_NAMES, 1),
            CronField::DayOfWeek => find(&DAY_NAMES, &DAY_FULL_NAMES, 0),
            _ => None,
        }
    }

    fn error(self, token: &str, reason: impl Into<String>) -> ScheduleError {
        ScheduleError::Field {
            field: self,
            token: token.to_string(),
            reason: reason.into(),
        }
    }
}

/// One value: a number within bounds, or a name where the field has names.
fn parse_value(field: CronField, token: &str) -> Result<u32, ScheduleError> {
    let (lo, hi) = field.bounds();
    if token.is_empty() {
        return Err(field.error(token, "missing value"));
    }
    if token.bytes().all(|b| b.is_ascii_digit()) {
        // A value too long for u32 is out of range too, not "not a number".
        return match token.parse::<u32>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => Err(field.error(token, format!("out of range {lo}-{hi}"))),
        };
    }
    if let Some(v) = field.name_value(token) {
        return Ok(v);
    }
    Err(match field {
        CronField::Month => field.error(token, "unknown month name (expected jan..dec or 1-12)"),
        CronField::DayOfWeek => field.error(token, "unknown day name (expected sun..sat or 0-7)"),
        _ => field.error(token, format!("not a number (expected {lo}-{hi})")),
    })
}

/// Expands one field (`*`, `5`, `1-5`, `mon-fri`, `*/15`, `10-50/20`, `5/10`, lists of
/// these) to a bit set. `5/10` means `5-<max>/10`, as in cronie and most other crons.
fn parse_field(field: CronField, text: &str) -> Result<u64, ScheduleError> {
    let (lo, hi) = field.bounds();
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(field.error(text, "empty list item"));
        }
        let (base, step) = match item.split_once('/') {
            None => (item, None),
            Some((base, step)) => {
                let n = match step.parse::<u32>() {
                    Ok(n) if step.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => return Err(field.error(item, "step must be a positive number")),
                };
                if n == 0 {
                    return Err(field.error(item, "step must be at least 1"));
                }
                (base, Some(n))
            }
        };
        let (start, end) = if base == "*" {
            (lo, hi)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (parse_value(field, a)?, parse_value(field, b)?);
            if a > b {
                // Vixie rejects these too; silently wrapping would guess at intent.
                return Err(field.error(base, format!("range is reversed ({a} > {b})")));
            }
            (a, b)
        } else {
            let v = parse_value(field, base)?;
            (v, if step.is_some() { hi } else { v })
        };
        for v in (start..=end).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

/// Days in `month` in a leap year: the most it can ever have.
fn max_days(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn bits_in(bits: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |b| bits & (1 << b) != 0)
}

/// A field as the `cron` crate reads it: `*` for the full set, else an explicit list.
fn crate_list(bits: u64, lo: u32, hi: u32) -> String {
    let full = (lo..=hi).fold(0u64, |acc, v| acc | 1 << v);
    if bits == full {
        return "*".to_string();
    }
    bits_in(bits)
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Spec {
    fn parse(fields: &[&str]) -> Result<Spec, ScheduleError> {
        let [min, hour, dom, month, dow] = fields else {
            unreachable!("caller checks the field count")
        };
        let mut days_of_week = parse_field(CronField::DayOfWeek, dow)?;
        if days_of_week & 1 << 7 != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let spec = Spec {
            minutes: parse_field(CronField::Minute, min)?,
            hours: parse_field(CronField::Hour, hour)?,
            days_of_month: parse_field(CronField::DayOfMonth, dom)?,
            months: parse_field(CronField::Month, month)?,
            days_of_week,
            dom_star: dom.starts_with('*'),
            dow_star: dow.starts_with('*'),
        };
        // Under AND semantics a day-of-month that no chosen month has (`0 0 30 2 *`) never
        // fires; Vixie accepts it silently. Reject it so a subscriber is not left waiting
        // forever. (Under OR the weekdays always fire, and any `*`-prefixed day-of-month
        // includes the 1st.)
        if spec.and_semantics()
            && !bits_in(spec.months).any(|m| bits_in(spec.days_of_month).any(|d| d <= max_days(m)))
        {
            return Err(
                CronField::DayOfMonth.error(dom, format!("never occurs in month field {month:?}"))
            );
        }
        Ok(spec)
    }

    fn and_semantics(&self) -> bool {
        self.dom_star || self.dow_star
    }

    fn fires_more_than_once_a_day(&self) -> bool {
        self.minutes.count_ones() * self.hours.count_ones() > 1
    }

    /// The Quartz-style expression for the crate, with the given day fields.
    fn crate_expr(&self, dom: &str, dow: &str) -> String {
        format!(
            "0 {} {} {} {} {}",
            crate_list(self.minutes, 0, 59),
            crate_list(self.hours, 0, 23),
            dom,
            crate_list(self.months, 1, 12),
            dow
        )
    }

    fn crate_dom(&self) -> String {
        crate_list(self.days_of_month, 1, 31)
    }

    /// Unix 0 = Sunday … 6 = Saturday becomes the crate's 1 = Sunday … 7 = Saturday.
    fn crate_dow(&self) -> String {
        crate_list(self.days_of_week << 1, 1, 7)
    }
}

fn compile(text: &str, expr: String) -> Result<cron::Schedule, ScheduleError> {
    cron::Schedule::from_str(&expr).map_err(|e| ScheduleError::Internal {
        expr: text.to_string(),
        translated: expr,
        message: e.to_string(),
    })
}

/// The crate evaluates in UTC, so these are naive local wall-clock times in disguise.
fn as_utc(naive: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&naive)
}

/// UTC offset in seconds in effect at `utc_secs`.
fn offset_at(tz: Tz, utc_secs: i64) -> i64 {
    match DateTime::from_timestamp(utc_secs, 0) {
        Some(t) => i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ),
        None => 0,
    }
}

/// The instant a scheduled local wall-clock time fires at: itself when it exists once,
/// its first occurrence when it exists twice, and the end of the gap when it does not
/// exist. Monotone non-decreasing in `naive`.
fn resolve(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        chrono::LocalResult::None => gap_end(tz, naive),
    }
}

/// The first instant whose local time is at or after `naive`, which lies in a gap: the
/// transition instant. chrono-tz exposes no transition table, so binary-search the second
/// between "`naive` read with the offset after the gap" (before the transition) and
/// "`naive` read with the offset before it" (after the transition); local time is monotone
/// there.
fn gap_end(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let n = naive.and_utc().timestamp();
    let local = |u: i64| u + offset_at(tz, u);
    // A day either side is clear of the transition in every zone with one transition a day
    // or fewer, which is all of them.
    let (before, after) = (offset_at(tz, n - 86_400), offset_at(tz, n + 86_400));
    let (mut lo, mut hi) = (n - after, n - before);
    if !(lo < hi && local(lo) < n && local(hi) >= n) {
        // Not a simple gap; the offset in force before it is a sane answer.
        return DateTime::from_timestamp(n - before, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid) >= n {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Cron {
    /// Parses 5-field Unix cron or an `@` shorthand.
    pub fn parse(expr: &str) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let text = fields.join(" ");
        if fields.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let expanded: Vec<&str> = if let Some(short) = fields[0].strip_prefix('@') {
            if fields.len() != 1 {
                return Err(ScheduleError::FieldCount {
                    expr: text,
                    found: fields.len(),
                });
            }
            let expansion = match short.to_ascii_lowercase().as_str() {
                "hourly" => "0 * * * *",
                "daily" | "midnight" => "0 0 * * *",
                "weekly" => "0 0 * * 0",
                "monthly" => "0 0 1 * *",
                "yearly" | "annually" => "0 0 1 1 *",
                _ => return Err(ScheduleError::Shorthand(fields[0].to_string())),
            };
            expansion.split(' ').collect()
        } else {
            fields
        };
        if expanded.len() != 5 {
            return Err(ScheduleError::FieldCount {
                expr: text,
                found: expanded.len(),
            });
        }
        let spec = Spec::parse(&expanded)?;
        let schedules = if spec.and_semantics() {
            // The crate's own AND rule is right here.
            vec![compile(
                &text,
                spec.crate_expr(&spec.crate_dom(), &spec.crate_dow()),
            )?]
        } else {
            vec![
                compile(&text, spec.crate_expr(&spec.crate_dom(), "*"))?,
                compile(&text, spec.crate_expr("*", &spec.crate_dow()))?,
            ]
        };
        Ok(Cron {
            text,
            spec,
            schedules,
        })
    }

    /// The expression as written, whitespace normalised.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first scheduled local wall-clock time strictly after `after`.
    fn next_naive(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.schedules
            .iter()
            .filter_map(|s| s.after(&as_utc(after)).next())
            .map(|t| t.naive_utc())
            .min()
    }

    /// The last scheduled local wall-clock time strictly before `before`.
    fn prev_naive(&self, before: NaiveDateTime) -> Option<NaiveDateTime> {
        self.schedules
            .iter()
            .filter_map(|s| s.after(&as_utc(before)).next_back())
            .map(|t| t.naive_utc())
            .max()
    }

    /// The first run strictly after `after`, as a UTC instant, evaluated in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Scheduled times at or before `after`'s wall-clock reading resolve to instants at
        // or before `after` (monotonicity), so start there. Times after it may still
        // resolve to `after` or earlier — the rest of a fall-back hour already passed once,
        // or a gap already fired — so skip those.
        let mut cursor = after.with_timezone(&tz).naive_local();
        loop {
            let naive = self.next_naive(cursor)?;
            let at = resolve(tz, naive);
            if at > after {
                return Some(at);
            }
            cursor = naive;
        }
    }

    /// The last run at or before `now`.
    fn last_at_or_before(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let now_secs = now.timestamp();
        // In the second pass of a fall-back hour, wall-clock times up to an hour (the size
        // of the overlap) after now's reading already fired in the first pass.
        let overlap = (offset_at(tz, now_secs - 86_400) - offset_at(tz, now_secs)).max(0);
        let start =
            DateTime::from_timestamp(now_secs + offset_at(tz, now_secs) + overlap, 0)?.naive_utc();
        // `prev_naive` is strict; one second later makes `start` itself a candidate.
        let mut cursor = start + chrono::Duration::seconds(1);
        loop {
            let naive = self.prev_naive(cursor)?;
            let at = resolve(tz, naive);
            if at <= now {
                return Some(at);
            }
            cursor = naive;
        }
    }

    /// Every run in (from, to], in order (bounded: at most `limit`).
    pub fn runs_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut runs = Vec::new();
        let mut cursor = from;
        while runs.len() < limit {
            match self.next_after(cursor, tz) {
                Some(at) if at <= to => {
                    runs.push(at);
                    cursor = at;
                }
                _ => break,
            }
        }
        runs
    }

    /// The scheduled wall-clock time a run stands for: its local time, except for a run at
    /// the end of a spring-forward gap standing in for a time inside the gap.
    fn nominal_local(&self, run: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
        let local = run.with_timezone(&tz).naive_local();
        let secs = run.timestamp();
        let jump = offset_at(tz, secs) - offset_at(tz, secs - 1);
        if jump > 0 {
            let gap_start = local - chrono::Duration::seconds(jump);
            if let Some(naive) = self.next_naive(gap_start - chrono::Duration::seconds(1)) {
                if naive < local {
                    return naive;
                }
            }
        }
        local
    }
}

impl FromStr for Cron {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Cron, ScheduleError> {
        Cron::parse(s)
    }
}

/// By the text alone, which determines everything else, so the scheduler can batch
/// subscribers by `(Cron, Tz)` in a map.
impl std::hash::Hash for Cron {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The run a scheduler should act on now: the latest run in (last_run, now], if any (missed
/// runs collapse into one — a digest is never sent twice for one missed window), and
/// whether it is older than `max_lateness` (then the caller skips it, logs and counts it).
///
/// With nothing due, `next` is the first run after both `last_run` and `now` (a clock that
/// stepped back does not repeat a handled run); a schedule with no further runs (past
/// 2100) reports `DateTime::<Utc>::MAX_UTC`.
pub fn due(
    cron: &Cron,
    tz: Tz,
    last_run: DateTime<Utc>,
    now: DateTime<Utc>,
    max_lateness: chrono::Duration,
) -> Due {
    match cron.last_at_or_before(now, tz) {
        Some(at) if at > last_run => {
            if now - at > max_lateness {
                Due::TooLate { at }
            } else {
                Due::Run { at }
            }
        }
        _ => Due::NotYet {
            next: cron
                .next_after(last_run.max(now), tz)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        },
    }
}

/// A period label for Message-ID and subject: the local date of the run in `tz`
/// (`2026-11-24`), with the local time (`2026-11-24T08:00`) for schedules that fire more
/// than once a day. A run that stands in for times inside a spring-forward gap is labelled
/// with the first of them, so labels stay distinct even where a gap swallows a whole day.
pub fn period_label(cron: &Cron, run: DateTime<Utc>, tz: Tz) -> String {
    let nominal = cron.nominal_local(run, tz);
    if cron.spec.fires_more_than_once_a_day() {
        nominal.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        nominal.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration, Timelike, Weekday};
    use chrono_tz::{
        America::{New_York, Santiago},
        Asia::Shanghai,
        Pacific::Apia,
        UTC,
    };

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("RFC 3339 instant")
    }

    fn cron(s: &str) -> Cron {
        Cron::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn runs(expr: &str, tz: Tz, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        cron(expr).runs_between(utc(from), utc(to), tz, 10_000)
    }

    fn utcs(list: &[&str]) -> Vec<DateTime<Utc>> {
        list.iter().map(|s| utc(s)).collect()
    }

    fn local_weekday_and_time(run: DateTime<Utc>, tz: Tz) -> (Weekday, u32, u32) {
        let local = run.with_timezone(&tz);
        (local.weekday(), local.hour(), local.minute())
    }

    fn err(s: &str) -> String {
        Cron::parse(s).expect_err(s).to_string()
    }

    // --- the cron crate on its own, pinned so an upgrade that changes it is noticed ---

    #[test]
    fn crate_native_skips_a_nonexistent_local_time() {
        let s = cron::Schedule::from_str("0 30 2 * * *").unwrap();
        let from = utc("2026-03-07T12:00:00Z").with_timezone(&New_York);
        let next: Vec<_> = s.after(&from).take(2).map(|t| t.to_rfc3339()).collect();
        // No run at all on 2026-03-08.
        assert_eq!(
            next,
            ["2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"]
        );
    }

    #[test]
    fn crate_native_fires_a_repeated_local_time_twice() {
        let s = cron::Schedule::from_str("0 30 1 * * *").unwrap();
        let from = utc("2026-10-31T12:00:00Z").with_timezone(&New_York);
        let next: Vec<_> = s.after(&from).take(2).map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            next,
            ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"]
        );
    }

    #[test]
    fn crate_native_uses_quartz_weekdays_and_and_semantics() {
        // Crate day 2 is Monday; with day-of-month 1 it wants the 1st AND a Monday.
        let s = cron::Schedule::from_str("0 0 8 1 * 2").unwrap();
        let first = s.after(&utc("2026-01-01T00:00:00Z")).next().unwrap();
        assert_eq!(first, utc("2026-06-01T08:00:00Z"));
        assert!(cron::Schedule::from_str("0 0 8 * * 0").is_err());
    }

    // --- parsing and translation ---

    #[test]
    fn mondays_0800_shanghai() {
        let c = cron("0 8 * * 1");
        let mut at = utc("2026-11-20T12:00:00Z"); // a Friday
        let mut got = Vec::new();
        for _ in 0..4 {
            at = c.next_after(at, Shanghai).unwrap();
            assert_eq!(local_weekday_and_time(at, Shanghai), (Weekday::Mon, 8, 0));
            got.push(at);
        }
        assert_eq!(
            got,
            utcs(&[
                "2026-11-23T00:00:00Z",
                "2026-11-30T00:00:00Z",
                "2026-12-07T00:00:00Z",
                "2026-12-14T00:00:00Z",
            ])
        );
    }

    #[test]
    fn next_after_is_strict() {
        let c = cron("0 8 * * *");
        let at = utc("2026-11-24T00:00:00Z");
        assert_eq!(
            c.next_after(at - Duration::nanoseconds(1), Shanghai),
            Some(at)
        );
        assert_eq!(
            c.next_after(at, Shanghai),
            Some(utc("2026-11-25T00:00:00Z"))
        );
    }

    #[test]
    fn sunday_is_0_and_7_and_sun() {
        let expected = utcs(&["2026-11-22T08:00:00Z", "2026-11-29T08:00:00Z"]);
        for expr in ["0 8 * * 0", "0 8 * * 7", "0 8 * * sun", "0 8 * * Sunday"] {
            let got = runs(expr, UTC, "2026-11-20T00:00:00Z", "2026-12-01T00:00:00Z");
            assert_eq!(got, expected, "{expr}");
        }
        assert_eq!(cron("0 8 * * 0").spec, cron("0 8 * * 7").spec);
    }

    #[test]
    fn weekday_ranges_names_and_wrap_through_seven() {
        let week = ("2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z"); // Sun..Sat
        let days = |expr: &str| -> Vec<Weekday> {
            runs(expr, UTC, week.0, week.1)
                .iter()
                .map(|t| t.weekday())
                .collect()
        };
        use Weekday::*;
        for expr in [
            "0 8 * * 1-5",
            "0 8 * * mon-fri",
            "0 8 * * MON-FRI",
            "0 8 * * 1,2,3,4,5",
        ] {
            assert_eq!(days(expr), [Mon, Tue, Wed, Thu, Fri], "{expr}");
        }
        assert_eq!(days("0 8 * * 5-7"), [Sun, Fri, Sat]);
        assert_eq!(days("0 8 * * */2"), [Sun, Tue, Thu, Sat]);
        assert_eq!(days("0 8 * * 1-5/2"), [Mon, Wed, Fri]);
        assert_eq!(days("0 8 * * sat,sun"), [Sun, Sat]);
    }

    #[test]
    fn every_fifteen_minutes() {
        let got = runs(
            "*/15 * * * *",
            Shanghai,
            "2026-11-24T00:00:00Z",
            "2026-11-24T01:00:00Z",
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-11-24T00:15:00Z",
                "2026-11-24T00:30:00Z",
                "2026-11-24T00:45:00Z",
                "2026-11-24T01:00:00Z",
            ])
        );
    }

    #[test]
    fn shorthands_equal_their_expansions() {
        let (from, to) = ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z");
        for (short, long) in [
            ("@hourly", "0 * * * *"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"),
            ("@monthly", "0 0 1 * *"),
            ("@yearly", "0 0 1 1 *"),
            ("@DAILY", "0 0 * * *"),
        ] {
            assert_eq!(
                runs(short, Shanghai, from, to),
                runs(long, Shanghai, from, to),
                "{short}"
            );
            assert_eq!(cron(short).as_str(), short);
        }
        let weekly = runs("@weekly", Shanghai, from, to);
        assert!(weekly
            .iter()
            .all(|t| local_weekday_and_time(*t, Shanghai) == (Weekday::Sun, 0, 0)));
        assert_eq!(weekly.len(), 9); // 4 January .. 1 March
    }

    #[test]
    fn dom_and_dow_both_restricted_fire_on_either() {
        // July 2026: the 1st is a Wednesday, Mondays are the 6th, 13th, 20th, 27th; 1 August
        // is a Saturday.
        let got = runs(
            "0 8 1 * 1",
            UTC,
            "2026-07-01T00:00:00Z",
            "2026-08-01T23:00:00Z",
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-07-01T08:00:00Z",
                "2026-07-06T08:00:00Z",
                "2026-07-13T08:00:00Z",
                "2026-07-20T08:00:00Z",
                "2026-07-27T08:00:00Z",
                "2026-08-01T08:00:00Z",
            ])
        );
    }

    #[test]
    fn a_star_prefixed_day_field_means_both_must_match() {
        // Vixie: `*/2` counts as "*", so this is odd-numbered days that are Mondays.
        let got = runs(
            "0 8 */2 * 1",
            UTC,
            "2026-07-01T00:00:00Z",
            "2026-08-01T00:00:00Z",
        );
        assert_eq!(got, utcs(&["2026-07-13T08:00:00Z", "2026-07-27T08:00:00Z"]));
    }

    #[test]
    fn month_names_and_leap_day() {
        assert_eq!(
            runs(
                "0 0 29 feb *",
                UTC,
                "2026-01-01T00:00:00Z",
                "2033-01-01T00:00:00Z"
            ),
            utcs(&["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
        );
        assert_eq!(
            runs(
                "0 0 1 Jan-Mar/2 *",
                UTC,
                "2026-01-01T00:00:00Z",
                "2026-12-31T00:00:00Z"
            ),
            utcs(&["2026-03-01T00:00:00Z"]) // 1 January is not strictly after `from`
        );
    }

    #[test]
    fn whitespace_is_normalised() {
        let c = cron("  0\t8  *  * 1 ");
        assert_eq!(c.as_str(), "0 8 * * 1");
        assert_eq!(c.to_string(), "0 8 * * 1");
        assert_eq!("0 8 * * 1".parse::<Cron>().unwrap(), c);
        let mut batches = std::collections::HashMap::new();
        batches.insert((c, Shanghai), 1);
        assert_eq!(batches.get(&(cron("0 8  * * 1"), Shanghai)), Some(&1));
    }

    #[test]
    fn errors_name_the_field_and_token() {
        let cases = [
            ("", "empty schedule: expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly"),
            ("   ", "empty schedule: expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly"),
            ("0 8 * *", "schedule \"0 8 * *\": expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
            ("0 0 8 * * 1", "schedule \"0 0 8 * * 1\": expected 5 fields (minute hour day-of-month month day-of-week), found 6"),
            ("@daily 0", "schedule \"@daily 0\": expected 5 fields (minute hour day-of-month month day-of-week), found 2"),
            ("@reboot", "unknown shorthand \"@reboot\": expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @instant"),
            ("0 8 * * 8", "day-of-week field \"8\": out of range 0-7"),
            ("0 8 * * 1,8", "day-of-week field \"8\": out of range 0-7"),
            ("60 8 * * *", "minute field \"60\": out of range 0-59"),
            ("0 24 * * *", "hour field \"24\": out of range 0-23"),
            ("0 8 0 * *", "day-of-month field \"0\": out of range 1-31"),
            ("0 8 * 13 *", "month field \"13\": out of range 1-12"),
            ("0 99999999999 * * *", "hour field \"99999999999\": out of range 0-23"),
            ("0 8 * foo *", "month field \"foo\": unknown month name (expected jan..dec or 1-12)"),
            ("0 8 * * funday", "day-of-week field \"funday\": unknown day name (expected sun..sat or 0-7)"),
            ("0 8 * * mon-funday", "day-of-week field \"funday\": unknown day name (expected sun..sat or 0-7)"),
            ("mon 8 * * *", "minute field \"mon\": not a number (expected 0-59)"),
            ("0 8 ? * *", "day-of-month field \"?\": not a number (expected 1-31)"),
            ("*/0 8 * * *", "minute field \"*/0\": step must be at least 1"),
            ("*/x 8 * * *", "minute field \"*/x\": step must be a positive number"),
            ("*/ 8 * * *", "minute field \"*/\": step must be a positive number"),
            ("0 8 * * 5-1", "day-of-week field \"5-1\": range is reversed (5 > 1)"),
            ("0 8 * * 1-", "day-of-week field \"\": missing value"),
            ("0 8,,9 * * *", "hour field \"8,,9\": empty list item"),
            ("0 8 * * 1,", "day-of-week field \"1,\": empty list item"),
            ("0 8 30 2 *", "day-of-month field \"30\": never occurs in month field \"2\""),
            ("0 8 31 apr,jun *", "day-of-month field \"31\": never occurs in month field \"apr,jun\""),
        ];
        for (input, message) in cases {
            let got = err(input);
            assert_eq!(got, message, "{input:?}");
            assert!(!got.contains('\n'));
        }
        assert_eq!(
            Cron::parse("0 8 * * 8"),
            Err(ScheduleError::Field {
                field: CronField::DayOfWeek,
                token: "8".into(),
                reason: "out of range 0-7".into(),
            })
        );
        // Under OR semantics 30 February is harmless: the Mondays still fire.
        assert!(Cron::parse("0 8 30 2 1").is_ok());
    }

    // --- DST in America/New_York: 2026-03-08 02:00 → 03:00, 2026-11-01 02:00 → 01:00 ---

    #[test]
    fn daily_0230_once_a_day_across_spring_forward() {
        let got = runs(
            "30 2 * * *",
            New_York,
            "2026-03-07T05:00:00Z", // 2026-03-07 00:00 EST
            "2026-03-11T04:00:00Z", // 2026-03-11 00:00 EDT
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-03-07T07:30:00Z", // 02:30 EST
                "2026-03-08T07:00:00Z", // 02:30 does not exist: 03:00 EDT, end of the gap
                "2026-03-09T06:30:00Z", // 02:30 EDT
                "2026-03-10T06:30:00Z",
            ])
        );
    }

    #[test]
    fn daily_0230_once_a_day_across_fall_back() {
        let got = runs(
            "30 2 * * *",
            New_York,
            "2026-10-31T04:00:00Z", // 2026-10-31 00:00 EDT
            "2026-11-04T05:00:00Z", // 2026-11-04 00:00 EST
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-10-31T06:30:00Z", // 02:30 EDT
                "2026-11-01T07:30:00Z", // 02:30 EST, after the repeated hour
                "2026-11-02T07:30:00Z",
                "2026-11-03T07:30:00Z",
            ])
        );
    }

    #[test]
    fn repeated_0130_fires_once_at_its_first_occurrence() {
        let c = cron("30 1 * * *");
        let got = c.runs_between(
            utc("2026-10-31T04:00:00Z"),
            utc("2026-11-03T05:00:00Z"),
            New_York,
            100,
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z", // 01:30 EDT; 01:30 EST (06:30Z) does not fire
                "2026-11-02T06:30:00Z",
            ])
        );
        // Asked from inside the repeated hour, before and after the second 01:30.
        for from in ["2026-11-01T06:10:00Z", "2026-11-01T06:45:00Z"] {
            assert_eq!(
                c.next_after(utc(from), New_York),
                Some(utc("2026-11-02T06:30:00Z")),
                "{from}"
            );
        }
    }

    #[test]
    fn gap_times_collapse_into_one_run_at_the_end_of_the_gap() {
        let c = cron("*/15 * * * *");
        let got = c.runs_between(
            utc("2026-03-08T06:30:00Z"),
            utc("2026-03-08T07:20:00Z"),
            New_York,
            100,
        );
        // 01:45 EST, then 02:00/02:15/02:30/02:45 (missing) and 03:00 EDT all at 07:00Z.
        assert_eq!(
            got,
            utcs(&[
                "2026-03-08T06:45:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:15:00Z",
            ])
        );
        let labels: Vec<_> = got.iter().map(|r| period_label(&c, *r, New_York)).collect();
        assert_eq!(
            labels,
            ["2026-03-08T01:45", "2026-03-08T02:00", "2026-03-08T03:15"]
        );
    }

    #[test]
    fn hourly_on_both_change_days_has_one_run_per_wall_clock_hour() {
        let c = cron("@hourly");
        // Spring: 23 real hours, local 02:00 missing → 23 runs (the 02:00 one at 03:00).
        let spring = c.runs_between(
            utc("2026-03-08T05:00:00Z"),
            utc("2026-03-09T04:00:00Z"),
            New_York,
            100,
        );
        // Fall: 25 real hours but 24 wall-clock hours → 24 runs, 01:00 once.
        let fall = c.runs_between(
            utc("2026-11-01T04:00:00Z"),
            utc("2026-11-02T05:00:00Z"),
            New_York,
            100,
        );
        assert_eq!((spring.len(), fall.len()), (23, 24));
        assert!(fall.contains(&utc("2026-11-01T05:00:00Z")));
        assert!(!fall.contains(&utc("2026-11-01T06:00:00Z")));
        for runs in [&spring, &fall] {
            assert!(runs.windows(2).all(|w| w[0] < w[1]));
            let labels: std::collections::BTreeSet<_> = runs
                .iter()
                .map(|r| period_label(&c, *r, New_York))
                .collect();
            assert_eq!(labels.len(), runs.len(), "labels are distinct");
        }
    }

    #[test]
    fn a_gap_at_midnight_fires_at_the_end_of_the_gap_on_the_same_date() {
        // America/Santiago springs forward at 00:00 → 01:00 on 2026-09-06.
        let c = cron("@daily");
        let got = c.runs_between(
            utc("2026-09-05T00:00:00Z"),
            utc("2026-09-08T00:00:00Z"),
            Santiago,
            10,
        );
        assert_eq!(
            got,
            utcs(&[
                "2026-09-05T04:00:00Z", // 00:00 -04
                "2026-09-06T04:00:00Z", // 00:00 missing → 01:00 -03
                "2026-09-07T03:00:00Z", // 00:00 -03
            ])
        );
        let labels: Vec<_> = got.iter().map(|r| period_label(&c, *r, Santiago)).collect();
        assert_eq!(labels, ["2026-09-05", "2026-09-06", "2026-09-07"]);
    }

    #[test]
    fn a_gap_that_swallows_a_whole_day_keeps_labels_distinct() {
        // Samoa skipped 2011-12-30 entirely (UTC-10 → UTC+14 at local midnight).
        let c = cron("0 8 * * *");
        let got = c.runs_between(
            utc("2011-12-29T00:00:00Z"),
            utc("2011-12-31T00:00:00Z"),
            Apia,
            10,
        );
        assert_eq!(
            got,
            utcs(&[
                "2011-12-29T18:00:00Z", // 29th 08:00 (UTC-10)
                "2011-12-30T10:00:00Z", // 30th 08:00 missing → the transition instant
                "2011-12-30T18:00:00Z", // 31st 08:00 (UTC+14)
            ])
        );
        let labels: Vec<_> = got.iter().map(|r| period_label(&c, *r, Apia)).collect();
        assert_eq!(labels, ["2011-12-29", "2011-12-30", "2011-12-31"]);
    }

    #[test]
    fn limit_bounds_runs_between() {
        let c = cron("* * * * *");
        let got = c.runs_between(
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
            UTC,
            3,
        );
        assert_eq!(got.len(), 3);
        assert!(c
            .runs_between(
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                UTC,
                0
            )
            .is_empty());
    }

    // --- due ---

    #[test]
    fn due_not_yet_run_collapse_and_too_late() {
        let c = cron("0 8 * * *"); // 00:00 UTC in Shanghai
        let hour = Duration::hours(1);
        let last = utc("2026-11-24T00:00:00Z");
        assert_eq!(
            due(&c, Shanghai, last, utc("2026-11-24T12:00:00Z"), hour),
            Due::NotYet {
                next: utc("2026-11-25T00:00:00Z")
            }
        );
        // Exactly at the run, and within the bound.
        assert_eq!(
            due(&c, Shanghai, last, utc("2026-11-25T00:00:00Z"), hour),
            Due::Run {
                at: utc("2026-11-25T00:00:00Z")
            }
        );
        assert_eq!(
            due(&c, Shanghai, last, utc("2026-11-25T01:00:00Z"), hour),
            Due::Run {
                at: utc("2026-11-25T00:00:00Z")
            }
        );
        // Two runs missed while down (25th and 26th): one Run, for the latest.
        assert_eq!(
            due(&c, Shanghai, last, utc("2026-11-26T00:30:00Z"), hour),
            Due::Run {
                at: utc("2026-11-26T00:00:00Z")
            }
        );
        // Older than the bound.
        assert_eq!(
            due(&c, Shanghai, last, utc("2026-11-26T01:00:01Z"), hour),
            Due::TooLate {
                at: utc("2026-11-26T00:00:00Z")
            }
        );
        // Handled: after recording the run, nothing until the next one.
        assert_eq!(
            due(
                &c,
                Shanghai,
                utc("2026-11-26T00:00:00Z"),
                utc("2026-11-26T01:00:01Z"),
                hour
            ),
            Due::NotYet {
                next: utc("2026-11-27T00:00:00Z")
            }
        );
        // A clock that stepped back does not repeat a handled run.
        assert_eq!(
            due(
                &c,
                Shanghai,
                utc("2026-11-26T00:00:00Z"),
                utc("2026-11-25T23:00:00Z"),
                hour
            ),
            Due::NotYet {
                next: utc("2026-11-27T00:00:00Z")
            }
        );
    }

    #[test]
    fn due_across_dst_changes() {
        let hour = Duration::hours(1);
        // Spring: the 02:30 run happens at 07:00Z.
        let daily = cron("30 2 * * *");
        let last = utc("2026-03-07T07:30:00Z");
        assert_eq!(
            due(&daily, New_York, last, utc("2026-03-08T06:59:59Z"), hour),
            Due::NotYet {
                next: utc("2026-03-08T07:00:00Z")
            }
        );
        assert_eq!(
            due(&daily, New_York, last, utc("2026-03-08T07:00:00Z"), hour),
            Due::Run {
                at: utc("2026-03-08T07:00:00Z")
            }
        );
        // Fall: during the second 01:xx hour, the 01:30 run of today is already done.
        let c = cron("30 1 * * *");
        let last = utc("2026-11-01T05:30:00Z");
        assert_eq!(
            due(&c, New_York, last, utc("2026-11-01T06:40:00Z"), hour),
            Due::NotYet {
                next: utc("2026-11-02T06:30:00Z")
            }
        );
        // And if it was missed, the first occurrence is the one that is due.
        let before = utc("2026-10-31T05:30:00Z");
        assert_eq!(
            due(&c, New_York, before, utc("2026-11-01T06:40:00Z"), hour * 2),
            Due::Run {
                at: utc("2026-11-01T05:30:00Z")
            }
        );
        let every10 = cron("*/10 * * * *");
        assert_eq!(
            due(
                &every10,
                New_York,
                before,
                utc("2026-11-01T06:40:00Z"),
                hour * 2
            ),
            // 01:40 EST: 01:40 already fired as 01:40 EDT, and so did everything up to
            // 01:50 EDT; the next run is 02:00 EST.
            Due::Run {
                at: utc("2026-11-01T05:50:00Z")
            }
        );
        assert_eq!(
            due(
                &every10,
                New_York,
                before,
                utc("2026-11-01T06:05:00Z"),
                hour * 2
            ),
            // 01:05 EST: 01:00 EST did not fire (01:00 EDT did), 01:50 EDT was the last run.
            Due::Run {
                at: utc("2026-11-01T05:50:00Z")
            }
        );
    }

    // --- period_label ---

    #[test]
    fn period_labels() {
        let daily = cron("0 8 * * *");
        assert_eq!(
            period_label(&daily, utc("2026-11-24T00:00:00Z"), Shanghai),
            "2026-11-24"
        );
        // The local date, not the UTC one.
        assert_eq!(
            period_label(&cron("30 7 * * *"), utc("2026-11-23T23:30:00Z"), Shanghai),
            "2026-11-24"
        );
        assert_eq!(
            period_label(&daily, utc("2026-11-24T13:00:00Z"), New_York),
            "2026-11-24"
        );
        assert_eq!(
            period_label(&cron("0 8,20 * * *"), utc("2026-11-24T00:00:00Z"), Shanghai),
            "2026-11-24T08:00"
        );
        assert_eq!(
            period_label(&cron("@hourly"), utc("2026-11-24T01:00:00Z"), Shanghai),
            "2026-11-24T09:00"
        );
        // The spring-forward stand-in run keeps the date of its scheduled time.
        assert_eq!(
            period_label(&cron("30 2 * * *"), utc("2026-03-08T07:00:00Z"), New_York),
            "2026-03-08"
        );
    }
}
