//! Digest rounds (DESIGN §6) against real SMTP servers on loopback: the real
//! `tidings` binary (`subscriber import`, `digest send`) into postfix's `smtp-sink` with
//! fault injection — a relay that refuses everything pauses the round, repeated permanent
//! refusals bounce a subscriber, a temporary refusal leaves the digest pending and the
//! next round resumes it with the same Message-ID — and a whole round over STARTTLS +
//! AUTH into aiosmtpd, driven through the library with the test CA in the SMTP settings,
//! with the captured mail read by Python's `email` package.

use std::path::Path;
use std::sync::Arc;

use tidings::config::{self, Config, Tls};
use tidings::digests::mail::{SmtpPool, SmtpSettings, Transport};
use tidings::digests::subscriber::email_key;
use tidings::feeds::index::Index;
use tidings::model::subscriber::DeliveryState;
use tidings::model::subscriber::Status;

use crate::support::smtp::{self, Aiosmtpd, SmtpSink, PASSWORD, USER};
use crate::support::{article, ok, open_index, put_seed, python, tidings};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

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
    put_seed(dir);
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

/// The index as the last command left it.
fn index(dir: &Path) -> Index {
    open_index(&dir.join("state"))
}

/// (To, Message-ID) of every message `sink` captured, once `expected` of them are in.
fn captured(sink: &SmtpSink, expected: usize) -> Vec<(String, String)> {
    sink.dumped(expected)
        .iter()
        .map(|m| (smtp::header(m, "To"), smtp::header(m, "Message-ID")))
        .collect()
}

// ---------------------------------------------------------------------------------------
// smtp-sink: pause, bounce, defer and resume
// ---------------------------------------------------------------------------------------

#[test]
fn a_relay_refusing_every_recipient_pauses_the_round_after_the_first_20() {
    let sink = SmtpSink::start(&["-f", "RCPT"], false);
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
    let sink = SmtpSink::start(&["-f", "RCPT"], false);
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
    let refusing = SmtpSink::start(&["-r", "RCPT"], false);
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
    let sink = SmtpSink::start(&[], true);
    write_config(d, sink.port, 1);
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("1 sent") && out.contains("1 resumed"), "{out}");
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("0 sent"), "{out}");
    let got = captured(&sink, 1);
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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Aiosmtpd::start(d, "starttls");
    let port = server.port;

    // The store and subscribers through the binary, as an operator would.
    setup(d, port, 2, 3);
    // `mail.smtp` has no key for a CA file, so the binary cannot trust the test CA: the
    // round runs through the library with the CA as an extra root.
    let config = Config::from_file(&d.join("config.toml")).unwrap();
    let smtp = config::Smtp {
        tls: Tls::Starttls,
        username: USER.into(),
        ..config.mail.smtp.clone()
    };
    let mut settings = SmtpSettings::new(&smtp, PASSWORD.into());
    settings.extra_roots_pem = vec![server.ca.clone()];
    settings.hello_name = Some("tidings.test".into());
    let transport = Transport::Smtp(SmtpPool::new(settings).unwrap());
    let index = Arc::new(open_index(&config.state.path));
    let report =
        tidings::digests::round::run(index.clone(), &config, &transport, chrono::Utc::now(), true)
            .await
            .unwrap();
    transport.close().await;
    assert_eq!((report.due, report.sent), (3, 3), "{report}");
    assert!(report.paused.is_none() && report.deferred == 0, "{report}");

    assert_eq!(server.count(), 3);
    for n in 1..=3 {
        let (_, session) = server.captured(n);
        assert_eq!(session["tls"], true, "{session}");
        assert_eq!(session["authenticated"], true, "{session}");
        python(CHECK_MESSAGE, [server.message_path(n)]);
    }
    // Sent: a second round has nothing new for anyone.
    let transport = Transport::Smtp(
        SmtpPool::new({
            let mut s = SmtpSettings::new(&smtp, PASSWORD.into());
            s.extra_roots_pem = vec![server.ca.clone()];
            s
        })
        .unwrap(),
    );
    let again = tidings::digests::round::run(index, &config, &transport, chrono::Utc::now(), true)
        .await
        .unwrap();
    assert_eq!((again.sent, again.empty), (0, 3), "{again}");
}
