//! A newsroom's vocabulary (DESIGN §2 "A real newsroom's vocabulary"): a generated archive
//! with thousands of keywords, most on one article. Every keyword keeps its feed, served
//! over HTTP in all three formats with a strong ETag and 304, holding the right items;
//! the listings a person or a reader opens stay small; the manifest lists every feed
//! exactly once across its pages; `/keywords` finds a keyword whatever its script; one
//! article's change rewrites its own feeds and nothing else; `build --all-feeds` writes
//! every file, byte for byte what the daemon served.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde_json::Value;

use crate::support::daemon::Daemon;
use crate::support::{self, program, python_with};

/// Listings a person or a reader opens stay below this at any vocabulary (DESIGN §2).
const LISTING_LIMIT: u64 = 256 * 1024;
const ARTICLES: usize = 1200;

fn config() -> String {
    "[site]\nbase_url = \"http://127.0.0.1\"\ntitle = \"新聞站\"\n\
     [server]\nlisten = \"127.0.0.1:0\"\n"
        .to_string()
}

/// Every file below `dir` with its modification time.
fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().to_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// One GET over a shared client: status, ETag and body.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    if_none_match: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut req = client.get(url);
    if let Some(etag) = if_none_match {
        req = req.header("if-none-match", etag);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, etag, res.bytes().await.unwrap().to_vec())
}

#[test]
fn every_keyword_of_a_newsroom_keeps_its_feed_and_the_listings_stay_small() {
    let python = python_with("feedparser", support::INSTALL_FEEDPARSER);
    let xmllint = program("xmllint", support::INSTALL_XMLLINT);
    let dir = support::site(&config());
    let spec = tidings_corpus::CorpusSpec::newsroom(ARTICLES, 5);
    let generated = tidings_corpus::generate(&dir.path().join("articles"), &spec).unwrap();
    let expected = support::expectations(&generated, 50);
    let keywords = expected
        .keys()
        .filter(|d| d.starts_with("keyword/"))
        .count();
    assert!(
        keywords > 2500,
        "a newsroom vocabulary: {keywords} keywords"
    );

    // A plain build writes `all` and the sections; keyword feeds are left to the daemon.
    let out = support::ok(dir.path(), &["build", "--strict"]);
    assert!(
        out.contains(&format!("{ARTICLES} articles indexed")),
        "{out}"
    );
    let feeds_dir = dir.path().join("feeds");
    assert!(!feeds_dir.join("keyword").exists());
    assert!(feeds_dir.join("all/rss.xml").is_file());

    // Listings: small, whatever the vocabulary; the full keyword list in its own OPML.
    for name in ["index.html", "opml.xml", "index.json"] {
        let bytes = size(&feeds_dir.join(name));
        assert!(bytes <= LISTING_LIMIT, "{name}: {bytes} bytes");
    }
    let full_opml = std::fs::read_to_string(feeds_dir.join("opml-keywords.xml")).unwrap();
    assert_eq!(full_opml.matches("/feeds/keyword/").count(), keywords);
    let html = std::fs::read_to_string(feeds_dir.join("index.html")).unwrap();
    assert!(html.contains("id=\"keyword-search\""));
    assert!(html.contains("/keywords"));

    // The manifest: every feed exactly once across its pages, each page small.
    let manifest = support::manifest_feeds(|rel| std::fs::read(feeds_dir.join(rel)).unwrap());
    let mut listed = BTreeMap::new();
    for f in &manifest {
        let rss = f["files"]["rss"].as_str().unwrap();
        let folder = rss.trim_end_matches("/rss.xml").to_string();
        assert!(
            listed.insert(folder.clone(), f.clone()).is_none(),
            "{folder} twice"
        );
    }
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for page in walkdir::WalkDir::new(feeds_dir.join("index")) {
        let page = page.unwrap();
        if page.file_type().is_file() {
            assert!(
                size(page.path()) <= LISTING_LIMIT,
                "{}",
                page.path().display()
            );
        }
    }

    let mut daemon = Daemon::start_in(dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let base = daemon.base().to_string();

    // Every file of every feed over HTTP; unchanged, a 304 for its own ETag.
    let mirror = tempfile::tempdir().unwrap();
    let served: HashMap<String, (String, Vec<u8>)> = rt.block_on(async {
        let mut served = HashMap::new();
        for f in listed.values() {
            for (_, rel) in f["files"].as_object().unwrap() {
                let rel = rel.as_str().unwrap();
                let url = format!("{base}/feeds/{}", tidings::feeds::feed::encode_path(rel));
                let (status, etag, body) = fetch(&client, &url, None).await;
                assert_eq!(status, 200, "{rel}");
                assert!(
                    etag.starts_with('"') && !etag.starts_with("W/"),
                    "{rel}: {etag}"
                );
                let (again, etag_again, _) = fetch(&client, &url, Some(&etag)).await;
                assert_eq!((again, etag_again.as_str()), (304, etag.as_str()), "{rel}");
                let path = mirror.path().join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &body).unwrap();
                served.insert(rel.to_string(), (etag, body));
            }
        }
        served
    });
    assert_eq!(served.len(), 3 * expected.len());

    // What was served holds the right items, newest first, in every format...
    for (folder, titles) in &expected {
        let body = |name: &str| &served[&format!("{folder}/{name}")].1;
        let rss = rss::Channel::read_from(&body("rss.xml")[..]).unwrap();
        let got: Vec<&str> = rss.items().iter().map(|i| i.title().unwrap()).collect();
        assert_eq!(&got, titles, "{folder}/rss.xml");
        let atom = atom_syndication::Feed::read_from(&body("atom.xml")[..]).unwrap();
        let got: Vec<&str> = atom.entries().iter().map(|e| e.title().as_str()).collect();
        assert_eq!(&got, titles, "{folder}/atom.xml");
        let json: Value = serde_json::from_slice(body("feed.json")).unwrap();
        let got: Vec<&str> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap())
            .collect();
        assert_eq!(&got, titles, "{folder}/feed.json");
    }
    // ...and readers take it: feedparser (bozo == 0) on the headline feeds and a share of
    // the keywords, the long tail among them, and xmllint on the tail's XML.
    let sample: BTreeMap<&String, &Vec<String>> = expected
        .iter()
        .enumerate()
        .filter(|(n, (d, _))| !d.starts_with("keyword/") || n % 40 == 0)
        .map(|(_, kv)| kv)
        .collect();
    assert!(sample.values().filter(|t| t.len() == 1).count() > 30);
    let expect_file = mirror.path().join("expected.json");
    support::check_feeds(&python, mirror.path(), &sample, &expect_file);
    let tail: Vec<PathBuf> = expected
        .iter()
        .filter(|(d, titles)| d.starts_with("keyword/") && titles.len() == 1)
        .take(200)
        .flat_map(|(d, _)| ["rss.xml", "atom.xml"].map(|f| mirror.path().join(d).join(f)))
        .collect();
    assert_eq!(tail.len(), 400, "keywords on one article");
    let out = Command::new(xmllint)
        .arg("--noout")
        .args(&tail)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `/keywords`: T/S-folded prefix search, most used first, bounded.
    let search = |q: &str| -> Vec<Value> {
        let url = format!("{base}/keywords?q={}", tidings::feeds::feed::encode_path(q));
        let (status, _, body) = rt.block_on(fetch(&client, &url, None));
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let traditional = search("重慶");
    assert!(!traditional.is_empty() && traditional.len() <= 20);
    assert_eq!(traditional, search("重庆"), "the same folded search");
    assert!(
        traditional.iter().any(|k| k["key"] == "重庆市"),
        "{traditional:?}"
    );
    for k in &traditional {
        assert!(k["key"].as_str().unwrap().starts_with("重庆"), "{k}");
        let folder = format!("keyword/{}", k["key"].as_str().unwrap());
        assert_eq!(k["files"]["rss"], format!("{folder}/rss.xml"));
        assert_eq!(k["items"], listed[&folder]["items"]);
    }
    let items: Vec<u64> = traditional
        .iter()
        .map(|k| k["items"].as_u64().unwrap())
        .collect();
    assert!(items.windows(2).all(|w| w[0] >= w[1]), "{items:?}");
    let rare = expected
        .iter()
        .find(|(d, t)| d.starts_with("keyword/") && !d.contains('~') && t.len() == 1)
        .map(|(d, _)| d.trim_start_matches("keyword/").to_string())
        .unwrap();
    assert!(
        search(&rare).iter().any(|k| k["key"] == rare.as_str()),
        "{rare}"
    );
    let home = rt.block_on(fetch(&client, &format!("{base}/"), None));
    assert!(home.2.len() as u64 <= LISTING_LIMIT);

    // One new article: its own feeds' files and manifest pages change, nothing else.
    let feeds_dir = daemon.path().join("feeds");
    let before = mtimes(&feeds_dir);
    let new_keyword = "新聞站獨有的關鍵詞";
    daemon.forget_logs();
    support::drop_in(
        &daemon.store(),
        "newest.txt",
        &support::page_export(
            "時政>高層動態",
            "最新的一篇",
            &format!("{new_keyword} 重慶市"),
        ),
    );
    // The round's summary comes once every file and listing is written.
    daemon.wait_log("articles indexed (1 new");
    let found = daemon.get("/keywords?q=%E6%96%B0%E9%97%BB%E7%AB%99");
    assert!(found.body.contains("新闻站独有的关键词"), "{}", found.body);
    let after = mtimes(&feeds_dir);
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(p, t)| before.get(*p) != Some(t))
        .map(|(p, _)| p.strip_prefix(&feeds_dir).unwrap().display().to_string())
        .collect();
    let own_pages: BTreeSet<String> = ["新闻站独有的关键词", "重庆市"]
        .iter()
        .map(|k| {
            let topic = tidings::model::topic::Topic::Keyword(k.to_string());
            tidings::model::topic::manifest_page_file(topic.manifest_page().unwrap())
        })
        .collect();
    let own_folders = ["all", "section/时政", "section/时政/高层动态"];
    for file in &changed {
        let folder = file.rsplit_once('/').map_or("", |(d, _)| d);
        let own = own_folders.contains(&folder)
            || own_pages.contains(file)
            || ["index.json", "index.html", "opml.xml"].contains(&file.as_str());
        assert!(own, "{file} changed for an article that is not in it");
    }
    assert!(changed.contains("all/rss.xml"), "{changed:?}");
    assert!(own_pages.iter().all(|p| changed.contains(p)), "{changed:?}");
    daemon.stop();

    // `--all-feeds` writes every file: the very bytes the daemon served.
    let dir = daemon.path().to_owned();
    support::eventually(|| {
        let out = support::tidings(&dir, &["build", "--all-feeds"]);
        match out.status.success() {
            true => Ok(()),
            false => Err(support::text(&out.stderr)),
        }
    });
    for (rel, (_, body)) in &served {
        let on_disk = std::fs::read(dir.join("feeds").join(rel)).unwrap();
        if rel.starts_with("all/") || rel.contains("/重庆市/") || rel.starts_with("section/时政/")
        {
            continue; // changed by the new article since
        }
        assert!(
            on_disk == *body,
            "{rel}: the file differs from what was served"
        );
    }
}
