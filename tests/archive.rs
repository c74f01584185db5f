//! Feed archives (RFC 5005 §4, DESIGN §2 "Archives"): from the current document of `all`,
//! of a section (its sub-section's articles included) and of a keyword (spelt in both
//! scripts), following `prev-archive` to the first page reaches every article of the feed
//! exactly once, in every format — over real HTTP from `tidings run`, and in the files
//! `tidings build --all-feeds` writes (the default build writes none). Every page reads
//! with feedparser (`bozo == 0`) and xmllint, and newsboat reads every page the daemon
//! serves as a feed of its own. While the daemon runs, new articles (a
//! back-dated one too) change only the newest pages, and a removal shrinks its own page
//! and leaves the later ones byte for byte as they were.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tidings::config::Format;
use tidings::feeds::feed::article_guid;

use crate::support::daemon::Daemon;
use crate::support::newsboat::Newsboat;
use crate::support::{self, program, python_with};

/// `feeds.items`: small, so that a handful of articles makes several pages.
const ITEMS: usize = 2;
const BASE: &str = "http://127.0.0.1";

fn config() -> String {
    format!("[site]\nbase_url = \"{BASE}\"\n[feeds]\nitems = {ITEMS}\n[server]\nlisten = \"127.0.0.1:0\"\n")
}

/// The feeds under test: their folders below `feeds.output`.
const ALL: &str = "all";
const SECTION: &str = "section/时政";
const KEYWORD: &str = "keyword/重庆市";

/// One article of the store: file name (arrival order in a build is by path), section
/// breadcrumb, keyword, and an optional date line.
struct Put {
    name: &'static str,
    sections: &'static str,
    keyword: &'static str,
    date: Option<&'static str>,
}

const fn put(name: &'static str, sections: &'static str, keyword: &'static str) -> Put {
    Put {
        name,
        sections,
        keyword,
        date: None,
    }
}

/// Seven articles: in 時政 itself and in its sub-section 高層動態, the keyword 重慶市
/// in Traditional and in Simplified, and one article in neither feed.
const FIRST: [Put; 7] = [
    put("a0", "時政>高層動態", "重慶市"),
    put("a1", "時政", "重庆市"),
    put("a2", "時政>高層動態", "上海市"),
    put("a3", "經濟", "重慶市"),
    put("a4", "時政", "重慶市"),
    put("a5", "時政>高層動態", "上海市"),
    put("a6", "時政", "重庆市"),
];

fn text_of(p: &Put) -> String {
    let heading = p.sections.rsplit('>').next().unwrap();
    let date = p.date.map(|d| format!("{d}\n")).unwrap_or_default();
    format!(
        "首頁>{} {heading}\n標題{}\n{date}正文第一段。\n正文第二段。\n關鍵詞:{}\n",
        p.sections, p.name, p.keyword
    )
}

fn write(store: &Path, p: &Put) {
    support::drop_in(store, &format!("{}.txt", p.name), &text_of(p));
}

/// Whether an article belongs to a feed.
fn member(feed: &str, p: &Put) -> bool {
    match feed {
        ALL => true,
        SECTION => p.sections.starts_with("時政"),
        KEYWORD => matches!(p.keyword, "重慶市" | "重庆市"),
        _ => unreachable!(),
    }
}

fn guids(feed: &str, articles: &[&Put]) -> BTreeSet<String> {
    (articles.iter())
        .filter(|p| member(feed, p))
        .map(|p| article_guid(p.name))
        .collect()
}

/// One archive page as read: its path below `feeds.output` and its items' ids.
#[derive(Debug, Clone, PartialEq)]
struct Page {
    rel: String,
    ids: Vec<String>,
}

/// The path below `feeds.output` of one of the site's feed URLs.
fn rel_of(url: &str) -> String {
    let path = url
        .strip_prefix(&format!("{BASE}/feeds/"))
        .unwrap_or_else(|| panic!("{url} is not a feed URL of the site"));
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// A document's RFC 5005 links (rel → URL), whether it is marked as an archive, and its
/// items' ids.
fn read_doc(bytes: &[u8], format: Format) -> (BTreeMap<String, String>, bool, Vec<String>) {
    match format {
        Format::Rss => {
            let channel = rss::Channel::read_from(bytes).unwrap();
            let links = (channel.atom_ext().unwrap().links().iter())
                .map(|l| (l.rel().to_string(), l.href().to_string()))
                .collect();
            let marked = channel
                .extensions()
                .get("fh")
                .is_some_and(|m| m.contains_key("archive"));
            let ids = (channel.items().iter())
                .map(|i| i.guid().unwrap().value().to_string())
                .collect();
            (links, marked, ids)
        }
        Format::Atom => {
            let feed = atom_syndication::Feed::read_from(bytes).unwrap();
            let links = (feed.links().iter())
                .map(|l| (l.rel().to_string(), l.href().to_string()))
                .collect();
            let marked = feed
                .extensions()
                .get("fh")
                .is_some_and(|m| m.contains_key("archive"));
            let ids = feed.entries().iter().map(|e| e.id().to_string()).collect();
            (links, marked, ids)
        }
        Format::Json => {
            let feed: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let mut links = BTreeMap::new();
            links.insert(
                "self".into(),
                feed["feed_url"].as_str().unwrap().to_string(),
            );
            let ext = &feed["_rfc5005"];
            for rel in ["current", "prev-archive", "next-archive"] {
                if let Some(href) = ext[rel].as_str() {
                    links.insert(rel.to_string(), href.to_string());
                }
            }
            let ids = (feed["items"].as_array().unwrap().iter())
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect();
            (links, ext["archive"] == true, ids)
        }
    }
}

/// Follows `prev-archive` from the current document of `feed` to the first archive page,
/// reading each with `read` (a path below `feeds.output` → its bytes); the pages, newest
/// first. Each page is marked as an archive, names the current document, and links back
/// to the page it was reached from; the first has no `prev-archive`.
fn walk(read: &dyn Fn(&str) -> Vec<u8>, feed: &str, format: Format) -> Vec<Page> {
    try_walk(read, feed, format).unwrap_or_else(|why| panic!("{why}"))
}

/// [`walk`], with what is wrong as an error: while the daemon publishes, a walk may read
/// the documents of two versions (a page completed between two requests).
fn try_walk(
    read: &dyn Fn(&str) -> Vec<u8>,
    feed: &str,
    format: Format,
) -> Result<Vec<Page>, String> {
    let current = format!("{feed}/{}", format.file_name());
    let (links, marked, _) = read_doc(&read(&current), format);
    if marked {
        return Err(format!("{current} is marked as an archive"));
    }
    let mut next = links.get("prev-archive").map(|u| rel_of(u));
    let mut pages: Vec<Page> = Vec::new();
    while let Some(rel) = next {
        if pages.len() >= 100 {
            return Err(format!("{feed}: prev-archive links go round"));
        }
        let (links, marked, ids) = read_doc(&read(&rel), format);
        let newer = pages.last().map(|p| p.rel.clone());
        let found = |rel: &str| links.get(rel).map(|u| rel_of(u));
        let want = [
            ("self", Some(rel.clone())),
            ("current", Some(current.clone())),
            ("next-archive", newer),
        ];
        for (name, want) in want {
            if found(name) != want {
                return Err(format!("{rel}: {name} is {:?}, not {want:?}", found(name)));
            }
        }
        if !marked {
            return Err(format!("{rel} is not marked as an archive"));
        }
        next = found("prev-archive");
        pages.push(Page { rel, ids });
    }
    let name = tidings::model::topic::archive_name(1, format);
    match pages.last() {
        Some(first) if first.rel == format!("{feed}/archive/{name}") => Ok(pages),
        _ => Err(format!("{current}: the walk ends at {:?}", pages.last())),
    }
}

/// Every article of the feed exactly once across its pages.
fn assert_each_once(pages: &[Page], want: &BTreeSet<String>, what: &str) {
    let all: Vec<&String> = pages.iter().flat_map(|p| &p.ids).collect();
    let unique: BTreeSet<String> = all.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        all.len(),
        unique.len(),
        "{what}: an article twice: {pages:?}"
    );
    assert_eq!(&unique, want, "{what}: {pages:?}");
}

/// The titles each archive page of `feed` holds after a build of `articles` (arrival by
/// path): the feed's articles in arrival order, `ITEMS` a page, each page newest
/// arrival first; a page is complete with the arrival that fills it, so a feed whose
/// count is a multiple of `ITEMS` has an empty open page.
fn page_titles(feed: &str, articles: &[&Put]) -> BTreeMap<String, Vec<String>> {
    let members: Vec<&&Put> = articles.iter().filter(|p| member(feed, p)).collect();
    let mut pages: Vec<Vec<String>> = members
        .chunks(ITEMS)
        .map(|c| c.iter().rev().map(|p| format!("標題{}", p.name)).collect())
        .collect();
    if members.len() % ITEMS == 0 {
        pages.push(Vec::new());
    }
    (pages.into_iter().zip(1..))
        .map(|(titles, n)| (format!("{feed}/archive/{n}"), titles))
        .collect()
}

#[test]
fn build_all_feeds_writes_every_archive_page_and_the_links_reach_every_article() {
    let xmllint = program("xmllint", support::INSTALL_XMLLINT);
    let python = python_with("feedparser", support::INSTALL_FEEDPARSER);
    let dir = support::site(&config());
    let store = dir.path().join("articles");
    for p in &FIRST {
        write(&store, p);
    }
    let feeds = dir.path().join("feeds");
    // The default build writes no archive file: the daemon renders them on request.
    support::ok(dir.path(), &["build"]);
    let archives = |root: &Path| -> Vec<std::path::PathBuf> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| p.parent().is_some_and(|d| d.ends_with("archive")))
            .collect()
    };
    assert_eq!(archives(&feeds), Vec::<std::path::PathBuf>::new());
    support::ok(dir.path(), &["build", "--all-feeds"]);

    let articles: Vec<&Put> = FIRST.iter().collect();
    let read = |rel: &str| std::fs::read(feeds.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut expected = BTreeMap::new();
    for feed in [ALL, SECTION, KEYWORD] {
        for format in Format::ALL {
            let pages = walk(&read, feed, format);
            assert_each_once(
                &pages,
                &guids(feed, &articles),
                &format!("{feed} {format:?}"),
            );
        }
        expected.extend(page_titles(feed, &articles));
    }
    // Every page is there and in order, and reads as a feed (bozo == 0).
    support::check_feeds(
        &python,
        &feeds,
        &expected,
        &dir.path().join("expected.json"),
    );
    let xml: Vec<_> = archives(&feeds)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    assert!(xml.len() >= 2 * 4, "{xml:?}");
    let out = std::process::Command::new(xmllint)
        .arg("--noout")
        .args(&xml)
        .output()
        .unwrap();
    assert!(out.status.success(), "xmllint: {out:?}");
    // 上海市 has exactly `ITEMS` articles: a complete page, and an empty open one.
    let page = |n: u32| {
        feeds
            .join("keyword/上海市/archive")
            .join(format!("{n}.xml"))
    };
    assert!(page(1).is_file() && page(2).is_file() && !page(3).exists());

    // Files once written are kept current by a plain `build`: two arrivals (one
    // back-dated) and a removal rewrite the pages they are on and no other.
    let bytes = |dir: &str| -> BTreeMap<String, Vec<u8>> {
        (std::fs::read_dir(feeds.join(dir).join("archive")).unwrap())
            .map(|e| e.unwrap())
            .map(|e| {
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    };
    let before = bytes(ALL);
    let new = [
        put("b0", "經濟", "上海市"),
        Put {
            date: Some("2001年01月01日08:00"),
            ..put("b1", "經濟", "上海市")
        },
    ];
    for p in &new {
        write(&store, p);
    }
    std::fs::remove_file(store.join("a2.txt")).unwrap();
    support::ok(dir.path(), &["build"]);
    let after = bytes(ALL);
    let mut changed: Vec<&String> = (after.iter())
        .filter(|(name, b)| before.get(*name) != Some(b))
        .map(|(name, _)| name)
        .collect();
    changed.sort();
    // a2 was on page 2; page 4 (a6) is completed by b0, and b1, back-dated, opens page 5.
    let want = [
        "2.atom.xml",
        "2.json",
        "2.xml",
        "4.atom.xml",
        "4.json",
        "4.xml",
    ];
    let want: Vec<String> = (want.iter().map(|s| s.to_string()))
        .chain(["5.atom.xml", "5.json", "5.xml"].map(String::from))
        .collect();
    assert_eq!(changed, want.iter().collect::<Vec<_>>());
    let mut articles: Vec<&Put> = FIRST.iter().filter(|p| p.name != "a2").collect();
    articles.extend(&new);
    for format in Format::ALL {
        let pages = walk(&read, ALL, format);
        assert_each_once(&pages, &guids(ALL, &articles), &format!("all {format:?}"));
    }
}

/// A file below `feeds.output` as the daemon serves it: 200 and its bytes.
fn served(d: &Daemon, rel: &str) -> support::http::Reply {
    let reply = d.get(&format!(
        "/feeds/{}",
        tidings::feeds::feed::encode_path(rel)
    ));
    assert_eq!(reply.status, 200, "{rel}");
    reply
}

/// The archive pages of a feed over HTTP, oldest first.
fn pages_over_http(d: &Daemon, feed: &str, format: Format) -> Vec<Page> {
    let read = |rel: &str| served(d, rel).body.into_bytes();
    let mut pages = walk(&read, feed, format);
    pages.reverse();
    pages
}

/// newsboat reads each archive page of `feed` (RSS and Atom, over HTTP) as a feed: on
/// each, the items the walk found there; across them, every article of the feed once.
fn newsboat_reads_the_archive(d: &Daemon, feed: &str, articles: &[&Put]) {
    for format in [Format::Rss, Format::Atom] {
        // A home per format: newsboat keeps one item per guid across all its feeds.
        let home = d.path().join("newsboat").join(feed).join(format.key());
        let newsboat = Newsboat::new(&home);
        let pages = pages_over_http(d, feed, format);
        let url_of = |rel: &str| {
            d.url(&format!(
                "/feeds/{}",
                tidings::feeds::feed::encode_path(rel)
            ))
        };
        let urls: Vec<String> = pages.iter().map(|p| url_of(&p.rel)).collect();
        let items = newsboat.reload(&urls);
        for page in &pages {
            let url = url_of(&page.rel);
            let got: BTreeSet<&str> = (items.iter().filter(|i| i.feed == url))
                .map(|i| i.guid.as_str())
                .collect();
            let want: BTreeSet<&str> = page.ids.iter().map(String::as_str).collect();
            assert_eq!(got, want, "newsboat on {url}: {items:?}");
        }
        let read: Vec<String> = items.into_iter().map(|i| i.guid).collect();
        let unique: BTreeSet<String> = read.iter().cloned().collect();
        assert_eq!(read.len(), unique.len(), "{feed} {format:?}: {read:?}");
        assert_eq!(unique, guids(feed, articles), "{feed} {format:?}");
    }
}

/// (ETag, Cache-Control) of each archive page of `all` in RSS, oldest first.
fn etags(d: &Daemon) -> Vec<(String, String)> {
    (pages_over_http(d, ALL, Format::Rss).iter())
        .map(|p| {
            let reply = served(d, &p.rel);
            let header = |n: &str| reply.header(n).unwrap_or("").to_string();
            (header("etag"), header("cache-control"))
        })
        .collect()
}

/// Waits until the archive pages of `all` hold exactly `articles` on `pages` pages.
fn wait_for_articles(d: &Daemon, articles: &[&Put], pages: usize) {
    let want = guids(ALL, articles);
    support::eventually(|| {
        let read = |rel: &str| served(d, rel).body.into_bytes();
        let walked = try_walk(&read, ALL, Format::Rss)?;
        let got: BTreeSet<String> = walked.iter().flat_map(|p| p.ids.clone()).collect();
        match got == want && walked.len() == pages {
            true => Ok(()),
            false => Err(format!("archive of all: {walked:?}")),
        }
    });
}

#[test]
fn the_daemon_serves_archives_and_only_the_newest_pages_change() {
    let dir = support::site(&config());
    let store = dir.path().join("articles");
    for p in &FIRST {
        write(&store, p);
    }
    let d = Daemon::start_in(dir);
    let mut articles: Vec<&Put> = FIRST.iter().collect();
    wait_for_articles(&d, &articles, 4);
    for feed in [ALL, SECTION, KEYWORD] {
        for format in Format::ALL {
            let pages = pages_over_http(&d, feed, format);
            assert_each_once(
                &pages,
                &guids(feed, &articles),
                &format!("{feed} {format:?}"),
            );
        }
    }
    for feed in [ALL, SECTION, KEYWORD] {
        newsboat_reads_the_archive(&d, feed, &articles);
    }

    // A complete page: strong ETag, 304, gzip under its own ETag, cached long; the open
    // page is cached as feeds are.
    let before = etags(&d);
    assert_eq!(before.len(), 4, "{before:?}");
    let (etag, cache) = &before[0];
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(cache, "public, max-age=2592000");
    assert_ne!(&before[3].1, cache, "the open page is not cached long");
    let url = d.url("/feeds/all/archive/1.xml");
    let again = support::http::request("GET", &url, &[("if-none-match", etag)], None);
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let zipped = support::http::request("GET", &url, &[("accept-encoding", "gzip")], None);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_ne!(zipped.header("etag"), Some(etag.as_str()));
    assert_eq!(
        d.get("/feeds/all/archive/1.atom.xml")
            .header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert_eq!(d.get("/feeds/all/archive/9.xml").status, 404);
    assert_eq!(d.get("/feeds/all/archive/01.xml").status, 404);

    // Two arrivals, one back-dated to 2001: both land on the open page (and the page it
    // fills); the complete pages keep their bytes.
    let new = [
        put("a7", "時政", "重慶市"),
        Put {
            date: Some("2001年01月01日08:00"),
            ..put("a8", "時政>高層動態", "重庆市")
        },
    ];
    for p in &new {
        write(&d.store(), p);
        articles.push(p);
    }
    let newest_before = before.len();
    // Page 4 is completed by one of them, the other opens page 5.
    wait_for_articles(&d, &articles, 5);
    let after = etags(&d);
    assert_eq!(after[..newest_before - 1], before[..newest_before - 1]);
    let pages = pages_over_http(&d, ALL, Format::Rss);
    let back_dated = article_guid("a8");
    let on = pages
        .iter()
        .position(|p| p.ids.contains(&back_dated))
        .unwrap()
        + 1;
    assert!(
        on >= newest_before,
        "the back-dated article is on page {on}: {pages:?}"
    );
    for feed in [ALL, SECTION, KEYWORD] {
        for format in Format::ALL {
            let pages = pages_over_http(&d, feed, format);
            assert_each_once(
                &pages,
                &guids(feed, &articles),
                &format!("{feed} {format:?}"),
            );
        }
    }

    // A removal from page 1: that page shrinks, every later page keeps its bytes.
    std::fs::remove_file(d.store().join("a0.txt")).unwrap();
    articles.retain(|p| p.name != "a0");
    wait_for_articles(&d, &articles, 5);
    let removed = etags(&d);
    assert_ne!(removed[0], after[0], "page 1 shrank");
    assert_eq!(removed[1..], after[1..]);
    let pages = pages_over_http(&d, ALL, Format::Rss);
    assert_eq!(pages[0].ids, [article_guid("a1")]);
    for feed in [ALL, SECTION, KEYWORD] {
        for format in Format::ALL {
            let pages = pages_over_http(&d, feed, format);
            assert_each_once(
                &pages,
                &guids(feed, &articles),
                &format!("{feed} {format:?}"),
            );
        }
    }
}
