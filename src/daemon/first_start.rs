//! The first indexing of a store, done by a `tidings build` child process.
//!
//! A daemon that indexed 100,000 articles itself idles at ~35 MiB more than one started on
//! the index that indexing wrote: the allocator keeps the pages the indexing's churn left
//! partly used, pinned by the few long-lived allocations made in between, and no
//! `mi_collect` or `malloc_trim` gives them back (BENCHMARKS.md, "the first indexing in a
//! child process"). So when the daemon finds its index empty, it lets go of it and has a
//! child build it; the child's memory goes with its exit, and the daemon opens the index
//! as on a restart, reading the child's report as its own start-up reconciliation's.
//!
//! The watcher is running before the child starts, so a change made while it builds
//! reaches the publisher afterwards as an event, as during an in-process reconciliation.

use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::feeds::publish::BuildReport;

/// How long the child waits for the daemon's index to be let go (sled releases its lock
/// when its flusher thread ends, a moment after the drop).
pub const LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// How to run the child: this very binary, on the daemon's configuration file.
#[derive(Debug, Clone)]
pub struct ChildBuild {
    pub program: PathBuf,
    /// `--config`; `None`: the child finds the built-in defaults as the daemon did (same
    /// working directory, same environment).
    pub config: Option<PathBuf>,
}

impl ChildBuild {
    /// The running executable through `/proc/self/exe`: the same binary also when a
    /// package upgrade has replaced the file on disk since the daemon started.
    pub fn of_this_binary(config: Option<PathBuf>) -> ChildBuild {
        ChildBuild {
            program: PathBuf::from("/proc/self/exe"),
            config,
        }
    }

    fn arguments(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(config) = &self.config {
            args.push("--config".into());
            args.push(config.into());
        }
        args.extend(["build".into(), "--json-report".into()]);
        args
    }
}

/// Why the child gave no report.
#[derive(Debug, thiserror::Error)]
pub enum ChildFailure {
    /// Ended by SIGTERM or SIGINT: the stop systemd or a terminal sent to the daemon's
    /// whole group (or someone stopped the indexing itself). The daemon stops too.
    #[error("the first indexing (a `tidings build` child process) was stopped by {0}")]
    Stopped(&'static str),
    /// Anything else: the daemon indexes in its own process instead.
    #[error("the first indexing in a child process failed: {0}")]
    Failed(String),
}

/// Runs the child build and returns its report. The daemon must not hold the index.
pub fn build_in_child(child: &ChildBuild) -> Result<BuildReport, ChildFailure> {
    let mut command = Command::new(&child.program);
    command
        .arg0("tidings")
        .args(child.arguments())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Notifications are the daemon's: systemd would ignore the child's (NotifyAccess=
        // main), and a watchdog ping from it would prove nothing.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    // SAFETY: the closure runs in the forked child before exec and only makes one system
    // call, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            // A daemon killed outright (SIGKILL, an OOM kill) takes its indexing with it;
            // the spawning thread waits for the child, so it outlives it. Refused by a
            // seccomp filter, it is only a safeguard less.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let output = command
        .output()
        .map_err(|e| ChildFailure::Failed(format!("{}: {e}", child.program.display())))?;
    match (output.status.code(), output.status.signal()) {
        (Some(0), _) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            serde_json::from_str(stdout.trim())
                .map_err(|e| ChildFailure::Failed(format!("its report could not be read: {e}")))
        }
        (_, Some(libc::SIGTERM)) => Err(ChildFailure::Stopped("SIGTERM")),
        (_, Some(libc::SIGINT)) => Err(ChildFailure::Stopped("SIGINT")),
        (_, Some(signal)) => Err(ChildFailure::Failed(format!("killed by signal {signal}"))),
        (code, None) => {
            // `tidings: …` lines, the last one says what went wrong.
            let stderr = String::from_utf8_lossy(&output.stderr);
            let said = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Err(ChildFailure::Failed(format!(
                "exit {}: {}",
                code.unwrap_or(-1),
                said.unwrap_or("(nothing on stderr)")
            )))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;
    use crate::feeds::publish::Rejection;

    /// A child that runs `script` (sh) instead of tidings, its arguments in `$@`.
    pub(crate) fn child(dir: &Path, script: &str) -> ChildBuild {
        let program = dir.join("child.sh");
        std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        ChildBuild {
            program,
            config: Some(dir.join("site config.toml")),
        }
    }

    #[test]
    fn the_child_s_report_arrives_whole_also_with_a_file_name_that_is_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"/store/\xff\xfe.txt");
        let sent = BuildReport {
            articles: 2,
            new: 2,
            rejected: vec![Rejection {
                path: PathBuf::from(name),
                stamp: None,
                reason: "no section".into(),
            }],
            elapsed: Duration::from_millis(1500),
            ..BuildReport::default()
        };
        let report = dir.path().join("report.json");
        std::fs::write(&report, serde_json::to_string(&sent).unwrap()).unwrap();
        let args = dir.path().join("args");
        let script = format!(
            "printf '%s\\n' \"$@\" > '{}'\ncat '{}'",
            args.display(),
            report.display()
        );
        let got = build_in_child(&child(dir.path(), &script)).unwrap();
        assert_eq!((got.articles, got.new, got.elapsed), (2, 2, sent.elapsed));
        assert_eq!(got.rejected, sent.rejected);
        let config = dir.path().join("site config.toml");
        assert_eq!(
            std::fs::read_to_string(&args).unwrap(),
            format!("--config\n{}\nbuild\n--json-report\n", config.display())
        );
    }

    #[test]
    fn a_child_ended_by_sigterm_or_sigint_is_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        for (signal, name) in [("TERM", "SIGTERM"), ("INT", "SIGINT")] {
            let got = build_in_child(&child(dir.path(), &format!("kill -{signal} $$")));
            assert!(
                matches!(got, Err(ChildFailure::Stopped(n)) if n == name),
                "{signal}: {got:?}"
            );
        }
    }

    #[test]
    fn a_child_that_fails_says_why_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "echo 'tidings: state directory /x: in use' >&2\necho >&2\nexit 2",
                "exit 2: tidings: state directory /x: in use",
            ),
            ("exit 3", "exit 3: (nothing on stderr)"),
            ("echo '{\"articles\": ' ", "its report could not be read: "),
            ("kill -KILL $$", "killed by signal 9"),
        ];
        for (script, why) in cases {
            match build_in_child(&child(dir.path(), script)) {
                Err(e @ ChildFailure::Failed(_)) => {
                    let line = e.to_string();
                    assert!(line.contains(why), "{script}: {line}");
                    assert!(!line.contains('\n'), "{line:?}");
                }
                other => panic!("{script}: {other:?}"),
            }
        }
        let missing = ChildBuild {
            program: dir.path().join("no such program"),
            config: None,
        };
        let line = build_in_child(&missing).unwrap_err().to_string();
        assert!(line.contains("no such program"), "{line}");
    }
}
