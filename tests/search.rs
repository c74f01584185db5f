//! `/search` and the search and combined feeds (DESIGN §5) end to end: the real daemon
//! on a small store, over real HTTP, its feeds read by feedparser and newsboat, the page
//! used in headless Chromium in each language; and the index kept current while the
//! daemon runs, and kept across a restart.

use std::io::Read;
use std::sync::Arc;

use crate::support;
use crate::support::browser::{require_cjk_fonts, Browser, Renders};
use crate::support::daemon::Daemon;
use crate::support::http::{self, Reply};
use crate::support::{drop_in, seeded_site};
use tidings::i18n::Lang;

fn config_text() -> String {
    "[site]\nbase_url = \"http://127.0.0.1\"\ntitle = \"測試站\"\n[server]\nlisten = \"127.0.0.1:0\"\n"
        .to_string()
}

/// A page export with its own body (DESIGN §1a).
fn export(sections: &str, title: &str, body: &str, keywords: &str) -> String {
    let heading = sections.rsplit('>').next().unwrap();
    format!("首頁>{sections} {heading}\n{title}\n{body}\n關鍵詞:{keywords}\n")
}

/// The seed (黨派·聲音 > 統一戰線, 重慶 in its subtitle and body) and four more.
fn search_site() -> tempfile::TempDir {
    let dir = seeded_site(&config_text());
    let store = dir.path().join("articles");
    let put = |name: &str, text: String| std::fs::write(store.join(name), text).unwrap();
    put(
        "title.txt",
        export(
            "時政>高層動態",
            "重慶召開經濟工作會議",
            "會議討論了明年的安排。",
            "北京市",
        ),
    );
    put(
        "body.txt",
        export(
            "國際>亞洲",
            "一篇與城市無關標題的文章",
            "記者從重慶發回報道。",
            "亞洲",
        ),
    );
    // 重慶 and 慶市 both occur, 重慶市 does not: a false positive of the pairs.
    put(
        "pairs.txt",
        export("國際>歐洲", "標題裡有逗號", "重慶，慶市都在這裡。", "歐洲"),
    );
    put(
        "other.txt",
        export(
            "時政>高層動態",
            "完全不相干的新聞",
            "今天天氣很好。",
            "天氣",
        ),
    );
    dir
}

/// Waits until the search index answers (it is built after READY: 503 until then).
fn search_ready(d: &Daemon) {
    support::eventually(|| match d.get("/search/rss.xml?q=x").status {
        200 => Ok(()),
        503 => Err("still building".to_string()),
        other => panic!("/search/rss.xml: {other}"),
    });
}

fn titles(feed: &str) -> Vec<String> {
    let channel = ::rss::Channel::read_from(feed.as_bytes()).unwrap();
    channel
        .items()
        .iter()
        .map(|i| i.title().unwrap_or("").to_string())
        .collect()
}

fn search(d: &Daemon, query: &str) -> Vec<String> {
    let reply = d.get(&format!("/search/rss.xml?{query}"));
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    titles(&reply.body)
}

const SEED_TITLE: &str = "把握要求積極作為 推動基層統戰工作創新發展";

#[test]
fn search_and_combined_feeds_match_folded_terms_in_title_and_body() {
    let d = Daemon::start_in(search_site());
    search_ready(&d);

    // Simplified finds Traditional, in a title, a body and the seed's subtitle.
    let found = search(&d, "q=重庆");
    for title in [
        SEED_TITLE,
        "重慶召開經濟工作會議",
        "一篇與城市無關標題的文章",
        "標題裡有逗號",
    ] {
        assert!(found.contains(&title.to_string()), "{title}: {found:?}");
    }
    assert!(!found.contains(&"完全不相干的新聞".to_string()));
    // Pairs are only candidates: 重慶，慶市 does not hold 重庆市.
    let found = search(&d, "q=重庆市");
    assert!(!found.contains(&"標題裡有逗號".to_string()), "{found:?}");
    assert!(found.contains(&SEED_TITLE.to_string()), "{found:?}");
    // One character; every q must match; a q with a space is two terms.
    assert_eq!(search(&d, "q=逗"), ["標題裡有逗號"]);
    assert_eq!(search(&d, "q=重庆&q=明年"), ["重慶召開經濟工作會議"]);
    assert_eq!(search(&d, "q=重庆+明年"), ["重慶召開經濟工作會議"]);
    assert!(search(&d, "q=重庆&q=天气").is_empty());

    // Sections include their sub-sections; the path in either script.
    let mut children = search(&d, "q=重慶&section=國際/亞洲");
    children.extend(search(&d, "q=重慶&section=國際/歐洲"));
    children.sort();
    let mut parent = search(&d, "q=重慶&section=国际");
    parent.sort();
    assert_eq!(parent.len(), 2, "{parent:?}");
    assert_eq!(parent, children);
    // A combined feed: any section or keyword, with no q.
    let mut combined = search(&d, "section=黨派·聲音/統一戰線&keyword=北京市&keyword=天气");
    combined.sort();
    let mut expected = vec![
        SEED_TITLE.to_string(),
        "重慶召開經濟工作會議".to_string(),
        "完全不相干的新聞".to_string(),
    ];
    expected.sort();
    assert_eq!(combined, expected);
    // ...and with a q, every q as well.
    assert_eq!(
        search(&d, "section=黨派·聲音&keyword=北京市&q=會議"),
        search(&d, "keyword=北京市&section=党派·声音&q=会议"),
        "one normal form"
    );
    // An unknown section or keyword: an empty feed, which fills when such articles come.
    assert!(search(&d, "keyword=沒有這個詞").is_empty());

    // The self link carries the normal form of the query.
    let rss = d.get("/search/rss.xml?q=%E9%87%8D%E6%85%B6").body;
    assert!(
        rss.contains("href=\"http://127.0.0.1/search/rss.xml?q=%E9%87%8D%E5%BA%86\""),
        "{rss}"
    );
}

#[test]
fn search_feeds_have_etags_304_and_gzip() {
    let d = Daemon::start_in(search_site());
    search_ready(&d);
    let url = d.url("/search/atom.xml?q=重庆");
    let first = http::get(&url);
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"'), "strong: {etag}");
    let again = http::request("GET", &url, &[("if-none-match", &etag)], None);
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let (status, headers, gz) = raw_get(&url, &[("accept-encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    let mut body = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, first.body);
    assert_ne!(headers.get("etag").unwrap().to_str().unwrap(), etag);
    // Served again from the cache: the same bytes, the same ETag.
    assert_eq!(http::get(&url).header("etag"), Some(etag.as_str()));
}

/// GET with `headers`, the body as bytes (no decoding).
fn raw_get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.bytes().await.unwrap().to_vec())
    })
}

#[test]
fn bad_queries_get_a_400_with_the_reason() {
    let d = Daemon::start_in(search_site());
    search_ready(&d);
    let bad = |query: &str| -> Reply {
        let reply = d.get(&format!("/search/feed.json{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.body.lines().count(), 1, "one line: {}", reply.body);
        reply
    };
    assert_eq!(
        bad("").body,
        "bad query: empty query: give q=, section= or keyword=\n"
    );
    assert!(bad("?q=&lang=en").body.contains("empty query"));
    assert!(bad(&format!("?q={}", "長".repeat(101)))
        .body
        .contains("q: longer than 100 characters"));
    assert!(bad(&format!("?{}", "q=a&".repeat(40)))
        .body
        .contains("too many parameters"));
    assert!(bad("?q=a%01").body.contains("control character"));
    assert_eq!(d.get("/search/other.xml?q=a").status, 404);
    // The page shows the form for no query, the reason for a bad one.
    assert_eq!(d.get("/search").status, 200);
    for (language, reason) in [
        (
            "en",
            "This search cannot be run: q: longer than 100 characters",
        ),
        ("zh-TW", "無法執行這個搜尋：q 超過 100 個字"),
    ] {
        let page = http::request(
            "GET",
            &d.url(&format!("/search?q={}", "長".repeat(101))),
            &[("accept-language", language)],
            None,
        );
        assert_eq!(page.status, 400);
        assert!(page.body.contains(reason), "{}", page.body);
    }
}

#[test]
fn the_results_page_speaks_the_readers_language_and_links_its_feeds() {
    let d = Daemon::start_in(search_site());
    search_ready(&d);
    let page = http::request(
        "GET",
        &d.url("/search?q=經濟"),
        &[("accept-language", "zh-CN,zh;q=0.9")],
        None,
    );
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("<html lang=\"zh-Hans\">"), "{body}");
    assert!(body.contains("搜索“經濟”"), "{body}");
    assert!(body.contains("重慶召開經濟工作會議"));
    assert!(!body.contains("完全不相干的新聞"));
    assert!(
        body.contains("时政"),
        "the section in the reader's script: {body}"
    );
    assert!(body.contains("rel=\"alternate\" type=\"application/rss+xml\""));
    assert!(body.contains("href=\"/search/feed.json?q=%E7%BB%8F%E6%B5%8E\""));
    assert!(body.contains("href=\"/subscribe\""));
    // ?lang= wins and is remembered.
    let en = http::request(
        "GET",
        &d.url("/search?q=經濟&lang=en"),
        &[("accept-language", "zh-CN")],
        None,
    );
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en
        .header("set-cookie")
        .is_some_and(|c| c.starts_with("tidings_lang=en;")));
    let remembered = http::request(
        "GET",
        &d.url("/search?q=經濟"),
        &[
            ("cookie", "tidings_lang=zh-Hant"),
            ("accept-language", "en"),
        ],
        None,
    );
    assert!(
        remembered.body.contains("搜尋「經濟」"),
        "{}",
        remembered.body
    );
}

#[test]
fn feed_readers_read_search_and_combined_feeds() {
    let feedparser = support::python_with("feedparser", support::INSTALL_FEEDPARSER);
    let d = Daemon::start_in(search_site());
    search_ready(&d);
    let queries = [
        ("search-q", "q=重庆"),
        ("combined", "section=黨派·聲音&keyword=北京市&keyword=天氣"),
        ("both", "q=會議&section=時政&keyword=亞洲"),
    ];
    let mirror = d.path().join("search-feeds");
    let mut expected = serde_json::Map::new();
    for (folder, query) in queries {
        std::fs::create_dir_all(mirror.join(folder)).unwrap();
        for name in ["rss.xml", "atom.xml", "feed.json"] {
            let reply = d.get(&format!("/search/{name}?{query}"));
            assert_eq!(reply.status, 200);
            std::fs::write(mirror.join(folder).join(name), &reply.body).unwrap();
        }
        let titles = search(&d, query);
        assert!(!titles.is_empty(), "{query}");
        expected.insert(folder.to_string(), titles.into());
    }
    support::check_feeds(
        &feedparser,
        &mirror,
        &expected,
        &d.path().join("expect.json"),
    );

    let newsboat = support::newsboat::Newsboat::new(&d.path().join("newsboat"));
    let urls: Vec<String> = (queries.iter())
        .map(|(_, q)| format!("{}/search/rss.xml?{q}", d.base()))
        .collect();
    let read = newsboat.reload_titles(&urls);
    for title in [
        SEED_TITLE,
        "重慶召開經濟工作會議",
        "完全不相干的新聞",
        "一篇與城市無關標題的文章",
    ] {
        assert!(
            read.iter().any(|t| t == title),
            "newsboat lacks {title}: {read:?}"
        );
    }
}

#[test]
fn a_reader_searches_in_chromium_in_each_language() {
    require_cjk_fonts();
    let d = Daemon::start_in(search_site());
    search_ready(&d);
    let mut b = Browser::start();
    let mut renders = Renders::new(&d.path().join("screenshots"), "search");
    let text_of = |b: &mut Browser, js: &str| b.eval(js).unwrap().as_str().unwrap().to_string();
    for lang in Lang::ALL {
        let m = lang.messages();
        b.goto(&d.url(&format!("/search?lang={}", lang.tag())));
        b.wait("!!document.querySelector('#q')");
        assert_eq!(text_of(&mut b, "document.documentElement.lang"), lang.tag());
        assert_eq!(
            text_of(&mut b, "document.querySelector('h1').innerText"),
            m.search_title
        );
        // Typed and submitted as a reader would: the answer keeps the language.
        b.eval(
            "document.querySelector('#q').value = '重庆';
             document.querySelector('form[role=search]').submit(); true",
        )
        .unwrap();
        b.wait("document.querySelectorAll('ol.results li').length > 0");
        assert_eq!(text_of(&mut b, "document.documentElement.lang"), lang.tag());
        let heading = text_of(&mut b, "document.querySelector('h1').innerText");
        assert!(
            heading.starts_with(m.search_results_before.trim()) && heading.contains("重庆"),
            "{lang}: {heading}"
        );
        let found = text_of(
            &mut b,
            "[...document.querySelectorAll('ol.results li > a')].map(a => a.innerText).join('\\n')",
        );
        for title in [SEED_TITLE, "重慶召開經濟工作會議"] {
            assert!(found.contains(title), "{lang}: no {title} in {found}");
        }
        assert!(!found.contains("完全不相干的新聞"), "{lang}: {found}");
        // Autodiscovery: a feed reader pointed at the page finds the search's feeds.
        let feeds = text_of(
            &mut b,
            "[...document.querySelectorAll('link[rel=alternate]')].map(l => l.href).join(' ')",
        );
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            assert!(
                feeds.contains(&format!("/search/{file}?q=")),
                "{lang}: {feeds}"
            );
        }
        let body = text_of(&mut b, "document.body.innerText");
        assert!(body.contains(m.search_follow.trim()), "{lang}: {body}");
        renders.take(&mut b, lang.tag());
    }
    renders.assert_all_differ();
}

#[test]
fn the_index_follows_the_store_and_survives_a_restart() {
    let mut d = Daemon::start_in(search_site());
    search_ready(&d);
    let query = "/search/rss.xml?q=新到的重庆";
    assert!(search(&d, "q=新到的重庆").is_empty());
    drop_in(
        &d.store(),
        "new.txt",
        &export("時政>高層動態", "新到的重慶報道", "內容。", "重慶市"),
    );
    d.wait_for(query, |b| b.contains("新到的重慶報道"));
    std::fs::remove_file(d.store().join("new.txt")).unwrap();
    d.wait_for(query, |b| !b.contains("新到的重慶報道"));
    drop_in(
        &d.store(),
        "again.txt",
        &export("時政>高層動態", "再到的一篇", "新到的重庆消息。", "重慶市"),
    );
    d.wait_for(query, |b| b.contains("再到的一篇"));
    assert_eq!(d.stop().code(), Some(0));
    assert!(d.path().join("state/search.index").exists());
    // What a save cut short by a crash would leave.
    let stale = d.path().join("state/.search-cut-short.tmp");
    std::fs::write(&stale, b"partial").unwrap();

    // Read back at the next start: nothing to index again.
    let mut d = Daemon::start_in(d.into_dir());
    let ready = d.wait_log("search index ready");
    assert!(ready.contains("(0 indexed now)"), "{ready}");
    assert!(!stale.exists());
    assert_eq!(search(&d, "q=新到的重庆"), ["再到的一篇"]);

    // A damaged file (a disk that lost its second half) is named in a warning, and the
    // index is built afresh from the article index.
    assert_eq!(d.stop().code(), Some(0));
    let file = d.path().join("state/search.index");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let mut d = Daemon::start_in(d.into_dir());
    let warned = d.wait_log("building the search index afresh");
    assert!(warned.contains("search.index"), "{warned}");
    let ready = d.wait_log("search index ready");
    assert!(!ready.contains("(0 indexed now)"), "{ready}");
    assert_eq!(search(&d, "q=新到的重庆"), ["再到的一篇"]);
}

#[tokio::test]
async fn search_answers_503_until_its_index_is_built() {
    use tidings::daemon::http::{router, serve, HttpState};
    use tidings::feeds::search::Search;
    let dir = support::store();
    support::put_seed(dir.path());
    let text = "[site]\nbase_url = \"http://127.0.0.1\"\n";
    let (config, index) = support::build_in_process(dir.path(), text);
    let index = Arc::new(index);
    let search = Arc::new(Search::new(&config.state.path));
    let state = Arc::new(HttpState {
        output: config.feeds.output.clone(),
        index: index.clone(),
        site: tidings::feeds::feed::Site::from_config(&config),
        items_per_feed: config.feeds.items,
        cache_max_age: 60,
        metrics: Arc::new(tidings::daemon::metrics::Metrics::default()),
        web: None,
        search: Some(search.clone()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router(state), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("http://{addr}{path}")).send();
    let res = get("/search/rss.xml?q=重庆").await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "10");
    let res = get("/search?q=重庆&lang=en").await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("being built"));
    // A bad query is still a 400: it never depends on the index.
    assert_eq!(get("/search/rss.xml").await.unwrap().status(), 400);

    let (s, i) = (search.clone(), index.clone());
    tokio::task::spawn_blocking(move || s.build(&i).unwrap())
        .await
        .unwrap();
    let res = get("/search/rss.xml?q=重庆").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(SEED_TITLE));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
