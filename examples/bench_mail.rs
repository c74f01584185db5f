//! Throughput of the mail transports (DESIGN §6), driven by `scripts/bench_mail.py`:
//!
//! ```text
//! cargo run --release --example bench_mail -- --smtp 127.0.0.1:2525 [--connections 8]
//! cargo run --release --example bench_mail -- --outbox /tmp/outbox
//!     [--messages 100000] [--size 10000] [--workers W]
//! ```
//!
//! Sends `--messages` copies of a digest-shaped message of about `--size` bytes
//! (multipart/alternative, RFC 2047 Chinese subject, base64 text and HTML parts of Chinese
//! text — what `digest::compose` produces), each with its own recipient and Message-ID,
//! through [`Transport::send`] from `--workers` tasks (default: the connection count for
//! SMTP, 16 for the outbox). Prints one JSON line: messages, failures, seconds,
//! messages/s. The messages are made on the fly from one template so the figure is the
//! transport's, not the composer's.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tidings::config::Tls;
use tidings::digests::mail::{Envelope, Outbox, SmtpPool, SmtpSettings, Transport};

const USAGE: &str =
    "usage: bench_mail (--smtp HOST:PORT [--connections N] [--tls none|starttls|tls] \
     | --outbox DIR) [--messages N] [--size BYTES] [--workers N]";

struct Options {
    smtp: Option<(String, u16)>,
    outbox: Option<String>,
    connections: usize,
    tls: Tls,
    messages: usize,
    size: usize,
    workers: Option<usize>,
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_mail: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_mail: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        smtp: None,
        outbox: None,
        connections: 8,
        tls: Tls::None,
        messages: 100_000,
        size: 10_000,
        workers: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |s: String| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|e| format!("{s}: {e}"))
        };
        match arg.as_str() {
            "--smtp" => {
                let v = value("--smtp")?;
                let (host, port) = v.rsplit_once(':').ok_or("--smtp wants HOST:PORT")?;
                let port = port.parse().map_err(|e| format!("--smtp port: {e}"))?;
                o.smtp = Some((host.to_string(), port));
            }
            "--outbox" => o.outbox = Some(value("--outbox")?),
            "--connections" => o.connections = number(value("--connections")?)?,
            "--messages" => o.messages = number(value("--messages")?)?,
            "--size" => o.size = number(value("--size")?)?,
            "--workers" => o.workers = Some(number(value("--workers")?)?),
            "--tls" => {
                o.tls = match value("--tls")?.as_str() {
                    "none" => Tls::None,
                    "starttls" => Tls::Starttls,
                    "tls" => Tls::Tls,
                    other => return Err(format!("--tls {other}?")),
                }
            }
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.smtp.is_some() == o.outbox.is_some() {
        return Err("give exactly one of --smtp and --outbox".into());
    }
    Ok(o)
}

async fn run(o: Options) -> anyhow::Result<()> {
    let (transport, kind, default_workers) = match (&o.smtp, &o.outbox) {
        (Some((host, port)), _) => {
            let smtp = tidings::config::Smtp {
                host: host.clone(),
                port: *port,
                tls: o.tls,
                connections: o.connections,
                ..tidings::config::Smtp::default()
            };
            let settings = SmtpSettings::new(&smtp, String::new());
            (
                Transport::Smtp(SmtpPool::new(settings)?),
                "smtp",
                o.connections,
            )
        }
        (None, Some(dir)) => (Transport::Outbox(Outbox::open(dir).await?), "outbox", 16),
        (None, None) => unreachable!("checked by parse"),
    };
    let workers = o.workers.unwrap_or(default_workers).max(1);
    let template = Arc::new(Template::new(o.size));
    let transport = Arc::new(transport);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (transport, template, next, failures, first_error) = (
            transport.clone(),
            template.clone(),
            next.clone(),
            failures.clone(),
            first_error.clone(),
        );
        let total = o.messages;
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(template.len() + 64);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return;
                }
                let (to, id) = template.fill(n, &mut buf);
                let envelope = Envelope::new("digest@news.example", to);
                if let Err(e) = transport.send(&envelope, &id, &buf).await {
                    failures.fetch_add(1, Ordering::Relaxed);
                    first_error
                        .lock()
                        .unwrap()
                        .get_or_insert_with(|| e.to_string());
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    transport.close().await;

    let failures = failures.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "transport": kind,
            "messages": o.messages,
            "failures": failures,
            "first_error": *first_error.lock().unwrap(),
            "bytes_per_message": template.len(),
            "workers": workers,
            "connections": if kind == "smtp" { Some(o.connections) } else { None },
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "messages_per_second": (o.messages as f64 / seconds).round(),
        })
    );
    anyhow::ensure!(failures == 0, "{failures} sends failed");
    Ok(())
}

/// A composed digest with two fixed-width slots, recipient and Message-ID serial, so each
/// copy differs where a real round's messages differ, at the cost of one memcpy.
struct Template {
    head: Vec<u8>,
    middle: Vec<u8>,
    tail: Vec<u8>,
}

impl Template {
    fn new(size: usize) -> Template {
        let story = "重慶市召開統一戰線工作會議，強調凝聚共識、服務發展大局。\
                     會議指出，要把握新時代統一戰線的歷史方位。";
        // Text and HTML parts of a digest share most of their words; base64 makes 4/3.
        let mut text = String::new();
        let mut html = String::from("<html><body style=\"font-family:sans-serif\">");
        let mut k = 0;
        while (text.len() + html.len()) * 4 / 3 < size.saturating_sub(1200) {
            k += 1;
            text.push_str(&format!(
                "{k}. {story}\nhttps://news.example/articles/{k}\n\n"
            ));
            html.push_str(&format!(
                "<h3><a href=\"https://news.example/articles/{k}\">{k}. {story}</a></h3>"
            ));
        }
        html.push_str("</body></html>");
        let subject = b64("「統一戰線、重慶市」每日摘要 · 12 篇 · 2026-11-24");
        let head = "From: =?utf-8?b?5paw6IGe5pGY6KaB?= <digest@news.example>\r\nTo: ";
        let middle = "\r\nMessage-ID: <digest.";
        let tail = format!(
            "@news.example>\r\nSubject: =?utf-8?b?{subject}?=\r\n\
             Date: Tue, 24 Nov 2026 08:00:00 +0800\r\n\
             List-Id: <digest.news.example>\r\n\
             List-Unsubscribe: <https://news.example/unsubscribe?t=eyJzIjoiNWYyYyJ9.c2ln>, \
             <mailto:unsubscribe@news.example>\r\n\
             List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"=_b\"\r\n\r\n\
             --=_b\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --=_b\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--=_b--\r\n",
            wrap76(&b64(&text)),
            wrap76(&b64(&html)),
        );
        Template {
            head: head.into(),
            middle: middle.into(),
            tail: tail.into_bytes(),
        }
    }

    fn len(&self) -> usize {
        self.head.len() + self.middle.len() + self.tail.len() + 40
    }

    /// Message `n` into `buf`; returns its recipient and Message-ID.
    fn fill(&self, n: usize, buf: &mut Vec<u8>) -> (String, String) {
        let to = format!("reader{n:08}@example.org");
        let serial = format!("{n:08}.20261124");
        buf.clear();
        buf.extend_from_slice(&self.head);
        buf.extend_from_slice(to.as_bytes());
        buf.extend_from_slice(&self.middle);
        buf.extend_from_slice(serial.as_bytes());
        buf.extend_from_slice(&self.tail);
        (to, format!("<digest.{serial}@news.example>"))
    }
}

fn b64(s: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(s.len() * 4 / 3 + 4);
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn wrap76(s: &str) -> String {
    s.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect::<Vec<_>>()
        .join("\r\n")
}
