//! The command line as pipelines use it: a reader that stops reading (`tidings … | head`)
//! ends every printing command quietly, as it ends Unix tools — no panic, no "Broken
//! pipe" message, exit 0 — with no daemon and with the request handed to one.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::support::daemon::Daemon;
use crate::support::{ok, seeded_site, text, tidings_command};

const CONFIG: &str = "[server]\nlisten = \"127.0.0.1:0\"\n";

/// The commands that print something on standard output.
const PRINTING: &[&[&str]] = &[
    &["build"],
    &["check"],
    &["subscriber", "list"],
    &["subscriber", "export"],
    &["subscriber", "add", "late@example.org", "--section", "时政"],
    &["digest", "preview", "reader@example.org"],
    &["digest", "preview", "reader@example.org", "--html"],
    &["digest", "send", "--now"],
    &["--help"],
];

/// Runs `args` with its standard output (or error) a pipe whose reader is already gone,
/// so that the first write fails with EPIPE.
fn with_closed(dir: &Path, args: &[&str], stdout: bool) -> Output {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let mut command = tidings_command(dir);
    command.args(args).stdin(Stdio::null());
    if stdout {
        command.stdout(writer).stderr(Stdio::piped());
    } else {
        command.stderr(writer).stdout(Stdio::piped());
    }
    command.output().unwrap()
}

fn assert_quiet(args: &[&str], out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
        "{args:?}: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
}

fn subscribed_site() -> tempfile::TempDir {
    let dir = seeded_site(CONFIG);
    ok(dir.path(), &["build"]);
    ok(
        dir.path(),
        &[
            "subscriber",
            "add",
            "reader@example.org",
            "--keyword",
            "重慶市",
        ],
    );
    dir
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    let dir = subscribed_site();
    for args in PRINTING {
        assert_quiet(args, &with_closed(dir.path(), args, true));
    }
}

#[test]
fn a_closed_stdout_ends_commands_handed_to_the_daemon_quietly() {
    let d = Daemon::start_in(subscribed_site());
    for args in PRINTING.iter().chain([&["reload"][..]].iter()) {
        assert_quiet(args, &with_closed(d.path(), args, true));
    }
    // The daemon is none the worse for it.
    assert!(d.ok(&["subscriber", "list"]).contains("reader@example.org"));
}

#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    let dir = subscribed_site();
    std::fs::write(dir.path().join("articles/bad.txt"), "one line").unwrap();
    // Rejected files are reported on stderr; the build still succeeds…
    let out = with_closed(dir.path(), &["build"], false);
    assert_quiet(&["build"], &out);
    assert!(text(&out.stdout).contains("articles indexed"), "{out:?}");
    // …`--strict` still fails, and so does a fatal error, silently but by its code.
    let out = with_closed(dir.path(), &["build", "--strict"], false);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    std::fs::write(dir.path().join("config.toml"), "[feeds]\nitems = 0\n").unwrap();
    let out = with_closed(dir.path(), &["build"], false);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
