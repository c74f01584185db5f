//! A whole digest round at scale (DESIGN §6), driven by `scripts/bench_round.py`:
//!
//! ```text
//! cargo run --release --example bench_round -- prepare --dir D [--subscribers 100000]
//!     [--articles 300] [--new 30] [--seed 7]
//! cargo run --release --example bench_round -- round --dir D --smtp HOST:PORT [--connections 8]
//! cargo run --release --example bench_round -- round --dir D --outbox [--connections 8]
//! cargo run --release --example bench_round -- compose --dir D
//! ```
//!
//! `prepare` generates `--articles` articles with [`tidings_corpus::generate`], indexes
//! them with [`tidings::feeds::publish::build`], and stores `--subscribers` active subscribers with
//! random topics (one to three keywords and, for half of them, a section, drawn from the
//! corpus) whose watermark leaves the last `--new` arrivals as news for them.
//! `round` runs one [`tidings::digests::round::run`] with `all = true` into an SMTP relay (plain
//! SMTP, `--connections` connections) or into `D/outbox`; `compose` only composes every
//! digest of such a round and drops it (where the time goes without sending). Each mode
//! prints one JSON line with its counts, seconds, messages/s and the process's peak RSS
//! (`getrusage(RUSAGE_SELF).ru_maxrss`), so run every mode in a process of its own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tidings::config::{Config, Tls};
use tidings::digests::mail::{Outbox, SmtpPool, SmtpSettings, Transport};
use tidings::feeds::index::Index;
use tidings::model::subscriber::{Status, Subscriber, Topics};
use tidings::model::topic::Topic;

const USAGE: &str = "usage: bench_round (prepare | round | compose) --dir DIR \
     [--subscribers N] [--articles N] [--new N] [--seed N] \
     [--smtp HOST:PORT | --outbox] [--connections N]";

struct Options {
    mode: String,
    dir: PathBuf,
    subscribers: usize,
    articles: usize,
    new: u64,
    seed: u64,
    smtp: Option<(String, u16)>,
    outbox: bool,
    connections: usize,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("a mode is needed")?;
    if !["prepare", "round", "compose"].contains(&mode.as_str()) {
        return Err(format!("{mode}: unknown mode"));
    }
    let mut o = Options {
        mode,
        dir: PathBuf::new(),
        subscribers: 100_000,
        articles: 300,
        new: 30,
        seed: 7,
        smtp: None,
        outbox: false,
        connections: 8,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |s: String| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|e| format!("{s}: {e}"))
        };
        match arg.as_str() {
            "--dir" => o.dir = PathBuf::from(value("--dir")?),
            "--subscribers" => o.subscribers = number(value("--subscribers")?)?,
            "--articles" => o.articles = number(value("--articles")?)?,
            "--new" => o.new = number(value("--new")?)? as u64,
            "--seed" => o.seed = number(value("--seed")?)? as u64,
            "--connections" => o.connections = number(value("--connections")?)?.max(1),
            "--outbox" => o.outbox = true,
            "--smtp" => {
                let v = value("--smtp")?;
                let (host, port) = v.rsplit_once(':').ok_or("--smtp HOST:PORT")?;
                o.smtp = Some((host.to_string(), port.parse().map_err(|_| "bad port")?));
            }
            other => return Err(format!("{other}: unknown option")),
        }
    }
    if o.dir.as_os_str().is_empty() {
        return Err("--dir is needed".into());
    }
    if o.mode == "round" && o.smtp.is_some() == o.outbox {
        return Err("round needs exactly one of --smtp and --outbox".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_round: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = match options.mode.as_str() {
        "prepare" => prepare(&options),
        "compose" => compose(&options),
        _ => runtime.block_on(round(&options)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_round: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Peak resident set of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0 // kilobytes on Linux
}

/// The configuration every mode shares: store, state and outbox under `dir`.
fn config(dir: &Path, connections: usize) -> anyhow::Result<Config> {
    let text = format!(
        "[site]\nbase_url = \"https://news.example\"\ntitle = \"新聞站\"\n\
         [store]\npath = \"{0}/articles\"\n[state]\npath = \"{0}/state\"\n\
         [feeds]\noutput = \"{0}/feeds\"\n\
         [mail]\nfrom = \"新聞站 <digest@news.example>\"\noutbox = \"{0}/outbox\"\n\
         [mail.smtp]\nconnections = {connections}\n\
         [digest]\nsecret_file = \"{0}/digest.key\"\n",
        dir.display()
    );
    Config::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// xorshift64*: enough randomness for topics, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn prepare(o: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&o.dir)?;
    let config = config(&o.dir, o.connections)?;
    tidings_corpus::generate(
        &config.store.path,
        &tidings_corpus::CorpusSpec::new(o.articles, o.seed),
    )?;
    let built = tidings::feeds::publish::build(
        &config,
        false,
        std::time::Duration::ZERO,
        &indicatif::ProgressBar::hidden(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let index = Index::open(&config.state.path)?;
    let last = index.last_seq()?;
    let watermark = last.saturating_sub(o.new);
    let mut keywords = std::collections::BTreeSet::new();
    let mut sections = std::collections::BTreeSet::new();
    for record in index.arrived_since(0)? {
        for (topic, _) in &record.topics {
            match topic {
                Topic::Keyword(k) => {
                    keywords.insert(k.clone());
                }
                Topic::Section(path) => {
                    sections.insert(path.join(" > "));
                }
                Topic::All => {}
            }
        }
    }
    let keywords: Vec<String> = keywords.into_iter().collect();
    let sections: Vec<String> = sections.into_iter().collect();
    anyhow::ensure!(!keywords.is_empty(), "the corpus has no keywords");
    let mut rng = Rng(o.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let now = chrono::Utc::now().timestamp();
    let mut chunk = Vec::with_capacity(5_000);
    for i in 0..o.subscribers {
        let ks: Vec<String> = (0..1 + rng.below(3))
            .map(|_| keywords[rng.below(keywords.len())].clone())
            .collect();
        let ss: Vec<String> = if rng.below(2) == 0 && !sections.is_empty() {
            vec![sections[rng.below(sections.len())].clone()]
        } else {
            Vec::new()
        };
        let topics = Topics::from_input(&ss, &ks, &[])?;
        let mut sub = Subscriber::new(
            &format!("reader{i}@example.org"),
            topics,
            "0 8 * * *",
            "Asia/Shanghai",
            now,
        )?;
        sub.status = Status::Active;
        sub.watermark = watermark;
        chunk.push(sub);
        if chunk.len() == 5_000 {
            index.put_subscribers(&chunk)?;
            chunk.clear();
        }
    }
    index.put_subscribers(&chunk)?;
    index.flush()?;
    println!(
        "{}",
        serde_json::json!({
            "mode": "prepare",
            "articles": built.articles,
            "new_articles": last - watermark,
            "keywords": keywords.len(),
            "sections": sections.len(),
            "subscribers": o.subscribers,
            "seconds": started.elapsed().as_secs_f64(),
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}

async fn round(o: &Options) -> anyhow::Result<()> {
    let config = config(&o.dir, o.connections)?;
    let transport = match &o.smtp {
        Some((host, port)) => {
            let smtp = tidings::config::Smtp {
                host: host.clone(),
                port: *port,
                tls: Tls::None,
                connections: o.connections,
                ..config.mail.smtp.clone()
            };
            Transport::Smtp(SmtpPool::new(SmtpSettings::new(&smtp, String::new()))?)
        }
        None => Transport::Outbox(Outbox::open(&config.mail.outbox).await?),
    };
    let index = Arc::new(Index::open(&config.state.path)?);
    let started = Instant::now();
    let report = tidings::digests::round::run(index, &config, &transport, chrono::Utc::now(), true)
        .await
        .context("round")?;
    transport.close().await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "mode": if o.outbox { "outbox" } else { "smtp" },
            "connections": o.connections,
            "due": report.due,
            "sent": report.sent,
            "empty": report.empty,
            "deferred": report.deferred,
            "bounced": report.bounced,
            "paused": report.paused,
            "seconds": seconds,
            "messages_per_second": report.sent as f64 / seconds,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}

fn compose(o: &Options) -> anyhow::Result<()> {
    let config = config(&o.dir, o.connections)?;
    let index = Index::open(&config.state.path)?;
    let started = Instant::now();
    let ctx = tidings::digests::round::Shared::new(&config)?;
    let to_seq = index.last_seq()?;
    let subs = index.subscribers()?;
    let loaded = started.elapsed().as_secs_f64();
    let oldest = subs.iter().map(|s| s.watermark).min().unwrap_or(to_seq);
    let records = index.arrived_since(oldest)?;
    let now = chrono::Utc::now();
    let period = now.format("%Y-%m-%dT%H:%M:%S").to_string();
    let (mut composed, mut empty, mut bytes) = (0usize, 0usize, 0usize);
    for sub in &subs {
        match tidings::digests::round::compose_for(
            &ctx,
            sub,
            &records,
            sub.watermark,
            to_seq,
            &period,
            now,
        )? {
            Some(c) => {
                composed += 1;
                bytes += c.bytes.len();
            }
            None => empty += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "mode": "compose",
            "subscribers": subs.len(),
            "composed": composed,
            "empty": empty,
            "mean_bytes": bytes.checked_div(composed).unwrap_or(0),
            "load_seconds": loaded,
            "seconds": seconds,
            "messages_per_second": composed as f64 / seconds,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}
