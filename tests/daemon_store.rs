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

// ---------------------------------------------------------------------------------------
// Changes racing the start-up scan, and a daemon killed at any moment
// ---------------------------------------------------------------------------------------

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{self, poll, text, tidings, PATIENCE};

/// xorshift64*: seeded, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Article `n`, version `v`: its own date (so that an edit does not move it in its feeds),
/// one of 8 sections and one of 300 keywords (so that every keyword feed holds a handful
/// of articles and any change shows in one).
fn numbered(n: u64, v: u64) -> String {
    let at = chrono::NaiveDate::from_ymd_opt(2015, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(n as i64 * 7);
    format!(
        "首頁>欄目{}>子欄{} 子欄{}\n{}\n第{n}篇（第{v}版）\n正文第{n}篇。\n關鍵詞:詞{} 詞{}\n",
        n % 4,
        n % 8,
        n % 8,
        at.format("%Y年%m月%d日%H:%M"),
        n % 300,
        (n * 7 + 1) % 300
    )
}

/// A store of `count` articles in 10 folders.
fn store_of(dir: &Path, count: u64) {
    for n in 0..count {
        let path = dir.join(format!("articles/f{}/a{n}.txt", n % 10));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, numbered(n, 0)).unwrap();
    }
}

/// What a reader gets: every feed of the manifest with its kind, key and item count, and
/// its items (id, title, content, date, tags) as its JSON Feed has them.
fn published(feeds: &Path) -> Result<BTreeMap<String, Value>, String> {
    let read = |rel: &str| -> Result<Value, String> {
        let bytes = std::fs::read(feeds.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{rel}: {e}"))
    };
    let manifest = read("index.json")?;
    let mut out = BTreeMap::new();
    for feed in manifest["feeds"].as_array().ok_or("no feeds")? {
        let file = feed["files"]["json"].as_str().ok_or("no json file")?;
        let items: Vec<Value> = read(file)?["items"]
            .as_array()
            .ok_or("no items")?
            .iter()
            .map(|i| {
                serde_json::json!([
                    i["id"],
                    i["title"],
                    i["content_html"],
                    i["date_published"],
                    i["tags"]
                ])
            })
            .collect();
        out.insert(
            format!("{} {}", feed["kind"], feed["key"]),
            serde_json::json!({"items": feed["items"], "entries": items}),
        );
    }
    Ok(out)
}

/// A folder that builds the store of `site` afresh with `tidings build` (its own state and
/// feeds): the reference the daemon's feeds must equal.
fn fresh_build(site: &Path) -> PathBuf {
    let fresh = site.join("fresh");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(
        fresh.join("config.toml"),
        format!(
            "[site]\nbase_url = \"http://127.0.0.1\"\n[store]\npath = \"{}\"\n",
            site.join("articles").display()
        ),
    )
    .unwrap();
    let out = tidings(&fresh, &["build"]);
    assert!(out.status.success(), "fresh build: {}", text(&out.stderr));
    fresh.join("feeds")
}

/// Waits until the daemon's feeds equal a fresh build of the store as it is now (the
/// store must no longer change).
fn settles_to_a_fresh_build(site: &Path) {
    let reference = published(&fresh_build(site)).unwrap();
    let settled = poll(PATIENCE, || match published(&site.join("feeds")) {
        Ok(now) if now == reference => Ok(()),
        Ok(now) => {
            let differ: Vec<&String> = reference
                .keys()
                .chain(now.keys())
                .filter(|k| reference.get(*k) != now.get(*k))
                .take(5)
                .collect();
            Err(format!("feeds differ from a fresh build, e.g. {differ:?}"))
        }
        Err(e) => Err(e),
    });
    settled.unwrap_or_else(|why| panic!("never settled: {why}"));
}

/// One change to the store, chosen by `random`: add a new article, edit, move (a rename
/// in the store, which is a new id) or delete one that exists. `live` holds the store's
/// files; `next` numbers new articles.
fn mutate(store: &Path, random: &mut Random, live: &mut Vec<PathBuf>, next: &mut u64) {
    let pick = |random: &mut Random, live: &Vec<PathBuf>| random.below(live.len() as u64) as usize;
    match random.below(4) {
        0 => {
            let n = *next;
            *next += 1;
            let path = store.join(format!("f{}/a{n}.txt", n % 10));
            support::drop_in(
                path.parent().unwrap(),
                &format!("a{n}.txt"),
                &numbered(n, 0),
            );
            live.push(path);
        }
        1 if !live.is_empty() => {
            let path = &live[pick(random, live)];
            let n: u64 = path.file_stem().unwrap().to_str().unwrap()[1..]
                .parse()
                .unwrap();
            // Written in place, not renamed in: the watcher waits for the close.
            std::fs::write(path, numbered(n, random.below(1000) + 1)).unwrap();
        }
        2 if !live.is_empty() => {
            let i = pick(random, live);
            let n = *next;
            *next += 1;
            let to = store.join(format!("f{}/a{n}.txt", random.below(10)));
            std::fs::rename(&live[i], &to).unwrap();
            live[i] = to;
        }
        _ if !live.is_empty() => {
            let i = pick(random, live);
            std::fs::remove_file(live.swap_remove(i)).unwrap();
        }
        _ => {}
    }
}

/// Every article file of the store.
fn files_of(store: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(store)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

const STORE: u64 = 3000;

#[test]
fn changes_racing_the_start_up_scan_are_all_published() {
    let dir: TempDir = site(CONFIG);
    store_of(dir.path(), STORE);
    let out = tidings(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = dir.path().join("articles");
    let mut live = files_of(&store);
    let mut next = STORE;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);

    // From the moment of launch, a change every 3 ms for the first 1.5 seconds: through
    // opening the index, the start-up scan and the first moments of serving.
    let mut d = Daemon::spawn_in(dir, support::tidings_command);
    for _ in 0..500 {
        mutate(&store, &mut random, &mut live, &mut next);
        std::thread::sleep(Duration::from_millis(3));
    }
    d.wait_log("listening on http://");
    settles_to_a_fresh_build(d.path());
}

#[test]
fn a_daemon_killed_at_random_moments_settles_to_a_fresh_build_after_restart() {
    let dir: TempDir = site(CONFIG);
    store_of(dir.path(), STORE / 3);
    let store = dir.path().join("articles");
    let mut live = files_of(&store);
    let mut next = STORE;
    let mut random = Random(0x0123_4567_89ab_cdef);

    let mut dir = Some(dir);
    for _ in 0..5 {
        let mut d = Daemon::spawn_in(dir.take().unwrap(), support::tidings_command);
        // Changes from launch on, killed without warning between 0.1 and 2 seconds later.
        let changes = 30 + random.below(600);
        for _ in 0..changes {
            mutate(&store, &mut random, &mut live, &mut next);
            std::thread::sleep(Duration::from_millis(3));
        }
        d.signal(libc::SIGKILL);
        d.wait();
        // And a few while it is down.
        for _ in 0..random.below(20) {
            mutate(&store, &mut random, &mut live, &mut next);
        }
        dir = Some(d.into_dir());
    }
    let mut d = Daemon::spawn_in(dir.take().unwrap(), support::tidings_command);
    d.wait_log("listening on http://");
    settles_to_a_fresh_build(d.path());
}

// ---------------------------------------------------------------------------------------
// The first start: the store indexed by a child process
// ---------------------------------------------------------------------------------------

/// The child processes of `pid`, as /proc lists them.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[test]
fn a_first_start_is_indexed_by_a_child_whose_report_the_daemon_takes_as_its_own() {
    let dir = site(CONFIG);
    store_of(dir.path(), 50);
    std::fs::write(dir.path().join("articles/one-line.txt"), "only one line").unwrap();
    let mut d = Daemon::start_in(dir);
    d.wait_log("first start: the store was indexed by a child process");
    let started = d.wait_log("start-up: ");
    assert!(started.contains("50 articles indexed (50 new"), "{started}");
    // The rejection the child found is the daemon's: warned once, counted once.
    let warned = d.wait_log("one-line.txt");
    assert!(
        warned.contains("WARN") && warned.contains("no section"),
        "{warned}"
    );
    assert_eq!(rejected_metric(&d), 1);
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("第49篇"));
    assert!(children_of(d.pid()).is_empty(), "the child is gone");

    // A restart on the index the child built needs no child.
    assert!(d.stop().success());
    let mut d = Daemon::start_in(d.into_dir());
    let started = d.wait_log("start-up: ");
    assert!(started.contains("50 articles indexed (0 new"), "{started}");
    let logs = d.logs(Duration::from_millis(200));
    assert!(!logs.iter().any(|l| l.contains("first start")), "{logs:?}");
}

/// The daemon's child once it runs `tidings build` (before its exec, a signal would meet
/// the handler it inherited from the daemon).
fn building_child(d: &Daemon) -> u32 {
    support::eventually(|| {
        children_of(d.pid())
            .into_iter()
            .find(|child| {
                std::fs::read(format!("/proc/{child}/cmdline"))
                    .is_ok_and(|line| line.split(|b| *b == 0).any(|arg| arg == b"--json-report"))
            })
            .ok_or_else(|| "no child process running `build --json-report` yet".to_string())
    })
}

/// A stop during the first indexing: the daemon exits 0 without having served, and the
/// next start finishes the index. `group`: the child is signalled too, as `systemctl
/// stop` and a terminal's Ctrl-C do; else the daemon alone (`kill $MAINPID`), which
/// passes the stop on to its child.
fn stop_during_the_first_indexing(group: bool) {
    let dir = site(CONFIG);
    store_of(dir.path(), STORE);
    let mut d = Daemon::spawn_in(dir, support::tidings_command);
    let child = building_child(&d);
    if group {
        // SAFETY: kill(2) on the daemon's own child; no memory is involved.
        assert_eq!(
            unsafe { libc::kill(child as libc::pid_t, libc::SIGTERM) },
            0
        );
    }
    d.signal(libc::SIGTERM);
    assert!(d.wait().success());
    d.wait_log("was stopped by SIGTERM: stopping");
    let logs = d.logs(Duration::ZERO);
    assert!(!logs.iter().any(|l| l.contains("listening on")), "{logs:?}");
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists(),
        "the child is gone"
    );

    let mut d = Daemon::start_in(d.into_dir());
    d.wait_log("start-up: ");
    settles_to_a_fresh_build(d.path());
}

#[test]
fn a_stop_to_the_group_during_the_first_indexing_ends_both_with_exit_0() {
    stop_during_the_first_indexing(true);
}

#[test]
fn a_stop_to_the_daemon_alone_during_the_first_indexing_is_passed_to_its_child() {
    stop_during_the_first_indexing(false);
}
