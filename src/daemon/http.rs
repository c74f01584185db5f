//! The HTTP server of `tidings run` (DESIGN §5): the published files under
//! `feeds.output` with conditional GET and gzip (and WebSub `Link` headers on feeds when
//! there is a hub), an HTML page per article, `/healthz` and `/metrics`; the
//! subscription pages of [`crate::digests::pages`] are merged in when the daemon provides them.
//!
//! Published files are served from memory. [`FileCache`] keeps each file's bytes, its
//! gzip encoding (made once, on first demand), strong ETags and `Last-Modified`, and
//! revalidates an entry with one `stat` per request: `publish` only ever replaces a file
//! by renaming a new one over it, so an unchanged (inode, size, mtime) means unchanged
//! bytes. The cache is bounded by bytes held and evicts the least recently used files.
//!
//! Every response is counted in [`Metrics`] under its route pattern, never its raw path.

mod article_page;
mod file_cache;
mod on_request;
mod personal;
mod search;
mod search_page;
/// The article page, for the template benchmark (`examples/bench_pages.rs`).
pub use article_page::article_page;
use article_page::*;
use file_cache::*;

use crate::model::escape::{escaped, escaped_path};
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{MatchedPath, Path as UrlPath, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use chrono::TimeZone;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::config::Format;
use crate::daemon::metrics::Metrics;
use crate::feeds::feed::{absolute_url, xml_clean, Site};
use crate::feeds::index::Index;
use crate::model::article::Block;
use crate::model::article::Record;
use crate::model::topic::Topic;

/// Bytes of file content (identity and gzip) the cache holds at most. The hot feeds of a
/// site fit many times over; the long tail of keyword feeds is read from disk on demand.
const CACHE_BUDGET_BYTES: usize = 32 << 20;
/// Files larger than this share of the budget are served (and compressed) afresh on each
/// request rather than kept, so that a single huge file cannot flush every other entry.
const CACHE_MAX_ENTRY_SHARE: usize = 8;
/// Smaller bodies are sent as they are: gzip would save less than its own overhead
/// (header, and a second cached copy).
const GZIP_MIN_BYTES: usize = 1024;

/// What the HTTP layer needs from the daemon.
pub struct HttpState {
    /// `feeds.output`: the published files.
    pub output: PathBuf,
    pub index: Arc<Index>,
    pub site: Site,
    /// `feeds.items`: what a feed rendered on request holds.
    pub items_per_feed: usize,
    /// `Cache-Control: max-age` of feeds, listings and article pages, in seconds.
    pub cache_max_age: u32,
    pub metrics: Arc<Metrics>,
    /// The subscription pages (`/subscribe`, `/confirm`, `/manage`, `/unsubscribe`);
    /// `None` serves feeds only.
    pub web: Option<Arc<crate::digests::pages::Web>>,
    /// The search index of `/search`; `None` answers 503 there.
    pub search: Option<Arc<crate::feeds::search::Search>>,
}

/// The router's own state: the daemon's part plus what the router keeps between requests.
struct App {
    http: Arc<HttpState>,
    files: FileCache,
    cache_control: HeaderValue,
    /// `<HUB>; rel="hub"`, the start of a feed's `Link` header, when the site has a hub.
    hub_link: Option<String>,
}

type AppState = State<Arc<App>>;

/// The routes of DESIGN §5 (subscription pages excepted):
///
/// | route | serves |
/// |---|---|
/// | `/` | `index.html` of `feeds.output` |
/// | `/opml.xml`, `/opml-keywords.xml`, `/index.json` | the listings of the same name |
/// | `/feeds/{*path}` | any file below `feeds.output`; a feed or archive page without files, rendered |
/// | `/keywords?q=` | keyword search, JSON |
/// | `/articles/{id}` | the article as an HTML page |
/// | `/me/{token}/{file}` | a subscriber's personal feed, rendered (with the subscription pages only) |
/// | `/search?q=` | search results, HTML |
/// | `/search/{rss.xml,atom.xml,feed.json}?q=…&section=…&keyword=…` | a search or combined feed |
/// | `/healthz` | `ok` |
/// | `/metrics` | Prometheus text |
///
/// GET and HEAD only; another method gets 405 with `Allow`.
pub fn router(state: Arc<HttpState>) -> Router {
    let cache_control = HeaderValue::from_str(&format!("public, max-age={}", state.cache_max_age))
        .expect("digits and ASCII only");
    let hub_link = state.site.hub.as_deref().and_then(hub_link);
    let app = Arc::new(App {
        http: state,
        files: FileCache::new(CACHE_BUDGET_BYTES),
        cache_control,
        hub_link,
    });
    let router = Router::new()
        .route("/", get(home))
        .route("/opml.xml", get(opml))
        .route("/opml-keywords.xml", get(opml_keywords))
        .route("/index.json", get(manifest))
        .route("/keywords", get(on_request::keywords))
        .route("/feeds/{*path}", get(feed_file))
        .route("/articles/{id}", get(article))
        .route("/me/{token}/{file}", get(personal::feed))
        .route("/search", get(search::page))
        .route("/search/{name}", get(search::feed))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(unmatched)
        .with_state(app.clone());
    let router = match &app.http.web {
        Some(web) => router.merge(crate::digests::pages::router(web.clone())),
        None => router,
    };
    // A layer, not per-handler counting, so that 405s from the method routers and
    // the fallback's 404s are counted too.
    router.layer(middleware::from_fn_with_state(app, count_response))
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// finish (idle keep-alive connections are closed). A caller that must not wait for a
/// slow client forever wraps this in a timeout.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // Responses are written whole; Nagle's algorithm would only hold back the last
    // segment of each waiting for an ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    // With the peer address, which the subscription pages rate-limit by.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The metrics label of a matched route: its pattern, shortened to the route's name.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    match matched.map(MatchedPath::as_str) {
        Some("/") => "/",
        Some("/opml.xml") => "/opml.xml",
        Some("/opml-keywords.xml") => "/opml-keywords.xml",
        Some("/index.json") => "/index.json",
        Some("/keywords") => "/keywords",
        Some("/feeds/{*path}") => "/feeds",
        Some("/articles/{id}") => "/articles",
        Some("/me/{token}/{file}") => "/me",
        Some("/search") => "/search",
        Some("/search/{name}") => "/search/feed",
        Some("/healthz") => "/healthz",
        Some("/metrics") => "/metrics",
        Some("/subscribe") => "/subscribe",
        Some("/confirm") => "/confirm",
        Some("/manage") => "/manage",
        Some("/unsubscribe") => "/unsubscribe",
        _ => "unmatched",
    }
}

async fn count_response(State(app): AppState, req: Request, next: Next) -> Response {
    let route = route_label(req.extensions().get::<MatchedPath>());
    let response = next.run(req).await;
    app.http
        .metrics
        .observe_http(route, response.status().as_u16());
    response
}

/// `/`: the home page in the reader's language (DESIGN §5). The written `index.html`
/// (the site's default language, for a site served by a plain web server) is the
/// listing's version: each language's rendering is cached under it and made again when
/// publishing replaces the file.
async fn home(State(app): AppState, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let http = &app.http;
    let reader = crate::digests::pages::page_lang(
        &headers,
        query.as_deref(),
        crate::i18n::Lang::site_default(&http.site.language),
    );
    let listing = match app.files.get(&http.output, "index.html").await {
        Ok(Some(entry)) => entry,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(
                "serving {}: {e}",
                escaped_path(&http.output.join("index.html"))
            );
            return server_error();
        }
    };
    // A key no published file can have (`?` is never in one).
    let rel = format!("index.html?lang={}", reader.lang.tag());
    let entry = match app.files.lookup(&rel, listing.identity) {
        Some(entry) => entry,
        None => {
            let state = app.http.clone();
            let lang = reader.lang;
            let made = tokio::task::spawn_blocking(move || {
                crate::feeds::publish::home_page(
                    &state.index,
                    &state.site,
                    state.items_per_feed,
                    lang,
                )
            })
            .await;
            match made {
                Ok(bytes) => app.files.insert(&rel, Entry::variant(&listing, bytes)),
                Err(e) => {
                    tracing::error!("home page: {e}");
                    return server_error();
                }
            }
        }
    };
    let mut res = serve_entry(&app, &rel, &entry, &headers, None).await;
    reader.finish(&mut res);
    res
}

async fn opml(State(app): AppState, headers: HeaderMap) -> Response {
    serve_file(&app, "opml.xml", &headers, None).await
}

async fn opml_keywords(State(app): AppState, headers: HeaderMap) -> Response {
    serve_file(&app, "opml-keywords.xml", &headers, None).await
}

async fn manifest(State(app): AppState, headers: HeaderMap) -> Response {
    serve_file(&app, "index.json", &headers, None).await
}

async fn feed_file(State(app): AppState, uri: Uri, headers: HeaderMap) -> Response {
    // The raw path rather than axum's decoded capture: a `%2F` or `%00` must be checked
    // after decoding, and undecodable bytes are a 404 here, not a 400.
    let raw = uri.path().strip_prefix("/feeds/").unwrap_or("");
    match percent_encoding::percent_decode_str(raw).decode_utf8() {
        Ok(rel) if is_safe_relative(&rel) => {
            let link = feed_link(&app, &rel);
            let mut res = serve_file(&app, &rel, &headers, link).await;
            let cached = matches!(res.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
            if cached && on_request::is_complete_archive(&app, &rel) {
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(on_request::COMPLETE_ARCHIVE_CACHE),
                );
            }
            res
        }
        _ => not_found(),
    }
}

/// The start of the `Link` header of a feed: `<HUB>; rel="hub"`, or `None` for a hub
/// URL that cannot stand between `<` and `>` in a header (the feeds still name it).
fn hub_link(hub: &str) -> Option<String> {
    if hub
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    {
        Some(format!("<{hub}>; rel=\"hub\""))
    } else {
        tracing::warn!("feeds.websub_hub {hub:?} cannot go in a Link header; sent without it");
        None
    }
}

/// The `Link` header of WebSub §4 discovery, which subscribers look for before (or
/// instead of) the links inside the document: `Link: <HUB>; rel="hub", <SELF>;
/// rel="self"` on a feed, SELF being the URL of the feed's own self link, so that the
/// topic a subscriber names is exactly the URL tidings pings the hub with.
fn feed_link(app: &App, rel: &str) -> Option<HeaderValue> {
    let hub = app.hub_link.as_deref()?;
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if !matches!(name, "rss.xml" | "atom.xml" | "feed.json") {
        return None;
    }
    let self_url = app.http.site.feed_url(rel);
    // `feed_url` percent-encodes the path; only an odd `site.base_url` could fail here.
    HeaderValue::from_str(&format!("{hub}, <{self_url}>; rel=\"self\"")).ok()
}

/// A path below `feeds.output` that cannot leave it or reach a file tidings does not
/// publish: relative, no empty, `.` or `..` segment, no hidden file (the `.tidings-*.tmp`
/// temporaries of an atomic write), no NUL or backslash.
fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.contains(['\0', '\\']))
}

/// `link`: the `Link` header of a feed (see [`feed_link`]), sent on 200 and 304 alike.
async fn serve_file(
    app: &App,
    rel: &str,
    headers: &HeaderMap,
    link: Option<HeaderValue>,
) -> Response {
    let found = match app.files.get(&app.http.output, rel).await {
        Ok(None) => on_request::rendered(app, rel).await,
        found => found,
    };
    let entry = match found {
        Ok(Some(entry)) => entry,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!("serving {}: {e}", escaped_path(&app.http.output.join(rel)));
            return server_error();
        }
    };
    serve_entry(app, rel, &entry, headers, link).await
}

/// One version of a document, cached under `rel`: 304 when the client has it, else the
/// body, gzipped when asked.
async fn serve_entry(
    app: &App,
    rel: &str,
    entry: &Arc<Entry>,
    headers: &HeaderMap,
    link: Option<HeaderValue>,
) -> Response {
    let gzip = entry.body.len() > GZIP_MIN_BYTES && accepts_gzip(headers);
    let (selected_etag, other_etag) = if gzip {
        (&entry.gzip_etag, &entry.etag)
    } else {
        (&entry.etag, &entry.gzip_etag)
    };

    // RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only
    // without it. A cache may revalidate the variant it stored under the other
    // encoding; answering 304 with that variant's ETag tells it which one is still good.
    let not_modified_etag = match headers.get(header::IF_NONE_MATCH) {
        Some(_) => [selected_etag, other_etag]
            .into_iter()
            .find(|etag| if_none_match_hits(headers, etag)),
        None => if_modified_since(headers)
            .filter(|&since| entry.modified <= since)
            .map(|_| selected_etag),
    };
    if let Some(etag) = not_modified_etag {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        file_headers(res.headers_mut(), app, entry, etag, link);
        return res;
    }

    let body = if gzip {
        match app.files.gzip(rel, entry).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("gzip of {}: {e}", escaped(rel));
                return server_error();
            }
        }
    } else {
        entry.body.clone()
    };
    // HEAD: axum sets Content-Length from this body, then drops it.
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, entry.content_type.clone());
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    file_headers(h, app, entry, selected_etag, link);
    res
}

/// Headers a file's 200 and 304 share (a 304 must repeat the validators and caching
/// fields a 200 would have sent).
fn file_headers(
    h: &mut HeaderMap,
    app: &App,
    entry: &Entry,
    etag: &HeaderValue,
    link: Option<HeaderValue>,
) {
    h.insert(header::ETAG, etag.clone());
    if let Some(link) = link {
        h.insert(header::LINK, link);
    }
    h.insert(header::LAST_MODIFIED, entry.last_modified.clone());
    h.insert(header::CACHE_CONTROL, app.cache_control.clone());
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    // Public feeds: browser-based readers fetch them from other origins.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Whether `If-None-Match` lists `etag` (or is `*`), by weak comparison as RFC 9110
/// §13.1.2 prescribes for GET and HEAD: `W/"x"` matches `"x"`.
fn if_none_match_hits(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|field| entity_tags_match(field, etag))
}

/// Scans a list of entity-tags (`"a", W/"b"`) for `etag` (quoted). Tags are parsed, not
/// split on commas: a comma may stand inside the quotes.
fn entity_tags_match(field: &str, etag: &str) -> bool {
    let mut rest = field;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        if rest.starts_with('*') {
            return true;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(close) = tag.strip_prefix('"').and_then(|t| t.find('"')) else {
            return false; // malformed: nothing after it can be trusted
        };
        let (opaque, after) = tag.split_at(close + 2);
        if opaque == etag {
            return true;
        }
        rest = after;
    }
}

/// The `If-Modified-Since` date; an invalid one is ignored, as RFC 9110 §13.1.3 requires.
fn if_modified_since(headers: &HeaderMap) -> Option<SystemTime> {
    let value = headers.get(header::IF_MODIFIED_SINCE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// Whether `Accept-Encoding` allows gzip: listed (or `*` and not listed) with q > 0.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for field in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(field) = field.to_str() else { continue };
        for item in field.split(',') {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or("").trim();
            let q = params
                .filter_map(|p| p.trim().split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                any = Some(q);
            }
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

fn plain(status: StatusCode, text: impl Into<Body>) -> Response {
    let mut res = Response::new(text.into());
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

fn server_error() -> Response {
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n")
}

async fn unmatched() -> Response {
    not_found()
}

async fn healthz() -> Response {
    plain(StatusCode::OK, "ok")
}

async fn metrics(State(app): AppState) -> Response {
    let mut res = Response::new(Body::from(app.http.metrics.render()));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn entity_tag_lists_use_weak_comparison() {
        let etag = "\"abc\"";
        assert!(entity_tags_match("\"abc\"", etag));
        assert!(entity_tags_match("W/\"abc\"", etag));
        assert!(entity_tags_match("\"x\", W/\"y\" ,\"abc\"", etag));
        assert!(entity_tags_match("*", etag));
        assert!(entity_tags_match("\"a,b\", \"abc\"", etag));
        assert!(!entity_tags_match("\"abcd\"", etag));
        assert!(!entity_tags_match("abc", etag));
        assert!(!entity_tags_match("", etag));
        assert!(!entity_tags_match("\"unterminated", etag));
    }

    #[test]
    fn gzip_needs_a_positive_quality() {
        let ae = |v: &str| accepts_gzip(&headers(&[(header::ACCEPT_ENCODING, v)]));
        assert!(ae("gzip"));
        assert!(ae("br, GZIP;q=0.5"));
        assert!(ae("deflate, *"));
        assert!(ae("x-gzip"));
        assert!(!ae("gzip;q=0"));
        assert!(!ae("gzip; q=0.000"));
        assert!(!ae("*;q=0"));
        assert!(!ae("gzip;q=0, *"), "an explicit gzip;q=0 wins over *");
        assert!(!ae("br, deflate"));
        assert!(!ae("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn only_plain_relative_paths_are_served() {
        for ok in [
            "all/rss.xml",
            "keyword/重庆市/atom.xml",
            "index.html",
            "a~1f/b c",
        ] {
            assert!(is_safe_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../config.toml",
            "all/../../x",
            "all/./rss.xml",
            "all//rss.xml",
            "all/rss.xml/",
            ".tidings-abc.tmp",
            "all/.tidings-abc.tmp",
            "all/rss.xml\0",
            "..\\x",
        ] {
            assert!(!is_safe_relative(bad), "{bad:?}");
        }
    }

    #[test]
    fn content_types_match_the_formats() {
        for format in Format::ALL {
            let ct = content_type(&format!("all/{}", format.file_name()));
            assert_eq!(ct, format!("{}; charset=utf-8", format.media_type()));
        }
        assert_eq!(content_type("opml.xml"), "text/x-opml; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("index.json"), "application/json");
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        crate::feeds::publish::write::write_if_changed(&dir.join(rel), bytes).unwrap();
    }

    #[tokio::test]
    async fn cache_revalidates_by_stat_and_stays_within_budget() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let cache = FileCache::new(4000);
        write(root, "a", &[b'a'; 400]);
        let first = cache.get(root, "a").await.unwrap().unwrap();
        let again = cache.get(root, "a").await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "unchanged file: same entry");

        write(root, "a", &[b'b'; 400]);
        let changed = cache.get(root, "a").await.unwrap().unwrap();
        assert_eq!(&changed.body[..], &[b'b'; 400][..]);
        assert_ne!(changed.etag, first.etag);

        // Ten files of 400 bytes into a budget of 4000: over it once gzip bodies count.
        for i in 0..10 {
            write(root, &format!("f{i}"), &vec![b'0' + i; 400]);
            let e = cache.get(root, &format!("f{i}")).await.unwrap().unwrap();
            cache.gzip(&format!("f{i}"), &e).await.unwrap();
        }
        {
            let slots = cache.read_slots();
            assert!(slots.total <= 4000, "{}", slots.total);
            assert_eq!(
                slots.total,
                slots.map.values().map(|s| s.charged).sum::<usize>()
            );
            assert!(slots.map.contains_key("f9"), "the newest entry stays");
            assert!(!slots.map.contains_key("a"), "the oldest entry went first");
        }

        // Too big to keep: served, not cached.
        write(root, "big", &[b'x'; 600]);
        assert!(cache.get(root, "big").await.unwrap().is_some());
        assert!(!cache.read_slots().map.contains_key("big"));

        std::fs::remove_file(root.join("f9")).unwrap();
        assert!(cache.get(root, "f9").await.unwrap().is_none());
        assert!(!cache.read_slots().map.contains_key("f9"));
        assert!(cache.get(root, "nothing/here").await.unwrap().is_none());
        assert!(cache.get(root, "f8/below-a-file").await.unwrap().is_none());
    }

    #[test]
    fn gzip_body_decodes_to_the_identity_body() {
        let dir = tempfile::tempdir().unwrap();
        let body = "重庆市 feed ".repeat(200);
        write(dir.path(), "x.xml", body.as_bytes());
        let entry = Entry::load(&dir.path().join("x.xml"), "x.xml")
            .unwrap()
            .unwrap();
        let gz = entry.compress();
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(gz.len() < body.len());
        assert_ne!(entry.etag, entry.gzip_etag);
    }
}
