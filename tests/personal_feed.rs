//! Personal feeds `/me/{token}/…` (DESIGN §5) end to end: the real `tidings run` on a
//! loopback port with the outbox transport, subscribers added over the control socket,
//! the feed read over real HTTP, by feedparser (`support::check_feeds`) and by newsboat,
//! and compared with what `digest preview` lists for the same subscriber.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::daemon::Daemon;
use crate::support::http::request;
use crate::support::newsboat::Newsboat;
use crate::support::{
    check_feeds, drop_in, eventually, outbox, page_export, python_json, python_with, store,
    INSTALL_FEEDPARSER,
};
use crate::web::{csrf_of, form, key, link_in, local, token_of};

/// `site.base_url` of the test site; links in mails start with it and are rewritten to
/// the daemon's real loopback address.
const BASE_URL: &str = "https://news.example";

/// (sections, title, keyword) of the store. The reader follows the section 時政 (with its
/// sub-section), the keyword 上海市 and the term 量子计算 (Simplified; the title is
/// Traditional).
const ARTICLES: [(&str, &str, &str); 6] = [
    ("時政>高層動態", "高層會議召開", "北京市"),
    ("時政", "時政評論一則", "廣州市"),
    ("經濟>金融", "上海股市上漲", "上海市"),
    ("科技", "量子計算新突破", "深圳市"),
    ("體育", "足球比賽結果", "天津市"),
    ("經濟", "重慶經濟數據", "重慶市"),
];
const SELECTED: [&str; 4] = [
    "高層會議召開",
    "時政評論一則",
    "上海股市上漲",
    "量子計算新突破",
];

fn start_daemon() -> Daemon {
    let dir = store();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        format!(
            "[site]\nbase_url = \"{BASE_URL}\"\ntitle = \"新聞站\"\n\
             [server]\nlisten = \"127.0.0.1:0\"\n\
             [mail]\nfrom = \"新聞站 <digest@news.example>\"\n\
             [digest]\ntimezone = \"Asia/Shanghai\"\nsecret_file = \"{}\"\n",
            d.join("secret.key").display()
        ),
    )
    .unwrap();
    Daemon::start_in(dir)
}

/// The titles a digest preview lists (`* ` items of the text part).
fn preview_titles(d: &Daemon, email: &str) -> (BTreeSet<String>, String) {
    let text = d.ok(&["digest", "preview", email]);
    let titles = text
        .lines()
        .filter_map(|l| l.strip_prefix("* "))
        .map(str::to_string)
        .collect();
    (titles, text)
}

/// Item titles of a feed document, in order, as feedparser reads RSS and Atom.
fn feed_titles(python: &Path, body: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc");
    std::fs::write(&path, body).unwrap();
    if body.trim_start().starts_with('{') {
        let doc: Value = serde_json::from_str(body).unwrap();
        return doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
    }
    let script = "import feedparser, json, sys\n\
                  p = feedparser.parse(open(sys.argv[1], 'rb').read())\n\
                  print(json.dumps([e.title for e in p.entries]))";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The plain-text and HTML parts of a captured digest, as Python's `email` decodes them.
fn mail_parts(path: &Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
print(json.dumps({
    'text': m.get_body(preferencelist=('plain',)).get_content(),
    'html': m.get_body(preferencelist=('html',)).get_content(),
}))
"#;
    python_json(script, path)
}

const FILES: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];

#[test]
fn a_personal_feed_is_the_digests_selection_and_ends_with_the_subscription() {
    let feedparser = python_with("feedparser", INSTALL_FEEDPARSER);
    let d = start_daemon();
    d.ok(&[
        "subscriber",
        "add",
        "reader@example.com",
        "--section",
        "時政",
        "--keyword",
        "上海市",
        "--term",
        "量子计算",
    ]);
    d.ok(&[
        "subscriber",
        "add",
        "other@example.com",
        "--keyword",
        "天津市",
    ]);
    for (i, (sections, title, keyword)) in ARTICLES.iter().enumerate() {
        drop_in(
            &d.store(),
            &format!("a{i}.txt"),
            &page_export(sections, title, keyword),
        );
    }
    let all = d.wait_for("/feeds/all/feed.json", |b| {
        ARTICLES.iter().all(|(_, t, _)| b.contains(t))
    });

    // The digest's selection: sections with sub-sections, keywords and terms.
    let (digest, preview) = preview_titles(&d, "reader@example.com");
    let selected: BTreeSet<String> = SELECTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(digest, selected, "{preview}");
    let feed_url = link_in(&preview, "/me/");
    let (other, other_preview) = preview_titles(&d, "other@example.com");
    assert_eq!(other, BTreeSet::from(["足球比賽結果".to_string()]));
    let other_feed = local(&d, &link_in(&other_preview, "/me/"));
    assert!(feed_url.ends_with("/rss.xml"), "{feed_url}");
    let folder = local(&d, feed_url.strip_suffix("rss.xml").unwrap());

    // Each format holds the same articles, newest first as in every feed.
    let all: Value = serde_json::from_str(&all).unwrap();
    let newest_first: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .filter(|t| selected.contains(t))
        .collect();
    let saved = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(saved.path().join("personal")).unwrap();
    for file in FILES {
        let reply = request("GET", &format!("{folder}{file}"), &[], None);
        assert_eq!(reply.status, 200, "{file}: {}", reply.body);
        assert_eq!(
            feed_titles(&feedparser, &reply.body),
            newest_first,
            "{file}"
        );
        // Whose selection, without the full address.
        assert!(reply.body.contains("r***@example.com"), "{}", reply.body);
        assert!(!reply.body.contains("reader@"), "{}", reply.body);
        assert!(
            reply
                .header("cache-control")
                .unwrap()
                .starts_with("private"),
            "{:?}",
            reply.headers
        );
        std::fs::write(saved.path().join("personal").join(file), &reply.body).unwrap();
    }
    check_feeds(
        &feedparser,
        saved.path(),
        &serde_json::json!({ "personal": newest_first }),
        &saved.path().join("expected.json"),
    );

    // A strong ETag, 304 on a revalidation, gzip when asked.
    let rss = format!("{folder}rss.xml");
    let first = request("GET", &rss, &[], None);
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"'), "strong: {etag}");
    let again = request("GET", &rss, &[("if-none-match", &etag)], None);
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let gzipped = request("GET", &rss, &[("accept-encoding", "gzip")], None);
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));

    // A real feed reader on the XML formats.
    newsboat_reads(&d, &folder, &selected);

    // Tokens that do not verify are unknown URLs; so is a file that is no feed.
    let manage_token_url = {
        let key = key(&d);
        let t = tidings::digests::token::sign(
            &key,
            tidings::digests::token::Purpose::Manage,
            "reader@example.com",
            i64::MAX,
        );
        d.url(&format!("/me/{t}/rss.xml"))
    };
    for url in [
        d.url("/me/not-a-token/rss.xml"),
        manage_token_url,
        format!("{folder}index.html"),
    ] {
        assert_eq!(request("GET", &url, &[], None).status, 404, "{url}");
    }

    // The link is in the digest mail, in both parts; a digest sent changes nothing.
    d.ok(&["digest", "send", "--now"]);
    let mails = eventually(|| match outbox(d.path()) {
        files if files.len() >= 2 => Ok(files),
        files => Err(format!("{files:?}")),
    });
    let mail = mails
        .iter()
        .map(|p| mail_parts(p))
        .find(|m| m["text"].as_str().unwrap().contains("上海股市上漲"))
        .expect("the reader's digest");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    assert_eq!(link_in(text, "/me/"), feed_url, "{text}");
    assert_eq!(link_in(html, "/me/"), feed_url, "{html}");
    let after_send = request("GET", &rss, &[("if-none-match", &etag)], None);
    assert_eq!(after_send.status, 304);

    // On /manage too; a change of topics there changes what the same URL serves.
    let manage = local(&d, &link_in(text, "/manage?token="));
    let page = request("GET", &manage, &[], None);
    assert_eq!(page.status, 200);
    let feed_folder = feed_url.strip_suffix("rss.xml").unwrap();
    for file in FILES {
        let link = format!("{feed_folder}{file}");
        assert!(
            page.body.contains(&link),
            "{link} on /manage: {}",
            page.body
        );
    }
    // The mail's link carries `&lang=`, so the page sets the language cookie too.
    let csrf = csrf_of(&d, manage.strip_prefix(d.base()).unwrap());
    let form = form(&[
        ("csrf", &csrf.token),
        ("token", token_of(&manage)),
        ("keyword", "重慶市"),
        ("preset", "0 8 * * *"),
        ("tz", "Asia/Shanghai"),
    ]);
    let saved_form = request(
        "POST",
        &d.url("/manage"),
        &[("cookie", &csrf.cookie), ("origin", d.base())],
        Some(form),
    );
    assert_eq!(saved_form.status, 200, "{}", saved_form.body);
    let changed = request("GET", &rss, &[("if-none-match", &etag)], None);
    assert_eq!(changed.status, 200, "the selection changed");
    assert_eq!(feed_titles(&feedparser, &changed.body), ["重慶經濟數據"]);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    // Unsubscribing (RFC 8058 one-click) revokes the URL: 410 in every format.
    let unsubscribe = local(&d, &link_in(text, "/unsubscribe?token="));
    let out = request(
        "POST",
        &unsubscribe,
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    for file in FILES {
        let reply = request("GET", &format!("{folder}{file}"), &[], None);
        assert_eq!(reply.status, 410, "{file}: {}", reply.body);
    }

    // So does `subscriber remove`.
    let reply = request("GET", &other_feed, &[], None);
    assert_eq!(reply.status, 200);
    assert_eq!(feed_titles(&feedparser, &reply.body), ["足球比賽結果"]);
    d.ok(&["subscriber", "remove", "other@example.com"]);
    assert_eq!(request("GET", &other_feed, &[], None).status, 410);
}

/// newsboat subscribed to the RSS and the Atom document of `folder` in turn lists
/// `titles`. One cache per format: newsboat keeps an item once by its guid, which the
/// formats share. newsboat reads no JSON Feed (its issue #426); `check_feeds` holds
/// `feed.json` to JSON Feed 1.1 instead.
fn newsboat_reads(d: &Daemon, folder: &str, titles: &BTreeSet<String>) {
    for file in ["rss.xml", "atom.xml"] {
        let newsboat = Newsboat::new(&d.path().join("newsboat").join(file));
        let url = format!("{folder}{file}");
        let got: BTreeSet<String> = newsboat
            .reload_titles(std::slice::from_ref(&url))
            .into_iter()
            .collect();
        assert_eq!(&got, titles, "newsboat on {url}");
    }
}

/// A term's match older than the last [`TERM_WALK`] arrivals: the walk (before the search
/// index is built) cannot see it; the search index finds it, so the feed is then the
/// digest's selection over the whole store.
///
/// [`TERM_WALK`]: tidings::digests::personal::TERM_WALK
#[test]
fn terms_are_found_in_the_whole_store_once_the_search_index_is_built() {
    use tidings::digests::personal::{select, TERM_WALK};
    use tidings::feeds::search::Search;
    use tidings::model::subscriber::Topics;
    let dir = store();
    let articles = dir.path().join("articles");
    // Arrival in a build is by path: "a…" first, the "b…" after it.
    std::fs::write(
        articles.join("a-old.txt"),
        page_export("科技", "量子計算的舊文章", "深圳市"),
    )
    .unwrap();
    for i in 0..TERM_WALK {
        std::fs::write(
            articles.join(format!("b{i:05}.txt")),
            page_export("體育", &format!("比賽結果{i}"), "天津市"),
        )
        .unwrap();
    }
    let (config, index) =
        crate::support::build_in_process(dir.path(), "[site]\nbase_url = \"http://127.0.0.1\"\n");
    let topics = Topics::from_input(&[], &[], &["量子计算".into()]).unwrap();
    let titles = |search: Option<&Search>| -> Vec<String> {
        (select(&index, search, &topics, 20).unwrap().into_iter())
            .map(|r| r.article.title)
            .collect()
    };
    let search = Search::new(&config.state.path);
    assert_eq!(
        titles(Some(&search)),
        Vec::<String>::new(),
        "not built yet: the walk"
    );
    search.build(&index).unwrap();
    assert_eq!(titles(Some(&search)), ["量子計算的舊文章"]);
    assert_eq!(titles(None), Vec::<String>::new());
}
