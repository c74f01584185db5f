//! What the daemon's log tells an operator (DESIGN §6b): under systemd each line carries
//! its journal priority, so that `journalctl -p warning` shows every problem, and an
//! operator's own actions each leave one INFO line. The real daemon, its stderr a real
//! file named by `JOURNAL_STREAM` as systemd names the journal's stream.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::daemon::Daemon;
use crate::support::{seeded_site, tidings_command};

fn config_text(extra: &str) -> String {
    format!("[site]\nbase_url = \"http://127.0.0.1\"\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}")
}

/// The daemon with its stderr the file `stderr.log` beside the site, and
/// `JOURNAL_STREAM` set to the `device:inode` of `journal` (`None`: that same file).
fn daemon_logging_to_a_file(journal: Option<&Path>) -> Daemon {
    let dir = seeded_site(&config_text(""));
    let log: PathBuf = dir.path().join("stderr.log");
    std::fs::write(&log, "").unwrap();
    let named = std::fs::metadata(journal.unwrap_or(&log)).unwrap();
    let stream = format!("{}:{}", named.dev(), named.ino());
    Daemon::start_logging_to(dir, &log, move |dir: &Path| {
        let mut command = tidings_command(dir);
        command.env("JOURNAL_STREAM", stream);
        command
    })
}

/// A warning (a changed listen address is adopted at the next restart) and an error (a
/// reload refused).
fn warn_then_fail(d: &mut Daemon) {
    let config = d.path().join("config.toml");
    std::fs::write(
        &config,
        config_text("").replace("127.0.0.1:0", "127.0.0.1:1"),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    d.wait_log("configuration reloaded");
    std::fs::write(&config, "[feeds]\nitems = 0\n").unwrap();
    d.signal(libc::SIGHUP);
    d.wait_log("reload refused");
}

#[test]
fn under_the_journal_each_line_carries_its_priority() {
    let mut d = daemon_logging_to_a_file(None);
    warn_then_fail(&mut d);
    let find = |d: &mut Daemon, needle: &str| d.wait_log(needle);
    assert!(find(&mut d, "listening on").starts_with("<6>"));
    assert!(find(&mut d, "server.listen changed").starts_with("<4>"));
    assert!(find(&mut d, "reload refused").starts_with("<3>"));
    for line in d.logs(std::time::Duration::ZERO) {
        let priority = line.get(..3).unwrap_or_default();
        assert!(
            ["<3>", "<4>", "<6>", "<7>"].contains(&priority),
            "no priority: {line}"
        );
        // The journal keeps its own time: none in the line.
        assert!(!line[3..].trim_start().starts_with("20"), "{line}");
    }
}

#[test]
fn a_stderr_that_is_not_the_journal_keeps_plain_lines() {
    // JOURNAL_STREAM inherited, but stderr is another file: plain lines, timestamps.
    let elsewhere = tempfile::NamedTempFile::new().unwrap();
    let mut d = daemon_logging_to_a_file(Some(elsewhere.path()));
    warn_then_fail(&mut d);
    let refused = d.wait_log("reload refused");
    assert!(
        refused.starts_with("20") && refused.contains("ERROR"),
        "{refused}"
    );
    for line in d.logs(std::time::Duration::ZERO) {
        assert!(!line.starts_with('<'), "{line}");
    }
}
