//! The subscription pages end to end: the real `tidings run` on a loopback port with the
//! outbox transport, driven over real HTTP (reqwest) and by headless Chromium
//! ([`crate::support::browser`]). Captured mail is read by Python's `email` package.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::browser::{require_cjk_fonts, Browser, Renders};
use crate::support::daemon::Daemon;
use crate::support::http::{request, Reply};
use crate::support::{drop_in, eventually, outbox, page_export, put_seed, python_json, store};
use tidings::i18n::Lang;

/// `site.base_url` of the test site; links in mails start with it and are rewritten to
/// the daemon's real loopback address.
const BASE_URL: &str = "https://news.example";

/// The daemon on the seed article, its mail going to the outbox.
pub(crate) fn start_daemon() -> Daemon {
    let dir = store();
    let d = dir.path();
    put_seed(d);
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

/// A link from a mail, pointed at this daemon.
pub(crate) fn local(d: &Daemon, link: &str) -> String {
    link.replacen(BASE_URL, d.base(), 1)
}

pub(crate) fn status_of(d: &Daemon, email: &str) -> Option<String> {
    d.ok(&["subscriber", "list"])
        .lines()
        .find(|l| l.starts_with(&format!("{email}\t")))
        .and_then(|l| l.split('\t').nth(1))
        .map(str::to_string)
}

/// Waits for the outbox to hold more than `known` messages; returns the new ones.
pub(crate) fn new_mail(d: &Daemon, known: &[PathBuf]) -> Vec<PathBuf> {
    eventually(|| {
        let fresh: Vec<PathBuf> = outbox(d.path())
            .into_iter()
            .filter(|p| !known.contains(p))
            .collect();
        match fresh.is_empty() {
            true => Err("no new mail in the outbox".to_string()),
            false => Ok(fresh),
        }
    })
}

/// The daemon's signing key.
pub(crate) fn key(d: &Daemon) -> Vec<u8> {
    let text = std::fs::read_to_string(d.path().join("secret.key")).unwrap();
    tidings::digests::token::parse_key_file(&text).unwrap()
}

/// A captured message as Python's `email` package (policy=default) decodes it.
pub(crate) fn read_mail(path: &Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
body = m.get_body(preferencelist=('plain',))
print(json.dumps({
    'subject': str(m['subject']),
    'to': str(m['to']),
    'text': body.get_content() if body is not None else '',
    'list_unsubscribe': str(m['list-unsubscribe'] or ''),
    'list_unsubscribe_post': str(m['list-unsubscribe-post'] or ''),
    'mime_version': str(m['mime-version'] or ''),
    'content_language': str(m['content-language'] or ''),
}))
"#;
    python_json(script, path)
}

/// The first link in `text` (a mail's part or header, a page) that starts
/// `{BASE_URL}{start}`.
pub(crate) fn link_in(text: &str, start: &str) -> String {
    let start = format!("{BASE_URL}{start}");
    let at = text
        .find(&start)
        .unwrap_or_else(|| panic!("no {start} link in:\n{text}"));
    text[at..]
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | ','))
        .next()
        .unwrap()
        .to_string()
}

/// The signed token of a link from a mail (`…?token=T&lang=L`).
pub(crate) fn token_of(link: &str) -> &str {
    let query = link.split("token=").nth(1).unwrap();
    query.split('&').next().unwrap()
}

// ---------------------------------------------------------------------------------------
// HTTP

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A page's form token and the cookie that must come with it.
pub(crate) struct Csrf {
    pub(crate) token: String,
    pub(crate) cookie: String,
}

pub(crate) fn csrf_of(d: &Daemon, path: &str) -> Csrf {
    let page = request("GET", &d.url(path), &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    // With `?lang=` the page sets the language cookie too.
    let cookie = page
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|c| c.starts_with("tidings_csrf="))
        .expect("a form page sets the form cookie");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let token = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(cookie, format!("tidings_csrf={token}"));
    Csrf { token, cookie }
}

impl Csrf {
    /// POSTs the form `fields` to `path`, as the page's form would: with the form token
    /// first among the fields and the cookie that must come with it.
    pub(crate) fn post(&self, d: &Daemon, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.token.as_str())];
        all.extend_from_slice(fields);
        request(
            "POST",
            &d.url(path),
            &[("cookie", &self.cookie)],
            Some(form(&all)),
        )
    }
}

fn subscribe(d: &Daemon, csrf: &Csrf, email: &str) -> Reply {
    csrf.post(
        d,
        "/subscribe",
        &[
            ("email", email),
            ("section", "时政"),
            ("preset", "0 8 * * *"),
            ("tz", "Asia/Shanghai"),
        ],
    )
}

#[test]
fn forms_without_a_matching_token_or_from_another_site_are_refused() {
    let d = start_daemon();
    // The form offers every section by its spelling, the path written once.
    let page = request("GET", &d.url("/subscribe"), &[], None).body;
    assert!(page.contains("> 黨派·聲音 &gt; 統一戰線</label>"), "{page}");
    assert!(!page.contains("黨派·聲音 &gt; 黨派·聲音"), "{page}");
    let csrf = csrf_of(&d, "/subscribe");
    let fields = |token: &str| {
        form(&[
            ("csrf", token),
            ("email", "a@example.org"),
            ("section", "时政"),
            ("preset", "@hourly"),
            ("tz", "UTC"),
        ])
    };
    // No token, no cookie.
    let r = request("POST", &d.url("/subscribe"), &[], Some(fields("")));
    assert_eq!(r.status, 403, "{}", r.body);
    // A field without the cookie (what a forging site can send).
    let r = request("POST", &d.url("/subscribe"), &[], Some(fields(&csrf.token)));
    assert_eq!(r.status, 403);
    // Cookie and field differ.
    let other = csrf_of(&d, "/subscribe");
    let r = request(
        "POST",
        &d.url("/subscribe"),
        &[("cookie", &other.cookie)],
        Some(fields(&csrf.token)),
    );
    assert_eq!(r.status, 403);
    // A forged token in both places.
    let forged = format!("{}0", csrf.token);
    let r = request(
        "POST",
        &d.url("/subscribe"),
        &[("cookie", &format!("tidings_csrf={forged}"))],
        Some(fields(&forged)),
    );
    assert_eq!(r.status, 403);
    // Everything right, but the browser says another site sent it.
    for h in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = request(
            "POST",
            &d.url("/subscribe"),
            &[("cookie", &csrf.cookie), h],
            Some(fields(&csrf.token)),
        );
        assert_eq!(r.status, 403, "{h:?}");
    }
    assert!(outbox(d.path()).is_empty(), "no refused form sends mail");
    assert_eq!(status_of(&d, "a@example.org"), None);

    // The same form, properly sent (with the headers a browser adds), is accepted.
    let origin = d.base().to_string();
    let r = request(
        "POST",
        &d.url("/subscribe"),
        &[
            ("cookie", &csrf.cookie),
            ("origin", &origin),
            ("sec-fetch-site", "same-origin"),
        ],
        Some(fields(&csrf.token)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(status_of(&d, "a@example.org").as_deref(), Some("pending"));
    // A missing field is named.
    let r = csrf.post(&d, "/subscribe", &[("email", "b@example.org")]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("主題："), "{}", r.body);
    let r = csrf.post(
        &d,
        "/subscribe",
        &[("email", "no-at-sign"), ("keyword", "重庆市")],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("電子郵件："), "{}", r.body);
}

#[test]
fn keywords_typed_without_javascript_are_folded_and_the_search_script_is_served() {
    let d = start_daemon();
    let page = request("GET", &d.url("/subscribe"), &[], None);
    // The field is a plain text field; the script that makes it a search box over
    // `/keywords` is the site's own, allowed by the page's policy.
    assert!(
        page.body.contains("name=\"more_keywords\""),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<script src=\"/subscribe.js\" defer></script>"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let script = request("GET", &d.url("/subscribe.js"), &[], None);
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("/keywords?q="), "{}", script.body);

    // Without the script: keywords typed by hand, in either script and with any of the
    // separators, one the site has never used among them.
    let csrf = csrf_of(&d, "/subscribe");
    let r = csrf.post(
        &d,
        "/subscribe",
        &[
            ("email", "typist@example.org"),
            ("more_keywords", "重庆市、 基層統戰工作,尚無此詞"),
            ("preset", "@hourly"),
            ("tz", "UTC"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let list = d.ok(&["subscriber", "list"]);
    let line = list
        .lines()
        .find(|l| l.starts_with("typist@example.org\t"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.starts_with("typist@example.org\tpending\t@hourly\tUTC\t"),
        "{line}"
    );
    for keyword in ["重庆市", "基層統戰工作", "尚無此詞"] {
        assert!(line.contains(keyword), "{keyword} missing: {line}");
    }

    // The manage page shows them again: the site's as checkboxes, the others in the
    // text field, folded.
    let key = key(&d);
    let manage = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Manage,
        "typist@example.org",
        chrono::Utc::now().timestamp() + 600,
    );
    let page = request("GET", &d.url(&format!("/manage?token={manage}")), &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("value=\"尚无此词\""), "{}", page.body);
    assert!(page
        .body
        .contains("value=\"重庆市\" checked> 重慶市 (1)</label>"));
}

#[test]
fn subscribing_is_rate_limited_per_client() {
    let d = start_daemon();
    let csrf = csrf_of(&d, "/subscribe");
    for i in 0..5 {
        let r = subscribe(&d, &csrf, &format!("r{i}@example.org"));
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    let r = subscribe(&d, &csrf, "r5@example.org");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(status_of(&d, "r5@example.org"), None);
}

#[test]
fn bad_links_get_400_and_one_click_unsubscribes_without_a_form_token() {
    let d = start_daemon();
    for path in [
        "/confirm?token=nonsense",
        "/confirm",
        "/manage?token=AAAA",
        "/unsubscribe?token=x",
    ] {
        let r = request("GET", &d.url(path), &[], None);
        assert_eq!(r.status, 400, "{path}");
        assert!(r.body.contains("連結無效或已過期"), "{path}");
    }
    let r = request(
        "POST",
        &d.url("/unsubscribe?token=x"),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 400);

    d.ok(&[
        "subscriber",
        "add",
        "live@example.org",
        "--keyword",
        "重慶市",
    ]);
    let key = key(&d);
    let now = chrono::Utc::now().timestamp();
    // A link for another page, and an expired one, are bad links too.
    let confirm = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Confirm,
        "live@example.org",
        now + 600,
    );
    let expired = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Unsubscribe,
        "live@example.org",
        now - 1,
    );
    for t in [&confirm, &expired] {
        let r = request(
            "POST",
            &d.url(&format!("/unsubscribe?token={t}")),
            &[],
            Some("List-Unsubscribe=One-Click".into()),
        );
        assert_eq!(r.status, 400);
    }
    assert_eq!(status_of(&d, "live@example.org").as_deref(), Some("active"));

    let unsub = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Unsubscribe,
        "live@example.org",
        now + 600,
    );
    // Without the one-click body it is a form post, which needs the form token.
    let r = request(
        "POST",
        &d.url(&format!("/unsubscribe?token={unsub}")),
        &[],
        Some(String::new()),
    );
    assert_eq!(r.status, 403);
    assert_eq!(status_of(&d, "live@example.org").as_deref(), Some("active"));
    let r = request(
        "POST",
        &d.url(&format!("/unsubscribe?token={unsub}")),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        status_of(&d, "live@example.org").as_deref(),
        Some("unsubscribed")
    );
    // Again, and for an address that never was: the same answer.
    let ghost = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Unsubscribe,
        "ghost@example.org",
        now + 600,
    );
    for t in [&unsub, &ghost] {
        let again = request(
            "POST",
            &d.url(&format!("/unsubscribe?token={t}")),
            &[],
            Some("List-Unsubscribe=One-Click".into()),
        );
        assert_eq!((again.status, &again.body), (r.status, &r.body));
    }
    let page = request(
        "GET",
        &d.url(&format!("/unsubscribe?token={ghost}")),
        &[],
        None,
    );
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("ghost@"));

    // The page's button: a form post with the form token.
    d.ok(&[
        "subscriber",
        "add",
        "button@example.org",
        "--keyword",
        "重慶市",
    ]);
    let t = tidings::digests::token::sign(
        &key,
        tidings::digests::token::Purpose::Unsubscribe,
        "button@example.org",
        now + 600,
    );
    let csrf = csrf_of(&d, &format!("/unsubscribe?token={t}"));
    let r = csrf.post(&d, &format!("/unsubscribe?token={t}"), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("已退訂"));
    assert_eq!(
        status_of(&d, "button@example.org").as_deref(),
        Some("unsubscribed")
    );
}

#[test]
fn the_answer_is_the_same_for_a_new_and_an_existing_address() {
    let d = start_daemon();
    d.ok(&[
        "subscriber",
        "add",
        "old@example.org",
        "--keyword",
        "重慶市",
    ]);
    let csrf = csrf_of(&d, "/subscribe");
    let fresh = subscribe(&d, &csrf, "new@example.org");
    let known = subscribe(&d, &csrf, "OLD@example.org");
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(
        (fresh.status, &fresh.body),
        (known.status, &known.body),
        "the page must not tell the two apart"
    );
    assert!(fresh.body.contains("收件匣"));
    // The active subscriber is not downgraded; each address got one mail.
    assert_eq!(status_of(&d, "old@example.org").as_deref(), Some("active"));
    assert_eq!(status_of(&d, "new@example.org").as_deref(), Some("pending"));
    let mails = eventually(|| match outbox(d.path()) {
        files if files.len() >= 2 => Ok(files),
        files => Err(format!("{files:?}")),
    });
    let mails: Vec<Value> = mails.iter().map(|p| read_mail(p)).collect();
    let to_old = mails
        .iter()
        .find(|m| m["to"].as_str().unwrap().contains("old@"))
        .unwrap();
    let to_new = mails
        .iter()
        .find(|m| m["to"].as_str().unwrap().contains("new@"))
        .unwrap();
    link_in(to_old["text"].as_str().unwrap(), "/manage?token=");
    assert!(!to_old["text"].as_str().unwrap().contains("/confirm?"));
    link_in(to_new["text"].as_str().unwrap(), "/confirm?token=");
    // RFC 2045: every message says it is MIME.
    for m in [to_old, to_new] {
        assert_eq!(m["mime_version"], "1.0", "{m}");
    }
}

#[test]
fn opening_a_link_changes_nothing_until_its_button_is_pressed() {
    let d = start_daemon();
    let csrf = csrf_of(&d, "/subscribe");
    let r = subscribe(&d, &csrf, "scanned@example.org");
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = new_mail(&d, &[]);
    let confirm = link_in(
        read_mail(&mails[0])["text"].as_str().unwrap(),
        "/confirm?token=",
    );
    // The link is `…?token=T&lang=L` (the page opens in the mail's language).
    let token = token_of(&confirm).to_string();

    // A mail scanner (or the reader) opens the link, as often as it likes: a page with
    // a button that posts the token, and the address stays pending.
    for _ in 0..3 {
        let page = request("GET", &local(&d, &confirm), &[], None);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page
            .body
            .contains("<form method=\"post\" action=\"/confirm\">"));
        assert!(page
            .body
            .contains(&format!("name=\"token\" value=\"{token}\"")));
        assert!(!page.body.contains("scanned@"), "the page names nobody");
    }
    assert_eq!(
        status_of(&d, "scanned@example.org").as_deref(),
        Some("pending")
    );

    // Posts that are not the button: a token that is not this one, and the right token
    // sent by another site's page.
    let post = |token: &str, headers: &[(&str, &str)]| {
        request(
            "POST",
            &d.url("/confirm"),
            headers,
            Some(form(&[("token", token)])),
        )
    };
    let r = post(&format!("{token}x"), &[]);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = post("", &[]);
    assert_eq!(r.status, 400, "{}", r.body);
    for h in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = post(&token, &[h]);
        assert_eq!(r.status, 403, "{h:?}: {}", r.body);
    }
    assert_eq!(
        status_of(&d, "scanned@example.org").as_deref(),
        Some("pending")
    );

    // The button: the signed token is the proof, no form cookie is needed (a fresh
    // browser, or one that keeps no cookies). Pressed twice, the same answer.
    let origin = d.base().to_string();
    let first = post(
        &token,
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("訂閱已確認"), "{}", first.body);
    assert_eq!(
        status_of(&d, "scanned@example.org").as_deref(),
        Some("active")
    );
    let again = post(&token, &[]);
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("訂閱已確認"));

    // The unsubscribe link likewise only shows its button.
    let now = chrono::Utc::now().timestamp();
    let unsubscribe = tidings::digests::token::sign(
        &key(&d),
        tidings::digests::token::Purpose::Unsubscribe,
        "scanned@example.org",
        now + 600,
    );
    for _ in 0..3 {
        let page = request(
            "GET",
            &d.url(&format!("/unsubscribe?token={unsubscribe}")),
            &[],
            None,
        );
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("id=\"submit\""), "{}", page.body);
    }
    assert_eq!(
        status_of(&d, "scanned@example.org").as_deref(),
        Some("active")
    );
}

/// DESIGN §6b: subscriptions, confirmations, unsubscribes, commands handed over the
/// control socket and digest rounds each leave one INFO line, with addresses masked.
#[test]
fn an_operators_and_a_readers_actions_each_leave_one_masked_info_line() {
    let mut d = start_daemon();
    d.ok(&[
        "subscriber",
        "add",
        "live@example.org",
        "--keyword",
        "重慶市",
    ]);
    d.wait_log("INFO control socket: subscriber add l***@example.org: done");

    let csrf = csrf_of(&d, "/subscribe");
    assert_eq!(subscribe(&d, &csrf, "reader@example.org").status, 200);
    d.wait_log("INFO subscription requested by r***@example.org: pending, confirmation mailed");
    assert_eq!(subscribe(&d, &csrf, "live@example.org").status, 200);
    d.wait_log("INFO subscription request for l***@example.org: already active, reminder mailed");

    let mails = eventually(|| match outbox(d.path()) {
        files if files.len() >= 2 => Ok(files),
        files => Err(format!("{files:?}")),
    });
    let to_reader = mails
        .iter()
        .map(|p| read_mail(p))
        .find(|m| m["to"].as_str().unwrap().contains("reader@"))
        .unwrap();
    let confirm = link_in(to_reader["text"].as_str().unwrap(), "/confirm?token=");
    // Opening the link only shows the button; pressing it (a POST of the token) confirms.
    assert_eq!(request("GET", &local(&d, &confirm), &[], None).status, 200);
    let token = token_of(&confirm);
    let pressed = request(
        "POST",
        &d.url("/confirm"),
        &[],
        Some(form(&[("token", token)])),
    );
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    d.wait_log("INFO subscription confirmed: r***@example.org");

    let now = chrono::Utc::now().timestamp();
    let token = tidings::digests::token::sign(
        &key(&d),
        tidings::digests::token::Purpose::Unsubscribe,
        "reader@example.org",
        now + 600,
    );
    let r = request(
        "POST",
        &d.url(&format!("/unsubscribe?token={token}")),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 200);
    d.wait_log("INFO unsubscribed: r***@example.org (one-click)");

    d.ok(&["digest", "send", "--now"]);
    d.wait_log("INFO control socket: digest send --now: ");
    d.ok(&["digest", "preview", "live@example.org"]);
    d.wait_log("INFO control socket: digest preview l***@example.org: done");

    let lines = d.logs(Duration::from_millis(200));
    for address in ["live@example.org", "reader@example.org"] {
        for line in lines.iter().filter(|l| l.contains(" INFO ")) {
            assert!(!line.contains(address), "a full address at INFO: {line}");
        }
    }
    let once = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(once("subscription confirmed"), 1, "{lines:#?}");
    assert_eq!(once("control socket: subscriber add"), 1, "{lines:#?}");
}

#[test]
fn a_reader_subscribes_in_chromium_confirms_from_the_mail_and_leaves_with_one_click() {
    let d = start_daemon();
    let mut b = Browser::start();
    b.accept_language("zh-TW,zh;q=0.9");

    // Fill and send the form as a reader would.
    b.goto(&d.url("/subscribe"));
    b.wait("!!document.querySelector('#email')");
    assert_eq!(b.eval("document.documentElement.lang").unwrap(), "zh-Hant");
    // The keyword search script runs under the page's policy.
    b.wait("document.querySelector('#more_keywords').dataset.search === 'on'");
    let filled = b
        .eval(
            "(() => {
                document.querySelector('#email').value = 'reader@example.org';
                const s = [...document.querySelectorAll('input[name=section]')]
                    .find(e => e.value === '党派·声音');
                if (!s) return 'no section 党派·声音';
                s.checked = true;
                document.querySelector('input[name=preset][value=\"0 8 * * 1\"]').checked = true;
                document.querySelector('#submit').click();
                return 'ok';
            })()",
        )
        .unwrap();
    assert_eq!(filled, "ok");
    b.wait("document.body.innerText.includes('收件匣')");
    assert_eq!(
        status_of(&d, "reader@example.org").as_deref(),
        Some("pending")
    );

    // The confirmation mail, and its link, followed in the browser.
    let mails = new_mail(&d, &[]);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = read_mail(&mails[0]);
    assert!(
        mail["subject"].as_str().unwrap().contains("請確認訂閱"),
        "{mail}"
    );
    assert_eq!(mail["mime_version"], "1.0", "{mail}");
    let confirm = link_in(mail["text"].as_str().unwrap(), "/confirm?token=");
    b.goto(&local(&d, &confirm));
    // Opening the link shows a button and changes nothing; pressing it confirms.
    b.wait("!!document.querySelector('#submit')");
    assert_eq!(
        status_of(&d, "reader@example.org").as_deref(),
        Some("pending")
    );
    b.eval("document.querySelector('#submit').click()").unwrap();
    b.wait("document.body.innerText.includes('訂閱已確認')");
    assert_eq!(
        status_of(&d, "reader@example.org").as_deref(),
        Some("active")
    );

    // The manage link on that page opens the form pre-filled, with the weekly preset.
    // The link names the public site; point the browser at the daemon instead.
    let manage = b
        .eval("document.querySelector('#manage') && document.querySelector('#manage').href")
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    if let Some(manage) = manage {
        b.goto(&local(&d, &manage));
    }
    b.wait("!!document.querySelector('input[name=token]')");
    let checked = b
        .eval(
            "document.querySelector('input[name=preset][value=\"0 8 * * 1\"]').checked && \
             [...document.querySelectorAll('input[name=section]')].find(e => e.value === '党派·声音').checked",
        )
        .unwrap();
    assert_eq!(checked, true);

    // Change the schedule and zone there; the subscriber stays active with the rest.
    let changed = b
        .eval(
            "(() => {
                document.querySelector('#preset_custom').checked = true;
                document.querySelector('#cron').value = '30 7 * * 1-5';
                document.querySelector('#tz').value = 'America/New_York';
                document.querySelector('#more_keywords').value = '重慶市';
                document.querySelector('#submit').click();
                return 'ok';
            })()",
        )
        .unwrap();
    assert_eq!(changed, "ok");
    b.wait("document.body.innerText.includes('已保存')");
    let list = d.ok(&["subscriber", "list"]);
    assert!(
        list.contains("reader@example.org\tactive\t30 7 * * 1-5\tAmerica/New_York\t"),
        "{list}"
    );
    assert!(list.contains("重慶市"), "{list}");

    // A matching article arrives and is published; the digest goes out.
    let known = outbox(d.path());
    drop_in(
        &d.store(),
        "001_webtest.txt",
        &page_export("黨派·聲音>統一戰線", "網頁訂閱測試文章", "测试"),
    );
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("網頁訂閱測試文章"));
    let sent = d.ok(&["digest", "send", "--now"]);
    assert!(sent.contains("1 sent"), "{sent}");
    let digests = new_mail(&d, &known);
    assert_eq!(digests.len(), 1, "{digests:?}");
    let digest = read_mail(&digests[0]);
    assert!(
        digest["text"]
            .as_str()
            .unwrap()
            .contains("網頁訂閱測試文章"),
        "{digest}"
    );
    assert_eq!(
        digest["list_unsubscribe_post"],
        "List-Unsubscribe=One-Click"
    );

    // The mail client's one-click unsubscribe (RFC 8058): no cookie, no form token.
    let unsubscribe = link_in(
        digest["list_unsubscribe"].as_str().unwrap(),
        "/unsubscribe?token=",
    );
    let r = request(
        "POST",
        &local(&d, &unsubscribe),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        status_of(&d, "reader@example.org").as_deref(),
        Some("unsubscribed")
    );
}

#[test]
fn the_subscription_form_renders_in_each_language() {
    require_cjk_fonts();
    let d = start_daemon();
    let mut b = Browser::start();
    let mut renders = Renders::new(&d.path().join("screenshots"), "subscribe");
    for lang in Lang::ALL {
        let m = lang.messages();
        b.goto(&d.url(&format!("/subscribe?lang={}", lang.tag())));
        b.wait("!!document.querySelector('#email')");
        // The DOM holds the language's text, not just its tag.
        assert_eq!(b.eval("document.documentElement.lang").unwrap(), lang.tag());
        assert_eq!(
            b.eval("document.querySelector('h1').innerText").unwrap(),
            (m.subscribe_title)("新聞站")
        );
        let text = b.eval("document.body.innerText").unwrap();
        let text = text.as_str().unwrap();
        for message in [m.subscribe_hint, m.mail_language_legend, m.schedule_legend] {
            assert!(text.contains(message), "{lang}: no {message:?} in {text}");
        }
        assert_eq!(
            b.eval("document.querySelector('#lang').value").unwrap(),
            lang.tag()
        );
        renders.take(&mut b, lang.tag());
    }
    renders.assert_all_differ();
    // And the font has the glyphs: 訂 and 订 are drawn differently.
    let distinct = b
        .eval(
            "(() => {
                const draw = t => {
                    const c = document.createElement('canvas');
                    c.width = 64; c.height = 32;
                    const g = c.getContext('2d');
                    g.font = '24px sans-serif';
                    g.fillText(t, 4, 26);
                    return Array.from(g.getImageData(0, 0, 64, 32).data).join(',');
                };
                return draw('訂閱') !== draw('订阅');
            })()",
        )
        .unwrap();
    assert_eq!(distinct, true, "CJK characters are not drawn");
}

#[test]
fn a_reader_switches_to_english_in_chromium_and_gets_the_mail_in_english() {
    let d = start_daemon();
    let mut b = Browser::start();
    b.accept_language("zh-TW");
    b.goto(&d.url("/subscribe"));
    b.wait("!!document.querySelector('#email')");
    assert_eq!(b.eval("document.documentElement.lang").unwrap(), "zh-Hant");
    // The switcher's English link; the cookie keeps the choice for the next page.
    b.eval("[...document.querySelectorAll('nav.lang a')].find(a => a.lang === 'en').click()")
        .unwrap();
    b.wait("document.documentElement.lang === 'en' && !!document.querySelector('#email')");
    b.goto(&d.url("/"));
    b.wait("document.documentElement.lang === 'en'");
    b.goto(&d.url("/subscribe"));
    b.wait("document.documentElement.lang === 'en' && !!document.querySelector('#email')");
    let filled = b
        .eval(
            "(() => {
                document.querySelector('#email').value = 'english@example.org';
                const s = [...document.querySelectorAll('input[name=section]')]
                    .find(e => e.value === '党派·声音');
                if (!s) return 'no section 党派·声音';
                s.checked = true;
                document.querySelector('#submit').click();
                return 'ok';
            })()",
        )
        .unwrap();
    assert_eq!(filled, "ok");
    b.wait("document.body.innerText.includes('Check your inbox')");

    let mails = new_mail(&d, &[]);
    let mail = read_mail(&mails[0]);
    assert_eq!(
        mail["subject"], "Please confirm your subscription to 新聞站 digests",
        "{mail}"
    );
    assert_eq!(mail["content_language"], "en");
    assert!(
        mail["text"].as_str().unwrap().starts_with("Hello,"),
        "{mail}"
    );
    let confirm = link_in(mail["text"].as_str().unwrap(), "/confirm?token=");
    b.goto(&local(&d, &confirm));
    b.wait("!!document.querySelector('#submit')");
    assert_eq!(
        b.eval("document.querySelector('#submit').innerText")
            .unwrap(),
        "Confirm subscription"
    );
    b.eval("document.querySelector('#submit').click()").unwrap();
    b.wait("document.body.innerText.includes('Subscription confirmed')");
    let export = d.ok(&["subscriber", "export"]);
    assert!(
        export.contains("english@example.org,") && export.contains(",active,en"),
        "{export}"
    );
}
