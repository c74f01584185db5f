//! The daemon and its store over time (DESIGN §1, §7): a rejected file is tried again a
//! few times and then left alone, logged and counted once per version; changes racing the
//! start-up scan, and a daemon killed at any moment, leave the published feeds equal to a
//! fresh build of the same store.

use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::{article, site};

const CONFIG: &str =
    "[site]\nbase_url = \"http://127.0.0.1\"\n[server]\nlisten = \"127.0.0.1:0\"\n";

fn rejected_metric(d: &Daemon) -> u64 {
    let metrics = d.get("/metrics").body;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tidings_rejected_files_total "))
        .expect("the metric")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_rejected_file_is_tried_five_times_then_left_alone_and_counted_once_per_version() {
    let mut d = Daemon::start_in(site(CONFIG));
    let bad = d.store().join("one-line.txt");
    // Its name would forge a line and paint the terminal red if printed raw.
    let forged = d.store().join("x\nrejected: forged\u{1b}[31m.txt");
    std::fs::write(&bad, "only one line").unwrap();
    std::fs::write(&forged, "only one line").unwrap();
    d.wait_log("one-line.txt");
    d.wait_log("rejected: forged");
    // Past the five tries, a second apart, and as long again.
    std::thread::sleep(RETRIES_AND_MORE);
    let logs = d.logs(Duration::from_millis(200)).to_vec();
    let about =
        |needle: &str| -> Vec<&String> { logs.iter().filter(|l| l.contains(needle)).collect() };
    let lines = about("one-line.txt");
    assert_eq!(
        lines.len(),
        1,
        "one line for the file:\n{}",
        logs.join("\n")
    );
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    assert!(lines[0].contains("no section"), "{}", lines[0]);
    assert!(
        !logs.iter().any(|l| l.contains("will try again")),
        "{}",
        logs.join("\n")
    );
    let forged_lines = about("forged");
    assert_eq!(forged_lines.len(), 1, "{}", logs.join("\n"));
    assert!(
        forged_lines[0].contains(r"x\nrejected: forged\u{1b}[31m.txt"),
        "{}",
        forged_lines[0]
    );
    assert!(!logs
        .iter()
        .any(|l| l.contains('\u{1b}') || l.starts_with("rejected: forged")));
    assert_eq!(rejected_metric(&d), 2);

    // A new version of the file, still bad: one more line, one more count.
    d.forget_logs();
    std::fs::write(&bad, "still only one line").unwrap();
    d.wait_log("one-line.txt");
    assert_eq!(rejected_metric(&d), 3);
    // Fixed: published.
    std::fs::write(&bad, article("修好了", "北京市")).unwrap();
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("修好了"));
}

/// Five tries a second apart, and two seconds more.
pub const RETRIES_AND_MORE: Duration = Duration::from_secs(7);
