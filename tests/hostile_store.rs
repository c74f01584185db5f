//! A store written by someone hostile or careless (DESIGN §1, "Bad input"): file names
//! that would forge report lines, articles past the limits of one article, a folder chain
//! thousands of levels deep. Each is reported in one clear line and the rest goes on.

use std::path::Path;

use crate::support::{article, page_export, site, text, tidings};

const CONFIG: &str = "[site]\nbase_url = \"https://news.example\"\n";

/// Lines of standard error that start with `rejected:`.
fn rejected_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("rejected:"))
        .collect()
}

#[test]
fn file_names_cannot_split_or_forge_report_lines() {
    let dir = site(CONFIG);
    put(dir.path(), "good.txt", &article("好文章", "北京市"));
    // Each is a one-line file, so each is rejected (no section).
    let names = [
        "new\nline.txt",
        "carriage\rreturn.txt",
        "escape\u{1b}[2J\u{1b}[31mred.txt",
        "x\nrejected: /etc/shadow: forged.txt",
    ];
    for name in names {
        // The forged one is a folder `x\nrejected: ` with `etc/shadow: forged.txt` in it.
        put(dir.path(), name, "only one line");
    }
    for command in ["check", "build"] {
        let out = tidings(dir.path(), &[command]);
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains(['\r', '\u{1b}']),
            "{command}: raw control characters reach the terminal: {stderr:?}"
        );
        let lines = rejected_lines(&stderr);
        assert_eq!(
            lines.len(),
            names.len(),
            "{command}: one line per file: {stderr}"
        );
        assert!(
            !stderr
                .lines()
                .any(|l| l.starts_with("rejected: /etc/shadow")),
            "{command}: a forged line: {stderr}"
        );
        for (shown, expected) in [
            ("new\\nline.txt", 1),
            ("carriage\\rreturn.txt", 1),
            ("escape\\u{1b}[2J\\u{1b}[31mred.txt", 1),
            ("x\\nrejected: /etc/shadow: forged.txt", 1),
        ] {
            assert_eq!(
                lines.iter().filter(|l| l.contains(shown)).count(),
                expected,
                "{command}: {shown} in {stderr}"
            );
        }
    }
}

/// `tidings build`, once the index just closed in this process has been let go of (sled
/// releases its lock a moment after the drop).
fn build_once_unlocked(dir: &Path) -> std::process::Output {
    crate::support::eventually(|| {
        let out = tidings(dir, &["build"]);
        match text(&out.stderr).contains("in use") {
            true => Err(text(&out.stderr)),
            false => Ok(out),
        }
    })
}

/// Writes `rel` under the store of `dir`.
fn put(dir: &Path, rel: &str, text: &str) {
    let path = dir.join("articles").join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_rejected_title_or_keyword_is_escaped_too() {
    // A JSON article may carry anything in its strings; an invalid id is named in the
    // reason, and must not break the line either.
    let dir = site(CONFIG);
    put(
        dir.path(),
        "bad.json",
        r#"{"id": "a/\u001b[31m\nrejected: forged", "title": "t", "sections": ["s"], "body": ["b"]}"#,
    );
    put(dir.path(), "ok.txt", &page_export("時政", "題", "詞"));
    let out = tidings(dir.path(), &["check"]);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert_eq!(rejected_lines(&stderr).len(), 1, "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("rejected: forged")),
        "{stderr}"
    );
}

/// A breadcrumb of `crumbs` sections below the home crumb.
fn deep_breadcrumb(crumbs: usize) -> String {
    let path: Vec<String> = (0..crumbs).map(|n| format!("欄{n}")).collect();
    format!("首頁>{}\n標題\n正文。\n關鍵詞:北京市\n", path.join(">"))
}

/// The `key`s of the manifest's feeds.
/// Every feed's key, across the manifest's pages.
fn manifest_keys(dir: &Path) -> Vec<String> {
    let feeds = dir.join("feeds");
    crate::support::manifest_feeds(|name| std::fs::read(feeds.join(name)).unwrap())
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_article_past_the_limits_is_rejected_in_one_line_and_the_rest_is_published() {
    let dir = site(CONFIG);
    put(dir.path(), "good.txt", &article("好文章", "上海市"));
    put(dir.path(), "deep.txt", &deep_breadcrumb(700));
    put(dir.path(), "deeper.txt", &deep_breadcrumb(4000));
    let many: Vec<String> = (0..65).map(|n| format!("詞{n}")).collect();
    put(
        dir.path(),
        "many.txt",
        &page_export("時政", "多詞", &many.join(" ")),
    );
    let long = "長".repeat(201);
    put(
        dir.path(),
        "long.txt",
        &page_export(&format!("時政>{long}"), "長名", "詞"),
    );
    for command in ["check", "build"] {
        let out = tidings(dir.path(), &[command]);
        let stderr = text(&out.stderr);
        let lines = rejected_lines(&stderr);
        assert_eq!(lines.len(), 4, "{command}: {stderr}");
        for (file, limit) in [
            ("deep.txt", "700 sections deep; the limit is 8"),
            ("deeper.txt", "4000 sections deep; the limit is 8"),
            ("many.txt", "65 keywords; the limit is 64"),
            (
                "long.txt",
                "a section name of 201 characters; the limit is 200",
            ),
        ] {
            assert!(
                lines.iter().any(|l| l.contains(file) && l.contains(limit)),
                "{command}: {file}: {stderr}"
            );
        }
        assert_eq!(
            out.status.code(),
            Some(u8::from(command == "check").into()),
            "{stderr}"
        );
    }
    assert!(manifest_keys(dir.path()).contains(&"上海市".to_string()));
    // Deleted, they leave nothing behind: the next build works as before.
    for file in ["deep.txt", "deeper.txt", "many.txt", "long.txt"] {
        std::fs::remove_file(dir.path().join("articles").join(file)).unwrap();
    }
    let out = tidings(dir.path(), &["build", "--strict"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn an_index_recorded_before_the_limits_is_healed_by_the_next_build() {
    use tidings::feeds::index::{Incoming, Index};
    use tidings::model::article::{Article, Block};
    let dir = site(CONFIG);
    put(dir.path(), "good.txt", &article("好文章", "上海市"));
    put(dir.path(), "deep.txt", &deep_breadcrumb(700));
    let deep = dir.path().join("articles/deep.txt");
    // What an older tidings recorded for deep.txt: all 700 sections, at the file's stamp,
    // so that a build sees the file as unchanged.
    {
        let index = Index::open(&dir.path().join("state")).unwrap();
        let meta = std::fs::metadata(&deep).unwrap();
        let article = Article {
            id: "deep".into(),
            title: "標題".into(),
            subtitle: None,
            original_title: None,
            sections: (0..700).map(|n| format!("欄{n}")).collect(),
            keywords: vec!["北京市".into()],
            editor: None,
            author: None,
            url: None,
            published: None,
            updated: None,
            body: vec![Block::Paragraph("正文。".into())],
            summary: None,
            image: None,
        };
        let stamp = tidings::feeds::store::stamp_of(&meta);
        let incoming = Incoming::new("deep.txt".into(), stamp, article, None, None, 0);
        index.apply(&[incoming], &[], &|_| true).unwrap();
        index.flush().unwrap();
    }
    let out = build_once_unlocked(dir.path());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    let lines = rejected_lines(&stderr);
    assert!(
        lines.len() == 1 && lines[0].contains("deep.txt") && lines[0].contains("700 sections deep"),
        "{stderr}"
    );
    let keys = manifest_keys(dir.path());
    assert!(!keys.iter().any(|k| k.starts_with("栏0")), "{keys:?}");
    assert!(keys.contains(&"上海市".to_string()), "{keys:?}");
    std::fs::remove_file(&deep).unwrap();
    let out = tidings(dir.path(), &["build", "--strict"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_feed_that_cannot_be_written_is_reported_and_the_rest_goes_on() {
    let dir = site(CONFIG);
    put(dir.path(), "a.txt", &article("甲", "北京市"));
    put(dir.path(), "b.txt", &article("乙", "上海市"));
    // A regular file where the keyword's folder would go (keyword feeds get files with
    // --all-feeds; without it they are rendered on request).
    std::fs::create_dir_all(dir.path().join("feeds/keyword")).unwrap();
    std::fs::write(dir.path().join("feeds/keyword/北京市"), "in the way").unwrap();
    let out = tidings(dir.path(), &["build", "--all-feeds"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("cannot publish:"))
        .collect();
    assert!(
        failed.len() == 1 && failed[0].contains("keyword/北京市"),
        "{stderr}"
    );
    for feed in ["all", "keyword/上海市"] {
        assert!(
            dir.path()
                .join("feeds")
                .join(feed)
                .join("rss.xml")
                .is_file(),
            "{feed}"
        );
    }
    // Out of the way, the next build writes it.
    std::fs::remove_file(dir.path().join("feeds/keyword/北京市")).unwrap();
    let out = tidings(dir.path(), &["build", "--all-feeds"]);
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("feeds/keyword/北京市/rss.xml").is_file());
}

/// Makes a chain of `depth` folders named `d` below `dir`, by relative steps (no path
/// handed to the kernel is longer than PATH_MAX); the bottom folder's path, when it can
/// be named.
fn deep_chain(dir: &Path, depth: usize) -> std::path::PathBuf {
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let mut at = std::fs::File::open(dir).unwrap();
    for _ in 0..depth {
        // SAFETY: mkdirat/openat on a descriptor we own and a NUL-terminated name.
        unsafe {
            assert_eq!(libc::mkdirat(at.as_raw_fd(), c"d".as_ptr(), 0o755), 0);
            let fd = libc::openat(
                at.as_raw_fd(),
                c"d".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            assert!(fd >= 0, "{}", std::io::Error::last_os_error());
            at = std::fs::File::from_raw_fd(fd);
        }
    }
    std::iter::once(dir.to_owned())
        .chain(std::iter::repeat("d".into()).take(depth))
        .collect()
}

#[test]
fn a_chain_of_folders_thousands_deep_is_read_and_watched_without_crashing() {
    let dir = site(&format!("{CONFIG}[server]\nlisten = \"127.0.0.1:0\"\n"));
    let store = dir.path().join("articles");
    put(dir.path(), "top.txt", &article("頂上", "北京市"));
    // 2,000 levels, just short of the longest path the kernel takes.
    std::fs::create_dir(store.join("near")).unwrap();
    let bottom = deep_chain(&store.join("near"), 2000);
    assert!(
        bottom.as_os_str().len() < 4090,
        "{}",
        bottom.as_os_str().len()
    );
    std::fs::write(bottom.join("bottom.txt"), article("谷底", "上海市")).unwrap();
    // And one that cannot be named at all: one line, and the rest goes on.
    std::fs::create_dir(store.join("far")).unwrap();
    deep_chain(&store.join("far"), 2500);
    for command in ["check", "build"] {
        let out = tidings(dir.path(), &[command]);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(u8::from(command == "check").into()),
            "{command}: {stderr}"
        );
        let lines = rejected_lines(&stderr);
        assert!(
            lines.len() == 1 && lines[0].contains("File name too long"),
            "{command}: {stderr}"
        );
    }
    assert!(manifest_keys(dir.path()).contains(&"上海市".to_string()));

    let daemon = crate::support::daemon::Daemon::start_in(dir);
    std::fs::write(bottom.join("later.txt"), article("更深", "廣州市")).unwrap();
    daemon.wait_for("/feeds/all/rss.xml", |b| b.contains("更深"));
}
