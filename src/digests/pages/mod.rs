//! The subscription pages of `tidings run` (DESIGN §5): `/subscribe`,
//! `/confirm`, `/manage` and `/unsubscribe`.
//!
//! Double opt-in: `POST /subscribe` stores a *pending* subscriber and mails a signed,
//! 48-hour confirmation link ([`token`]); only the button on `/confirm` (a POST) makes it
//! active: no GET changes anything, since mail scanners open every link (DESIGN §5).
//! `/manage` and `/unsubscribe` act on whoever holds a signed link, so no page ever needs a password —
//! and no page ever says whether an address is known: `/subscribe` answers "check your
//! inbox" in every case (an already active subscriber gets a "manage here" mail instead of
//! a confirmation, and is not downgraded), and `/unsubscribe` answers the same for an
//! address that is not (or no longer) there.
//!
//! Forms are protected against cross-site request forgery by a double-submit token: a
//! random nonce and a timestamp, MACed with the link key, sent both as a `SameSite=Strict`
//! cookie and as a hidden field. A POST must carry both, equal, correctly MACed and younger
//! than two hours; an `Origin` or `Sec-Fetch-Site` header, when the browser sends one,
//! must say the request comes from this site. Two posts carry a signed link token
//! instead, which is the authority there: the RFC 8058 one-click unsubscribe, which mail
//! providers POST from their servers with neither cookie nor field, and the confirmation
//! button (see `handlers::confirm_post` for why).
//!
//! `POST /subscribe` is rate-limited per client address (an IPv6 client per /64), in
//! memory: it sends mail to an address anybody can type, so it must not become a way to
//! flood a mailbox. Only requests that would send a mail count (after the form token and
//! the fields are checked).

mod csrf;
mod form;
mod handlers;
mod rate_limit;
pub mod reader_lang;
use csrf::*;
use form::*;
use handlers::*;
use rate_limit::*;
pub use reader_lang::{page_lang, PageLang, LANG_COOKIE};

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Query, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, SinglePart};
use lettre::Message;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::Sha256;

use crate::config::{self, Config};
use crate::digests::compose::ContentLanguage;
use crate::digests::mail::{Envelope, Transport};
use crate::digests::subscriber::{
    email_key, normalize_email, validate_schedule, validate_timezone, NameProblem, SubscriberError,
};
use crate::digests::token::{self, Purpose};
use crate::feeds::index::Index;
use crate::i18n::{language_switcher, Lang, Messages};
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

/// The schedule presets of the form, labelled by `Messages::schedule_presets`.
const PRESETS: [&str; 3] = ["0 8 * * *", "0 8 * * 1", "@hourly"];

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
    /// `site.language`'s script: what a reader with no preference gets (DESIGN §5).
    site_lang: Lang,
    default_tz: String,
    mail: config::Mail,
    /// Built on first use (opening the outbox is async; the router is built in sync
    /// code), then shared by every request.
    transport: tokio::sync::OnceCell<Transport>,
    limiter: RateLimiter,
    /// `Secure` on the form cookie: only when the site is served over https, or a
    /// browser on plain http (a test, a LAN install) would drop it.
    secure_cookie: bool,
    /// `feeds.formats`: the personal feed's formats linked from `/manage`.
    formats: Vec<config::Format>,
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
            site_lang: Lang::site_default(&config.site.language),
            default_tz: config.digest.timezone.clone(),
            mail: config.mail.clone(),
            transport: tokio::sync::OnceCell::new(),
            limiter: RateLimiter::default(),
            formats: config.feeds.formats.clone(),
        })
    }

    /// The key links are signed with: the personal feeds' tokens too (DESIGN §5).
    pub fn link_key(&self) -> &[u8] {
        &self.key
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
        .route("/confirm", get(confirm_page).post(confirm_post))
        .route("/manage", get(manage_page).post(manage_post))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe_post))
        .route(KEYWORD_SEARCH_PATH, get(keyword_search_script))
        // axum's default is 2 MB; the form has at most a few hundred short fields.
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
        .with_state(web)
}

type WebState = State<Arc<Web>>;

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------
// Responses

/// The pages' style sheet, inline: nothing is loaded from elsewhere.
const PAGE_STYLE: &str = "\
body{font-family:system-ui,-apple-system,\"PingFang SC\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.6;color:#222;background:#fff}
h1{font-size:1.4rem} fieldset{border:1px solid #ccc;border-radius:6px;margin:0 0 1rem;padding:.5rem .8rem}
legend{font-weight:bold} label.c{display:inline-block;margin:.15rem .8rem .15rem 0;white-space:nowrap}
input[type=email],input[type=text],select{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #aaa;border-radius:4px}
button{font-size:1.05rem;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#b22;color:#fff}
.err{background:#fdecea;border:1px solid #e99;padding:.6rem;border-radius:6px}
.ok{background:#eaf6ea;border:1px solid #9c9;padding:.6rem;border-radius:6px}
.hint{color:#666;font-size:.9rem} .kw{max-height:16rem;overflow:auto}
#keyword_matches{list-style:none;margin:.2rem 0;padding:0}
nav.lang{font-size:.9rem;text-align:right}
#keyword_matches button{font-size:.95rem;padding:.3rem .7rem;margin:.15rem .3rem .15rem 0;background:#eee;color:#222}
";

/// The script that makes the form's keyword field a search box over `/keywords`.
const KEYWORD_SEARCH_PATH: &str = "/subscribe.js";
const KEYWORD_SEARCH_JS: &str = include_str!("keyword_search.js");

/// Which page, in which language: what every page needs for its `<html lang>`, its
/// messages, its language switcher (links to `path` with `query`, `lang` replaced) and
/// its response headers.
struct View {
    lang: PageLang,
    path: &'static str,
    query: Option<String>,
}

impl View {
    /// A page asked for by GET: its language negotiated from the request.
    fn get(web: &Web, headers: &HeaderMap, path: &'static str, query: Option<String>) -> View {
        View {
            lang: page_lang(headers, query.as_deref(), web.site_lang),
            path,
            query,
        }
    }

    /// A page answering a form: in the language of the page the form was on (its
    /// `page_lang` field), else negotiated without a query. `query`: what the switcher
    /// keeps (the token of a manage page).
    fn posted(
        web: &Web,
        headers: &HeaderMap,
        form: Option<&Submitted>,
        path: &'static str,
        query: Option<String>,
    ) -> View {
        let lang = match form.and_then(|f| f.one("page_lang")).and_then(Lang::parse) {
            Some(lang) => PageLang::fixed(lang),
            None => page_lang(headers, None, web.site_lang),
        };
        View { lang, path, query }
    }

    fn m(&self) -> &'static Messages {
        self.lang.lang.messages()
    }

    /// The page's language, for the forms' hidden `page_lang` field.
    fn tag(&self) -> &'static str {
        self.lang.lang.tag()
    }

    /// A section or keyword name in the page's script.
    fn script<'a>(&self, name: &'a str) -> std::borrow::Cow<'a, str> {
        self.lang.lang.script(name)
    }
}

/// A complete page: mobile viewport, inline CSS only, nothing loaded from elsewhere; the
/// language switcher on top. Every text spliced into `body` and the title is escaped by
/// maud.
fn page(view: &View, title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang=(view.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(PAGE_STYLE)) }
            }
            body {
                (language_switcher(view.lang.lang, view.path, view.query.as_deref()))
                h1 { (title) }
                (body)
            }
        }
    }
    .into_string()
}

/// A page's response: HTML, the pages' security headers, `Vary` and the language cookie.
fn page_response(view: &View, status: StatusCode, body: String) -> Response {
    let mut res = html(status, body);
    view.lang.finish(&mut res);
    res
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
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// The form's script: the same bytes for everyone, so cacheable, unlike the pages.
async fn keyword_search_script() -> Response {
    let mut res = Response::new(Body::from(KEYWORD_SEARCH_JS));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn message_page(
    view: &View,
    status: StatusCode,
    title: &str,
    class: &str,
    message: &str,
) -> Response {
    let href = format!("/subscribe?lang={}", view.tag());
    let body = html! {
        p class=(class) { (message) }
        p { a href=(href) { (view.m().subscription_page_link) } }
    };
    page_response(view, status, page(view, title, body))
}

/// One answer for every bad link — expired, forged, for another page, or naming an
/// address that is gone — so that a link reveals nothing.
fn bad_link(view: &View) -> Response {
    let m = view.m();
    message_page(
        view,
        StatusCode::BAD_REQUEST,
        m.bad_link_title,
        "err",
        m.bad_link_text,
    )
}

fn forbidden(view: &View, reason: &str) -> Response {
    tracing::info!("form refused: {reason}");
    let m = view.m();
    message_page(
        view,
        StatusCode::FORBIDDEN,
        m.form_expired_title,
        "err",
        m.form_expired_text,
    )
}

fn server_error(view: &View, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!("{what}: {e:#}");
    let m = view.m();
    message_page(
        view,
        StatusCode::INTERNAL_SERVER_ERROR,
        m.server_error_title,
        "err",
        m.server_error_text,
    )
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
    fn origins_compare_as_scheme_host_and_port() {
        let own = |base: &str, host: Option<&str>, origin: &str| is_own_origin(base, host, origin);
        let base = "https://news.example/tidings";
        // The site's own origin, however the base URL or the header spells it.
        assert!(own(base, None, "https://news.example"));
        assert!(own(base, None, "https://NEWS.example:443"));
        assert!(own(
            "https://news.example:443/",
            None,
            "https://news.example"
        ));
        assert!(own(
            "http://user:pw@news.example/",
            None,
            "http://news.example"
        ));
        // Another scheme, port or host is another origin.
        assert!(!own(base, None, "http://news.example"));
        assert!(!own(base, None, "https://news.example:8443"));
        assert!(!own(base, None, "https://news.example.evil"));
        assert!(!own(base, None, "https://evil.example"));
        // Not a serialised origin: credentials, a path, a query, a trailing slash.
        assert!(!own(base, None, "https://evil.example@news.example"));
        assert!(!own(base, None, "https://news.example/"));
        assert!(!own(base, None, "https://news.example/x"));
        assert!(!own(base, None, "https://news.example?x"));
        assert!(!own(base, None, ""));
        assert!(!own(base, None, "news.example"));
        // IPv6 literals whatever their spelling; internationalised names as A-labels.
        let v6 = "http://[::1]:8080";
        assert!(own(v6, None, "http://[0:0:0:0:0:0:0:1]:8080"));
        assert!(!own(v6, None, "http://[::2]:8080"));
        assert!(own(
            "https://新聞.例子.广告",
            None,
            "https://xn--efvv70d.xn--fsqu00a.xn--4rr70v"
        ));
        // The host the request was sent to (another name than the public one).
        assert!(own(base, Some("127.0.0.1:8080"), "http://127.0.0.1:8080"));
        assert!(own(base, Some("[::1]:8080"), "http://[::1]:8080"));
        assert!(own(base, Some("localhost"), "http://localhost:80"));
        assert!(!own(base, Some("127.0.0.1:8080"), "http://127.0.0.1:8081"));
        assert!(!own(base, Some("127.0.0.1:8080"), "http://localhost:8080"));
        assert!(!own(base, Some(""), "http://localhost"));
        assert!(!own(base, None, "http://localhost"));
        // A Host header is a host and port, nothing that could move the origin.
        assert!(!own(
            base,
            Some("evil.example@localhost"),
            "http://localhost"
        ));
        assert!(!own(base, Some("localhost/x"), "http://localhost"));
    }

    #[test]
    fn breaking_news_is_a_schedule_choice_of_the_form() {
        let submitted = |preset: &str| Submitted {
            fields: [("keyword", "重慶市"), ("preset", preset), ("tz", "UTC")]
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        let (_, schedule, _) =
            validate_choices(&submitted("@instant"), crate::i18n::Lang::ZhHant.messages()).unwrap();
        assert_eq!(schedule, "@instant");
        // The manage form shows it chosen again.
        let (topics, _, _) =
            validate_choices(&submitted("@instant"), crate::i18n::Lang::ZhHant.messages()).unwrap();
        let sub = Subscriber::new("a@example.org", topics, &schedule, "UTC", 0).unwrap();
        assert_eq!(Filled::from_subscriber(&sub).preset, "@instant");
        assert_eq!(Filled::from_subscriber(&sub).cron, "");
    }

    /// Every reason the form gives is in the page's language; only the details of an
    /// address or a cron expression, which the command line words, stay English.
    #[test]
    fn the_form_says_what_is_wrong_in_the_readers_language() {
        let submitted = |fields: &[(&str, &str)]| Submitted {
            fields: fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        let long = "長".repeat(101);
        let many: String = (0..101).map(|i| format!("詞{i},")).collect();
        // The form's fields, and what the error says in zh-Hant, zh-Hans and English.
        type Case<'a> = (&'a [(&'a str, &'a str)], [&'a str; 3]);
        let cases: [Case; 7] = [
            (
                &[("keyword", &long), ("preset", "0 8 * * *"), ("tz", "UTC")],
                [
                    "」超過 100 個字",
                    "”超过 100 个字",
                    "” is longer than 100 characters",
                ],
            ),
            (
                &[("keyword", "a;b"), ("preset", "0 8 * * *"), ("tz", "UTC")],
                [
                    "關鍵詞：「a;b」不能含有「;」",
                    "关键词：“a;b”不能含有“;”",
                    "Keywords: “a;b” must not contain “;”",
                ],
            ),
            (
                &[("section", ">"), ("preset", "0 8 * * *"), ("tz", "UTC")],
                [
                    "欄目：「>」不是任何欄目",
                    "栏目：“>”不是任何栏目",
                    "“>” names no section",
                ],
            ),
            (
                &[
                    ("more_keywords", &many),
                    ("preset", "0 8 * * *"),
                    ("tz", "UTC"),
                ],
                [
                    "選了 101 個，最多 100 個",
                    "选了 101 个，最多 100 个",
                    "101 chosen, at most 100",
                ],
            ),
            (
                &[("preset", "0 8 * * *"), ("tz", "UTC")],
                ["請至少勾選", "请至少勾选", "Check at least"],
            ),
            (
                &[
                    ("keyword", "x"),
                    ("preset", "custom"),
                    ("cron", "0 8 * *"),
                    ("tz", "UTC"),
                ],
                [
                    "不是有效的發送時間",
                    "不是有效的发送时间",
                    "not a valid schedule",
                ],
            ),
            (
                &[
                    ("keyword", "x"),
                    ("preset", "0 8 * * *"),
                    ("tz", "Mars/Base"),
                ],
                [
                    "「Mars/Base」不是已知的時區",
                    "“Mars/Base”不是已知的时区",
                    "“Mars/Base” is not a known time zone",
                ],
            ),
        ];
        for (fields, wants) in cases {
            for (lang, want) in Lang::ALL.into_iter().zip(wants) {
                let err = validate_choices(&submitted(fields), lang.messages()).unwrap_err();
                assert!(err.contains(want), "{lang}: {err:?} lacks {want:?}");
                if lang != Lang::En {
                    let english = ["longer", "must not", "names no", "chosen", "time zone"];
                    assert!(!english.iter().any(|w| err.contains(w)), "{lang}: {err}");
                }
            }
        }
        // An address: the sentence in the language, the detail in brackets.
        let e = normalize_email("a..b@example.org").unwrap_err();
        let zh = describe(&e, Lang::ZhHant.messages());
        assert!(zh.contains("不是有效的電子郵件地址（"), "{zh}");
        let en = describe(&e, Lang::En.messages());
        assert!(en.contains("not a valid email address ("), "{en}");
        // The command line keeps its English one-liners.
        let e = Topics::from_input(&[], &["a;b".into()], &[]).unwrap_err();
        assert_eq!(e.to_string(), "keyword \"a;b\": must not contain ';'");
    }

    #[test]
    fn lists_split_on_either_width_separator() {
        assert_eq!(
            split_list("重慶市，AI; 長江；一帶一路、 \n x "),
            ["重慶市", "AI", "長江", "一帶一路", "x"]
        );
    }
}
