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
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
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
    /// The child's pid while it runs (0: none), for [`ChildBuild::stop`].
    running: Arc<AtomicU32>,
    /// Set by [`ChildBuild::stop`]: no child is started after it.
    stop_asked: Arc<AtomicBool>,
}

impl ChildBuild {
    pub fn new(program: PathBuf, config: Option<PathBuf>) -> ChildBuild {
        ChildBuild {
            program,
            config,
            running: Arc::default(),
            stop_asked: Arc::default(),
        }
    }

    /// The running executable through `/proc/self/exe`: the same binary also when a
    /// package upgrade has replaced the file on disk since the daemon started.
    pub fn of_this_binary(config: Option<PathBuf>) -> ChildBuild {
        ChildBuild::new(PathBuf::from("/proc/self/exe"), config)
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

    /// Asks a running child to stop (SIGTERM): the daemon was asked to stop while its
    /// child indexed — by a signal to the daemon alone, as `kill $MAINPID` sends it.
    pub fn stop(&self) {
        self.stop_asked.store(true, Ordering::SeqCst);
        let pid = self.running.load(Ordering::SeqCst);
        if pid != 0 {
            // SAFETY: kill(2) on our own child's pid, which stays ours (unreaped) until
            // `build_in_child` has waited for it and cleared `running` first.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}

/// Why the child gave no report.
#[derive(Debug, thiserror::Error)]
pub enum ChildFailure {
    /// Ended by SIGTERM or SIGINT: the stop systemd or a terminal sent to the daemon's
    /// whole group, the daemon's own [`ChildBuild::stop`], or someone who stopped the
    /// indexing itself. The daemon stops too.
    #[error("the first indexing (a `tidings build` child process) was stopped by {0}")]
    Stopped(&'static str),
    /// Anything else: the daemon indexes in its own process instead.
    #[error("the first indexing in a child process failed: {0}")]
    Failed(String),
}

/// Runs the child build and returns its report. The daemon must not hold the index.
/// The child's log lines go to the daemon's stderr (under systemd, the journal, with
/// their priorities), so that what it warns of is seen as if the daemon said it.
pub fn build_in_child(child: &ChildBuild) -> Result<BuildReport, ChildFailure> {
    let mut command = Command::new(&child.program);
    command
        .arg0("tidings")
        .args(child.arguments())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Notifications are the daemon's: systemd would ignore the child's (NotifyAccess=
        // main), and a watchdog ping from it would prove nothing.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    // SAFETY: getpid before the fork; the closure runs in the forked child before exec and
    // only makes system calls, which are async-signal-safe.
    let daemon = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
            // A daemon killed outright (SIGKILL, an OOM kill) takes its indexing with it;
            // the spawning thread waits for the child, so it outlives it. Refused by a
            // seccomp filter, it is only a safeguard less.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != daemon {
                // The daemon died before the safeguard was set.
                return Err(std::io::Error::other("the daemon has gone"));
            }
            // SIGHUP asks the daemon to reload; the indexing goes on through it.
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    if child.stop_asked.load(Ordering::SeqCst) {
        return Err(ChildFailure::Stopped("SIGTERM"));
    }
    let spawned = command
        .spawn()
        .map_err(|e| ChildFailure::Failed(format!("{}: {e}", child.program.display())))?;
    // `spawn` returns once the child has exec'd: a SIGTERM from `stop` meets the build's
    // default action, not the daemon's handler inherited across the fork. A stop asked
    // for while it was being spawned is passed on here.
    child.running.store(spawned.id(), Ordering::SeqCst);
    if child.stop_asked.load(Ordering::SeqCst) {
        child.stop();
    }
    let output = spawned.wait_with_output();
    child.running.store(0, Ordering::SeqCst);
    let output = output.map_err(|e| ChildFailure::Failed(format!("waiting for it: {e}")))?;
    match (output.status.code(), output.status.signal()) {
        (Some(0), _) => serde_json::from_slice(&output.stdout)
            .map_err(|e| ChildFailure::Failed(format!("its report could not be read: {e}"))),
        (_, Some(libc::SIGTERM)) => Err(ChildFailure::Stopped("SIGTERM")),
        (_, Some(libc::SIGINT)) => Err(ChildFailure::Stopped("SIGINT")),
        (_, Some(signal)) => Err(ChildFailure::Failed(format!(
            "killed by {} (its own lines above, if any, say more)",
            signal_name(signal)
        ))),
        (code, None) => Err(ChildFailure::Failed(format!(
            "exit {} (its own lines above say why)",
            code.unwrap_or(-1)
        ))),
    }
}

/// SIGKILL for 9 (the OOM killer's), SIGABRT for 6 (a failed allocation, a panic while
/// panicking); the number for others.
fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        other => format!("signal {other}"),
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
        ChildBuild::new(program, Some(dir.join("site config.toml")))
    }

    #[test]
    fn the_child_s_report_arrives_whole_also_with_a_file_name_that_is_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"/store/\xff\xfe.txt");
        let sent = BuildReport {
            articles: 2,
            new: 2,
            rejected: vec![
                Rejection {
                    path: PathBuf::from(name),
                    stamp: None,
                    reason: "no section".into(),
                },
                Rejection {
                    path: PathBuf::from("/store/統一戰線.txt"),
                    stamp: None,
                    reason: "no section".into(),
                },
            ],
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
    fn stop_ends_a_running_child_and_sighup_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let sleeping = child(dir.path(), "exec sleep 30");
        let stopper = sleeping.clone();
        let started = std::time::Instant::now();
        let stopping = std::thread::spawn(move || {
            while stopper.running.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            stopper.stop();
        });
        let got = build_in_child(&sleeping);
        stopping.join().unwrap();
        assert!(
            matches!(got, Err(ChildFailure::Stopped("SIGTERM"))),
            "{got:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(sleeping.running.load(Ordering::SeqCst), 0);
        // Asked to stop before it starts: it does not.
        let marker = dir.path().join("ran");
        let late = child(dir.path(), &format!("touch '{}'", marker.display()));
        late.stop();
        let got = build_in_child(&late);
        assert!(matches!(got, Err(ChildFailure::Stopped(_))), "{got:?}");
        assert!(!marker.exists());

        let report = serde_json::to_string(&BuildReport::default()).unwrap();
        let hung_up = child(dir.path(), &format!("kill -HUP $$\necho '{report}'"));
        build_in_child(&hung_up).unwrap();
    }

    #[test]
    fn a_child_that_fails_says_why_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "echo 'tidings: state directory /x: in use' >&2\nexit 2",
                "exit 2 (its own lines above say why)",
            ),
            ("exit 101", "exit 101"),
            ("echo '{\"articles\": ' ", "its report could not be read: "),
            ("kill -KILL $$", "killed by SIGKILL"),
            ("kill -ABRT $$", "killed by SIGABRT"),
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
        let missing = ChildBuild::new(dir.path().join("no such program"), None);
        let line = build_in_child(&missing).unwrap_err().to_string();
        assert!(line.contains("no such program"), "{line}");
    }
}
