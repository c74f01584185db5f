//! Digest rounds (issue 4 items 6 and 7) against real SMTP servers on loopback: the real
//! `tidings` binary (`subscriber import`, `digest send`) into postfix's `smtp-sink` with
//! fault injection — a relay that refuses everything pauses the round, repeated permanent
//! refusals bounce a subscriber, a temporary refusal leaves the digest pending and the
//! next round resumes it with the same Message-ID — and a whole round over STARTTLS +
//! AUTH into aiosmtpd, driven through the library with the test CA in the SMTP settings,
//! with the captured mail read by Python's `email` package.

mod support;

use support::{certificates, free_port, is_root, program, INSTALL_POSTFIX, INSTALL_PYTHON};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidings::config::{self, Config, Tls};
use tidings::digests::mail::{SmtpPool, SmtpSettings, Transport};
use tidings::digests::subscriber::email_key;
use tidings::feeds::index::Index;
use tidings::model::subscriber::DeliveryState;
use tidings::model::subscriber::Status;

const SEED: &[u8] = include_bytes!("../articles/000_8c7ef1c8e8c43d29.txt");

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn tidings(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tidings(dir, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn article(title: &str, keyword: &str) -> String {
    format!("首页>时政>高层动态 高层动态\n{title}\n正文第一段。\n正文第二段。\n关键词:{keyword}\n")
}

/// A configuration sending over plain SMTP to `port` with `connections` connections.
fn write_config(dir: &Path, port: u16, connections: usize) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[site]\nbase_url = \"https://news.example\"\ntitle = \"新聞站\"\n\
             [mail]\nfrom = \"新聞站 <digest@news.example>\"\ntransport = \"smtp\"\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             connections = {connections}\n"
        ),
    )
    .unwrap();
}

/// A store with the seed, `n` subscribers (r0@… r{n-1}@example.org, keyword 重慶市, a
/// yearly schedule so that only `--now` or a pending delivery sends anything), then one
/// new article all of them get.
fn setup(dir: &Path, port: u16, connections: usize, n: usize) {
    std::fs::create_dir_all(dir.join("articles")).unwrap();
    std::fs::write(dir.join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
    write_config(dir, port, connections);
    ok(dir, &["build"]);
    let mut csv = String::from("email,keywords,schedule,timezone\n");
    for i in 0..n {
        csv.push_str(&format!(
            "r{i}@example.org,重慶市,0 0 1 1 *,Asia/Shanghai\n"
        ));
    }
    std::fs::write(dir.join("subs.csv"), csv).unwrap();
    ok(
        dir,
        &[
            "subscriber",
            "import",
            dir.join("subs.csv").to_str().unwrap(),
        ],
    );
    std::fs::write(
        dir.join("articles/n1.txt"),
        article("給每位讀者的新聞", "重庆市"),
    )
    .unwrap();
    ok(dir, &["build"]);
}

/// The index as the last command left it (the binary has exited, so the lock is free).
fn index(dir: &Path) -> Index {
    Index::open(&dir.join("state")).unwrap()
}

/// A running `smtp-sink` on a free loopback port, killed on drop.
struct Sink {
    child: Child,
    port: u16,
    dump: Option<tempfile::TempDir>,
}

impl Sink {
    fn start(args: &[&str], dump: bool) -> Sink {
        let port = free_port();
        let mut cmd = Command::new(program("smtp-sink", INSTALL_POSTFIX));
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        let dump = dump.then(|| {
            let dir = tempfile::tempdir().unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
            dir
        });
        if let Some(dir) = &dump {
            cmd.arg("-d").arg(format!("{}/", dir.path().display()));
        }
        cmd.args(args)
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("starting smtp-sink");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().unwrap().is_none(), "smtp-sink exited");
            assert!(Instant::now() < deadline, "smtp-sink did not listen");
            std::thread::sleep(Duration::from_millis(25));
        }
        Sink { child, port, dump }
    }

    /// (To, Message-ID) of every complete captured message, after waiting up to 5 s for
    /// `expected` of them.
    fn dumped(&self, expected: usize) -> Vec<(String, String)> {
        let dir = self.dump.as_ref().expect("a dump folder").path();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .filter(|f| f.ends_with("\n\n"))
                .collect();
            if files.len() >= expected || Instant::now() > deadline {
                return files
                    .iter()
                    .map(|text| {
                        let header = |name: &str| {
                            text.lines()
                                .find_map(|l| l.strip_prefix(name))
                                .unwrap_or("?")
                                .trim()
                                .to_string()
                        };
                        (header("To: "), header("Message-ID: "))
                    })
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// smtp-sink: pause, bounce, defer and resume
// ---------------------------------------------------------------------------------------

#[test]
fn a_relay_refusing_every_recipient_pauses_the_round_after_the_first_20() {
    let sink = Sink::start(&["-f", "RCPT"], false);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One connection: the pause is checked after each batch of `connections` sends.
    setup(d, sink.port, 1, 30);

    let out = tidings(d, &["digest", "send", "--now"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("round paused"), "{stdout}");
    assert!(stdout.contains("0 sent"), "{stdout}");
    assert!(stdout.contains("0 bounced"), "{stdout}");

    let index = index(d);
    let subs = index.subscribers().unwrap();
    assert_eq!(subs.len(), 30);
    let (mut tried, mut untouched) = (0, 0);
    for sub in &subs {
        assert_eq!(
            sub.status,
            Status::Active,
            "{}: not bounced by one refusal",
            sub.email
        );
        assert_eq!(sub.last_run, None, "{}: nothing was sent", sub.email);
        let delivery = index
            .delivery(&sub.key())
            .unwrap()
            .expect("recorded before sending");
        assert_ne!(delivery.state, DeliveryState::Sent, "{}", sub.email);
        match sub.bounces {
            1 => {
                assert_eq!(delivery.state, DeliveryState::Failed, "{}", sub.email);
                tried += 1;
            }
            0 => {
                assert_eq!(delivery.state, DeliveryState::Pending, "{}", sub.email);
                untouched += 1;
            }
            n => panic!("{}: {n} bounces after one round", sub.email),
        }
    }
    assert_eq!((tried, untouched), (20, 10), "stopped after the first 20");
}

#[test]
fn three_rounds_of_permanent_refusals_bounce_a_subscriber() {
    let sink = Sink::start(&["-f", "RCPT"], false);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d, sink.port, 1, 1);
    let key = email_key("r0@example.org");
    for round in 1..=3u32 {
        // One refusal is below the pause threshold: the round runs to its end, reports
        // the refusal and exits 1.
        let output = tidings(d, &["digest", "send", "--now"]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(out.contains("1 refused"), "{out}");
        assert!(!out.contains("paused"), "{out}");
        assert!(out.contains("0 sent"), "{out}");
        let sub = index(d).subscriber(&key).unwrap().unwrap();
        assert_eq!(sub.bounces, round, "{out}");
        if round < 3 {
            assert!(out.contains("0 bounced"), "{out}");
            assert_eq!(sub.status, Status::Active);
        } else {
            assert!(out.contains("1 bounced"), "{out}");
            assert_eq!(sub.status, Status::Bounced);
        }
    }
    let list = ok(d, &["subscriber", "list"]);
    assert!(list.contains("r0@example.org\tbounced\t"), "{list}");
    // A bounced subscriber is no longer due.
    let out = ok(d, &["digest", "send", "--now"]);
    assert!(out.contains("0 due"), "{out}");
}

#[test]
fn a_temporary_refusal_is_resumed_next_round_with_the_same_message_id_exactly_once() {
    let refusing = Sink::start(&["-r", "RCPT"], false);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d, refusing.port, 1, 1);
    let key = email_key("r0@example.org");

    let out = tidings(d, &["digest", "send", "--now"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout.contains("1 deferred"), "{stdout}");
    assert!(stdout.contains("0 sent"), "{stdout}");
    let pending = {
        let index = index(d);
        let delivery = index.delivery(&key).unwrap().unwrap();
        assert_eq!(delivery.state, DeliveryState::Pending);
        let sub = index.subscriber(&key).unwrap().unwrap();
        assert_eq!((sub.bounces, sub.status), (0, Status::Active));
        delivery
    };
    drop(refusing);

    // The relay recovers: a scheduled round (no --now) resumes the pending digest.
    let sink = Sink::start(&[], true);
    write_config(d, sink.port, 1);
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("1 sent") && out.contains("1 resumed"), "{out}");
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("0 sent"), "{out}");
    let got = sink.dumped(1);
    assert_eq!(got.len(), 1, "exactly once: {got:?}");
    assert_eq!(got[0].0, "r0@example.org");
    assert_eq!(got[0].1, pending.message_id, "the same Message-ID");
    let index = index(d);
    assert_eq!(
        index.delivery(&key).unwrap().unwrap().state,
        DeliveryState::Sent
    );
    assert_eq!(
        index.subscriber(&key).unwrap().unwrap().watermark,
        pending.to_seq
    );
}

// ---------------------------------------------------------------------------------------
// aiosmtpd: a whole round over STARTTLS + AUTH
// ---------------------------------------------------------------------------------------

const AIOSMTPD_SERVER: &str = r#"
import logging, ssl, sys, time, warnings
from pathlib import Path
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
port, cert, key, user, password, out = sys.argv[1:7]
out = Path(out)
seen = {"n": 0}

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        seen["n"] += 1
        if session.ssl is None or not session.authenticated:
            return "530 5.7.0 TLS and AUTH first"
        (out / f"{seen['n']}.eml").write_bytes(envelope.original_content)
        return "250 2.0.0 captured"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Handler(), hostname="127.0.0.1", port=int(port),
                        authenticator=authenticator, auth_required=True,
                        tls_context=context, require_starttls=True, auth_require_tls=True)
controller.start()
print("READY", flush=True)
while True:
    time.sleep(3600)
"#;

struct Aiosmtpd(Child);

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const CHECK_MESSAGE: &str = r#"
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg.get_content_type() == 'multipart/alternative', msg.get_content_type()
assert [p.get_content_type() for p in msg.iter_parts()] == ['text/plain', 'text/html']
text = msg.get_body(('plain',)).get_content()
html = msg.get_body(('html',)).get_content()
assert '給每位讀者的新聞' in text and '給每位讀者的新聞' in html, text
subject = str(msg['Subject'])
assert '重慶市' in subject and '摘要' in subject and '1 篇' in subject, subject
for h in ('From', 'To', 'Date', 'Message-ID', 'List-Id', 'List-Unsubscribe',
          'List-Unsubscribe-Post'):
    assert msg[h], h
assert 'https://news.example/unsubscribe?token=' in str(msg['List-Unsubscribe'])
assert 'mailto:' in str(msg['List-Unsubscribe'])
assert str(msg['List-Unsubscribe-Post']) == 'List-Unsubscribe=One-Click'
assert all(len(l) <= 998 for l in raw.split(b'\r\n'))
print(subject)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_round_over_starttls_and_auth_arrives_as_a_reader_would_see_it() {
    let python = program("python3", INSTALL_PYTHON);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca, cert, key) = certificates(d);
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(d.join("server.py"), AIOSMTPD_SERVER).unwrap();
    let port = free_port();
    let mut child = Command::new(python)
        .arg(d.join("server.py"))
        .arg(port.to_string())
        .args([&cert, &key])
        .args(["digest", "s3cret pass"])
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting aiosmtpd (python3 -m pip install aiosmtpd)");
    let mut line = String::new();
    use std::io::BufRead as _;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Aiosmtpd(child);
    assert_eq!(line.trim(), "READY", "aiosmtpd did not start");

    // The store and subscribers through the binary, as an operator would.
    setup(d, port, 2, 3);
    // `mail.smtp` has no key for a CA file, so the binary cannot trust the test CA: the
    // round runs through the library with the CA as an extra root.
    let config = Config::from_file(&d.join("config.toml")).unwrap();
    let smtp = config::Smtp {
        tls: Tls::Starttls,
        username: "digest".into(),
        ..config.mail.smtp.clone()
    };
    let mut settings = SmtpSettings::new(&smtp, "s3cret pass".into());
    settings.extra_roots_pem = vec![ca];
    settings.hello_name = Some("tidings.test".into());
    let transport = Transport::Smtp(SmtpPool::new(settings).unwrap());
    let index = Arc::new(Index::open(&config.state.path).unwrap());
    let report =
        tidings::digests::round::run(index.clone(), &config, &transport, chrono::Utc::now(), true)
            .await
            .unwrap();
    transport.close().await;
    assert_eq!((report.due, report.sent), (3, 3), "{report}");
    assert!(report.paused.is_none() && report.deferred == 0, "{report}");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for f in &files {
        let check = Command::new(program("python3", INSTALL_PYTHON))
            .arg("-c")
            .arg(CHECK_MESSAGE)
            .arg(f)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Sent: a second round has nothing new for anyone.
    let transport = Transport::Smtp(
        SmtpPool::new({
            let mut s = SmtpSettings::new(&smtp, "s3cret pass".into());
            s.extra_roots_pem = vec![std::fs::read(d.join("ca.pem")).unwrap()];
            s
        })
        .unwrap(),
    );
    let again = tidings::digests::round::run(index, &config, &transport, chrono::Utc::now(), true)
        .await
        .unwrap();
    assert_eq!((again.sent, again.empty), (0, 3), "{again}");
}
