//! A configuration that cannot work never takes the service down (DESIGN §6b): the one
//! check "can this configuration run" refuses it whole at start (writing nothing), at
//! reload (SIGHUP or `tidings reload`, keeping the running configuration) and in `tidings
//! check`, each problem named by file, line and key (DESIGN §3). The real binary, real
//! signals, the real control socket.

use std::path::Path;
use std::process::Output;

use crate::support::daemon::Daemon;
use crate::support::{article, drop_in, seeded_site, site, text, tidings};

fn config_text(extra: &str) -> String {
    format!("[site]\nbase_url = \"http://127.0.0.1\"\ntitle = \"測試站\"\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}")
}

fn start_daemon() -> Daemon {
    Daemon::start_in(seeded_site(&config_text("")))
}

fn write_config(d: &Daemon, text: &str) {
    std::fs::write(d.path().join("config.toml"), text).unwrap();
}

/// The daemon still serves its feeds and still publishes from the store it had.
fn still_serving(d: &Daemon, site_title: &str, title: &str) {
    assert_eq!(d.get("/healthz").status, 200);
    assert!(d.get("/feeds/all/rss.xml").body.contains(site_title));
    drop_in(
        &d.store(),
        &format!("{title}.txt"),
        &article(title, "北京市"),
    );
    d.wait_for("/feeds/all/rss.xml", |b| b.contains(title));
}

fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// Configurations that parse but cannot run, each with what its refusal must name.
fn unworkable(dir: &Path) -> Vec<(String, &'static str)> {
    std::fs::write(dir.join("plain-file"), "not a folder").unwrap();
    vec![
        (
            config_text("[store]\npath = \"no-such-store\"\n"),
            "config.toml:7: store.path: ",
        ),
        (
            config_text("[feeds]\noutput = \"plain-file/feeds\"\n"),
            "config.toml:7: feeds.output: ",
        ),
        (
            config_text("[digest]\nschedule = \"61 25 * * *\"\n"),
            "config.toml:7: digest.schedule: ",
        ),
        (
            config_text("[digest]\ntimezone = \"Mars/Olympus\"\n"),
            "config.toml:7: digest.timezone: ",
        ),
        (
            config_text("[feeds]\nitems = \"fifty\"\n"),
            "config.toml:7: feeds.items: invalid type: string \"fifty\", expected usize",
        ),
        ("[site\nbroken".to_string(), "config.toml:1: "),
    ]
}

#[test]
fn sighup_refuses_a_configuration_that_cannot_run_and_keeps_serving() {
    let mut d = start_daemon();
    for (n, (text, named)) in unworkable(d.path()).into_iter().enumerate() {
        write_config(&d, &text);
        d.forget_logs();
        d.signal(libc::SIGHUP);
        let line = d.wait_log("reload refused");
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains(named), "{named:?} not in {line}");
        assert!(!d
            .logs(std::time::Duration::ZERO)
            .iter()
            .any(|l| l.contains("configuration reloaded")));
        still_serving(&d, "測試站", &format!("仍在服務{n}"));
    }
    // And a good one is still adopted afterwards.
    write_config(&d, &config_text("").replace("測試站", "新站名"));
    d.signal(libc::SIGHUP);
    d.wait_log("configuration reloaded");
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("新站名"));
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn tidings_reload_prints_the_outcome_and_exits_0_adopted_1_refused() {
    let mut d = start_daemon();
    let config = d.path().join("config.toml");

    write_config(&d, &config_text("").replace("測試站", "重讀站"));
    let out = d.tidings(&["reload"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout).contains(&format!("configuration reloaded from {}", config.display())),
        "{out:?}"
    );
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("重讀站"));

    for (text, named) in unworkable(d.path()) {
        write_config(&d, &text);
        let out = d.tidings(&["reload"]);
        assert_eq!(out.status.code(), Some(1), "{text}: {out:?}");
        let err = stderr(&out);
        assert!(err.contains("reload refused"), "{err}");
        assert!(err.contains(named), "{named:?} not in {err}");
        assert!(d.get("/feeds/all/rss.xml").body.contains("重讀站"));
    }
    // The daemon logged each refusal too, where the journal sees it.
    let refused = d
        .logs(std::time::Duration::ZERO)
        .iter()
        .filter(|l| l.contains("ERROR") && l.contains("reload refused"))
        .count();
    assert_eq!(refused, unworkable(d.path()).len());
    still_serving(&d, "重讀站", "重讀之後");

    // A file that names another state folder (and is refused anyway): the client looks
    // for the daemon there, finds none, says so (exit 2), and creates nothing.
    write_config(&d, "[state]\npath = \"elsewhere\"\n[feeds]\nitems = 0\n");
    let out = d.tidings(&["reload"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("no daemon is running"), "{out:?}");
    assert!(!d.path().join("elsewhere").exists());
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn tidings_reload_with_no_daemon_says_so_and_exits_2() {
    let dir = site(&config_text(""));
    let out = tidings(dir.path(), &["reload"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("no daemon is running"), "{err}");
    assert!(err.contains("control.sock"), "{err}");
    assert!(
        !dir.path().join("state").exists(),
        "reload created the state"
    );
}

#[test]
fn systemd_hears_reloading_and_ready_around_tidings_reload() {
    use std::os::unix::net::UnixDatagram;
    let dir = seeded_site(&config_text(""));
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(crate::support::PATIENCE))
        .unwrap();
    let d = Daemon::spawn_in(dir, |dir: &Path| {
        let mut command = crate::support::tidings_command(dir);
        command.env("NOTIFY_SOCKET", &socket_path);
        command
    });
    let listen_until = |want: &str| {
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).expect("a notify message");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == want)
            {
                return;
            }
        }
    };
    listen_until("READY=1");
    let out = d.tidings(&["reload"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    listen_until("RELOADING=1");
    listen_until("READY=1");
}

#[test]
fn a_refused_start_writes_nothing() {
    let probe = tempfile::tempdir().unwrap();
    for (text, named) in unworkable(probe.path()) {
        for command in ["run", "build", "check"] {
            let dir = site(&text);
            std::fs::write(dir.path().join("plain-file"), "not a folder").unwrap();
            let out = tidings(dir.path(), &[command]);
            assert_eq!(out.status.code(), Some(2), "{command} on {text}: {out:?}");
            let err = stderr(&out);
            assert!(err.contains(named), "{command}: {named:?} not in {err}");
            assert!(!err.contains("panicked"), "{err}");
            let mut left: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            left.sort();
            assert_eq!(
                left,
                ["articles", "config.toml", "plain-file"],
                "{command} on {text} left something behind"
            );
        }
    }
}

#[test]
fn check_names_every_key_that_cannot_work() {
    for (extra, named) in [
        ("[digest]\nschedule = \"61 25 * * *\"\n", "config.toml:7: digest.schedule: "),
        ("[digest]\nschedule = \"0 8 * *\"\n", "config.toml:7: digest.schedule: "),
        ("[digest]\nschedule = \"@fortnightly\"\n", "config.toml:7: digest.schedule: "),
        ("[mail]\nfrom = \"nobody\"\n", "config.toml:7: mail.from: "),
        (
            "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n",
            "config.toml:10: mail.smtp.password_file: /nonexistent/pw: ",
        ),
    ] {
        let dir = site(&config_text(extra));
        let out = tidings(dir.path(), &["check"]);
        assert_eq!(out.status.code(), Some(2), "{extra}: {out:?}");
        assert!(stderr(&out).contains(named), "{named:?} not in {}", stderr(&out));
    }
    // listen is the text above's line 5.
    let dir = site(&config_text("").replace("127.0.0.1:0", "nowhere:port"));
    let out = tidings(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr(&out).contains("config.toml:5: server.listen: \"nowhere:port\""),
        "{}",
        stderr(&out)
    );
    // Every problem at once, one line each: those of the text alone…
    let dir = site(&config_text("[feeds]\nitems = 0\nformats = []\n"));
    let out = tidings(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("config.toml:7: feeds.items"), "{err}");
    assert!(err.contains("config.toml:8: feeds.formats"), "{err}");
    // …and, once the text is right, those of what it names.
    let dir = site(&config_text(
        "[digest]\nschedule = \"@fortnightly\"\n[store]\npath = \"gone\"\n",
    ));
    let out = tidings(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("config.toml:7: digest.schedule"), "{err}");
    assert!(err.contains("config.toml:9: store.path"), "{err}");
}

/// The fuzzer's reproducers for the configuration (fuzz/regressions/config/): each was
/// accepted and failed later; each is now refused by `check` and at start, naming its key.
#[test]
fn the_fuzzers_configuration_findings_are_refused() {
    let found = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/config");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&found).unwrap() {
        let reproducer = entry.unwrap().path();
        let text = std::fs::read_to_string(&reproducer).unwrap();
        let key = if text.contains("schedule") {
            "digest.schedule"
        } else {
            "server.listen"
        };
        for command in ["check", "run", "build"] {
            let dir = site(&text);
            let out = tidings(dir.path(), &[command]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{reproducer:?} {command}: {out:?}"
            );
            assert!(
                stderr(&out).contains(&format!("config.toml:2: {key}: ")),
                "{reproducer:?} {command}: {}",
                stderr(&out)
            );
        }
        replayed += 1;
    }
    assert_eq!(replayed, 2, "reproducers in {found:?}");
}
