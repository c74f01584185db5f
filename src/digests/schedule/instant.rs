//! `@instant` (DESIGN §4): an alert within 2 minutes of a matching article's arrival, the
//! arrivals of one minute in one mail.
//!
//! The rule: the alert round for the arrivals of a minute runs when that minute has ended
//! and [`SETTLE`] more has passed (an arrival at 09:45:30 goes out in the round at
//! 09:46:01). An arrival is the moment the daemon's publisher committed the record to the
//! index, so once a minute has ended and settled, every record stamped in it is in the
//! index; the round holds exactly the records up to the last of them ([`Arrivals::cut`]).
//! Records whose arrival time is not known — they arrived before the daemon started, or a
//! command (`digest send`) runs the round — count as settled: they go out at once.
//!
//! Each alert is named by its round's minute ([`period`]): a subscriber gets at most one
//! alert per minute ([`due`]), so the name, and the Message-ID derived from it, is theirs
//! alone, and a resend after a crash carries the one recorded with the pending delivery.
//!
//! Pure: the caller passes `now` and the arrivals it was told of.

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;

/// The schedule's text, as subscribers and `digest.schedule` write it.
pub const INSTANT: &str = "@instant";

/// How long after a minute ends before its alert round runs: the publisher stamps an
/// arrival after its commit, and the stamp reaches the scheduler a moment later.
pub const SETTLE: Duration = Duration::seconds(1);

/// Whether a schedule (as stored, trimmed or not) is `@instant`, in any letter case.
pub fn is_instant(schedule: &str) -> bool {
    schedule.trim().eq_ignore_ascii_case(INSTANT)
}

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// The last minute boundary whose arrivals have settled at `now`.
fn settled_boundary(now: DateTime<Utc>) -> DateTime<Utc> {
    minute_of(now - SETTLE)
}

/// When the alert round for an arrival at `arrived` runs: the end of its minute, plus
/// [`SETTLE`].
pub fn round_for(arrived: DateTime<Utc>) -> DateTime<Utc> {
    minute_of(arrived) + Duration::minutes(1) + SETTLE
}

/// The first alert round strictly after `now` (the scheduler sleeps until then).
pub fn next_round(now: DateTime<Utc>) -> DateTime<Utc> {
    let next = minute_of(now) + SETTLE;
    if next > now {
        next
    } else {
        next + Duration::minutes(1)
    }
}

/// What the scheduler knows of when records arrived (index arrival numbers and times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrivals {
    /// `None`: nothing known, every record counts as settled. Otherwise every record up
    /// to this arrival number counts as settled.
    settled: Option<u64>,
    /// Later arrivals as (last arrival number committed, when), oldest first.
    recent: Vec<(u64, DateTime<Utc>)>,
}

impl Arrivals {
    /// Nothing known: every record in the index counts as settled (`digest send`).
    pub fn unknown() -> Arrivals {
        Arrivals {
            settled: None,
            recent: Vec::new(),
        }
    }

    /// The daemon at start: records up to `last_seq` arrived before it (or while it was
    /// down) and count as settled; later ones are stamped by [`Arrivals::arrived`].
    pub fn starting_at(last_seq: u64) -> Arrivals {
        Arrivals {
            settled: Some(last_seq),
            recent: Vec::new(),
        }
    }

    /// The index's arrival numbers went up to `last_seq` at `at`. Numbers already known
    /// are ignored; a clock that stepped back does not reorder what is known.
    pub fn arrived(&mut self, last_seq: u64, at: DateTime<Utc>) {
        let Some(settled) = self.settled else {
            return;
        };
        let known = self.recent.last().map_or(settled, |(seq, _)| *seq);
        if last_seq <= known {
            return;
        }
        let at = self.recent.last().map_or(at, |(_, last)| at.max(*last));
        self.recent.push((last_seq, at));
    }

    /// The last arrival number an alert round at `now` covers: every record that arrived
    /// before the last settled minute boundary, none after it; at most `last_seq`.
    pub fn cut(&self, now: DateTime<Utc>, last_seq: u64) -> u64 {
        let Some(settled) = self.settled else {
            return last_seq;
        };
        let boundary = settled_boundary(now);
        let cut = self
            .recent
            .iter()
            .take_while(|(_, at)| *at < boundary)
            .last()
            .map_or(settled, |(seq, _)| *seq);
        cut.min(last_seq)
    }

    /// Folds the arrivals settled at `now` into the settled number, so the list holds
    /// only the current minute's.
    pub fn forget_settled(&mut self, now: DateTime<Utc>) {
        let Some(settled) = self.settled.as_mut() else {
            return;
        };
        let boundary = settled_boundary(now);
        let done = self.recent.partition_point(|(_, at)| *at < boundary);
        if done > 0 {
            *settled = self.recent[done - 1].0;
            self.recent.drain(..done);
        }
    }
}

/// Whether an `@instant` subscriber gets an alert from a round at `now`: records up to
/// `cut` (see [`Arrivals::cut`]) are past their `watermark`, and they have had no round
/// in this minute yet (`last_run`), so that each alert has a name of its own.
pub fn due(watermark: u64, last_run: Option<DateTime<Utc>>, cut: u64, now: DateTime<Utc>) -> bool {
    // `map_or`, not `is_none_or`: the crate's rust-version is 1.80.
    let fresh_minute = last_run.map_or(true, |last| minute_of(last) < minute_of(now));
    cut > watermark && fresh_minute
}

/// The name of the alert of a round at `now`, in the subscriber's zone: its local minute,
/// written `2026-12-02 09:46` (a space, where cron periods have a `T`, so an alert never
/// shares a name, and a Message-ID, with a digest the subscriber had on another schedule).
pub fn period(now: DateTime<Utc>, tz: Tz) -> String {
    minute_of(now)
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Shanghai};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("RFC 3339 instant")
    }

    #[test]
    fn instant_is_spelt_one_way_in_any_case() {
        assert!(is_instant("@instant"));
        assert!(is_instant(" @Instant "));
        assert!(!is_instant("@instantly"));
        assert!(!is_instant("@hourly"));
        assert!(!is_instant("0 8 * * *"));
    }

    #[test]
    fn an_arrival_goes_out_when_its_minute_has_ended_and_settled() {
        for (arrived, round) in [
            ("2026-12-02T09:45:30Z", "2026-12-02T09:46:01Z"),
            ("2026-12-02T09:45:00Z", "2026-12-02T09:46:01Z"),
            ("2026-12-02T09:45:59.999Z", "2026-12-02T09:46:01Z"),
            ("2026-12-02T23:59:59Z", "2026-12-03T00:00:01Z"),
        ] {
            let at = round_for(utc(arrived));
            assert_eq!(at, utc(round), "{arrived}");
            // Within the two minutes DESIGN §4 promises, whenever in the minute it came.
            assert!(at - utc(arrived) <= Duration::minutes(2), "{arrived}");
        }
    }

    #[test]
    fn the_scheduler_wakes_for_the_next_round() {
        for (now, next) in [
            ("2026-12-02T09:45:30Z", "2026-12-02T09:46:01Z"),
            ("2026-12-02T09:45:00.5Z", "2026-12-02T09:45:01Z"),
            ("2026-12-02T09:45:01Z", "2026-12-02T09:46:01Z"),
            ("2026-12-02T09:45:01.001Z", "2026-12-02T09:46:01Z"),
        ] {
            assert_eq!(next_round(utc(now)), utc(next), "{now}");
        }
    }

    #[test]
    fn arrivals_in_one_minute_go_in_one_round_and_the_next_minutes_wait() {
        let mut a = Arrivals::starting_at(10);
        a.arrived(11, utc("2026-12-02T09:45:02Z"));
        a.arrived(13, utc("2026-12-02T09:45:58Z"));
        a.arrived(14, utc("2026-12-02T09:46:00.4Z"));
        a.arrived(15, utc("2026-12-02T09:46:40Z"));
        // Before the minute has settled: only what arrived before the daemon started.
        assert_eq!(a.cut(utc("2026-12-02T09:45:59Z"), 15), 10);
        assert_eq!(a.cut(utc("2026-12-02T09:46:00.9Z"), 15), 10);
        // The 09:46:01 round: both 09:45 arrivals, not the 09:46 ones.
        assert_eq!(a.cut(utc("2026-12-02T09:46:01Z"), 15), 13);
        assert_eq!(a.cut(utc("2026-12-02T09:46:59Z"), 15), 13);
        // The 09:47:01 round: the 09:46 ones together.
        assert_eq!(a.cut(utc("2026-12-02T09:47:01Z"), 15), 15);
        // Never past what the index holds.
        assert_eq!(a.cut(utc("2026-12-02T09:47:01Z"), 14), 14);
    }

    #[test]
    fn a_record_committed_but_not_yet_stamped_waits_for_its_stamp() {
        let mut a = Arrivals::starting_at(10);
        a.arrived(11, utc("2026-12-02T09:45:20Z"));
        // The index already holds 12 (its stamp is on its way): not in this round.
        assert_eq!(a.cut(utc("2026-12-02T09:46:01Z"), 12), 11);
    }

    #[test]
    fn what_is_not_known_counts_as_settled() {
        // A command, or records that came while the daemon was down: out at once.
        assert_eq!(Arrivals::unknown().cut(utc("2026-12-02T09:45:30Z"), 7), 7);
        let mut unknown = Arrivals::unknown();
        unknown.arrived(9, utc("2026-12-02T09:45:20Z"));
        assert_eq!(unknown, Arrivals::unknown());
        assert_eq!(
            Arrivals::starting_at(7).cut(utc("2026-12-02T09:45:30Z"), 7),
            7
        );
    }

    #[test]
    fn known_numbers_and_a_clock_stepping_back_change_nothing() {
        let mut a = Arrivals::starting_at(10);
        a.arrived(10, utc("2026-12-02T09:45:20Z"));
        a.arrived(9, utc("2026-12-02T09:45:20Z"));
        assert_eq!(a, Arrivals::starting_at(10));
        a.arrived(12, utc("2026-12-02T09:45:50Z"));
        // Stamped "earlier" than the one before: kept in order, at the later time.
        a.arrived(13, utc("2026-12-02T09:44:00Z"));
        assert_eq!(a.cut(utc("2026-12-02T09:46:01Z"), 13), 13);
    }

    #[test]
    fn settled_arrivals_are_folded_away_without_changing_any_cut() {
        let mut a = Arrivals::starting_at(10);
        a.arrived(11, utc("2026-12-02T09:45:02Z"));
        a.arrived(12, utc("2026-12-02T09:46:30Z"));
        let now = utc("2026-12-02T09:46:01Z");
        let before = a.clone();
        a.forget_settled(now);
        assert_eq!(a.recent.len(), 1);
        for t in ["2026-12-02T09:46:01Z", "2026-12-02T09:47:01Z"] {
            assert_eq!(a.cut(utc(t), 12), before.cut(utc(t), 12), "{t}");
        }
    }

    #[test]
    fn one_alert_a_minute_and_only_with_something_new() {
        let now = utc("2026-12-02T09:46:01Z");
        assert!(due(10, None, 11, now));
        assert!(due(10, Some(utc("2026-12-02T09:45:01Z")), 11, now));
        // Nothing past the watermark.
        assert!(!due(11, None, 11, now));
        assert!(!due(12, None, 11, now));
        // A round already ran this minute (a restart, say): the next minute's has it.
        assert!(!due(10, Some(utc("2026-12-02T09:46:00Z")), 11, now));
        assert!(due(
            10,
            Some(utc("2026-12-02T09:46:00Z")),
            11,
            utc("2026-12-02T09:47:01Z")
        ));
    }

    #[test]
    fn an_alert_is_named_by_its_local_minute() {
        let now = utc("2026-12-02T01:46:01Z");
        assert_eq!(period(now, Shanghai), "2026-12-02 09:46");
        assert_eq!(period(now, New_York), "2026-12-01 20:46");
        // Unlike any cron period (`2026-12-02T09:46`).
        assert!(!period(now, Shanghai).contains('T'));
    }
}
