//! The HTTP layer end to end: a store built into feeds in a temporary folder, served by
//! `tidings::http` on 127.0.0.1, read back by reqwest (and by hand over TCP where a client
//! library would tidy the request up or hide the wire: `..` segments, HEAD bodies).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use tidings::daemon::http::{router, serve, HttpState};
use tidings::daemon::metrics::Metrics;
use tidings::feeds::feed::Site;

use crate::support;

use crate::support::{build_in_process, put_seed, SEED_ID};

/// An article whose every text needs escaping.
const HOSTILE_ID: &str = "x-1";
const HOSTILE: &str = r#"{
  "id": "x-1",
  "title": "<script>alert(1)</script> & 重慶",
  "subtitle": "\"quoted\" <sub>",
  "sections": ["黨派·聲音", "統一戰線"],
  "keywords": ["重慶市", "A&B <i>"],
  "editor": "<b>Ed</b>",
  "published": "2015-06-05T08:16:00+08:00",
  "body": ["First <b>para</b> & more.", "Second paragraph."]
}"#;

/// `keyword/重庆市/rss.xml`: the folded (Simplified) keyword, percent-encoded.
const KEYWORD_RSS: &str = "/feeds/keyword/%E9%87%8D%E5%BA%86%E5%B8%82/rss.xml";

/// A built store served on an ephemeral port; shut down when dropped.
struct Server {
    dir: TempDir,
    addr: SocketAddr,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start() -> Server {
        Server::start_with("").await
    }

    /// A server whose configuration has `extra` appended (whole TOML sections).
    async fn start_with(extra: &str) -> Server {
        let dir = support::store();
        put_seed(dir.path());
        let hostile = dir.path().join(format!("articles/{HOSTILE_ID}.json"));
        std::fs::write(hostile, HOSTILE).unwrap();
        let text = format!(
            "[site]\ntitle = \"Test <News>\"\nbase_url = \"https://news.example\"\n\
             [server]\ncache_max_age = 120\n{extra}"
        );
        // Also as `config.toml`, for a test that runs the binary on the same site.
        std::fs::write(dir.path().join("config.toml"), &text).unwrap();
        let (config, index) = build_in_process(dir.path(), &text);
        assert_eq!(index.article_count(), 2);

        let metrics = Arc::new(Metrics::default());
        let state = Arc::new(HttpState {
            output: config.feeds.output.clone(),
            index: Arc::new(index),
            site: Site::from_config(&config),
            items_per_feed: config.feeds.items,
            cache_max_age: config.server.cache_max_age,
            metrics: metrics.clone(),
            web: None,
            search: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router(state), async {
            let _ = rx.await;
        }));
        Server {
            dir,
            addr,
            client: reqwest::Client::builder().build().unwrap(),
            metrics,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("feeds")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request(Method::GET, path, headers).await
    }

    async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.unwrap();
        Reply {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await.unwrap().to_vec(),
        }
    }

    /// Sends `request` (a request line and headers, without the blank line) as written,
    /// and returns the status, the head and the body bytes exactly as they came.
    async fn raw(&self, request: &str) -> (u16, String, Vec<u8>) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let text = format!("{request}\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(text.as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (
            status,
            head.to_ascii_lowercase(),
            bytes[split + 4..].to_vec(),
        )
    }

    /// Stops the server; returns its folder, for a test to go on with.
    async fn stop(mut self) -> TempDir {
        self.shutdown.take().unwrap().send(()).unwrap();
        let finished =
            tokio::time::timeout(std::time::Duration::from_secs(5), self.task.take().unwrap())
                .await
                .expect("the server stops after shutdown");
        finished.unwrap().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn files_have_their_content_types_and_validators() {
    let server = Server::start().await;
    for (path, content_type) in [
        ("/feeds/all/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/all/atom.xml", "application/atom+xml; charset=utf-8"),
        (
            "/feeds/all/feed.json",
            "application/feed+json; charset=utf-8",
        ),
        ("/feeds/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/opml.xml", "text/x-opml; charset=utf-8"),
        ("/index.json", "application/json"),
    ] {
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header(header::CONTENT_TYPE), content_type, "{path}");
        let etag = reply.header(header::ETAG);
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 20,
            "a strong ETag: {etag}"
        );
        httpdate::parse_http_date(reply.header(header::LAST_MODIFIED)).unwrap();
        assert_eq!(reply.header(header::CACHE_CONTROL), "public, max-age=120");
        // `/` is rendered in the reader's language (DESIGN §5).
        let vary = match path {
            "/" => "Accept-Encoding, Accept-Language, Cookie",
            _ => "Accept-Encoding",
        };
        assert_eq!(reply.header(header::VARY), vary, "{path}");
    }
    // In the site's default language `/` is the written file plus the language links,
    // which only the daemon can answer.
    let home = String::from_utf8(server.get("/", &[]).await.body.to_vec()).unwrap();
    let (before, rest) = home
        .split_once("<nav class=\"lang\"")
        .expect("a language switcher");
    let after = rest.split_once("</nav>").unwrap().1;
    assert_eq!(
        format!("{before}{after}"),
        std::fs::read_to_string(server.output().join("index.html")).unwrap()
    );
    let mut pages = std::collections::HashMap::new();
    for rel in ["index.json".to_string()].into_iter().chain(
        serde_json::from_slice::<serde_json::Value>(&server.get("/index.json", &[]).await.body)
            .unwrap()["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string()),
    ) {
        let path = match rel.as_str() {
            "index.json" => "/index.json".to_string(),
            page => format!("/feeds/{page}"),
        };
        let reply = server.get(&path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header(header::CONTENT_TYPE), "application/json");
        pages.insert(rel, reply.body);
    }
    let feeds = support::manifest_feeds(|rel| pages[rel].clone());
    assert!(feeds.len() >= 4);
    server.stop().await;
}

#[tokio::test]
async fn conditional_requests_get_304_only_when_they_match() {
    let server = Server::start().await;
    let path = "/feeds/all/rss.xml";
    let first = server.get(path, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.body.is_empty());
    let etag = first.header(header::ETAG).to_string();
    let modified = first.header(header::LAST_MODIFIED).to_string();

    // Never a 304 without a conditional header.
    let again = server.get(path, &[]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header(header::ETAG), etag);

    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {etag}");
    for inm in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let reply = server.get(path, &[("if-none-match", inm)]).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {inm}"
        );
        assert!(reply.body.is_empty());
        assert_eq!(reply.header(header::ETAG), etag);
        assert_eq!(reply.header(header::LAST_MODIFIED), modified);
        assert_eq!(reply.header(header::CACHE_CONTROL), "public, max-age=120");
        assert_eq!(reply.header(header::VARY), "Accept-Encoding");
    }
    let reply = server.get(path, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(reply.status, StatusCode::OK);

    let reply = server.get(path, &[("if-modified-since", &modified)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let later = httpdate::fmt_http_date(
        httpdate::parse_http_date(&modified).unwrap() + std::time::Duration::from_secs(60),
    );
    let reply = server.get(path, &[("if-modified-since", &later)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let earlier = httpdate::fmt_http_date(
        httpdate::parse_http_date(&modified).unwrap() - std::time::Duration::from_secs(1),
    );
    let reply = server.get(path, &[("if-modified-since", &earlier)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = server
        .get(path, &[("if-modified-since", "not a date")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // If-None-Match decides when both are sent.
    let reply = server
        .get(
            path,
            &[
                ("if-none-match", "\"other\""),
                ("if-modified-since", &modified),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    // On the wire: a 304 has no body and no Content-Length claiming one.
    let (status, head, body) = server
        .raw(&format!("GET {path} HTTP/1.1\r\nIf-None-Match: {etag}"))
        .await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert!(!head.contains("content-length: 0"), "{head}");
    server.stop().await;
}

#[tokio::test]
async fn a_changed_file_is_served_with_a_new_etag() {
    let server = Server::start().await;
    let path = "/feeds/all/atom.xml";
    let before = server.get(path, &[]).await;
    let old_etag = before.header(header::ETAG).to_string();
    let file = server.output().join("all/atom.xml");
    let mut changed = before.body.clone();
    changed.extend_from_slice(b"<!-- changed -->\n");
    assert!(tidings::feeds::publish::write::write_if_changed(&file, &changed).unwrap());

    let after = server.get(path, &[("if-none-match", &old_etag)]).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body, changed);
    let new_etag = after.header(header::ETAG).to_string();
    assert_ne!(new_etag, old_etag);
    let reply = server.get(path, &[("if-none-match", &new_etag)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);

    // Without its file, the feed is rendered from the index: the bytes it had, and so
    // the entity tag it had.
    std::fs::remove_file(&file).unwrap();
    let rendered = server.get(path, &[]).await;
    assert_eq!(rendered.status, StatusCode::OK);
    assert_eq!(rendered.body, before.body);
    assert_eq!(rendered.header(header::ETAG), old_etag);
    let gone = "/feeds/all/atom.xml.bak";
    assert_eq!(server.get(gone, &[]).await.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn gzip_is_sent_when_asked_under_its_own_etag() {
    let server = Server::start().await;
    let path = "/feeds/all/rss.xml";
    let identity = server.get(path, &[]).await;
    assert!(
        identity.body.len() > 1024,
        "the fixture feed is worth compressing"
    );
    assert!(identity.headers.get(header::CONTENT_ENCODING).is_none());

    let zipped = server
        .get(path, &[("accept-encoding", "br;q=1.0, gzip;q=0.8")])
        .await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(zipped.header(header::CONTENT_ENCODING), "gzip");
    assert_eq!(zipped.header(header::VARY), "Accept-Encoding");
    assert_eq!(
        zipped.header(header::CONTENT_TYPE),
        "application/rss+xml; charset=utf-8"
    );
    assert!(zipped.body.len() < identity.body.len());
    assert_eq!(gunzip(&zipped.body), identity.body);
    let gz_etag = zipped.header(header::ETAG).to_string();
    assert_ne!(gz_etag, identity.header(header::ETAG));
    assert!(gz_etag.starts_with('"') && gz_etag.ends_with('"'));
    assert_eq!(
        zipped.header(header::CONTENT_LENGTH),
        zipped.body.len().to_string()
    );

    let reply = server
        .get(
            path,
            &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.header(header::ETAG), gz_etag);

    for refused in ["gzip;q=0", "identity", "br"] {
        let reply = server.get(path, &[("accept-encoding", refused)]).await;
        assert!(
            reply.headers.get(header::CONTENT_ENCODING).is_none(),
            "{refused}"
        );
        assert_eq!(reply.body, identity.body);
    }
    server.stop().await;
}

#[tokio::test]
async fn head_sends_the_headers_without_the_body() {
    let server = Server::start().await;
    let path = "/feeds/all/feed.json";
    let get = server.get(path, &[]).await;
    let (status, head, body) = server.raw(&format!("HEAD {path} HTTP/1.1")).await;
    assert_eq!(status, 200);
    assert!(body.is_empty(), "{} body bytes", body.len());
    assert!(
        head.contains(&format!("content-length: {}\r\n", get.body.len())),
        "{head}"
    );
    assert!(head.contains("etag: \""));
    assert!(head.contains("content-type: application/feed+json; charset=utf-8"));

    let zipped = server
        .get(path, &[("accept-encoding", "gzip")])
        .await
        .body
        .len();
    let (status, head, body) = server
        .raw(&format!("HEAD {path} HTTP/1.1\r\nAccept-Encoding: gzip"))
        .await;
    assert_eq!(status, 200);
    assert!(body.is_empty());
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(
        head.contains(&format!("content-length: {zipped}\r\n")),
        "{head}"
    );
    server.stop().await;
}

#[tokio::test]
async fn percent_encoded_chinese_paths_are_served() {
    let server = Server::start().await;
    let reply = server.get(KEYWORD_RSS, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        "application/rss+xml; charset=utf-8"
    );
    // Rendered on request, it is the file `--all-feeds` writes, byte for byte (once the
    // server's index has let go of its lock).
    let dir = server.stop().await;
    support::eventually(|| {
        let out = support::tidings(dir.path(), &["build", "--all-feeds"]);
        match out.status.success() {
            true => Ok(()),
            false => Err(support::text(&out.stderr)),
        }
    });
    assert_eq!(
        reply.body,
        std::fs::read(dir.path().join("feeds/keyword/重庆市/rss.xml")).unwrap()
    );
}

#[tokio::test]
async fn paths_outside_the_published_files_are_not_found() {
    let server = Server::start().await;
    std::fs::write(server.output().join(".tidings-abc.tmp"), "half a feed").unwrap();
    std::fs::write(server.output().join("all/.hidden"), "secret").unwrap();
    for path in [
        "/feeds/../config.toml",
        "/feeds/%2e%2e/config.toml",
        "/feeds/all/..%2F..%2Fconfig.toml",
        "/feeds/all/%2e%2e/%2e%2e/config.toml",
        "/feeds/%2Fetc%2Fpasswd",
        "/feeds//etc/passwd",
        "/feeds/./all/rss.xml",
        "/feeds/all/rss.xml%00",
        "/feeds/all/rss.xml%00.html",
        "/feeds/.tidings-abc.tmp",
        "/feeds/all/.hidden",
        "/feeds/all/%2Ehidden",
        "/feeds/all",
        "/feeds/all/",
        "/feeds/all/rss.xml/x",
        "/feeds/%FF%FE",
        "/feeds/nothing.xml",
        "/nothing",
    ] {
        let (status, _, body) = server.raw(&format!("GET {path} HTTP/1.1")).await;
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(
            !String::from_utf8_lossy(&body).contains("base_url"),
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let server = Server::start().await;
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let reply = server
            .request(method.clone(), "/feeds/all/rss.xml", &[])
            .await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert!(reply.header(header::ALLOW).contains("GET"));
    }
    server.stop().await;
}

#[tokio::test]
async fn article_pages_escape_everything_and_link_to_feeds() {
    let server = Server::start().await;
    let reply = server.get(&format!("/articles/{HOSTILE_ID}"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let page = reply.text();
    assert!(
        page.starts_with("<!DOCTYPE html>\n<html lang=\"zh-Hant\">"),
        "{page}"
    );
    // The page speaks the reader's language; the article keeps its own.
    assert!(page.contains("<article lang=\"zh\">"), "{page}");
    assert!(page.contains("<meta charset=\"utf-8\">"));
    assert!(page.contains("name=\"viewport\""));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 重慶"));
    assert!(page.contains("&quot;quoted&quot; &lt;sub&gt;"));
    assert!(page.contains("First &lt;b&gt;para&lt;/b&gt; &amp; more."));
    assert!(page.contains("&lt;b&gt;Ed&lt;/b&gt;"));
    assert!(page.contains("Test &lt;News&gt;"));
    for raw in ["<script", "<sub>", "<b>", "<i>", "<News>"] {
        assert!(!page.contains(raw), "unescaped {raw}: {page}");
    }
    // Shown in the site's zone (Asia/Shanghai).
    assert!(page.contains("2015-06-05 08:16"), "{page}");
    // Keywords and the section chain link to their feeds.
    assert!(page.contains(&format!("href=\"https://news.example{KEYWORD_RSS}\"")));
    assert!(page.contains(">重慶市</a>"), "{page}");
    assert!(page.contains("A&amp;B &lt;i&gt;</a>"), "{page}");
    let section = "https://news.example/feeds/section/%E5%85%9A%E6%B4%BE%C2%B7%E5%A3%B0%E9%9F%B3";
    assert!(
        page.contains(&format!("href=\"{section}/rss.xml\">黨派·聲音</a>")),
        "{page}"
    );
    assert!(page.contains(&format!(
        "href=\"{section}/%E7%BB%9F%E4%B8%80%E6%88%98%E7%BA%BF/rss.xml\">統一戰線</a>"
    )));

    // Conditional GET works on pages too.
    let etag = reply.header(header::ETAG).to_string();
    let again = server
        .get(
            &format!("/articles/{HOSTILE_ID}"),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let seed = server.get(&format!("/articles/{SEED_ID}"), &[]).await;
    assert_eq!(seed.status, StatusCode::OK);
    assert!(seed
        .text()
        .contains("把握要求積極作為 推動基層統戰工作創新發展"));
    server.stop().await;
}

#[tokio::test]
async fn unknown_articles_are_404_pages() {
    let server = Server::start().await;
    for path in ["/articles/nope", "/articles/%FF", "/articles/%3Cscript%3E"] {
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert!(!reply.text().contains("<script"));
    }
    server.stop().await;
}

#[tokio::test]
async fn health_and_metrics() {
    let server = Server::start().await;
    let health = server.get("/healthz", &[]).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.text(), "ok");

    server.metrics.set_articles(2);
    let etag = server
        .get("/feeds/all/rss.xml", &[])
        .await
        .header(header::ETAG)
        .to_string();
    server
        .get("/feeds/all/rss.xml", &[("if-none-match", &etag)])
        .await;
    server.get(KEYWORD_RSS, &[]).await;
    server.get("/articles/nope", &[]).await;
    server.get("/no/such/route", &[]).await;
    server
        .request(Method::POST, "/feeds/all/rss.xml", &[])
        .await;

    let reply = server.get("/metrics", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = reply.text();
    for line in [
        "tidings_articles 2\n",
        "tidings_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n",
        "tidings_http_requests_total{route=\"/feeds\",status=\"200\"} 2\n",
        "tidings_http_requests_total{route=\"/feeds\",status=\"304\"} 1\n",
        "tidings_http_requests_total{route=\"/feeds\",status=\"405\"} 1\n",
        "tidings_http_requests_total{route=\"/articles\",status=\"404\"} 1\n",
        "tidings_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("重"), "raw paths never become labels");
    server.stop().await;
}

#[tokio::test]
async fn feeds_name_their_hub_and_self_in_a_link_header() {
    let server =
        Server::start_with("[feeds]\nwebsub_hub = \"https://hub.example/publish\"\n").await;
    for (path, self_url) in [
        (
            "/feeds/all/rss.xml",
            "https://news.example/feeds/all/rss.xml",
        ),
        (
            "/feeds/all/atom.xml",
            "https://news.example/feeds/all/atom.xml",
        ),
        (
            "/feeds/all/feed.json",
            "https://news.example/feeds/all/feed.json",
        ),
        (KEYWORD_RSS, &format!("https://news.example{KEYWORD_RSS}")),
    ] {
        let expected =
            format!("<https://hub.example/publish>; rel=\"hub\", <{self_url}>; rel=\"self\"");
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header(header::LINK), expected, "{path}");
        // The self link in the header is the one in the document.
        assert!(reply.text().contains(self_url), "{path}");

        // A 304 repeats it, as it repeats every header a 200 would send; so do HEAD and
        // a gzip response.
        let etag = reply.header(header::ETAG).to_string();
        let again = server.get(path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.header(header::LINK), expected, "{path}");
        let head = server
            .request(Method::HEAD, path, &[("accept-encoding", "gzip")])
            .await;
        assert_eq!(head.header(header::LINK), expected, "{path}");
    }
    // Only feeds: not the listings, the article pages, or a missing feed.
    for path in [
        "/",
        "/opml.xml",
        "/index.json",
        "/feeds/index.html",
        "/feeds/opml.xml",
        "/feeds/index.json",
        &format!("/articles/{SEED_ID}"),
        "/feeds/nothing/rss.xml",
    ] {
        let reply = server.get(path, &[]).await;
        assert!(
            reply.headers.get(header::LINK).is_none(),
            "{path}: {reply:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn without_a_hub_feeds_have_no_link_header() {
    let server = Server::start().await;
    let reply = server.get("/feeds/all/rss.xml", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get(header::LINK).is_none(), "{reply:?}");
    server.stop().await;
}
