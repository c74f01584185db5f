//! `tidings subscriber …` end to end: the real binary, with no daemon (it opens the index
//! itself) and beside a running daemon (the request goes over the control socket).

use crate::support;

use crate::support::daemon::Daemon;
use crate::support::{text, tidings};

fn site() -> tempfile::TempDir {
    support::site(
        "[server]\nlisten = \"127.0.0.1:0\"\n[digest]\nschedule = \"0 7 * * *\"\ntimezone = \"Asia/Taipei\"\n",
    )
}

#[test]
fn add_list_change_remove() {
    let dir = site();
    let out = tidings(
        dir.path(),
        &[
            "subscriber",
            "add",
            "Reader@Example.COM",
            "--section",
            "黨派·聲音 > 統一戰線",
            "--keyword",
            "重慶市",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).contains("added Reader@example.com (active; 0 7 * * * Asia/Taipei)"),
        "{out:?}"
    );

    let list = text(&tidings(dir.path(), &["subscriber", "list"]).stdout);
    assert!(
        list.contains(
            "Reader@example.com\tactive\t0 7 * * *\tAsia/Taipei\t黨派·聲音 > 統一戰線、重慶市"
        ),
        "{list}"
    );
    assert!(list.ends_with("1 subscribers\n"), "{list}");

    // The same address in another case changes the one subscriber.
    let out = tidings(
        dir.path(),
        &[
            "subscriber",
            "add",
            "reader@example.com",
            "--keyword",
            "重庆市",
            "--schedule",
            "0 8 * * 1",
            "--tz",
            "Europe/Berlin",
        ],
    );
    assert!(text(&out.stdout).starts_with("updated"), "{out:?}");
    let list = text(&tidings(dir.path(), &["subscriber", "list"]).stdout);
    assert!(list.contains("0 8 * * 1\tEurope/Berlin\t重庆市"), "{list}");
    assert!(list.ends_with("1 subscribers\n"));

    let out = tidings(dir.path(), &["subscriber", "remove", "READER@example.com"]);
    assert!(out.status.success(), "{out:?}");
    let out = tidings(dir.path(), &["subscriber", "remove", "reader@example.com"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no such subscriber"));
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let dir = site();
    for (args, needle) in [
        (
            vec!["subscriber", "add", "no-at-sign", "--keyword", "x"],
            "email",
        ),
        (
            vec!["subscriber", "add", "a@b.example"],
            "sections, keywords or terms",
        ),
        (
            vec![
                "subscriber",
                "add",
                "a@b.example",
                "--keyword",
                "x",
                "--schedule",
                "0 8 * * 8",
            ],
            "day-of-week",
        ),
        (
            vec![
                "subscriber",
                "add",
                "a@b.example",
                "--keyword",
                "x",
                "--tz",
                "Mars/Base",
            ],
            "Mars/Base",
        ),
    ] {
        let out = tidings(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = text(&out.stderr);
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn importing_10000_rows_reports_bad_rows_by_line_and_imports_the_rest() {
    let dir = site();
    let mut csv = String::from("email,sections,keywords,terms,schedule,timezone,status\n");
    for i in 0..10_000 {
        match i {
            // Line numbers: the header is line 1, row i is line i + 2.
            100 => csv.push_str("not-an-address,,重慶市,,,,\n"),
            5000 => csv.push_str("x5000@example.com,,重慶市,,0 99 * * *,,\n"),
            9998 => csv.push_str("x9998@example.com,,,,,,\n"),
            _ => csv.push_str(&format!(
                "x{i}@example.com,黨派·聲音,重慶市;基層統戰工作,,,,\n"
            )),
        }
    }
    std::fs::write(dir.path().join("subs.csv"), &csv).unwrap();
    let out = tidings(
        dir.path(),
        &[
            "subscriber",
            "import",
            dir.path().join("subs.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad rows make the exit code 1: {out:?}"
    );
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].contains("subs.csv:102:"), "{err}");
    assert!(lines[1].contains("subs.csv:5002:"), "{err}");
    assert!(lines[2].contains("subs.csv:10000:"), "{err}");
    assert!(
        text(&out.stdout).contains("9997 imported, 0 already subscribed"),
        "{out:?}"
    );

    // Again: nothing new, nothing doubled.
    let out = tidings(
        dir.path(),
        &[
            "subscriber",
            "import",
            dir.path().join("subs.csv").to_str().unwrap(),
        ],
    );
    assert!(
        text(&out.stdout).contains("0 imported, 9997 already subscribed"),
        "{out:?}"
    );

    let export = text(&tidings(dir.path(), &["subscriber", "export"]).stdout);
    assert_eq!(export.lines().count(), 9998, "header + 9,997 rows");
    assert!(export.lines().next().unwrap().starts_with("email,"));
}

#[test]
fn beside_a_running_daemon_the_request_goes_over_the_control_socket() {
    let mut d = Daemon::start_in(site());
    let out = d.tidings(&[
        "subscriber",
        "add",
        "live@example.org",
        "--keyword",
        "重慶市",
    ]);
    let list = d.tidings(&["subscriber", "list"]);
    let status = d.stop();
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&list.stdout).contains("live@example.org\tactive"),
        "{list:?}"
    );
    assert_eq!(status.code(), Some(0));
}
