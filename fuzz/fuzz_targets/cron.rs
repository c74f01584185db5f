//! The schedule module's crontab(5) parser and its translation to the `cron` crate's
//! Quartz form (DESIGN §4 "Schedules").
//!
//! * Free text: no panic, never an `Internal` error (the crate refusing our translation),
//!   the normalised text parses to the same schedule, and runs in any zone strictly
//!   increase, each one found again by `due`.
//! * Expressions built from fields: the sets are known, so in UTC (no DST) the next run
//!   must be the one a plain day-by-day search of crontab(5)'s rules finds — Vixie's
//!   day-of-month OR day-of-week, 0 and 7 both Sunday, `a/n` as `a-max/n`.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{due, Cron, Due, ScheduleError};

#[derive(Arbitrary, Debug)]
enum Item {
    Star,
    StarStep(u8),
    Value(u8),
    Range(u8, u8),
    RangeStep(u8, u8, u8),
    ValueStep(u8, u8),
}

#[derive(Arbitrary, Debug)]
struct Field {
    items: Vec<Item>,
    /// Month and weekday values written as names (`jan`, `Mon`, `sunday`).
    names: bool,
}

#[derive(Arbitrary, Debug)]
struct Fields {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

#[derive(Arbitrary, Debug)]
enum Expr {
    Text(String),
    Fields(Fields),
}

#[derive(Arbitrary, Debug)]
struct Input {
    zone: u16,
    /// Seconds after 2000-01-01T00:00Z, a little under 90 years: the crate knows no year
    /// after 2100.
    at: u32,
    expr: Expr,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "Mon", "TUE", "wed", "thursday", "fri", "Saturday"];

/// Writes one field within `lo..=hi` and returns the values it stands for.
fn render(field: &Field, lo: u32, hi: u32, names: Option<&[&str]>) -> (String, u64) {
    let span = hi - lo + 1;
    let value = |v: u8| lo + u32::from(v) % span;
    let write = |v: u32| match names.filter(|_| field.names) {
        // Weekday 7 has no name: `sun` is 0, so `mon-sun` is a reversed range.
        Some(n) if ((v - lo) as usize) < n.len() => n[(v - lo) as usize].to_string(),
        _ => v.to_string(),
    };
    let step = |n: u8| u32::from(n) % 60 + 1;
    let mut parts = Vec::new();
    let mut bits = 0u64;
    let add = |a: u32, b: u32, n: u32, bits: &mut u64| {
        for v in (a..=b).step_by(n as usize) {
            *bits |= 1 << v;
        }
    };
    let items: &[Item] = if field.items.is_empty() {
        &[Item::Star]
    } else {
        &field.items
    };
    for item in items.iter().take(8) {
        match *item {
            Item::Star => {
                parts.push("*".to_string());
                add(lo, hi, 1, &mut bits);
            }
            Item::StarStep(n) => {
                parts.push(format!("*/{}", step(n)));
                add(lo, hi, step(n), &mut bits);
            }
            Item::Value(v) => {
                parts.push(write(value(v)));
                add(value(v), value(v), 1, &mut bits);
            }
            Item::Range(a, b) => {
                let (a, b) = (value(a).min(value(b)), value(a).max(value(b)));
                parts.push(format!("{}-{}", write(a), write(b)));
                add(a, b, 1, &mut bits);
            }
            Item::RangeStep(a, b, n) => {
                let (a, b) = (value(a).min(value(b)), value(a).max(value(b)));
                parts.push(format!("{}-{}/{}", write(a), write(b), step(n)));
                add(a, b, step(n), &mut bits);
            }
            Item::ValueStep(v, n) => {
                parts.push(format!("{}/{}", write(value(v)), step(n)));
                add(value(v), hi, step(n), &mut bits);
            }
        }
    }
    (parts.join(","), bits)
}

struct Reference {
    minutes: u64,
    hours: u64,
    doms: u64,
    months: u64,
    /// 0 = Sunday … 6, with 7 folded into 0.
    dows: u64,
    /// Vixie: both day fields restricted (neither starts with `*`) → either may match.
    either_day: bool,
}

impl Reference {
    fn day_matches(&self, d: NaiveDate) -> bool {
        let bit = |set: u64, v: u32| set & 1 << v != 0;
        let dom = bit(self.doms, d.day());
        let dow = bit(self.dows, d.weekday().num_days_from_sunday());
        bit(self.months, d.month())
            && if self.either_day {
                dom || dow
            } else {
                dom && dow
            }
    }

    /// The first run strictly after `t`, searching day by day (UTC, whole minutes).
    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let bits = |set: u64| (0..64).filter(move |b| set & 1 << b != 0);
        let mut day = t.date_naive();
        // Eight years cover every day-of-month/month/weekday combination (29 February on
        // a given weekday may take 28 years, but Vixie's OR and the weekday then fire).
        for _ in 0..(366 * 29) {
            if day.year() > 2099 {
                return None;
            }
            if self.day_matches(day) {
                for h in bits(self.hours) {
                    for m in bits(self.minutes) {
                        let run = Utc.from_utc_datetime(&day.and_hms_opt(h, m, 0)?);
                        if run > t {
                            return Some(run);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

fn zone(index: u16) -> Tz {
    TZ_VARIANTS[usize::from(index) % TZ_VARIANTS.len()]
}

fuzz_target!(|input: Input| {
    let at = DateTime::from_timestamp(946_684_800 + i64::from(input.at) * 2 / 3, 0)
        .expect("within chrono's range");
    let (text, reference) = match &input.expr {
        Expr::Text(t) => (t.clone(), None),
        Expr::Fields(f) => {
            let (minute, minutes) = render(&f.minute, 0, 59, None);
            let (hour, hours) = render(&f.hour, 0, 23, None);
            let (dom, doms) = render(&f.dom, 1, 31, None);
            let (month, months) = render(&f.month, 1, 12, Some(&MONTHS));
            let (dow, mut dows) = render(&f.dow, 0, 7, Some(&DAYS));
            if dows & 1 << 7 != 0 {
                dows = dows & !(1 << 7) | 1;
            }
            let either_day = !dom.starts_with('*') && !dow.starts_with('*');
            let text = format!("{minute} {hour} {dom} {month} {dow}");
            let reference = Reference {
                minutes,
                hours,
                doms,
                months,
                dows,
                either_day,
            };
            (text, Some(reference))
        }
    };
    let cron = match Cron::parse(&text) {
        Ok(cron) => cron,
        Err(e @ ScheduleError::Internal { .. }) => panic!("{text:?}: {e}"),
        Err(e) => {
            if let Some(r) = reference {
                // Only a day of month no chosen month has may be refused.
                assert!(
                    matches!(e, ScheduleError::Field { .. }) && !r.either_day,
                    "{text:?} refused: {e}"
                );
                let start = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
                assert_eq!(r.next_after(start), None, "{text:?} refused but runs: {e}");
            }
            return;
        }
    };
    assert_eq!(Cron::parse(cron.as_str()).as_ref(), Ok(&cron), "{text:?}");

    if let Some(r) = &reference {
        let expected = r.next_after(at);
        assert_eq!(
            cron.next_after(at, Tz::UTC),
            expected,
            "{text:?} after {at}"
        );
    }

    let tz = zone(input.zone);
    let mut t = at;
    for _ in 0..3 {
        let Some(next) = cron.next_after(t, tz) else {
            break;
        };
        assert!(next > t, "{text:?} in {tz}: next after {t} is {next}");
        assert_eq!(next.second(), 0, "{text:?} in {tz}: run at {next}");
        // The run just found is the one due at that instant.
        let late = Duration::days(400);
        assert_eq!(
            due(&cron, tz, t, next, late),
            Due::Run { at: next },
            "{text:?} in {tz}: due at {next} after {t}"
        );
        t = next;
    }
});
