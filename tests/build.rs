//! `tidings build` and `tidings check` end to end: the real binary on a store in a
//! temporary folder, and the feeds it writes read back by real clients (Python
//! feedparser, xmllint, the rss and atom_syndication crates).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

use crate::support;

use crate::support::{page_export, program, python_with, SEED, SEED_ID};

/// A store, a config and the folders tidings writes, all in one temporary folder.
struct Site {
    dir: TempDir,
}

impl Site {
    fn new() -> Site {
        Site::with_config("")
    }

    /// A site holding the seed article (at mtime 0).
    fn with_seed() -> Site {
        let site = Site::new();
        site.put(&format!("{SEED_ID}.txt"), SEED, 0);
        site
    }

    /// The seed and a second article in another section, built once.
    fn built_with_two_articles() -> Site {
        let site = Site::with_seed();
        site.put(
            "b/x1.txt",
            page_export("時政>高層動態", "標題一", "北京市"),
            10,
        );
        site.build();
        site
    }

    fn with_config(extra: &str) -> Site {
        let base = "base_url = \"https://news.example\"\n";
        let config = match extra.strip_prefix("[site]\n") {
            Some(rest) => format!("[site]\n{base}{rest}\n"),
            None => format!("[site]\n{base}{extra}\n"),
        };
        Site {
            dir: support::site(&config),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn store(&self) -> PathBuf {
        self.path("articles")
    }

    fn feeds(&self) -> PathBuf {
        self.path("feeds")
    }

    /// Writes an article file with a given modification time (seconds after 2020-01-01).
    fn put(&self, rel: &str, bytes: impl AsRef<[u8]>, at: u64) {
        let path = self.store().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        set_mtime(&path, at);
    }

    fn tidings(&self, args: &[&str]) -> Output {
        let out = support::tidings(self.dir.path(), args);
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: support::text(&out.stdout),
            stderr: support::text(&out.stderr),
        }
    }

    /// `tidings build --all-feeds`: these tests read every feed's files.
    fn build(&self) -> Output {
        let out = self.tidings(&["build", "--all-feeds"]);
        assert_eq!(out.code, 0, "{out:?}");
        out
    }

    /// Every feed of the manifest, across its pages.
    fn manifest(&self) -> Vec<Value> {
        support::manifest_feeds(|rel| std::fs::read(self.feeds().join(rel)).unwrap())
    }

    fn manifest_feed(&self, kind: &str, key: &str) -> Option<Value> {
        self.manifest()
            .into_iter()
            .find(|f| f["kind"] == kind && f["key"] == key)
    }

    fn rss(&self, rel: &str) -> rss::Channel {
        let bytes = std::fs::read(self.feeds().join(rel)).unwrap();
        rss::Channel::read_from(&bytes[..]).unwrap()
    }

    fn atom(&self, rel: &str) -> atom_syndication::Feed {
        let bytes = std::fs::read(self.feeds().join(rel)).unwrap();
        atom_syndication::Feed::read_from(&bytes[..]).unwrap()
    }

    /// Every file below `feeds/` with its modification time and bytes.
    fn snapshot(&self) -> BTreeMap<PathBuf, (SystemTime, Vec<u8>)> {
        walkdir::WalkDir::new(self.feeds())
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let meta = e.metadata().unwrap();
                (
                    e.path().to_owned(),
                    (meta.modified().unwrap(), std::fs::read(e.path()).unwrap()),
                )
            })
            .collect()
    }
}

#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn set_mtime(path: &Path, at: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800 + at);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn guids(channel: &rss::Channel) -> Vec<String> {
    channel
        .items()
        .iter()
        .map(|i| i.guid().unwrap().value().to_string())
        .collect()
}

#[test]
fn seed_build_publishes_every_feed() {
    let site = Site::with_seed();
    let out = site.build();
    assert!(
        out.stdout.contains("1 articles indexed (1 new"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("feeds: 6 written"), "{}", out.stdout);

    let keys: BTreeSet<(String, String)> = site
        .manifest()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().into(),
                f["key"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("all", ""),
        ("section", "党派·声音"),
        ("section", "党派·声音/统一战线"),
        ("keyword", "重庆市"),
        ("keyword", "中央统战工作会议精神"),
        ("keyword", "基层统战工作"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(keys, expected);

    let section = site.manifest_feed("section", "党派·声音/统一战线").unwrap();
    assert_eq!(section["title"], "黨派·聲音 > 統一戰線 · tidings");
    assert_eq!(section["items"], 1);
    assert_eq!(
        section["files"]["rss"],
        "section/党派·声音/统一战线/rss.xml"
    );
    for f in ["rss.xml", "atom.xml", "feed.json"] {
        assert!(site.feeds().join("keyword/重庆市").join(f).is_file());
        assert!(site.feeds().join("section/党派·声音").join(f).is_file());
    }
    for f in ["index.json", "opml.xml", "index.html"] {
        assert!(site.feeds().join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(site.feeds().join("index.html")).unwrap();
    assert!(html.contains(
        "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"tidings\" href=\"https://news.example/feeds/all/rss.xml\">"
    ));

    let channel = site.rss("all/rss.xml");
    assert_eq!(channel.items().len(), 1);
    let item = &channel.items()[0];
    assert_eq!(
        item.title(),
        Some("把握要求積極作為 推動基層統戰工作創新發展")
    );
    assert_eq!(
        item.link(),
        Some("https://news.example/articles/000_8c7ef1c8e8c43d29")
    );
    assert!(item.pub_date().unwrap().ends_with("+0800"));
    let atom = site.atom("section/党派·声音/atom.xml");
    assert_eq!(atom.entries().len(), 1);
    assert!(atom.updated().timestamp() > 0);
}

#[test]
fn second_build_touches_nothing() {
    let site = Site::built_with_two_articles();
    let before = site.snapshot();
    std::thread::sleep(Duration::from_millis(50));
    let out = site.build();
    assert!(
        out.stdout.contains("feeds: 0 written, 0 unchanged"),
        "{}",
        out.stdout
    );
    assert_eq!(site.snapshot(), before);
}

#[test]
fn deleting_state_keeps_every_guid_and_every_byte() {
    let site = Site::built_with_two_articles();
    let before = site.snapshot();
    let guids_before = guids(&site.rss("all/rss.xml"));
    std::fs::remove_dir_all(site.path("state")).unwrap();
    let out = site.build();
    assert!(out.stdout.contains("feeds: 0 written"), "{}", out.stdout);
    assert_eq!(guids(&site.rss("all/rss.xml")), guids_before);
    assert_eq!(site.snapshot(), before);
}

#[test]
fn deleted_feed_files_are_restored() {
    let site = Site::with_seed();
    site.build();
    std::fs::remove_dir_all(site.feeds().join("keyword")).unwrap();
    site.build();
    assert!(site.feeds().join("keyword/重庆市/atom.xml").is_file());
}

#[test]
fn traditional_and_simplified_meet_in_one_feed() {
    let site = Site::with_seed();
    site.put(
        "s1.txt",
        page_export("党派·声音>统一战线", "简体一", "重庆市"),
        10,
    );
    site.put(
        "s2.txt",
        page_export("党派·声音>统一战线", "简体二", "重庆市、发展"),
        20,
    );
    site.build();
    let kw = site.manifest_feed("keyword", "重庆市").unwrap();
    assert_eq!(kw["items"], 3);
    assert_eq!(
        kw["title"], "重庆市 · tidings",
        "the spelling seen most wins"
    );
    let section = site.manifest_feed("section", "党派·声音/统一战线").unwrap();
    assert_eq!(section["items"], 3);
    assert_eq!(site.manifest().len(), 7);
    let titles: Vec<String> = site
        .rss("keyword/重庆市/rss.xml")
        .items()
        .iter()
        .map(|i| i.title().unwrap().to_string())
        .collect();
    assert_eq!(
        titles,
        [
            "简体二",
            "简体一",
            "把握要求積極作為 推動基層統戰工作創新發展"
        ]
    );
}

#[test]
fn editing_keeps_the_guid_and_moves_updated_only() {
    let site = Site::new();
    site.put(
        "a.txt",
        page_export("時政>高層動態", "舊標題", "北京市"),
        100,
    );
    site.put(
        "b.txt",
        page_export("時政>高層動態", "另一篇", "北京市"),
        50,
    );
    site.build();
    let before = site.atom("all/atom.xml");
    let entry = before
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "舊標題")
        .unwrap()
        .clone();

    site.put(
        "a.txt",
        page_export("時政>高層動態", "新標題", "北京市"),
        5000,
    );
    let out = site.build();
    assert!(out.stdout.contains("1 changed"), "{}", out.stdout);
    let after = site.atom("all/atom.xml");
    let edited = after
        .entries()
        .iter()
        .find(|e| e.id() == entry.id())
        .unwrap();
    assert_eq!(edited.title().as_str(), "新標題");
    assert_eq!(
        edited.published(),
        entry.published(),
        "publication time is kept"
    );
    assert!(edited.updated() > entry.updated(), "updated moves");
    let untouched = after
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "另一篇")
        .unwrap();
    let untouched_before = before
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "另一篇")
        .unwrap();
    assert_eq!(untouched.updated(), untouched_before.updated());

    // Same content again with only a new mtime: nothing moves.
    set_mtime(&site.store().join("a.txt"), 9000);
    let snapshot = site.snapshot();
    let out = site.build();
    assert!(out.stdout.contains("0 changed"), "{}", out.stdout);
    assert_eq!(site.snapshot(), snapshot);
}

#[test]
fn deleting_an_article_removes_it_and_its_empty_feeds() {
    let site = Site::new();
    site.put("a.txt", page_export("時政>高層動態", "甲", "北京市"), 100);
    site.put("b.txt", page_export("時政>國際", "乙", "上海市"), 50);
    site.build();
    assert!(site.feeds().join("keyword/上海市/rss.xml").is_file());
    std::fs::remove_file(site.store().join("b.txt")).unwrap();
    let out = site.build();
    assert!(out.stdout.contains("1 removed"), "{}", out.stdout);
    assert!(!site.feeds().join("keyword/上海市").exists());
    assert!(!site.feeds().join("section/时政/国际").exists());
    assert!(site.manifest_feed("keyword", "上海市").is_none());
    let all = site.rss("all/rss.xml");
    assert_eq!(all.items().len(), 1);
    assert_eq!(all.items()[0].title(), Some("甲"));
}

#[test]
fn a_moved_file_keeps_its_publication_time() {
    let site = Site::new();
    site.put(
        "old/a.txt",
        page_export("時政>高層動態", "甲", "北京市"),
        100,
    );
    site.build();
    let before = guids(&site.rss("all/rss.xml"));
    let date = site.rss("all/rss.xml").items()[0]
        .pub_date()
        .unwrap()
        .to_string();
    std::fs::create_dir_all(site.store().join("new")).unwrap();
    std::fs::rename(
        site.store().join("old/a.txt"),
        site.store().join("new/a.txt"),
    )
    .unwrap();
    set_mtime(&site.store().join("new/a.txt"), 999);
    let out = site.build();
    assert!(
        out.stdout.contains("0 new, 0 changed, 0 removed"),
        "{}",
        out.stdout
    );
    assert_eq!(guids(&site.rss("all/rss.xml")), before);
    assert_eq!(site.rss("all/rss.xml").items()[0].pub_date().unwrap(), date);
}

#[test]
fn bad_files_get_one_line_each_and_the_rest_is_published() {
    let site = Site::with_config("[store]\nmax_bytes = 20000");
    site.put(&format!("{SEED_ID}.txt"), SEED, 0);
    site.put(
        "garbage.txt",
        [0u8, 159, 146, 150, 0, 0, 1, 2, 3, 255, 254, 0],
        1,
    );
    site.put("empty.txt", b"", 2);
    site.put("notitle.txt", "首頁>時政\n".as_bytes(), 3);
    site.put("nosection.txt", "一個標題\n正文。\n".as_bytes(), 4);
    site.put(
        "big.txt",
        page_export("時政>要聞", &"長".repeat(8000), "x"),
        5,
    );
    site.put("broken.json", b"{\"id\": \"j1\", \"title\": ", 6);
    site.put(&format!("dup/{SEED_ID}.txt"), SEED, 7);
    site.put("ok.txt", page_export("時政>要聞", "好文章", "北京市"), 8);

    let out = site.build();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("rejected: "))
        .collect();
    assert_eq!(lines.len(), 7, "{}", out.stderr);
    for name in [
        "garbage.txt",
        "empty.txt",
        "notitle.txt",
        "nosection.txt",
        "big.txt",
        "broken.json",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(name)).count(),
            1,
            "{name}: {}",
            out.stderr
        );
    }
    let dup = lines.iter().find(|l| l.contains("dup/")).unwrap();
    assert!(
        dup.contains(&format!("articles/{SEED_ID}.txt")),
        "names both paths: {dup}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("big.txt") && l.contains("max_bytes")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("broken.json") && l.contains("line 1")),
        "{lines:?}"
    );
    assert!(out.stdout.contains("2 articles indexed"), "{}", out.stdout);
    assert!(out.stdout.contains("7 rejected"), "{}", out.stdout);
    assert_eq!(site.rss("all/rss.xml").items().len(), 2);

    let strict = site.tidings(&["build", "--strict"]);
    assert_eq!(strict.code, 1, "{strict:?}");
}

#[test]
fn an_article_gone_bad_keeps_its_last_good_version() {
    let site = Site::new();
    site.put(
        "a.txt",
        page_export("時政>高層動態", "好標題", "北京市"),
        100,
    );
    site.build();
    site.put("a.txt", b"\xff\xfe\x00\x00\x00", 200);
    let out = site.build();
    assert!(out.stderr.contains("a.txt"), "{}", out.stderr);
    assert_eq!(site.rss("all/rss.xml").items()[0].title(), Some("好標題"));
    // Fixed later: published again.
    site.put(
        "a.txt",
        page_export("時政>高層動態", "修好了", "北京市"),
        300,
    );
    site.build();
    assert_eq!(site.rss("all/rss.xml").items()[0].title(), Some("修好了"));
}

#[test]
fn fatal_errors_exit_2_naming_the_key_or_path() {
    let site = Site::with_config("[feeds]\nitmes = 5");
    let out = site.tidings(&["build"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("itmes") && out.stderr.contains("config.toml"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    let site = Site::with_config("[site]\ntimezone = \"Mars/Olympus\"");
    let out = site.tidings(&["check"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("site.timezone"), "{}", out.stderr);

    let site = Site::new();
    site.put("a.txt", page_export("時政>要聞", "甲", "北京市"), 1);
    std::fs::write(site.feeds(), "a file where the output folder should be").unwrap();
    let out = site.tidings(&["build"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("feeds.output"), "{}", out.stderr);

    let site = Site::with_config("[store]\npath = \"no-such-store\"");
    let out = site.tidings(&["build"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("store.path") && out.stderr.contains("no-such-store"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_reports_without_writing() {
    let site = Site::new();
    site.put("ok.txt", page_export("時政>要聞", "甲", "北京市"), 1);
    let out = site.tidings(&["check"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("1 articles ok, 0 rejected"),
        "{}",
        out.stdout
    );
    site.put("bad.txt", b"", 2);
    let out = site.tidings(&["check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("bad.txt"));
    assert!(!site.path("state").exists() && !site.feeds().exists());
}

#[test]
fn a_generated_corpus_reads_back_in_real_clients() {
    let xmllint = program("xmllint", support::INSTALL_XMLLINT);
    let python = python_with("feedparser", support::INSTALL_FEEDPARSER);

    let site = Site::new();
    let spec = tidings_corpus::CorpusSpec::new(400, 11);
    let generated = tidings_corpus::generate(&site.store(), &spec).unwrap();
    assert!(generated.iter().any(|a| a.json));
    assert!(generated.iter().any(|a| a.encoding == "big5"));
    assert!(generated.iter().any(|a| a.encoding == "gb18030"));
    assert!(generated.iter().any(|a| a.crlf));
    let out = site.tidings(&["build", "--strict", "--all-feeds"]);
    assert_eq!(out.code, 0, "every generated article parses: {out:?}");
    assert!(
        out.stdout
            .contains(&format!("{} articles indexed", generated.len())),
        "{}",
        out.stdout
    );

    let expected = support::expectations(&generated, 50);
    let feeds = site.manifest();
    assert_eq!(
        feeds.len(),
        expected.len(),
        "one feed per section node and folded keyword"
    );
    for f in feeds {
        let rss_path = f["files"]["rss"].as_str().unwrap();
        let dir = rss_path.trim_end_matches("/rss.xml");
        let titles = &expected[dir];
        assert_eq!(f["items"].as_u64().unwrap() as usize, titles.len(), "{dir}");
        // The crates' own readers.
        let channel = site.rss(rss_path);
        let got: Vec<&str> = channel.items().iter().map(|i| i.title().unwrap()).collect();
        assert_eq!(&got, titles, "{dir}");
        let atom = site.atom(f["files"]["atom"].as_str().unwrap());
        assert_eq!(atom.entries().len(), titles.len());
    }

    // feedparser: bozo == 0, entry counts and titles, for every file of every feed.
    support::check_feeds(
        &python,
        &site.feeds(),
        &expected,
        &site.path("expected.json"),
    );

    // xmllint: every XML document is well-formed.
    let xml: Vec<PathBuf> = walkdir::WalkDir::new(site.feeds())
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.path().extension().is_some_and(|x| x == "xml"))
        .map(|e| e.path().to_owned())
        .collect();
    assert!(xml.len() > 10);
    let out = Command::new(xmllint)
        .arg("--noout")
        .args(&xml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The daemon's updates skip hidden files and folders, as the full scan does: a draft in
/// `.drafts/` never enters the feeds only to leave them at the next scan.
#[test]
fn an_update_skips_hidden_folders_as_the_scan_does() {
    let site = Site::new();
    site.put(&format!(".drafts/{SEED_ID}.txt"), SEED, 10);
    let config = tidings::config::Config::from_file(&site.path("config.toml")).unwrap();
    let index = tidings::feeds::index::Index::open(&config.state.path).unwrap();
    let mut indexer = tidings::feeds::publish::Indexer::new(&index, config);
    let report = indexer
        .update(&[
            site.store().join(".drafts"),
            site.store().join(format!(".drafts/{SEED_ID}.txt")),
        ])
        .unwrap();
    assert_eq!((report.new, report.rejected.len()), (0, 0), "{report}");
    assert_eq!(index.article_count(), 0);
    site.put(&format!("visible/{SEED_ID}.txt"), SEED, 10);
    let report = indexer.update(&[site.store().join("visible")]).unwrap();
    assert_eq!(report.new, 1, "{report}");
}
