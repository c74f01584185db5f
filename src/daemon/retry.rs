//! What the daemon does with a file it rejected (docs/articles.md, "What is rejected"):
//! it is tried again 5 times, a second apart (an exporter may have been caught writing),
//! then left alone until the file changes. Each version of a file (its path and stamp) is
//! logged as a warning and counted in `tidings_rejected_files_total` once, however often
//! it is read. Pure: the caller passes `now`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::feeds::publish::Rejection;
use crate::model::article::FileStamp;

/// Paths whose file failed to parse are tried again this often, this many times.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
pub const RETRIES: u32 = 5;

/// Where a rejection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The watcher reported the path.
    Change,
    /// The `n`th try again (1 to [`RETRIES`]).
    Retry(u32),
    /// A scan of the whole store (start-up, rescan): not tried again.
    Scan,
}

/// What to do about one rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The warning to log, if this version has not been logged yet.
    pub warn: Option<String>,
    /// Whether to count it in the metric.
    pub count: bool,
}

#[derive(Default)]
pub struct Retries {
    /// Paths to try again: when, and which try that will be.
    due: HashMap<PathBuf, (Instant, u32)>,
    /// The version of each rejected file last logged and counted. A part of the store
    /// that could not be read at all is keyed by its reason.
    reported: HashMap<PathBuf, Option<FileStamp>>,
}

impl Retries {
    /// Notes a rejection; says whether to log and count it, and schedules the next try.
    pub fn rejected(&mut self, r: &Rejection, source: Source, now: Instant) -> Verdict {
        let key = if r.path.as_os_str().is_empty() {
            PathBuf::from(&r.reason)
        } else {
            r.path.clone()
        };
        let new_version = self.reported.get(&key) != Some(&r.stamp);
        let next_try = match source {
            Source::Change if new_version => Some(1),
            Source::Retry(n) if n < RETRIES => Some(n + 1),
            _ => None,
        };
        match next_try {
            Some(n) if r.stamp.is_some() => {
                self.due.insert(r.path.clone(), (now + RETRY_AFTER, n));
            }
            _ => {}
        }
        if !new_version {
            return Verdict {
                warn: None,
                count: false,
            };
        }
        self.reported.insert(key, r.stamp);
        let again = match (source, r.stamp) {
            (Source::Change, Some(_)) => {
                format!(" (trying again {RETRIES} times, a second apart, then when it changes)")
            }
            _ => String::new(),
        };
        Verdict {
            warn: Some(format!("rejected: {r}{again}")),
            count: true,
        }
    }

    /// A path brought up to date without a rejection (accepted, or gone): forgotten.
    pub fn settled(&mut self, path: &PathBuf) {
        self.due.remove(path);
        self.reported.remove(path);
    }

    /// A path the watcher reports again: its pending try is replaced by this round.
    pub fn changed(&mut self, path: &PathBuf) {
        self.due.remove(path);
    }

    /// The paths due to be tried again at `now`, each with the number of its try; they
    /// are no longer pending.
    pub fn take_due(&mut self, now: Instant) -> Vec<(PathBuf, u32)> {
        let mut due: Vec<(PathBuf, u32)> = self
            .due
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(path, (_, n))| (path.clone(), *n))
            .collect();
        for (path, _) in &due {
            self.due.remove(path);
        }
        due.sort();
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(path: &str, mtime_ns: i128) -> Rejection {
        Rejection {
            path: PathBuf::from(path),
            stamp: Some(FileStamp { mtime_ns, size: 13 }),
            reason: "no section".into(),
        }
    }

    #[test]
    fn five_tries_a_second_apart_then_nothing_until_the_file_changes() {
        let start = Instant::now();
        let mut retries = Retries::default();
        let r = rejection("articles/x.txt", 1);
        let first = retries.rejected(&r, Source::Change, start);
        assert!(first.count);
        assert!(first
            .warn
            .unwrap()
            .starts_with("rejected: articles/x.txt: no section"));
        assert!(retries.take_due(start).is_empty(), "not before a second");

        let mut now = start;
        let mut tries = Vec::new();
        // A minute of a file that stays bad: only five tries, none logged or counted.
        for _ in 0..600 {
            now += Duration::from_millis(100);
            for (path, n) in retries.take_due(now) {
                tries.push((now.duration_since(start).as_millis(), n));
                let again =
                    retries.rejected(&rejection(path.to_str().unwrap(), 1), Source::Retry(n), now);
                assert_eq!(
                    again,
                    Verdict {
                        warn: None,
                        count: false
                    }
                );
            }
        }
        assert_eq!(
            tries,
            [(1000, 1), (2000, 2), (3000, 3), (4000, 4), (5000, 5)]
        );

        // The same version read again (a rescan, a touch that kept the stamp): nothing.
        let same = retries.rejected(&r, Source::Change, now);
        assert_eq!(
            same,
            Verdict {
                warn: None,
                count: false
            }
        );
        assert!(retries.take_due(now + Duration::from_secs(10)).is_empty());
        // A new version: logged, counted and tried again afresh.
        let edited = retries.rejected(&rejection("articles/x.txt", 2), Source::Change, now);
        assert!(edited.count && edited.warn.is_some());
        assert_eq!(
            retries.take_due(now + RETRY_AFTER),
            [(PathBuf::from("articles/x.txt"), 1)]
        );
    }

    #[test]
    fn scans_are_counted_once_and_not_tried_again() {
        let now = Instant::now();
        let mut retries = Retries::default();
        let r = rejection("articles/x.txt", 1);
        assert!(retries.rejected(&r, Source::Scan, now).count);
        assert!(!retries.rejected(&r, Source::Scan, now).count);
        assert!(retries.take_due(now + Duration::from_secs(60)).is_empty());
        let unreadable = Rejection {
            path: PathBuf::new(),
            stamp: None,
            reason: "articles/locked: Permission denied".into(),
        };
        assert!(retries.rejected(&unreadable, Source::Scan, now).count);
        assert!(!retries.rejected(&unreadable, Source::Scan, now).count);
        // Fixed, then broken again with the same stamp: a new report.
        retries.settled(&PathBuf::from("articles/x.txt"));
        assert!(retries.rejected(&r, Source::Change, now).count);
    }
}
