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
use axum::extract::{MatchedPath, Path as UrlPath, Request, State};
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
use crate::feeds::feed::{absolute_url, escape_html, xml_clean, Site};
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
    /// `Cache-Control: max-age` of feeds, listings and article pages, in seconds.
    pub cache_max_age: u32,
    pub metrics: Arc<Metrics>,
    /// The subscription pages (`/subscribe`, `/confirm`, `/manage`, `/unsubscribe`);
    /// `None` serves feeds only.
    pub web: Option<Arc<crate::digests::pages::Web>>,
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
/// | `/opml.xml`, `/index.json` | the listings of the same name |
/// | `/feeds/{*path}` | any file below `feeds.output` |
/// | `/articles/{id}` | the article as an HTML page |
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
        .route("/index.json", get(manifest))
        .route("/feeds/{*path}", get(feed_file))
        .route("/articles/{id}", get(article))
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
        Some("/index.json") => "/index.json",
        Some("/feeds/{*path}") => "/feeds",
        Some("/articles/{id}") => "/articles",
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

async fn home(State(app): AppState, headers: HeaderMap) -> Response {
    serve_file(&app, "index.html", &headers, None).await
}

async fn opml(State(app): AppState, headers: HeaderMap) -> Response {
    serve_file(&app, "opml.xml", &headers, None).await
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
            serve_file(&app, &rel, &headers, link).await
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
    let entry = match app.files.get(&app.http.output, rel).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!("serving {}: {e}", app.http.output.join(rel).display());
            return server_error();
        }
    };
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
        file_headers(res.headers_mut(), app, &entry, etag, link);
        return res;
    }

    let body = if gzip {
        match app.files.gzip(rel, &entry).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("gzip of {rel}: {e}");
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
    file_headers(h, app, &entry, selected_etag, link);
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

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut res = Response::new(Body::from(text));
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

// ---------------------------------------------------------------------------------------
// Articles

async fn article(
    State(app): AppState,
    id: Result<UrlPath<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // An id that does not decode names no article.
    let Ok(UrlPath(id)) = id else {
        return html_response(StatusCode::NOT_FOUND, &app, not_found_page(&app.http.site));
    };
    // sled answers from its page cache in microseconds, but a record outside that cache
    // is a disk read: done on the blocking pool so that it never stalls the feed
    // requests sharing this worker. Article pages are not the hot path; the hand-off
    // costs little there.
    let http = app.http.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        http.index
            .record(&id)
            .map(|rec| rec.map(|rec| article_page(&http.site, &rec)))
    })
    .await;
    let page = match looked_up {
        Ok(Ok(Some(page))) => page,
        Ok(Ok(None)) => {
            return html_response(StatusCode::NOT_FOUND, &app, not_found_page(&app.http.site))
        }
        Ok(Err(e)) => {
            tracing::error!("article page: {e}");
            return server_error();
        }
        Err(e) => {
            tracing::error!("article page: {e}");
            return server_error();
        }
    };
    let etag = content_etag(page.as_bytes(), "");
    if if_none_match_hits(&headers, &etag) {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res.headers_mut().insert(header::ETAG, etag);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, app.cache_control.clone());
        return res;
    }
    let mut res = html_response(StatusCode::OK, &app, page);
    res.headers_mut().insert(header::ETAG, etag);
    res
}

fn html_response(status: StatusCode, app: &App, page: String) -> Response {
    let mut res = Response::new(Body::from(page));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let cache = if status.is_success() {
        app.cache_control.clone()
    } else {
        HeaderValue::from_static("no-store")
    };
    h.insert(header::CACHE_CONTROL, cache);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

const PAGE_STYLE: &str = "<style>\
body{font-family:system-ui,sans-serif;max-width:42rem;margin:auto;padding:1rem;line-height:1.7;\
overflow-wrap:break-word}\
h1{font-size:1.6rem;line-height:1.3;margin:.5rem 0}\
h2{font-size:1.2rem}img{max-width:100%;height:auto}\
nav,.meta,.keywords,footer{color:#555;font-size:.9rem}\
.subtitle{font-size:1.15rem;color:#333}.keywords a{margin-right:.6rem}\
</style>\n";

/// Opens a page: doctype, language, charset, viewport for phones, title, style.
fn page_head(site: &Site, title: &str, extra_head: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n{extra_head}{PAGE_STYLE}</head>\n<body>\n",
        escape_html(&site.language),
        escape_html(&xml_clean(title)),
    )
}

/// The format a page links to: RSS, the one every reader knows, when published.
fn link_format(site: &Site) -> Format {
    if site.formats.contains(&Format::Rss) {
        Format::Rss
    } else {
        site.formats.first().copied().unwrap_or(Format::Rss)
    }
}

/// The article as a page: its section chain and keywords link to their feeds, times are
/// shown in the site's zone, every text is escaped.
fn article_page(site: &Site, rec: &Record) -> String {
    let a = &rec.article;
    let format = link_format(site);
    let feed_link = |topic: &Topic, label: &str| {
        format!(
            "<a href=\"{}\">{}</a>",
            escape_html(&site.feed_url(&topic.file(format))),
            text(label)
        )
    };

    let mut extra_head = String::new();
    if let Some(url) = a.url.as_deref().filter(|u| !u.trim().is_empty()) {
        extra_head.push_str(&format!(
            "<link rel=\"canonical\" href=\"{}\">\n",
            escape_html(&absolute_url(&site.base_url, url))
        ));
    }
    // The section chain: record.topics holds each prefix of the path with its written
    // spelling joined by " > "; each one's own label is what its parent's lacks.
    let mut crumbs = Vec::new();
    let mut parent_len = 0;
    for (topic, written) in &rec.topics {
        if let Topic::Section(_) = topic {
            let label = written
                .get(parent_len..)
                .unwrap_or(written)
                .trim_start_matches(" > ");
            crumbs.push(feed_link(topic, label));
            parent_len = written.len();
        }
    }
    if let Some((topic, written)) = rec.deepest_section() {
        extra_head.push_str(&format!(
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
            format.media_type(),
            text(written),
            escape_html(&site.feed_url(&topic.file(format)))
        ));
    }

    let mut out = page_head(site, &format!("{} · {}", a.title, site.title), &extra_head);
    out.push_str(&format!(
        "<header><a href=\"{}\">{}</a></header>\n<article>\n",
        escape_html(&site.home_url()),
        text(&site.title)
    ));
    if !crumbs.is_empty() {
        out.push_str(&format!("<nav>{}</nav>\n", crumbs.join(" › ")));
    }
    out.push_str(&format!("<h1>{}</h1>\n", text(&a.title)));
    if let Some(sub) = a.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!("<p class=\"subtitle\">{}</p>\n", text(sub)));
    }

    let mut meta = Vec::new();
    if let Some(t) = site.tz.timestamp_opt(rec.published, 0).single() {
        meta.push(format!(
            "<time datetime=\"{}\">{}</time>",
            t.to_rfc3339(),
            t.format("%Y-%m-%d %H:%M")
        ));
    }
    if let Some(author) = a.author.as_deref().filter(|s| !s.trim().is_empty()) {
        meta.push(format!("作者：{}", text(author)));
    }
    if let Some(editor) = a.editor.as_deref().filter(|s| !s.trim().is_empty()) {
        meta.push(format!("編輯：{}", text(editor)));
    }
    if !meta.is_empty() {
        out.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }
    if let Some(img) = a.image.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!(
            "<p><img src=\"{}\" alt=\"\" loading=\"lazy\"></p>\n",
            escape_html(&absolute_url(&site.base_url, img))
        ));
    }
    for block in &a.body {
        match block {
            Block::Paragraph(p) => out.push_str(&format!("<p>{}</p>\n", text(p))),
            Block::Heading(h) => out.push_str(&format!("<h2>{}</h2>\n", text(h))),
        }
    }

    let keywords: Vec<String> = rec
        .topics
        .iter()
        .filter(|(t, _)| matches!(t, Topic::Keyword(_)))
        .map(|(topic, written)| feed_link(topic, written))
        .collect();
    if !keywords.is_empty() {
        out.push_str(&format!(
            "<p class=\"keywords\">關鍵詞：{}</p>\n",
            keywords.join("")
        ));
    }
    out.push_str(&format!(
        "</article>\n<footer><a href=\"{}\">{}</a></footer>\n</body>\n</html>\n",
        escape_html(&site.feed_url(&Topic::All.file(format))),
        format.key().to_uppercase()
    ));
    out
}

fn not_found_page(site: &Site) -> String {
    let mut out = page_head(site, &format!("找不到文章 · {}", site.title), "");
    out.push_str(&format!(
        "<h1>找不到這篇文章</h1>\n<p>Article not found.</p>\n<p><a href=\"{}\">{}</a></p>\n\
         </body>\n</html>\n",
        escape_html(&site.home_url()),
        text(&site.title)
    ));
    out
}

/// Text for element content: control characters dropped, markup escaped.
fn text(s: &str) -> String {
    escape_html(&xml_clean(s)).into_owned()
}

// ---------------------------------------------------------------------------------------
// The file cache

/// `"` + xxh3-128 of the bytes in hex + suffix + `"`: a strong ETag, equal exactly when
/// the bytes are.
fn content_etag(bytes: &[u8], suffix: &str) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(bytes);
    HeaderValue::from_str(&format!("\"{hash:032x}{suffix}\"")).expect("hex digits only")
}

/// The content type of a published file, by name.
fn content_type(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match name {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        "feed.json" => "application/feed+json; charset=utf-8",
        "opml.xml" => "text/x-opml; charset=utf-8",
        _ => match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => "text/html; charset=utf-8",
            Some("json") => "application/json",
            Some("opml") => "text/x-opml; charset=utf-8",
            Some("xml") => "application/xml; charset=utf-8",
            Some("txt") => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        },
    }
}

/// What tells one version of a file from the next. Files are replaced by rename, never
/// rewritten in place, so a new version always has a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }
}

/// One version of one published file, ready to send.
struct Entry {
    identity: Identity,
    content_type: HeaderValue,
    body: Bytes,
    /// The gzip encoding, made the first time a client asks for it.
    gzip: OnceLock<Bytes>,
    etag: HeaderValue,
    /// Derived from the identity bytes, so it is known before the gzip body is made. A
    /// strong ETag must change with the bytes sent, and gzip output is a function of the
    /// input at a fixed level and library version.
    gzip_etag: HeaderValue,
    /// Whole seconds, as HTTP dates have them.
    modified: SystemTime,
    last_modified: HeaderValue,
    /// The cache's clock at the last use, for eviction.
    last_used: AtomicU64,
}

impl Entry {
    /// Reads a file. The identity comes from the open file, so it belongs to the bytes
    /// read even if the path is replaced meanwhile. `None`: not a regular file (anymore).
    fn load(path: &Path, rel: &str) -> io::Result<Option<Entry>> {
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)?;
        let modified_secs = meta.mtime().max(0) as u64;
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(modified_secs);
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
            .expect("HTTP dates are ASCII");
        Ok(Some(Entry {
            identity: Identity::of(&meta),
            content_type: HeaderValue::from_static(content_type(rel)),
            etag: content_etag(&bytes, ""),
            gzip_etag: content_etag(&bytes, "-gz"),
            body: Bytes::from(bytes),
            gzip: OnceLock::new(),
            modified,
            last_modified,
            last_used: AtomicU64::new(0),
        }))
    }

    fn compress(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut enc = GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 4),
                    Compression::default(),
                );
                io::Write::write_all(&mut enc, &self.body).expect("writing to a Vec");
                Bytes::from(enc.finish().expect("writing to a Vec"))
            })
            .clone()
    }
}

/// A missing file, or a path through something that is not a folder: both a 404.
fn is_missing(e: &io::Error) -> bool {
    /// ENOTDIR and ENAMETOOLONG on Linux (`io::ErrorKind` has stable names for them only
    /// since Rust 1.83 and 1.87, past this crate's MSRV).
    const ENOTDIR: i32 = 20;
    const ENAMETOOLONG: i32 = 36;
    e.kind() == io::ErrorKind::NotFound || matches!(e.raw_os_error(), Some(ENOTDIR | ENAMETOOLONG))
}

/// Published files in memory: `relative path → entry`, bounded by bytes held, evicting
/// the least recently used.
struct FileCache {
    budget: usize,
    slots: RwLock<Slots>,
    /// Advances on every insertion; an entry's `last_used` is the clock at its last hit.
    /// Hits only read it, so concurrent requests do not contend on one cache line.
    clock: AtomicU64,
}

#[derive(Default)]
struct Slots {
    map: HashMap<Box<str>, Slot>,
    /// Sum of `charged` over `map`.
    total: usize,
}

struct Slot {
    entry: Arc<Entry>,
    /// Bytes counted against the budget: the body, plus the gzip body once made.
    charged: usize,
}

impl FileCache {
    fn new(budget: usize) -> FileCache {
        FileCache {
            budget,
            slots: RwLock::new(Slots::default()),
            clock: AtomicU64::new(1),
        }
    }

    fn read_slots(&self) -> std::sync::RwLockReadGuard<'_, Slots> {
        // Slots stay consistent under a panic (each update is a few plain assignments),
        // so a poisoned lock is still usable.
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_slots(&self) -> std::sync::RwLockWriteGuard<'_, Slots> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current version of `root/rel`, or `None` if there is no such regular file.
    /// One `stat` when the cached version is current; otherwise the file is read and
    /// hashed on the blocking pool.
    async fn get(&self, root: &Path, rel: &str) -> io::Result<Option<Arc<Entry>>> {
        let path = root.join(rel);
        // A stat of a file in the kernel's caches takes about a microsecond; handing it to
        // the blocking pool would cost more than it saves.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(e) if is_missing(&e) => {
                self.forget(rel);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let identity = Identity::of(&meta);
        if let Some(entry) = self.lookup(rel, identity) {
            return Ok(Some(entry));
        }
        // Concurrent misses on one file each read it and the last insertion wins: a miss
        // happens once per publication of a file and costs well under a millisecond, so
        // coalescing them would not pay for its complexity.
        let owned_rel = rel.to_string();
        let loaded = tokio::task::spawn_blocking(move || Entry::load(&path, &owned_rel))
            .await
            .map_err(io::Error::other)??;
        Ok(loaded.map(|entry| self.insert(rel, entry)))
    }

    fn lookup(&self, rel: &str, identity: Identity) -> Option<Arc<Entry>> {
        let slots = self.read_slots();
        let entry = &slots.map.get(rel)?.entry;
        if entry.identity != identity {
            return None;
        }
        let now = self.clock.load(Ordering::Relaxed);
        if entry.last_used.load(Ordering::Relaxed) != now {
            entry.last_used.store(now, Ordering::Relaxed);
        }
        Some(entry.clone())
    }

    fn insert(&self, rel: &str, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        let size = entry.body.len();
        if size > self.budget / CACHE_MAX_ENTRY_SHARE {
            self.forget(rel);
            return entry;
        }
        entry.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
        let mut slots = self.write_slots();
        let slot = Slot {
            entry: entry.clone(),
            charged: size,
        };
        if let Some(old) = slots.map.insert(rel.into(), slot) {
            slots.total -= old.charged;
        }
        slots.total += size;
        self.evict(&mut slots);
        entry
    }

    /// The gzip body of `entry`, made on the blocking pool the first time (a few
    /// milliseconds for a large feed) and counted against the budget.
    async fn gzip(&self, rel: &str, entry: &Arc<Entry>) -> io::Result<Bytes> {
        if let Some(bytes) = entry.gzip.get() {
            return Ok(bytes.clone());
        }
        let made = entry.clone();
        let bytes = tokio::task::spawn_blocking(move || made.compress())
            .await
            .map_err(io::Error::other)?;
        let mut slots = self.write_slots();
        let Slots { map, total } = &mut *slots;
        if let Some(slot) = map.get_mut(rel) {
            // Only the cached version is charged, and only once (two requests may have
            // waited for the same compression).
            if Arc::ptr_eq(&slot.entry, entry) && slot.charged == entry.body.len() {
                slot.charged += bytes.len();
                *total += bytes.len();
            }
        }
        self.evict(&mut slots);
        Ok(bytes)
    }

    fn forget(&self, rel: &str) {
        if !self.read_slots().map.contains_key(rel) {
            return;
        }
        let mut slots = self.write_slots();
        if let Some(old) = slots.map.remove(rel) {
            slots.total -= old.charged;
        }
    }

    /// Over budget: drops the least recently used entries down to three quarters of it,
    /// so that the sort is paid once per many insertions rather than on each.
    fn evict(&self, slots: &mut Slots) {
        if slots.total <= self.budget {
            return;
        }
        let mut by_age: Vec<(u64, Box<str>)> = slots
            .map
            .iter()
            .map(|(k, s)| (s.entry.last_used.load(Ordering::Relaxed), k.clone()))
            .collect();
        by_age.sort_unstable();
        let target = self.budget / 4 * 3;
        for (_, key) in by_age {
            if slots.total <= target {
                break;
            }
            if let Some(old) = slots.map.remove(&key) {
                slots.total -= old.charged;
            }
        }
    }
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
