//! The subscription pages of `tidings run` (DESIGN §5, issue 4 item 3): `/subscribe`,
//! `/confirm`, `/manage` and `/unsubscribe`.
//!
//! Double opt-in: `POST /subscribe` stores a *pending* subscriber and mails a signed,
//! 48-hour confirmation link ([`token`]); only `/confirm` makes it active. `/manage` and
//! `/unsubscribe` act on whoever holds a signed link, so no page ever needs a password —
//! and no page ever says whether an address is known: `/subscribe` answers "check your
//! inbox" in every case (an already active subscriber gets a "manage here" mail instead of
//! a confirmation, and is not downgraded), and `/unsubscribe` answers the same for an
//! address that is not (or no longer) there.
//!
//! Forms are protected against cross-site request forgery by a double-submit token: a
//! random nonce and a timestamp, MACed with the link key, sent both as a `SameSite=Strict`
//! cookie and as a hidden field. A POST must carry both, equal, correctly MACed and younger
//! than two hours; an `Origin` or `Sec-Fetch-Site` header, when the browser sends one,
//! must say the request comes from this site. The RFC 8058 one-click unsubscribe is the
//! one exception: mail providers POST it from their servers with neither cookie nor field,
//! and the signed URL token is the authority there.
//!
//! `POST /subscribe` is rate-limited per client address (an IPv6 client per /64), in
//! memory: it sends mail to an address anybody can type, so it must not become a way to
//! flood a mailbox. Only requests that would send a mail count (after the form token and
//! the fields are checked).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::Message;
use sha2::Sha256;

use crate::config::{self, Config};
use crate::digests::mail::{Envelope, Transport};
use crate::digests::subscriber::{
    email_key, normalize_email, validate_schedule, validate_timezone, SubscriberError,
};
use crate::digests::token::{self, Purpose};
use crate::feeds::feed::escape_html;
use crate::feeds::index::Index;
use crate::model::subscriber::{Status, Subscriber, Topics};
use crate::model::topic::Topic;

/// How long a confirmation link works.
const CONFIRM_TTL_SECS: i64 = 48 * 3600;
/// Manage links in mails from these pages; the same lifetime as in digests.
const MANAGE_TTL_SECS: i64 = 30 * 86_400;
/// Unsubscribe links; long, as in digests: an old mail must still let a reader leave.
const UNSUBSCRIBE_TTL_SECS: i64 = 400 * 86_400;
/// A form older than this is refused (the reader reloads the page).
const CSRF_MAX_AGE_SECS: i64 = 2 * 3600;
/// A form cookie younger than this is reused by the next page, so that two open tabs
/// do not invalidate each other; older ones are replaced well before they expire.
const CSRF_REUSE_SECS: i64 = 3600;
const CSRF_COOKIE: &str = "tidings_csrf";
/// Subscription requests per client address per window.
const RATE_LIMIT: usize = 5;
const RATE_WINDOW: Duration = Duration::from_secs(600);
/// Addresses remembered by the limiter before stale ones are swept.
const RATE_SWEEP_AT: usize = 10_000;
/// Keywords offered as checkboxes: the most used ones; others are typed.
const KEYWORD_CHOICES: usize = 100;
/// Largest form body read.
const FORM_MAX_BYTES: usize = 64 << 10;

/// The schedule presets of the form: value, label.
const PRESETS: [(&str, &str); 3] = [
    ("0 8 * * *", "每日 08:00"),
    ("0 8 * * 1", "每週一 08:00"),
    ("@hourly", "每小時"),
];

/// Zones offered in the form (the configured default and a subscriber's own are added).
const ZONES: [&str; 20] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "UTC",
];

type HmacSha256 = Hmac<Sha256>;

/// What the subscription pages need; built once per configuration (see
/// `daemon::http_state`).
pub struct Web {
    index: Arc<Index>,
    key: Vec<u8>,
    /// `site.base_url`, no trailing slash: links in mails start with it.
    base_url: String,
    site_title: String,
    default_tz: String,
    mail: config::Mail,
    /// Built on first use (opening the outbox is async; the router is built in sync
    /// code), then shared by every request.
    transport: tokio::sync::OnceCell<Transport>,
    limiter: RateLimiter,
    /// `Secure` on the form cookie: only when the site is served over https, or a
    /// browser on plain http (a test, a LAN install) would drop it.
    secure_cookie: bool,
}

impl Web {
    /// Reads (or creates, mode 0600) the link key of `digest.secret_file`.
    pub fn new(config: &Config, index: Arc<Index>) -> anyhow::Result<Web> {
        let key = crate::digests::round::load_or_create_key(&config.digest.secret_file)?;
        let base_url = config.site.base_url.trim_end_matches('/').to_string();
        Ok(Web {
            index,
            key,
            secure_cookie: base_url.starts_with("https://"),
            base_url,
            site_title: config.site.title.clone(),
            default_tz: config.digest.timezone.clone(),
            mail: config.mail.clone(),
            transport: tokio::sync::OnceCell::new(),
            limiter: RateLimiter::default(),
        })
    }

    async fn transport(&self) -> anyhow::Result<&Transport> {
        self.transport
            .get_or_try_init(|| Transport::from_config(&self.mail))
            .await
    }
}

/// The subscription routes, to be merged into `http::router`.
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/subscribe", get(subscribe_page).post(subscribe_post))
        .route("/confirm", get(confirm))
        .route("/manage", get(manage_page).post(manage_post))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe_post))
        // axum's default is 2 MB; the form has at most a few hundred short fields.
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
        .with_state(web)
}

type WebState = State<Arc<Web>>;

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------
// Rate limit

/// A sliding window of request times per client address.
#[derive(Default)]
struct RateLimiter {
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Records a request from `ip`; `false` when it is over the limit (then it is not
    /// recorded, so a client that keeps hammering is let in again once its window ends).
    fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = limit_key(ip);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= RATE_SWEEP_AT {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < RATE_WINDOW)
            });
        }
        let times = seen.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= RATE_LIMIT {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one host usually holds
/// a whole /64 and could otherwise pick a fresh address per request).
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
        v4 => v4,
    }
}

// ---------------------------------------------------------------------------------------
// CSRF

/// A fresh form token: `TIME.NONCE.MAC`.
fn csrf_new(key: &[u8], now: i64) -> String {
    let mut nonce = [0u8; 16];
    fill_random(&mut nonce);
    let payload = format!("{now}.{}", hex(&nonce));
    let tag = csrf_mac(key, &payload);
    format!("{payload}.{tag}")
}

fn csrf_mac(key: &[u8], payload: &str) -> String {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    // A domain prefix keeps a form token from ever being mistaken for a link token.
    m.update(b"tidings-csrf\0");
    m.update(payload.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// The age in seconds of a well-formed, correctly MACed token, or `None`.
fn csrf_age(key: &[u8], token: &str, now: i64) -> Option<i64> {
    let (payload, tag) = token.rsplit_once('.')?;
    let want = csrf_mac(key, payload);
    if !constant_time_eq(want.as_bytes(), tag.as_bytes()) {
        return None;
    }
    let time: i64 = payload.split_once('.')?.0.parse().ok()?;
    // A little slack for a clock stepped back between the page and the POST.
    (time <= now + 60).then_some(now - time)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// The token a page should embed: the cookie's, while it is young enough to be reused,
/// else a new one (and then the cookie must be set).
fn csrf_for_page(web: &Web, headers: &HeaderMap) -> (String, bool) {
    let now = now_unix();
    match cookie_value(headers, CSRF_COOKIE) {
        Some(t) if csrf_age(&web.key, t, now).is_some_and(|age| age < CSRF_REUSE_SECS) => {
            (t.to_string(), false)
        }
        _ => (csrf_new(&web.key, now), true),
    }
}

fn csrf_cookie(web: &Web, token: &str) -> HeaderValue {
    let secure = if web.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; Max-Age={CSRF_MAX_AGE_SECS}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("token is ASCII")
}

/// Why a POST is refused as a possible forgery (for the log; the page says "reload").
fn csrf_check(web: &Web, headers: &HeaderMap, field: Option<&str>) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": typed or bookmarked — not a cross-site form.
        if !matches!(site, "same-origin" | "none") {
            return Err("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        // `null` says nothing (privacy settings send it for any origin); the token pair,
        // which no other site can read or set, still decides.
        if origin != "null" && !origin_allowed(web, headers, origin) {
            return Err("Origin is another site");
        }
    }
    let cookie = cookie_value(headers, CSRF_COOKIE).ok_or("no form cookie")?;
    let field = field.ok_or("no form token")?;
    if !constant_time_eq(cookie.as_bytes(), field.as_bytes()) {
        return Err("form token differs from the cookie");
    }
    match csrf_age(&web.key, field, now_unix()) {
        Some(age) if age < CSRF_MAX_AGE_SECS => Ok(()),
        Some(_) => Err("form token expired"),
        None => Err("form token forged or malformed"),
    }
}

/// The site's own origin: that of `site.base_url`, or the one the request was sent to
/// (the daemon may be reached by another name than the public one, e.g. behind a proxy
/// that keeps `Host`).
fn origin_allowed(web: &Web, headers: &HeaderMap, origin: &str) -> bool {
    let base_origin = web
        .base_url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    if origin.eq_ignore_ascii_case(&base_origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !host.is_empty()
        && origin
            .split_once("://")
            .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
}

fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_err()
    {
        // Never reached on Linux; a nonce then still differs per request and per process.
        let seed = format!("{:?}{}", Instant::now(), std::process::id());
        let mut m = HmacSha256::new_from_slice(seed.as_bytes()).expect("any key length");
        m.update(b"nonce");
        let bytes = m.finalize().into_bytes();
        for (b, r) in buf.iter_mut().zip(bytes.iter().cycle()) {
            *b = *r;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------
// Responses

/// A complete page: mobile viewport, inline CSS only, nothing loaded from elsewhere.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.6;color:#222;background:#fff}}
h1{{font-size:1.4rem}} fieldset{{border:1px solid #ccc;border-radius:6px;margin:0 0 1rem;padding:.5rem .8rem}}
legend{{font-weight:bold}} label.c{{display:inline-block;margin:.15rem .8rem .15rem 0;white-space:nowrap}}
input[type=email],input[type=text],select{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #aaa;border-radius:4px}}
button{{font-size:1.05rem;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#b22;color:#fff}}
.err{{background:#fdecea;border:1px solid #e99;padding:.6rem;border-radius:6px}}
.ok{{background:#eaf6ea;border:1px solid #9c9;padding:.6rem;border-radius:6px}}
.hint{{color:#666;font-size:.9rem}} .kw{{max-height:16rem;overflow:auto}}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"#,
        title = escape_html(title)
    )
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h);
    res
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    secure_headers(h);
    res
}

/// Pages carry personal links: never cached, never framed, and the token in the URL
/// never leaks through `Referer` to another site. (`same-origin`, not `no-referrer`:
/// with the latter browsers send `Origin: null` on the page's own form posts.)
fn secure_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

fn message_page(status: StatusCode, title: &str, class: &str, message: &str) -> Response {
    let body = format!(
        "<p class=\"{class}\">{}</p>\n<p><a href=\"/subscribe\">訂閱頁</a></p>",
        escape_html(message)
    );
    html(status, page(title, &body))
}

/// One answer for every bad link — expired, forged, for another page, or naming an
/// address that is gone — so that a link reveals nothing.
fn bad_link() -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "連結無效或已過期",
        "err",
        "此連結無效或已過期。如需訂閱，請重新填寫訂閱表單；退訂或修改請使用最近一封郵件中的連結。",
    )
}

fn forbidden(reason: &str) -> Response {
    tracing::info!("form refused: {reason}");
    message_page(
        StatusCode::FORBIDDEN,
        "表單已失效",
        "err",
        "表單已過期或來源無法驗證。請重新載入頁面後再提交。",
    )
}

fn server_error(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!("{what}: {e:#}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "暫時無法處理",
        "err",
        "伺服器暫時無法處理您的請求，請稍後再試。",
    )
}

// ---------------------------------------------------------------------------------------
// The form

/// What the form shows: a blank subscription, a subscriber's own, or what was just
/// submitted (with an error).
#[derive(Default)]
struct Filled {
    email: String,
    /// Folded section paths checked.
    sections: Vec<Vec<String>>,
    /// Folded keywords checked (those offered as checkboxes).
    keywords: Vec<String>,
    more_keywords: String,
    terms: String,
    preset: String,
    cron: String,
    tz: String,
}

impl Filled {
    fn from_subscriber(s: &Subscriber) -> Filled {
        let preset = if PRESETS.iter().any(|(v, _)| *v == s.schedule) {
            s.schedule.clone()
        } else {
            "custom".to_string()
        };
        Filled {
            email: s.email.clone(),
            sections: s.topics.sections.clone(),
            keywords: s.topics.keywords.clone(),
            // Keywords that are not among the checkboxes go to the text field; the
            // render step decides which those are.
            more_keywords: String::new(),
            terms: s.topics.term_names.join("，"),
            cron: if preset == "custom" {
                s.schedule.clone()
            } else {
                String::new()
            },
            preset,
            tz: s.tz.clone(),
        }
    }
}

/// The form's fields as submitted; checkboxes repeat their name.
#[derive(Default)]
struct Submitted {
    fields: Vec<(String, String)>,
}

impl Submitted {
    fn one(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn filled(&self) -> Filled {
        Filled {
            email: self.one("email").unwrap_or("").to_string(),
            sections: self
                .all("section")
                .iter()
                .map(|s| crate::digests::subscriber::parse_section(s))
                .collect(),
            keywords: self.all("keyword"),
            more_keywords: self.one("more_keywords").unwrap_or("").to_string(),
            terms: self.one("terms").unwrap_or("").to_string(),
            preset: self.one("preset").unwrap_or("").to_string(),
            cron: self.one("cron").unwrap_or("").to_string(),
            tz: self.one("tz").unwrap_or("").to_string(),
        }
    }
}

/// Reads an urlencoded body (at most [`FORM_MAX_BYTES`], see [`router`]); `None` for a
/// body that is not one.
async fn read_form(req: Request) -> Option<Submitted> {
    Form::<Vec<(String, String)>>::from_request(req, &())
        .await
        .ok()
        .map(|Form(fields)| Submitted { fields })
}

/// Splits a typed list: commas, semicolons (either width), 、 and line breaks.
fn split_list(text: &str) -> Vec<String> {
    text.split([',', '，', ';', '；', '、', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The form's fields checked and turned into (topics, schedule, zone), or an error
/// message naming the field.
fn validate_choices(form: &Submitted) -> Result<(Topics, String, String), String> {
    let sections = form.all("section");
    let mut keywords = form.all("keyword");
    keywords.extend(split_list(form.one("more_keywords").unwrap_or("")));
    let terms = split_list(form.one("terms").unwrap_or(""));
    let topics = Topics::from_input(&sections, &keywords, &terms).map_err(|e| match e {
        SubscriberError::Section { .. } => format!("欄目：{e}"),
        SubscriberError::Keyword { .. } => format!("關鍵詞：{e}"),
        SubscriberError::Term { .. } => format!("詞語：{e}"),
        other => format!("主題：{other}"),
    })?;
    if topics.is_empty() {
        return Err("主題：請至少勾選一個欄目或關鍵詞，或填寫一個詞語。".into());
    }
    let preset = form.one("preset").unwrap_or("");
    let schedule = if preset == "custom" || preset.is_empty() {
        form.one("cron").unwrap_or("").trim()
    } else {
        preset
    };
    if schedule.is_empty() {
        return Err("發送時間：請選擇一個預設，或填寫自訂的 cron 表達式。".into());
    }
    let schedule = validate_schedule(schedule).map_err(|e| format!("發送時間：{e}"))?;
    let tz = validate_timezone(form.one("tz").unwrap_or("")).map_err(|e| format!("時區：{e}"))?;
    Ok((topics, schedule, tz))
}

/// Which form: a new subscription, or a subscriber's own behind a manage token.
enum FormKind<'a> {
    Subscribe,
    Manage { token: &'a str },
}

/// The form page. `error` or `notice`: a message above the form.
fn render_form(
    web: &Web,
    kind: FormKind<'_>,
    filled: &Filled,
    csrf: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let table = web.index.feed_table();
    let mut b = String::new();
    if let Some(e) = error {
        let _ = writeln!(b, "<p class=\"err\" role=\"alert\">{}</p>", escape_html(e));
    }
    if let Some(n) = notice {
        let _ = writeln!(b, "<p class=\"ok\" role=\"status\">{}</p>", escape_html(n));
    }
    let action = match kind {
        FormKind::Subscribe => "/subscribe",
        FormKind::Manage { .. } => "/manage",
    };
    let _ = writeln!(b, "<form method=\"post\" action=\"{action}\">");
    let _ = writeln!(
        b,
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape_html(csrf)
    );
    match kind {
        FormKind::Subscribe => {
            let _ = writeln!(
                b,
                "<fieldset><legend><label for=\"email\">電子郵件</label></legend>\
                 <input type=\"email\" id=\"email\" name=\"email\" required autocomplete=\"email\" value=\"{}\"></fieldset>",
                escape_html(&filled.email)
            );
        }
        FormKind::Manage { token } => {
            let _ = writeln!(
                b,
                "<input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <p>訂閱地址：<strong>{}</strong></p>",
                escape_html(token),
                escape_html(&filled.email)
            );
        }
    }

    // Sections: every node of the site's section tree, named by its display titles.
    let _ = writeln!(b, "<fieldset><legend>欄目</legend>");
    let mut shown_sections = Vec::new();
    for topic in table.keys() {
        let Topic::Section(path) = topic else {
            continue;
        };
        // A section's spelling is its whole path as written (`黨派·聲音 > 統一戰線`).
        let label = table
            .get(topic)
            .map(|i| i.title().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| path.join(" > "));
        checkbox(
            &mut b,
            "section",
            &path.join(" > "),
            &label,
            filled.sections.contains(path),
        );
        shown_sections.push(path.clone());
    }
    // A subscriber's section the site no longer has stays listed (and checked).
    for path in filled
        .sections
        .iter()
        .filter(|p| !shown_sections.contains(p))
    {
        checkbox(
            &mut b,
            "section",
            &path.join(" > "),
            &path.join(" > "),
            true,
        );
    }
    let _ = writeln!(b, "</fieldset>");

    // Keywords: the most used as checkboxes, any other typed.
    let mut kws: Vec<(&String, u64, &str)> = table
        .iter()
        .filter_map(|(t, info)| match t {
            Topic::Keyword(k) => Some((k, info.count, info.title())),
            _ => None,
        })
        .collect();
    kws.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    kws.truncate(KEYWORD_CHOICES);
    let _ = writeln!(b, "<fieldset><legend>關鍵詞</legend><div class=\"kw\">");
    for (k, count, title) in &kws {
        let label = format!(
            "{} ({count})",
            if title.is_empty() { k.as_str() } else { title }
        );
        let checked = filled
            .keywords
            .iter()
            .any(|f| f == *k || crate::fold::fold(f.trim()) == **k);
        checkbox(&mut b, "keyword", k, &label, checked);
    }
    let mut more = filled.more_keywords.clone();
    let offered: Vec<&String> = kws.iter().map(|(k, _, _)| *k).collect();
    let extra: Vec<&String> = filled
        .keywords
        .iter()
        .filter(|k| {
            !offered.contains(k) && !offered.iter().any(|o| **o == crate::fold::fold(k.trim()))
        })
        .collect();
    if !extra.is_empty() {
        let joined = extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("，");
        more = if more.trim().is_empty() {
            joined
        } else {
            format!("{more}，{joined}")
        };
    }
    let _ = writeln!(
        b,
        "</div><p><label for=\"more_keywords\">其他關鍵詞（以逗號分隔）</label>\
         <input type=\"text\" id=\"more_keywords\" name=\"more_keywords\" value=\"{}\"></p></fieldset>",
        escape_html(&more)
    );
    let _ = writeln!(
        b,
        "<fieldset><legend><label for=\"terms\">詞語</label></legend>\
         <input type=\"text\" id=\"terms\" name=\"terms\" value=\"{}\">\
         <p class=\"hint\">在標題和正文中搜尋的詞語，以逗號分隔；繁簡均可。</p></fieldset>",
        escape_html(&filled.terms)
    );

    // Schedule.
    let preset = if filled.preset.is_empty() {
        PRESETS[0].0
    } else {
        filled.preset.as_str()
    };
    let _ = writeln!(b, "<fieldset><legend>發送時間</legend>");
    for (i, (value, label)) in PRESETS.iter().enumerate() {
        let _ = writeln!(
            b,
            "<label class=\"c\"><input type=\"radio\" name=\"preset\" id=\"preset{i}\" value=\"{}\"{}> {}</label>",
            escape_html(value),
            if *value == preset { " checked" } else { "" },
            escape_html(label)
        );
    }
    let _ = writeln!(
        b,
        "<label class=\"c\"><input type=\"radio\" name=\"preset\" id=\"preset_custom\" value=\"custom\"{}> 自訂</label>\
         <p><label for=\"cron\">自訂 cron（分 時 日 月 週，例如 <code>30 7 * * 1-5</code>）</label>\
         <input type=\"text\" id=\"cron\" name=\"cron\" value=\"{}\"></p></fieldset>",
        if preset == "custom" { " checked" } else { "" },
        escape_html(&filled.cron)
    );

    // Zone.
    let tz = if filled.tz.is_empty() {
        web.default_tz.as_str()
    } else {
        filled.tz.as_str()
    };
    let mut zones: Vec<&str> = ZONES.to_vec();
    for z in [web.default_tz.as_str(), tz] {
        if !z.is_empty() && !zones.contains(&z) {
            zones.insert(0, z);
        }
    }
    let _ = writeln!(
        b,
        "<fieldset><legend><label for=\"tz\">時區</label></legend><select id=\"tz\" name=\"tz\">"
    );
    for z in zones {
        let _ = writeln!(
            b,
            "<option value=\"{0}\"{1}>{0}</option>",
            escape_html(z),
            if z == tz { " selected" } else { "" }
        );
    }
    let _ = writeln!(b, "</select></fieldset>");
    let button = match kind {
        FormKind::Subscribe => "訂閱",
        FormKind::Manage { .. } => "保存",
    };
    let _ = writeln!(
        b,
        "<p><button type=\"submit\" id=\"submit\">{button}</button></p>\n</form>"
    );
    if let FormKind::Subscribe = kind {
        let _ = writeln!(
            b,
            "<p class=\"hint\">提交後我們會寄出一封確認郵件；點擊其中的連結後訂閱才會生效。</p>"
        );
    }
    let title = match kind {
        FormKind::Subscribe => format!("訂閱「{}」摘要", web.site_title),
        FormKind::Manage { .. } => format!("管理「{}」訂閱", web.site_title),
    };
    page(&title, &b)
}

fn checkbox(b: &mut String, name: &str, value: &str, label: &str, checked: bool) {
    let _ = writeln!(
        b,
        "<label class=\"c\"><input type=\"checkbox\" name=\"{name}\" value=\"{}\"{}> {}</label>",
        escape_html(value),
        if checked { " checked" } else { "" },
        escape_html(label)
    );
}

/// A form page, with the CSRF cookie set when the token is new.
fn form_response(web: &Web, status: StatusCode, body: String, csrf: &str, set: bool) -> Response {
    let mut res = html(status, body);
    if set {
        res.headers_mut()
            .insert(header::SET_COOKIE, csrf_cookie(web, csrf));
    }
    res
}

// ---------------------------------------------------------------------------------------
// Handlers

async fn subscribe_page(State(web): WebState, headers: HeaderMap) -> Response {
    let (csrf, set) = csrf_for_page(&web, &headers);
    let body = render_form(
        &web,
        FormKind::Subscribe,
        &Filled::default(),
        &csrf,
        None,
        None,
    );
    form_response(&web, StatusCode::OK, body, &csrf, set)
}

async fn subscribe_post(State(web): WebState, req: Request) -> Response {
    // The peer address; behind a reverse proxy every client shares the proxy's, which
    // makes the limit stricter, never looser.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(why);
    }
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let rerender = |msg: &str| {
        let body = render_form(
            &web,
            FormKind::Subscribe,
            &form.filled(),
            &csrf,
            Some(msg),
            None,
        );
        html(StatusCode::BAD_REQUEST, body)
    };
    let email = match normalize_email(form.one("email").unwrap_or("")) {
        Ok(e) => e,
        Err(e) => return rerender(&format!("電子郵件：{e}")),
    };
    let (topics, schedule, tz) = match validate_choices(&form) {
        Ok(v) => v,
        Err(msg) => return rerender(&msg),
    };
    // Counted only now, for requests that would send a mail: that is what the limit
    // protects (someone's mailbox), and a reader fixing a typo is not held back by it.
    if let Some(ip) = ip {
        if !web.limiter.allow(ip, Instant::now()) {
            tracing::info!("subscribe rate limit hit by {ip}");
            let mut res = message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "請求過於頻繁",
                "err",
                "短時間內提交次數過多，請稍後再試。",
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RATE_WINDOW.as_secs()),
            );
            return res;
        }
    }
    let now = now_unix();
    let key = email_key(&email);
    let existing = match web.index.subscriber(&key) {
        Ok(s) => s,
        Err(e) => return server_error("reading a subscriber", e),
    };
    let mail = match existing {
        Some(s) if s.status == Status::Active => {
            // Never downgrade a confirmed subscription on an unconfirmed request; tell the
            // owner instead (they may simply have forgotten).
            already_subscribed_mail(&web, &s.email, &key, now)
        }
        _ => {
            let mut sub = match Subscriber::new(&email, topics, &schedule, &tz, now) {
                Ok(s) => s,
                Err(e) => return rerender(&e.to_string()),
            };
            sub.status = Status::Pending;
            sub.watermark = match web.index.last_seq() {
                Ok(seq) => seq,
                Err(e) => return server_error("reading the arrival sequence", e),
            };
            if let Err(e) = web.index.put_subscribers(&[sub]) {
                return server_error("storing a subscriber", e);
            }
            confirmation_mail(&web, &email, &key, now)
        }
    };
    // Sent in the background: the answer must not wait for (or, by its timing, tell
    // anything about) the mail.
    match mail {
        Ok((message_id, bytes)) => {
            let web = web.clone();
            tokio::spawn(async move {
                let envelope = Envelope::new(web.mail.from.clone(), email.clone());
                match web.transport().await {
                    Ok(t) => {
                        if let Err(e) = t.send(&envelope, &message_id, &bytes).await {
                            tracing::warn!("subscription mail to {email}: {e}");
                        }
                    }
                    Err(e) => tracing::error!("mail transport: {e:#}"),
                }
            });
        }
        Err(e) => tracing::warn!("subscription mail to {email}: {e:#}"),
    }
    message_page(
        StatusCode::OK,
        "請查收郵件",
        "ok",
        "請查收您的收件匣：我們已寄出一封郵件，請按其中的說明完成操作。若幾分鐘內未收到，請檢查垃圾郵件夾。",
    )
}

/// A signed link to one of the pages.
fn link(web: &Web, page: &str, purpose: Purpose, key: &str, expires: i64) -> String {
    format!(
        "{}/{page}?token={}",
        web.base_url,
        token::sign(&web.key, purpose, key, expires)
    )
}

fn confirmation_mail(
    web: &Web,
    to: &str,
    key: &str,
    now: i64,
) -> anyhow::Result<(String, Vec<u8>)> {
    let confirm = link(
        web,
        "confirm",
        Purpose::Confirm,
        key,
        now + CONFIRM_TTL_SECS,
    );
    let body = format!(
        "您好：\r\n\r\n有人（希望是您）在 {base}/subscribe 以此地址訂閱了「{title}」的摘要。\r\n\
         請在 48 小時內打開下面的連結確認訂閱：\r\n\r\n{confirm}\r\n\r\n\
         如果這不是您本人的操作，請忽略此郵件：未經確認，您不會收到任何摘要。\r\n",
        base = web.base_url,
        title = web.site_title,
    );
    build_mail(
        web,
        to,
        &format!("請確認訂閱「{}」摘要", web.site_title),
        body,
    )
}

fn already_subscribed_mail(
    web: &Web,
    to: &str,
    key: &str,
    now: i64,
) -> anyhow::Result<(String, Vec<u8>)> {
    let manage = link(web, "manage", Purpose::Manage, key, now + MANAGE_TTL_SECS);
    let unsubscribe = link(
        web,
        "unsubscribe",
        Purpose::Unsubscribe,
        key,
        now + UNSUBSCRIBE_TTL_SECS,
    );
    let body = format!(
        "您好：\r\n\r\n有人（希望是您）在 {base}/subscribe 以此地址申請訂閱「{title}」的摘要，\r\n\
         而此地址已經訂閱，訂閱內容沒有改變。\r\n\r\n\
         修改欄目、關鍵詞或發送時間：\r\n{manage}\r\n\r\n退訂：\r\n{unsubscribe}\r\n",
        base = web.base_url,
        title = web.site_title,
    );
    build_mail(
        web,
        to,
        &format!("您已訂閱「{}」摘要", web.site_title),
        body,
    )
}

/// A plain-text UTF-8 message; lettre encodes the subject (RFC 2047) and picks the body's
/// transfer encoding.
fn build_mail(
    web: &Web,
    to: &str,
    subject: &str,
    body: String,
) -> anyhow::Result<(String, Vec<u8>)> {
    let from = Mailbox::from_str(web.mail.from.trim())
        .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", web.mail.from))?;
    let to = Mailbox::from_str(to).map_err(|e| anyhow::anyhow!("address {to:?}: {e}"))?;
    let domain = from.email.domain().to_string();
    let mut nonce = [0u8; 12];
    fill_random(&mut nonce);
    let message_id = format!("<subscribe.{}@{domain}>", hex(&nonce));
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.clone()))
        .header(ContentType::TEXT_PLAIN)
        .body(body)?;
    Ok((message_id, message.formatted()))
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn confirm(State(web): WebState, Query(q): Query<TokenQuery>) -> Response {
    let now = now_unix();
    let Ok(key) = token::verify(&web.key, Purpose::Confirm, &q.token, now) else {
        return bad_link();
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    if sub.status != Status::Active {
        // The watermark stays where subscribing set it: the first digest covers what
        // arrived since the form was sent, not since the link was followed.
        sub.status = Status::Active;
        sub.bounces = 0;
        if let Err(e) = web.index.put_subscribers(&[sub]) {
            return server_error("activating a subscriber", e);
        }
    }
    let manage = link(&web, "manage", Purpose::Manage, &key, now + MANAGE_TTL_SECS);
    let body = format!(
        "<p class=\"ok\">訂閱已確認。摘要將按您選擇的時間寄出。</p>\n\
         <p><a id=\"manage\" href=\"{}\">管理訂閱</a>（修改欄目、關鍵詞或發送時間；請保存此連結或使用摘要郵件底部的連結）</p>",
        escape_html(&manage)
    );
    html(StatusCode::OK, page("訂閱已確認", &body))
}

async fn manage_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &q.token, now_unix()) else {
        return bad_link();
    };
    let sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    let (csrf, set) = csrf_for_page(&web, &headers);
    let body = render_form(
        &web,
        FormKind::Manage { token: &q.token },
        &Filled::from_subscriber(&sub),
        &csrf,
        None,
        None,
    );
    form_response(&web, StatusCode::OK, body, &csrf, set)
}

async fn manage_post(State(web): WebState, req: Request) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(why);
    }
    let token = form.one("token").unwrap_or("").to_string();
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &token, now_unix()) else {
        return bad_link();
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let (topics, schedule, tz) = match validate_choices(&form) {
        Ok(v) => v,
        Err(msg) => {
            let mut filled = form.filled();
            filled.email = sub.email.clone();
            let body = render_form(
                &web,
                FormKind::Manage { token: &token },
                &filled,
                &csrf,
                Some(&msg),
                None,
            );
            return html(StatusCode::BAD_REQUEST, body);
        }
    };
    // Status, watermark and run history stay: a changed schedule takes effect at the
    // scheduler's next look at the subscribers, without losing or repeating articles.
    sub.topics = topics;
    sub.schedule = schedule;
    sub.tz = tz;
    if let Err(e) = web.index.put_subscribers(std::slice::from_ref(&sub)) {
        return server_error("updating a subscriber", e);
    }
    let body = render_form(
        &web,
        FormKind::Manage { token: &token },
        &Filled::from_subscriber(&sub),
        &csrf,
        None,
        Some("已保存。新的設定從下一次發送起生效。"),
    );
    html(StatusCode::OK, body)
}

async fn unsubscribe_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    // Only the signature is checked: looking the address up would make the page differ
    // for a known and an unknown one.
    if token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()).is_err() {
        return bad_link();
    }
    let (csrf, set) = csrf_for_page(&web, &headers);
    let action = format!("/unsubscribe?token={}", q.token);
    let body = format!(
        "<p>確定不再接收摘要郵件嗎？</p>\n\
         <form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <p><button type=\"submit\" id=\"submit\">退訂</button></p>\n</form>",
        escape_html(&action),
        escape_html(&csrf)
    );
    form_response(&web, StatusCode::OK, page("退訂", &body), &csrf, set)
}

async fn unsubscribe_post(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    // RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click` to the header's URL,
    // without cookies; the signed token is all the authority there is (and needs).
    let one_click = form.one("List-Unsubscribe") == Some("One-Click");
    if !one_click {
        if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
            return forbidden(why);
        }
    }
    let Ok(key) = token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()) else {
        return bad_link();
    };
    match web.index.subscriber(&key) {
        Ok(Some(mut s)) if s.status != Status::Unsubscribed => {
            s.status = Status::Unsubscribed;
            if let Err(e) = web.index.put_subscribers(&[s]) {
                return server_error("unsubscribing", e);
            }
            tracing::info!(
                "unsubscribed {key} ({})",
                if one_click { "one-click" } else { "page" }
            );
        }
        // Gone or already out: the same answer, so the page reveals nothing.
        Ok(_) => {}
        Err(e) => return server_error("reading a subscriber", e),
    }
    if one_click {
        text(StatusCode::OK, "unsubscribed\n")
    } else {
        message_page(
            StatusCode::OK,
            "已退訂",
            "ok",
            "您已退訂，不會再收到摘要郵件。",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_n_per_window_and_groups_ipv6_by_64() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..RATE_LIMIT {
            assert!(l.allow(ip, t0));
        }
        assert!(!l.allow(ip, t0));
        assert!(l.allow("192.0.2.2".parse().unwrap(), t0));
        assert!(l.allow(ip, t0 + RATE_WINDOW));
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
    }

    #[test]
    fn csrf_tokens_verify_and_age() {
        let key = b"k".repeat(32);
        let t = csrf_new(&key, 1_000);
        assert_eq!(csrf_age(&key, &t, 1_010), Some(10));
        assert_eq!(csrf_age(&b"x".repeat(32), &t, 1_010), None);
        let forged = t.replacen("1000", "2000", 1);
        assert_eq!(csrf_age(&key, &forged, 2_010), None);
        assert_ne!(csrf_new(&key, 1_000), t, "nonces differ");
    }

    #[test]
    fn lists_split_on_either_width_separator() {
        assert_eq!(
            split_list("重慶市，AI; 長江；一帶一路、 \n x "),
            ["重慶市", "AI", "長江", "一帶一路", "x"]
        );
    }
}
