//! The subscription pages end to end: the real `tidings run` on a loopback port with the
//! outbox transport, driven over real HTTP (reqwest) and by headless Chromium (Debian's
//! `chromium` package) through the DevTools protocol over a pipe (`--remote-debugging-pipe`:
//! no port, no websocket crate, no Node). Captured mail is read by Python's `email`
//! package.
//!
//! Chromium is required, not optional: without it the browser test fails and names the
//! install line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

const SEED: &[u8] = include_bytes!("../articles/000_8c7ef1c8e8c43d29.txt");
/// `site.base_url` of the test site; links in mails start with it and are rewritten to
/// the daemon's real loopback address.
const BASE_URL: &str = "https://news.example";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMIUM_INSTALL: &str = "DEBIAN_FRONTEND=noninteractive apt-get install -y chromium";

struct Daemon {
    dir: TempDir,
    child: Child,
    base: String,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("articles")).unwrap();
        std::fs::write(d.join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
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
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(d.join("config.toml"))
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = lines_of(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let addr = loop {
            assert!(Instant::now() < deadline, "no listening line:\n{seen:#?}");
            let Ok(line) = logs.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split(';').next().unwrap().to_string();
            }
            seen.push(line);
        };
        // Keep draining stderr so the daemon never blocks on a full pipe; the lines go
        // to the test's output, which the harness shows when the test fails.
        std::thread::spawn(move || {
            while let Ok(line) = logs.recv() {
                eprintln!("daemon: {line}");
            }
        });
        Daemon {
            dir,
            child,
            base: format!("http://{addr}"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A link from a mail, pointed at this daemon.
    fn local(&self, link: &str) -> String {
        link.replacen(BASE_URL, &self.base, 1)
    }

    fn tidings(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(self.path().join("config.toml"))
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.tidings(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status_of(&self, email: &str) -> Option<String> {
        self.ok(&["subscriber", "list"])
            .lines()
            .find(|l| l.starts_with(&format!("{email}\t")))
            .and_then(|l| l.split('\t').nth(1))
            .map(str::to_string)
    }

    fn outbox(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path().join("outbox"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Waits for the outbox to hold more than `known` messages; returns the new ones.
    fn new_mail(&self, known: &[PathBuf]) -> Vec<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let fresh: Vec<PathBuf> = self
                .outbox()
                .into_iter()
                .filter(|p| !known.contains(p))
                .collect();
            if !fresh.is_empty() {
                return fresh;
            }
            assert!(Instant::now() < deadline, "no new mail in the outbox");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn key(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.path().join("secret.key")).unwrap();
        tidings::digests::token::parse_key_file(&text).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A captured message as Python's `email` package (policy=default) decodes it.
fn read_mail(path: &Path) -> Value {
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
}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first `https://news.example/{page}?token=…` link in `text`.
fn link_in(text: &str, page: &str) -> String {
    let start = format!("{BASE_URL}/{page}?token=");
    let at = text
        .find(&start)
        .unwrap_or_else(|| panic!("no {page} link in:\n{text}"));
    text[at..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == ',')
        .next()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// HTTP

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<String>) -> Reply {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), url);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    })
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A page's form token and the cookie that must come with it.
struct Csrf {
    token: String,
    cookie: String,
}

fn csrf_of(d: &Daemon, path: &str) -> Csrf {
    let page = request("GET", &d.url(path), &[], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page
        .header("set-cookie")
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

fn subscribe(d: &Daemon, csrf: &Csrf, email: &str) -> Reply {
    request(
        "POST",
        &d.url("/subscribe"),
        &[("cookie", &csrf.cookie)],
        Some(form(&[
            ("csrf", &csrf.token),
            ("email", email),
            ("section", "时政"),
            ("preset", "0 8 * * *"),
            ("tz", "Asia/Shanghai"),
        ])),
    )
}

#[test]
fn forms_without_a_matching_token_or_from_another_site_are_refused() {
    let d = Daemon::start();
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
    assert!(d.outbox().is_empty(), "no refused form sends mail");
    assert_eq!(d.status_of("a@example.org"), None);

    // The same form, properly sent (with the headers a browser adds), is accepted.
    let origin = d.base.clone();
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
    assert_eq!(d.status_of("a@example.org").as_deref(), Some("pending"));
    // A missing field is named.
    let r = request(
        "POST",
        &d.url("/subscribe"),
        &[("cookie", &csrf.cookie)],
        Some(form(&[("csrf", &csrf.token), ("email", "b@example.org")])),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("主題："), "{}", r.body);
    let r = request(
        "POST",
        &d.url("/subscribe"),
        &[("cookie", &csrf.cookie)],
        Some(form(&[
            ("csrf", &csrf.token),
            ("email", "no-at-sign"),
            ("keyword", "重庆市"),
        ])),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("電子郵件："), "{}", r.body);
}

#[test]
fn subscribing_is_rate_limited_per_client() {
    let d = Daemon::start();
    let csrf = csrf_of(&d, "/subscribe");
    for i in 0..5 {
        let r = subscribe(&d, &csrf, &format!("r{i}@example.org"));
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    let r = subscribe(&d, &csrf, "r5@example.org");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(d.status_of("r5@example.org"), None);
}

#[test]
fn bad_links_get_400_and_one_click_unsubscribes_without_a_form_token() {
    let d = Daemon::start();
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
    let key = d.key();
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
    assert_eq!(d.status_of("live@example.org").as_deref(), Some("active"));

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
    assert_eq!(d.status_of("live@example.org").as_deref(), Some("active"));
    let r = request(
        "POST",
        &d.url(&format!("/unsubscribe?token={unsub}")),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        d.status_of("live@example.org").as_deref(),
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
    let r = request(
        "POST",
        &d.url(&format!("/unsubscribe?token={t}")),
        &[("cookie", &csrf.cookie)],
        Some(form(&[("csrf", &csrf.token)])),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("已退訂"));
    assert_eq!(
        d.status_of("button@example.org").as_deref(),
        Some("unsubscribed")
    );
}

#[test]
fn the_answer_is_the_same_for_a_new_and_an_existing_address() {
    let d = Daemon::start();
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
    assert_eq!(d.status_of("old@example.org").as_deref(), Some("active"));
    assert_eq!(d.status_of("new@example.org").as_deref(), Some("pending"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.outbox().len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", d.outbox());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mails: Vec<Value> = d.outbox().iter().map(|p| read_mail(p)).collect();
    let to_old = mails
        .iter()
        .find(|m| m["to"].as_str().unwrap().contains("old@"))
        .unwrap();
    let to_new = mails
        .iter()
        .find(|m| m["to"].as_str().unwrap().contains("new@"))
        .unwrap();
    link_in(to_old["text"].as_str().unwrap(), "manage");
    assert!(!to_old["text"].as_str().unwrap().contains("/confirm?"));
    link_in(to_new["text"].as_str().unwrap(), "confirm");
}

// ---------------------------------------------------------------------------------------
// Chromium over the DevTools protocol

/// A headless Chromium driven over `--remote-debugging-pipe`: commands go to its fd 3,
/// NUL-terminated JSON; answers and events come from its fd 4.
struct Browser {
    child: Child,
    to: File,
    from: Receiver<Value>,
    next: u64,
    session: Option<String>,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing; install it with: {CHROMIUM_INSTALL}"
        );
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe();
        let (ev_read, ev_write) = pipe();
        let mut command = Command::new(CHROMIUM);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            let (r, w) = (cmd_read, ev_write);
            // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    // Move both out of the way first: either may already sit on 3 or 4.
                    let r2 = libc::fcntl(r, libc::F_DUPFD, 10);
                    let w2 = libc::fcntl(w, libc::F_DUPFD, 10);
                    if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command.spawn().unwrap();
        use std::os::unix::io::FromRawFd;
        // SAFETY: fresh descriptors from pipe2, each owned once.
        let (to, from, theirs) = unsafe {
            (
                File::from_raw_fd(cmd_write),
                File::from_raw_fd(ev_read),
                [File::from_raw_fd(cmd_read), File::from_raw_fd(ev_write)],
            )
        };
        // Our copies of Chromium's ends must close, or EOF never comes.
        drop(theirs);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(from);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if tx.send(v).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to,
            from: rx,
            next: 0,
            session: None,
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target.unwrap()["targetId"].as_str().unwrap().to_string();
        let session = b
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .unwrap();
        b.session = Some(session["sessionId"].as_str().unwrap().to_string());
        b.call("Page.enable", json!({})).unwrap();
        b
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|e| format!("{method}: no answer from Chromium ({e})"))?;
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, js: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{js}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).unwrap();
    }

    /// Waits until `js` is true in the loaded page (errors while a page is replaced
    /// count as not yet).
    fn wait(&mut self, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let full = format!("document.readyState === 'complete' && ({js})");
        loop {
            if self.eval(&full).ok() == Some(Value::Bool(true)) {
                return;
            }
            if Instant::now() > deadline {
                let text = self.eval("document.documentElement.outerHTML");
                panic!("timed out waiting for {js}; page: {text:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pipe, both ends close-on-exec (the child gets its ends by `dup2`).
fn pipe() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

#[test]
fn a_reader_subscribes_in_chromium_confirms_from_the_mail_and_leaves_with_one_click() {
    let d = Daemon::start();
    let mut b = Browser::start();

    // Fill and send the form as a reader would.
    b.goto(&d.url("/subscribe"));
    b.wait("!!document.querySelector('#email')");
    assert_eq!(b.eval("document.documentElement.lang").unwrap(), "zh");
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
        d.status_of("reader@example.org").as_deref(),
        Some("pending")
    );

    // The confirmation mail, and its link, followed in the browser.
    let mails = d.new_mail(&[]);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = read_mail(&mails[0]);
    assert!(
        mail["subject"].as_str().unwrap().contains("請確認訂閱"),
        "{mail}"
    );
    let confirm = link_in(mail["text"].as_str().unwrap(), "confirm");
    b.goto(&d.local(&confirm));
    b.wait("document.body.innerText.includes('訂閱已確認')");
    assert_eq!(d.status_of("reader@example.org").as_deref(), Some("active"));

    // The manage link on that page opens the form pre-filled, with the weekly preset.
    // The link names the public site; point the browser at the daemon instead.
    let manage = b
        .eval("document.querySelector('#manage') && document.querySelector('#manage').href")
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    if let Some(manage) = manage {
        b.goto(&d.local(&manage));
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
    let known = d.outbox();
    let store = d.path().join("articles");
    let tmp = d.path().join(".new.tmp");
    std::fs::write(
        &tmp,
        "首頁>黨派·聲音>統一戰線 統一戰線\n網頁訂閱測試文章\n正文第一段。\n正文第二段。\n关键词:测试\n",
    )
    .unwrap();
    std::fs::rename(&tmp, store.join("001_webtest.txt")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let feed = request("GET", &d.url("/feeds/all/rss.xml"), &[], None);
        if feed.body.contains("網頁訂閱測試文章") {
            break;
        }
        assert!(Instant::now() < deadline, "article not published");
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent = d.ok(&["digest", "send", "--now"]);
    assert!(sent.contains("1 sent"), "{sent}");
    let digests = d.new_mail(&known);
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
    let unsubscribe = link_in(digest["list_unsubscribe"].as_str().unwrap(), "unsubscribe");
    let r = request(
        "POST",
        &d.local(&unsubscribe),
        &[],
        Some("List-Unsubscribe=One-Click".into()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        d.status_of("reader@example.org").as_deref(),
        Some("unsubscribed")
    );
}
