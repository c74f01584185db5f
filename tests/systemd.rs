//! The systemd unit, `systemd/tidings.service`, checked by systemd's own tool:
//! `systemd-analyze verify` must accept it with `ExecStart=` pointing at the binary this
//! crate builds, and `systemd-analyze security --offline=true` must rate its overall
//! exposure at 2.0 or less. Each check also runs on a deliberately bad unit, so a check
//! that has stopped catching anything fails too.
//!
//! Needs `systemd-analyze` (Debian's `systemd` package); without it the tests fail with
//! the install line — they never skip. No running systemd is needed: `verify` and
//! `security --offline=true` only read unit files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::support::{program, text, INSTALL_SYSTEMD};

const UNIT: &str = include_str!("../systemd/tidings.service");
const UNIT_NAME: &str = "tidings.service";
/// The command line the unit runs, as installed (docs/operating.md).
const EXEC_START: &str = "/usr/bin/tidings --config /etc/tidings/config.toml run";
/// How `systemctl reload` asks the daemon (DESIGN §6b): no /bin/kill on a minimal Debian.
const EXEC_RELOAD: &str = "/usr/bin/tidings --config /etc/tidings/config.toml reload";
/// Highest acceptable overall exposure (systemd-analyze's scale: 0 safe … 10 unsafe).
const MAX_EXPOSURE: f64 = 2.0;

/// `systemd-analyze` with its output made plain (no colour, pager or hyperlinks), or a
/// failure naming the install line.
fn systemd_analyze(args: &[&str]) -> Output {
    Command::new(program("systemd-analyze", INSTALL_SYSTEMD))
        .args(args)
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .env("SYSTEMD_URLIFY", "0")
        .output()
        .unwrap()
}

/// The unit's settings as (key, value) pairs, comments and section headers left out.
fn settings(unit: &str) -> Vec<(&str, &str)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !(l.is_empty() || l.starts_with('#') || l.starts_with(';')))
        .filter(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    settings(unit)
        .into_iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The unit with `ExecStart=` and `ExecReload=` running this build's binary instead of
/// `/usr/bin/tidings` (which need not exist here), written as `tidings.service` in a fresh
/// folder.
fn unit_for_test(unit: &str) -> (TempDir, PathBuf) {
    let binary = env!("CARGO_BIN_EXE_tidings");
    assert!(
        Path::new(binary).is_file(),
        "{binary}: the tidings binary is missing"
    );
    let mut rewritten = unit.to_owned();
    for (key, command) in [("ExecStart", EXEC_START), ("ExecReload", EXEC_RELOAD)] {
        let installed = format!("{key}={command}");
        assert_eq!(
            unit.lines().filter(|l| *l == installed).count(),
            1,
            "the unit must hold exactly one `{installed}` line"
        );
        let ours = format!("{key}=\"{binary}\"{}", &command["/usr/bin/tidings".len()..]);
        rewritten = rewritten
            .lines()
            .map(|l| if l == installed { ours.as_str() } else { l })
            .flat_map(|l| [l, "\n"])
            .collect();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(UNIT_NAME);
    std::fs::write(&path, rewritten).unwrap();
    (dir, path)
}

/// `systemd-analyze verify` on a unit file: Ok, or Err with what it said.
///
/// `--recursive-errors=no` turns warnings about the unit itself (an unknown key, a value
/// that does not parse — which systemd otherwise only logs and ignores) into a non-zero
/// exit, while warnings about other units on the machine stay out of it. `--man=no` and
/// `--generators=no` keep the check to the file: no man pages, and no generators, which
/// warn when no systemd runs as PID 1 (as in a container).
fn verify(path: &Path) -> Result<(), String> {
    let out = systemd_analyze(&[
        "verify",
        "--man=no",
        "--generators=no",
        "--recursive-errors=no",
        path.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    let about_unit: Vec<&str> = stderr.lines().filter(|l| l.contains(UNIT_NAME)).collect();
    if out.status.success() && about_unit.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "systemd-analyze verify: {}\n{stderr}{}",
            out.status,
            text(&out.stdout)
        ))
    }
}

/// `systemd-analyze security --offline=true`: the exit status (failure when the exposure
/// exceeds `MAX_EXPOSURE`), the overall exposure read from the report, and the report.
fn security(path: &Path) -> (bool, f64, String) {
    let threshold = format!("--threshold={}", (MAX_EXPOSURE * 10.0).round());
    let out = systemd_analyze(&[
        "security",
        "--no-pager",
        "--offline=true",
        &threshold,
        path.to_str().unwrap(),
    ]);
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let exposure = overall_exposure(&report)
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{report}"));
    (out.status.success(), exposure, report)
}

/// Reads `→ Overall exposure level for tidings.service: 1.1 OK 🙂`.
fn overall_exposure(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|l| l.contains("Overall exposure level for"))?;
    let (_, rest) = line.rsplit_once(": ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn unit_has_the_settings_the_daemon_relies_on() {
    for (key, value) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", EXEC_START),
        ("ExecReload", EXEC_RELOAD),
        ("DynamicUser", "yes"),
        ("StateDirectory", "tidings"),
        ("CacheDirectory", "tidings"),
        ("ConfigurationDirectory", "tidings"),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(values(UNIT, key), [value], "{key}=");
    }
    for key in ["WatchdogSec", "TimeoutStopSec", "LimitNOFILE"] {
        assert_eq!(values(UNIT, key).len(), 1, "{key}= must be set once");
    }
    // The daemon pings from its publish loop at half this period; it must be set.
    let watchdog: u64 = values(UNIT, "WatchdogSec")[0].parse().unwrap();
    assert!(watchdog >= 10, "WatchdogSec={watchdog} is too tight");
    // SIGTERM stops the daemon within 10 s; systemd must wait longer than that.
    let stop: u64 = values(UNIT, "TimeoutStopSec")[0].parse().unwrap();
    assert!(stop > 10, "TimeoutStopSec={stop}");
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let (_dir, path) = unit_for_test(UNIT);
    if let Err(e) = verify(&path) {
        panic!("{e}");
    }
}

/// The check above is worth something only if it catches a real mistake.
#[test]
fn systemd_analyze_verify_rejects_broken_units() {
    for (what, broken) in [
        (
            "an unknown key",
            UNIT.replace("Type=notify\n", "Typo=notify\n"),
        ),
        ("a bad value", UNIT.replace("Type=notify\n", "Type=notfy\n")),
        (
            "a bad hardening value",
            UNIT.replace("ProtectSystem=strict\n", "ProtectSystem=strictest\n"),
        ),
    ] {
        assert!(broken != UNIT, "{what}: the replacement did not apply");
        let (_dir, path) = unit_for_test(&broken);
        assert!(verify(&path).is_err(), "verify passed a unit with {what}");
    }
    // A missing binary is an error too (the reason the test rewrites ExecStart=).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(UNIT_NAME);
    std::fs::write(
        &path,
        UNIT.replace("/usr/bin/tidings ", "/nonexistent/tidings "),
    )
    .unwrap();
    assert!(verify(&path).is_err(), "verify passed a missing binary");
}

#[test]
fn security_exposure_is_at_most_two() {
    let (_dir, path) = unit_for_test(UNIT);
    let (ok, exposure, report) = security(&path);
    assert!(
        exposure <= MAX_EXPOSURE,
        "overall exposure {exposure} > {MAX_EXPOSURE}:\n{report}"
    );
    assert!(ok, "systemd-analyze security failed:\n{report}");
}

/// The exposure reading and the threshold are live: an unhardened unit fails both.
#[test]
fn security_rejects_an_unhardened_unit() {
    let bare: String = UNIT
        .lines()
        .filter(|l| {
            l.starts_with('[')
                || ["Description=", "Type=", "ExecStart=", "ExecReload="]
                    .iter()
                    .any(|k| l.starts_with(k))
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    let (_dir, path) = unit_for_test(&bare);
    let (ok, exposure, report) = security(&path);
    assert!(exposure > 5.0, "bare unit rated {exposure}:\n{report}");
    assert!(
        !ok,
        "systemd-analyze security passed a bare unit:\n{report}"
    );
}

#[test]
fn exposure_parser_reads_the_report_line() {
    let line = "\n→ Overall exposure level for tidings.service: 1.1 OK 🙂\n";
    assert_eq!(overall_exposure(line), Some(1.1));
    assert_eq!(
        overall_exposure("→ Overall exposure level for x.service: 9.6 UNSAFE 😨"),
        Some(9.6)
    );
    assert_eq!(overall_exposure("nothing here"), None);
}
