//! The mail transports against real servers on loopback, no mocks (DESIGN §6):
//! postfix's `smtp-sink` for counting and fault injection (4xx, 5xx, 421 at RCPT; idle
//! disconnects), aiosmtpd for STARTTLS, implicit TLS and AUTH with the delivered bytes
//! captured, a raw socket that never speaks for the timeout, and the outbox read back by
//! Python's `email` package. A missing program fails its test with the line that
//! installs it; nothing is skipped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde_json::Value;
use tidings::config::{self, Tls};
use tidings::digests::mail::{Envelope, Outbox, SendError, SmtpPool, SmtpSettings, Transport};
use tokio::net::{TcpListener, TcpStream};

use crate::support::smtp::{Aiosmtpd, SmtpSink, PASSWORD, USER};
use crate::support::{free_port, python_json, PATIENCE};

const FROM: &str = "tidings@news.example";

// ---------------------------------------------------------------------------------------
// Helpers: messages, settings
// ---------------------------------------------------------------------------------------

/// A digest-shaped message: Chinese subject (RFC 2047), multipart/alternative, a fixed
/// Message-ID; an 8-bit text part whose lines starting with "." check dot-stuffing and
/// 8BITMIME, and a base64 HTML part.
fn message(to: &str, n: usize) -> (String, Vec<u8>) {
    let id = format!("<digest.{n}.5f2c@news.example>");
    let text = format!(
        "第 {n} 期摘要\n.一行以點開頭\n..兩點\n{}",
        "重慶市統一戰線工作會議召開。\n".repeat(40)
    );
    let html = format!("<p>第 {n} 期摘要</p>{}", "<p>重慶市統一戰線</p>".repeat(40));
    let msg = lettre::Message::builder()
        .from(format!("新聞摘要 <{FROM}>").parse::<Mailbox>().unwrap())
        .to(to.parse::<Mailbox>().unwrap())
        .subject(format!("「統一戰線、重慶市」每日摘要 · {n} 篇"))
        .message_id(Some(id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    // 8-bit so that lines starting with "." reach the wire as text.
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(ContentTransferEncoding::EightBit)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .unwrap();
    let mut bytes = msg.formatted();
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    (id, bytes)
}

fn settings(port: u16, tls: Tls, connections: usize) -> SmtpSettings {
    let smtp = config::Smtp {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: String::new(),
        password_file: PathBuf::new(),
        connections,
        rate: 0,
        ca_file: Default::default(),
    };
    let mut s = SmtpSettings::new(&smtp, String::new());
    s.timeout = Duration::from_secs(10);
    s.hello_name = Some("tidings.test".into());
    s
}

/// Settings for `server`, with its user, password and test CA.
fn settings_for(server: &Aiosmtpd, tls: Tls) -> SmtpSettings {
    let mut s = settings(server.port, tls, 2);
    s.username = USER.into();
    s.password = PASSWORD.into();
    s.extra_roots_pem = vec![server.ca.clone()];
    s
}

fn smtp(settings: SmtpSettings) -> Transport {
    Transport::Smtp(SmtpPool::new(settings).unwrap())
}

async fn send_one(t: &Transport, to: &str, n: usize) -> Result<(), SendError> {
    let (id, bytes) = message(to, n);
    t.send(&Envelope::new(FROM, to), &id, &bytes).await
}

/// A loopback TCP relay in front of a server that counts the connections clients open.
struct Counter {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Counter {
    async fn start(target: u16) -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Counter {
            port,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------
// SMTP: volume, fault classes, timeouts, pooling, rate
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_sink_takes_200_messages_over_4_connections() {
    let sink = SmtpSink::start(&[], true);
    let counter = Counter::start(sink.port).await;
    let t = Arc::new(smtp(settings(counter.port, Tls::None, 4)));

    // More senders than connections: the pool makes them take turns.
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for n in (worker..200).step_by(16) {
                let to = format!("reader{n}@example.org");
                send_one(&t, &to, n)
                    .await
                    .unwrap_or_else(|e| panic!("message {n}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    t.close().await;

    assert!(
        (1..=4).contains(&counter.accepted()),
        "{} connections were opened for 4 allowed",
        counter.accepted()
    );
    let dumps = sink.dumped(200);
    assert_eq!(
        dumps.len(),
        200,
        "smtp-sink captured {} messages",
        dumps.len()
    );
    let mut rcpts: Vec<String> = dumps
        .iter()
        .map(|d| {
            assert!(d.contains(&format!("X-Mail-Args: <{FROM}>")), "{d}");
            assert!(d.contains("X-Helo-Args: tidings.test"), "{d}");
            assert!(d.contains("Content-Type: multipart/alternative"), "{d}");
            d.lines()
                .find_map(|l| l.strip_prefix("X-Rcpt-Args: "))
                .unwrap()
                .to_string()
        })
        .collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), 200, "every recipient exactly once");
}

#[tokio::test]
async fn a_4xx_at_rcpt_is_temporary() {
    let sink = SmtpSink::start(&["-r", "RCPT"], false);
    let t = smtp(settings(sink.port, Tls::None, 1));
    for n in 0..2 {
        // Twice: after the reply the session is reset and used again.
        match send_one(&t, "reader@example.org", n).await {
            Err(SendError::Temporary(m)) => assert!(m.contains("RCPT TO: 450"), "{m}"),
            other => panic!("expected a temporary failure, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_5xx_at_rcpt_is_permanent() {
    let sink = SmtpSink::start(&["-f", "RCPT"], false);
    let t = smtp(settings(sink.port, Tls::None, 1));
    match send_one(&t, "reader@example.org", 0).await {
        Err(SendError::Permanent(m)) => assert!(m.contains("RCPT TO: 500"), "{m}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_5xx_at_the_end_of_data_is_permanent() {
    let sink = SmtpSink::start(&["-f", "."], false);
    let t = smtp(settings(sink.port, Tls::None, 1));
    match send_one(&t, "reader@example.org", 0).await {
        Err(SendError::Permanent(m)) => assert!(m.contains("end of data: 500"), "{m}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_421_is_temporary_and_ends_the_connection() {
    let sink = SmtpSink::start(&["-Q", "RCPT"], false);
    let counter = Counter::start(sink.port).await;
    let t = smtp(settings(counter.port, Tls::None, 1));
    for n in 0..2 {
        match send_one(&t, "reader@example.org", n).await {
            Err(SendError::Temporary(m)) => assert!(m.contains("RCPT TO: 421"), "{m}"),
            other => panic!("expected a temporary failure, got {other:?}"),
        }
    }
    // The server hung up after each 421: the second send needed a new connection.
    assert_eq!(counter.accepted(), 2);
}

#[tokio::test]
async fn a_server_that_never_speaks_times_out_as_temporary() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds the connections, silent.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut s = settings(port, Tls::None, 1);
    s.timeout = Duration::from_millis(500);
    let t = smtp(s);
    // Only a guard: without the transport's own timeout the send would wait for ever.
    let result = tokio::time::timeout(PATIENCE, send_one(&t, "reader@example.org", 0))
        .await
        .expect("the send waits for the silent server without end");
    match result {
        Err(SendError::Temporary(m)) => assert!(m.contains("no answer within 0.5 s"), "{m}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    holder.abort();
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let t = smtp(settings(free_port(), Tls::None, 1));
    match send_one(&t, "reader@example.org", 0).await {
        Err(SendError::Temporary(m)) => assert!(m.contains("connecting to 127.0.0.1:"), "{m}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced() {
    // smtp-sink drops a client that says nothing for 1 s.
    let sink = SmtpSink::start(&["-t", "1"], true);
    let counter = Counter::start(sink.port).await;
    let t = smtp(settings(counter.port, Tls::None, 1));
    send_one(&t, "first@example.org", 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1800)).await;
    send_one(&t, "second@example.org", 1).await.unwrap();
    assert_eq!(counter.accepted(), 2, "one reconnect");
    assert_eq!(sink.dumped(2).len(), 2);
}

#[tokio::test]
async fn starttls_asked_for_but_not_offered_fails_instead_of_sending_in_clear() {
    let sink = SmtpSink::start(&[], true);
    let t = smtp(settings(sink.port, Tls::Starttls, 1));
    match send_one(&t, "reader@example.org", 0).await {
        Err(SendError::Temporary(m)) => assert!(m.contains("does not offer STARTTLS"), "{m}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    assert!(sink.dumped(0).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_cap_holds_across_connections() {
    let sink = SmtpSink::start(&[], false);
    let mut s = settings(sink.port, Tls::None, 4);
    s.rate = 20;
    let t = Arc::new(smtp(s));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..20 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            send_one(&t, &format!("r{n}@example.org"), n).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // 20 messages at 20/s: the last may start 19 × 50 ms after the first.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "took only {took:?}");
}

#[tokio::test]
async fn a_bad_envelope_address_is_permanent() {
    let t = smtp(settings(free_port(), Tls::None, 1));
    let (id, bytes) = message("reader@example.org", 0);
    match t
        .send(&Envelope::new(FROM, "not an address"), &id, &bytes)
        .await
    {
        Err(SendError::Permanent(m)) => assert!(m.contains("recipient"), "{m}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// aiosmtpd: TLS, AUTH, the bytes as delivered
// ---------------------------------------------------------------------------------------

async fn delivered_intact_over_tls(mode: &str, tls: Tls) {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path(), mode);
    let t = smtp(settings_for(&server, tls));
    let mut sent = Vec::new();
    for n in 0..3 {
        let to = format!("reader{n}@example.org");
        let (id, bytes) = message(&to, n);
        t.send(&Envelope::new(FROM, &to), &id, &bytes)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        sent.push((to, bytes));
    }
    t.close().await;
    for (i, (to, bytes)) in sent.iter().enumerate() {
        let (captured, meta) = server.captured(i + 1);
        assert!(
            captured == *bytes,
            "{mode}: message {i} arrived changed:\n{}",
            String::from_utf8_lossy(&captured)
        );
        assert_eq!(meta["mail_from"], FROM);
        assert_eq!(meta["rcpt_tos"], serde_json::json!([to]));
        assert_eq!(meta["tls"], true, "{mode}: {meta}");
        assert_eq!(meta["authenticated"], true, "{mode}: {meta}");
        assert_eq!(meta["login"], USER);
    }
    let auth = server.auth_log();
    assert!(!auth.is_empty());
    for a in &auth {
        assert_eq!(a["tls"], true, "{mode}: AUTH before TLS: {a}");
        assert_eq!(a["ok"], true, "{mode}: {a}");
        assert_eq!(a["mechanism"], "PLAIN", "{mode}: {a}");
    }
}

#[tokio::test]
async fn starttls_and_auth_deliver_the_bytes_intact() {
    delivered_intact_over_tls("starttls", Tls::Starttls).await;
}

#[tokio::test]
async fn implicit_tls_and_auth_deliver_the_bytes_intact() {
    delivered_intact_over_tls("tls", Tls::Tls).await;
}

#[tokio::test]
async fn a_wrong_password_is_temporary_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path(), "starttls");
    let mut s = settings_for(&server, Tls::Starttls);
    s.password = "wrong".into();
    match send_one(&smtp(s), "reader@example.org", 0).await {
        Err(SendError::Temporary(m)) => assert!(m.contains("AUTH"), "{m}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    assert!(!server.out.join("1.eml").exists());
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path(), "tls");
    let mut s = settings_for(&server, Tls::Tls);
    s.extra_roots_pem.clear();
    match send_one(&smtp(s), "reader@example.org", 0).await {
        Err(SendError::Temporary(m)) => assert!(m.contains("TLS"), "{m}"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    assert!(server.auth_log().is_empty(), "no password may leave");
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_password_file_is_read_without_its_newline_and_named_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smtp.pass");
    std::fs::write(&file, "s3cret pass\n").unwrap();
    let mut mail = config::Mail {
        transport: config::Transport::Smtp,
        ..config::Mail::default()
    };
    mail.smtp.username = "digest".into();
    mail.smtp.password_file = file.clone();
    let s = SmtpSettings::from_config(&mail.smtp).await.unwrap();
    assert_eq!(s.password, "s3cret pass");
    assert!(!format!("{s:?}").contains("s3cret"), "Debug hides it");
    assert!(matches!(
        Transport::from_config(&mail).await.unwrap(),
        Transport::Smtp(_)
    ));

    mail.smtp.password_file = dir.path().join("missing.pass");
    let err = Transport::from_config(&mail).await.unwrap_err();
    assert!(format!("{err:#}").contains("missing.pass"), "{err:#}");
}

// ---------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------

/// What Python's `email` (policy=default) makes of an .eml file.
fn python_reads(path: &std::path::Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=email.policy.default)
print(json.dumps({
    "defects": [str(d) for d in m.defects],
    "subject": str(m["subject"]),
    "message_id": str(m["message-id"]),
    "envelope_from": str(m["x-tidings-envelope-from"]),
    "envelope_to": str(m["x-tidings-envelope-to"]),
    "type": m.get_content_type(),
    "parts": [p.get_content() for p in m.iter_parts()],
}))
"#;
    python_json(script, path)
}

#[tokio::test]
async fn the_outbox_writes_one_parsable_file_per_message_and_a_resend_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("deep/outbox");
    let mail = config::Mail {
        outbox: outbox_dir.clone(),
        ..config::Mail::default()
    };
    let t = Transport::from_config(&mail).await.unwrap();
    assert!(outbox_dir.is_dir(), "created");
    let Transport::Outbox(outbox) = &t else {
        panic!("outbox is the default")
    };

    let (id, bytes) = message("讀者 <reader@example.org>", 7);
    t.send(
        &Envelope::new("tidings <tidings@news.example>", "reader@example.org"),
        &id,
        &bytes,
    )
    .await
    .unwrap();
    let path = outbox.path_for(&id);
    assert_eq!(
        path.file_name().unwrap(),
        "digest.7.5f2c@news.example.eml",
        "named after the Message-ID"
    );
    let file = std::fs::read(&path).unwrap();
    assert!(
        file.ends_with(&bytes),
        "the message as given, after the envelope"
    );
    let mail = python_reads(&path);
    assert_eq!(mail["defects"], serde_json::json!([]));
    assert_eq!(mail["subject"], "「統一戰線、重慶市」每日摘要 · 7 篇");
    assert_eq!(mail["message_id"], id);
    assert_eq!(mail["envelope_from"], "<tidings@news.example>");
    assert_eq!(mail["envelope_to"], "<reader@example.org>");
    assert_eq!(mail["type"], "multipart/alternative");
    assert!(mail["parts"][0]
        .as_str()
        .unwrap()
        .contains("第 7 期摘要\n.一行以點開頭"));

    // The same Message-ID again (a resend after a crash): replaced, not duplicated.
    t.send(&Envelope::new(FROM, "other@example.org"), &id, &bytes)
        .await
        .unwrap();
    let names: Vec<String> = std::fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["digest.7.5f2c@news.example.eml".to_string()]);
    assert_eq!(
        python_reads(&path)["envelope_to"],
        "<other@example.org>",
        "the second write won"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_writes_are_atomic_under_concurrent_resends() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).await.unwrap();
    let t = Arc::new(Transport::Outbox(outbox.clone()));
    let id = "<same@news.example>";
    // Writers race on one name while a reader checks every version it sees is whole.
    let versions: Vec<Vec<u8>> = (0..8).map(|n| message("r@example.org", n).1).collect();
    let mut tasks = Vec::new();
    for v in versions.clone() {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                t.send(&Envelope::new(FROM, "r@example.org"), id, &v)
                    .await
                    .unwrap();
            }
        }));
    }
    let path = outbox.path_for(id);
    let reader = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(3);
        while seen < 50 && Instant::now() < deadline {
            if let Ok(file) = std::fs::read(&path) {
                assert!(
                    versions.iter().any(|v| file.ends_with(v)),
                    "a reader saw a partial file"
                );
                seen += 1;
            }
        }
    });
    for task in tasks {
        task.await.unwrap();
    }
    reader.await.unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["same@news.example.eml"],
        "no temporary files left"
    );
}

#[tokio::test]
async fn outbox_file_names_are_safe() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).await.unwrap();
    let (_, bytes) = message("r@example.org", 0);
    let id = "<../../escape/me@x>";
    outbox
        .send(&Envelope::new(FROM, "r@example.org"), id, &bytes)
        .await
        .unwrap();
    let path = outbox.path_for(id);
    assert_eq!(path.parent().unwrap(), dir.path());
    assert!(path.is_file());
}

// ---------------------------------------------------------------------------------------
// One pooled connection carries message after message
// ---------------------------------------------------------------------------------------

// lettre writes the body and the final "." separately; with Nagle's algorithm on, the
// second write waits for the server's delayed ACK (~40 ms a message: 23 msg/s on one
// connection, 60 messages over TLS in 2.7 s instead of 0.15 s), which is why the pool
// sets TCP_NODELAY. That is speed, measured by `scripts/bench_mail.py --connections 1`
// (BENCHMARKS.md); these tests hold the behaviour: every message goes out, in turn, on
// the one connection.

#[tokio::test]
async fn one_connection_carries_200_messages_in_turn() {
    let sink = SmtpSink::start(&[], true);
    let counter = Counter::start(sink.port).await;
    let t = smtp(settings(counter.port, Tls::None, 1));
    for n in 0..200 {
        send_one(&t, "reader@example.org", n).await.unwrap();
    }
    t.close().await;
    assert_eq!(counter.accepted(), 1, "one connection");
    assert_eq!(sink.dumped(200).len(), 200);
}

/// The same over STARTTLS and implicit TLS, where the socket sits under lettre's TLS
/// layer.
async fn one_tls_connection_carries_messages_in_turn(mode: &str, tls: Tls) {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path(), mode);
    let counter = Counter::start(server.port).await;
    let mut s = settings_for(&server, tls);
    s.port = counter.port;
    s.connections = 1;
    let t = smtp(s);
    for n in 0..60 {
        send_one(&t, "reader@example.org", n)
            .await
            .unwrap_or_else(|e| panic!("{mode}: message {n}: {e}"));
    }
    t.close().await;
    assert_eq!(counter.accepted(), 1, "{mode}: one connection");
    assert_eq!(server.count(), 60, "{mode}");
}

#[tokio::test]
async fn one_starttls_connection_carries_60_messages_in_turn() {
    one_tls_connection_carries_messages_in_turn("starttls", Tls::Starttls).await;
}

#[tokio::test]
async fn one_implicit_tls_connection_carries_60_messages_in_turn() {
    one_tls_connection_carries_messages_in_turn("tls", Tls::Tls).await;
}
