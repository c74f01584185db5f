//! Digest rounds (DESIGN §6, §7): who is due, what each gets, and delivery that survives a
//! crash. For each due subscriber: the articles that arrived after their watermark and
//! match their topics are composed into one digest; the digest is recorded as pending
//! before it is sent; once the relay accepts it, the subscriber's watermark and last run
//! and the delivery's state change in one flushed batch. A crash therefore leaves at most
//! the messages in flight to be sent again — with the same Message-ID — on the next round.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};

use crate::config::Config;
use crate::digests::compose::{self, Composed, DigestInput, Group};
use crate::digests::mail::{Envelope, SendError, Transport};
use crate::digests::schedule::instant::{self, Arrivals};
use crate::digests::schedule::{self, Cron, Due};
use crate::digests::subscriber::Haystack;
use crate::digests::token::{self, Purpose};
use crate::feeds::feed::Site;
use crate::feeds::index::Index;
use crate::i18n::Lang;
use crate::model::article::Record;
use crate::model::subscriber::{Delivery, DeliveryState};
use crate::model::subscriber::{Status, Subscriber};

/// Digests composed and recorded per step (bounds the messages held in memory).
const CHUNK: usize = 500;
/// Attempts for a temporary failure within a round, and the first wait between them.
const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_secs(1);
/// Permanent failures in a row after which a subscriber counts as bounced.
const BOUNCES: u32 = 3;
/// A round whose first sends all fail stops here instead of burning through the list.
const FIRST_FAILURES: usize = 20;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundReport {
    pub due: usize,
    pub sent: usize,
    /// Due, but nothing new matched: no mail.
    pub empty: usize,
    /// Sent again after a crash or an outage (pending from an earlier round).
    pub resumed: usize,
    /// Still pending after temporary failures; tried again next round.
    pub deferred: usize,
    /// Refused for good by the relay (counted towards bouncing).
    pub refused: usize,
    pub bounced: usize,
    pub too_late: usize,
    /// The relay refused everything; the round stopped.
    pub paused: Option<String>,
}

impl RoundReport {
    /// The counts `Metrics::add_digests` takes.
    pub fn counts(&self) -> [u64; 7] {
        [
            self.sent as u64,
            self.deferred as u64,
            self.refused as u64,
            self.bounced as u64,
            self.empty as u64,
            self.too_late as u64,
            u64::from(self.paused.is_some()),
        ]
    }
}

impl std::fmt::Display for RoundReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "digests: {} due, {} sent, {} with nothing new, {} resumed, {} deferred, {} refused, {} bounced, {} skipped as too late",
            self.due, self.sent, self.empty, self.resumed, self.deferred, self.refused, self.bounced, self.too_late
        )?;
        if let Some(why) = &self.paused {
            write!(f, "; round paused: {why}")?;
        }
        Ok(())
    }
}

/// The signing key for subscription links, created (mode 0600) if missing.
pub fn load_or_create_key(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => token::parse_key_file(&text)
            .with_context(|| format!("digest.secret_file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut random = [0u8; 32];
            getrandom::getrandom(&mut random)
                .map_err(|e| anyhow::anyhow!("getting random bytes for a new key: {e}"))?;
            let key = token::generate_key(random);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).ok();
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("digest.secret_file {}: cannot create", path.display()))?;
            file.write_all(token::key_file_text(&key).as_bytes())?;
            file.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("digest.secret_file {}", path.display())),
    }
}

/// What every digest of a round shares.
pub struct Shared {
    pub config: Config,
    pub site: Site,
    pub key: Vec<u8>,
    pub list_id: String,
    pub from_address: String,
}

impl Shared {
    pub fn new(config: &Config) -> anyhow::Result<Shared> {
        let from = config.mail.from.trim();
        let from_address = match (from.rfind('<'), from.rfind('>')) {
            (Some(a), Some(b)) if a < b => from[a + 1..b].to_string(),
            _ => from.to_string(),
        };
        Ok(Shared {
            key: load_or_create_key(&config.digest.secret_file)?,
            site: Site::from_config(config),
            config: config.clone(),
            list_id: compose::list_id_of(&config.site.base_url),
            from_address,
        })
    }

    fn link(&self, page: &str, purpose: Purpose, email_key: &str, now: i64, days: i64) -> String {
        let t = token::sign(&self.key, purpose, email_key, now + days * 86_400);
        format!("{}/{page}?token={t}", self.config.site.base_url)
    }
}

/// Subject word for a schedule in `lang`: 每小時, 每日, 每週, or 定期 (Hourly, Daily…);
/// for `@instant` the alert's name (即時快訊, Breaking news).
fn schedule_name(schedule: &str, lang: Lang) -> &'static str {
    let m = lang.messages();
    if instant::is_instant(schedule) {
        return m.alert_name;
    }
    let s = schedule.trim();
    let fields: Vec<&str> = s.split_whitespace().collect();
    match (s, fields.as_slice()) {
        ("@hourly", _) => m.schedule_hourly,
        ("@daily" | "@midnight", _) => m.schedule_daily,
        ("@weekly", _) => m.schedule_weekly,
        (_, [_, h, "*", "*", "*"]) if *h == "*" => m.schedule_hourly,
        (_, [_, _, "*", "*", "*"]) => m.schedule_daily,
        (_, [_, _, "*", "*", _]) => m.schedule_weekly,
        _ => m.schedule_periodic,
    }
}

/// The digest for one subscriber over the articles with arrival numbers in
/// (`from_seq`, `to_seq`], or `None` when none matches.
pub fn compose_for(
    ctx: &Shared,
    sub: &Subscriber,
    records: &[Record],
    from_seq: u64,
    to_seq: u64,
    period: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Composed>> {
    let labels = sub.topics.labels();
    let mut groups: Vec<Group> = labels
        .iter()
        .map(|l| Group {
            label: l.to_string(),
            records: Vec::new(),
        })
        .collect();
    for rec in records
        .iter()
        .filter(|r| r.seq > from_seq && r.seq <= to_seq)
    {
        let hay = Haystack::new(rec);
        for i in sub.topics.matching(&hay) {
            groups[i].records.push(rec);
        }
    }
    let key = sub.key();
    let now_s = now.timestamp();
    // The subscriber's language (DESIGN §5); the pages its links open speak it too.
    let lang = sub
        .lang
        .unwrap_or_else(|| Lang::site_default(&ctx.site.language));
    let manage = ctx.link("manage", Purpose::Manage, &key, now_s, 30);
    let manage = format!("{manage}&lang={}", lang.tag());
    let unsubscribe = ctx.link("unsubscribe", Purpose::Unsubscribe, &key, now_s, 400);
    let unsubscribe = format!("{unsubscribe}&lang={}", lang.tag());
    let mailto = format!("mailto:{}?subject=unsubscribe", ctx.from_address);
    let feed_format = ctx
        .site
        .formats
        .iter()
        .copied()
        .find(|f| *f == crate::config::Format::Rss)
        .or(ctx.site.formats.first().copied())
        .unwrap_or(crate::config::Format::Rss);
    let feed = crate::digests::personal::feed_url(&ctx.site.base_url, &ctx.key, sub, feed_format);
    let input = DigestInput {
        to: &sub.email,
        subscriber_key: &key,
        period,
        groups,
        site: &ctx.site,
        from: &ctx.config.mail.from,
        list_id: &ctx.list_id,
        manage_url: &manage,
        unsubscribe_url: &unsubscribe,
        unsubscribe_mailto: &mailto,
        schedule_name: schedule_name(&sub.schedule, lang),
        alert: instant::is_instant(&sub.schedule),
        lang,
        now,
        feed_url: &feed,
    };
    compose::try_compose(&input).map_err(|e| anyhow::anyhow!("{}: {e}", sub.email))
}

/// The digest `email` would get now (`tidings digest preview`).
pub fn preview(
    index: &Index,
    config: &Config,
    email: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Composed>> {
    let key = crate::digests::subscriber::email_key(
        &crate::digests::subscriber::normalize_email(email)
            .unwrap_or_else(|_| email.trim().to_string()),
    );
    let sub = index
        .subscriber(&key)?
        .with_context(|| format!("{}: no such subscriber", email.trim()))?;
    let ctx = Shared::new(config)?;
    let to_seq = index.last_seq()?;
    let records = index.arrived_since(sub.watermark)?;
    let tz = crate::config::parse_zone(&sub.tz).map_err(anyhow::Error::msg)?;
    // `@instant`: the alert a round now would send, with everything not yet alerted.
    let period = if instant::is_instant(&sub.schedule) {
        instant::period(now, tz)
    } else {
        Cron::parse(&sub.schedule)
            .map(|c| schedule::period_label(&c, now, tz))
            .unwrap_or_else(|_| now.format("%Y-%m-%d").to_string())
    };
    compose_for(&ctx, &sub, &records, sub.watermark, to_seq, &period, now)
}

/// Sends one message, retrying temporary failures a few times with growing waits.
async fn send_with_retry(
    transport: &Transport,
    to: &str,
    from: &str,
    composed: &Composed,
) -> Result<(), SendError> {
    let envelope = Envelope::new(from, to);
    let mut wait = BACKOFF;
    let mut attempt = 1;
    loop {
        match transport
            .send(&envelope, &composed.message_id, &composed.bytes)
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_temporary() && attempt < ATTEMPTS => {
                tracing::warn!(
                    "{to}: {} (attempt {attempt}; trying again in {wait:?})",
                    e.message()
                );
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One digest ready to go.
struct Job {
    sub: Subscriber,
    delivery: Delivery,
    composed: Composed,
    resumed: bool,
}

/// Runs a round: first the digests left pending by an earlier one, then every subscriber
/// that is due (all active ones with `all`). `@instant` subscribers get an alert of
/// everything they have not had yet: arrival times are not known here.
pub async fn run(
    index: Arc<Index>,
    config: &Config,
    transport: &Transport,
    now: DateTime<Utc>,
    all: bool,
) -> anyhow::Result<RoundReport> {
    run_with_arrivals(index, config, transport, now, all, &Arrivals::unknown()).await
}

/// [`run`], with what the daemon knows of when records arrived: an `@instant`
/// subscriber's alert holds the records up to [`Arrivals::cut`] (the arrivals of the
/// minutes that have ended, DESIGN §4), and goes out through the same pending → sent path
/// as a digest.
pub async fn run_with_arrivals(
    index: Arc<Index>,
    config: &Config,
    transport: &Transport,
    now: DateTime<Utc>,
    all: bool,
    arrivals: &Arrivals,
) -> anyhow::Result<RoundReport> {
    let ctx = Arc::new(Shared::new(config)?);
    let mut report = RoundReport::default();
    let to_seq = index.last_seq()?;

    // Pending from a round cut short: the same digest, the same Message-ID.
    let mut jobs = Vec::new();
    for (key, delivery) in index.pending_deliveries()? {
        let Some(sub) = index.subscriber(&key)? else {
            continue;
        };
        if sub.status != Status::Active {
            let failed = Delivery {
                state: DeliveryState::Failed,
                ..delivery
            };
            index.finish_delivery(&sub, &failed)?;
            continue;
        }
        let records = index.arrived_since(delivery.from_seq)?;
        let run_at = Utc
            .timestamp_opt(delivery.run_at, 0)
            .single()
            .unwrap_or(now);
        match compose_for(
            &ctx,
            &sub,
            &records,
            delivery.from_seq,
            delivery.to_seq,
            &delivery.period,
            run_at,
        )? {
            Some(composed) => jobs.push(Job {
                sub,
                delivery,
                composed,
                resumed: true,
            }),
            None => {
                // Everything it held was deleted since: nothing to send, move on.
                let mut sub = sub;
                sub.watermark = sub.watermark.max(delivery.to_seq);
                index.finish_delivery(
                    &sub,
                    &Delivery {
                        state: DeliveryState::Sent,
                        ..delivery
                    },
                )?;
            }
        }
    }
    // Deferred again: an alert subscriber's next alert waits until this one is through, so
    // that one the relay may have taken after all is not followed by a superset under
    // another Message-ID every minute.
    let mut still_pending = std::collections::HashSet::new();
    if !jobs.is_empty() {
        deliver(
            &index,
            &ctx,
            transport,
            std::mem::take(&mut jobs),
            &mut report,
        )
        .await?;
        if report.paused.is_some() {
            return Ok(report);
        }
        if report.deferred > 0 {
            still_pending = index
                .pending_deliveries()?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
        }
    }

    // Who is due now, each with the last arrival their mail covers.
    let alert_cut = arrivals.cut(now, to_seq);
    let mut due = Vec::new();
    for sub in index.subscribers()? {
        if sub.status != Status::Active {
            continue;
        }
        let tz = crate::config::parse_zone(&sub.tz).map_err(anyhow::Error::msg)?;
        if all {
            // A manual run is a period of its own: two of them in a day are two digests,
            // and must not share a Message-ID.
            let period = now
                .with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            due.push((sub, period, now, to_seq));
            continue;
        }
        if instant::is_instant(&sub.schedule) {
            if still_pending.contains(&sub.key()) {
                continue;
            }
            let last = sub.last_run.and_then(|t| Utc.timestamp_opt(t, 0).single());
            if instant::due(sub.watermark, last, alert_cut, now) {
                let period = instant::period(now, tz);
                due.push((sub, period, now, alert_cut));
            }
            continue;
        }
        let cron = Cron::parse(&sub.schedule).map_err(|e| anyhow::anyhow!("{}: {e}", sub.email))?;
        let last = Utc
            .timestamp_opt(sub.last_run.unwrap_or(sub.created), 0)
            .single()
            .unwrap_or(now);
        match schedule::due(
            &cron,
            tz,
            last,
            now,
            chrono::Duration::hours(i64::from(config.digest.max_late_hours)),
        ) {
            Due::NotYet { .. } => {}
            Due::Run { at } => due.push((sub, schedule::period_label(&cron, at, tz), at, to_seq)),
            Due::TooLate { at } => {
                tracing::warn!(
                    "{}: the {at} digest is more than digest.max_late_hours ({}) late; skipped",
                    sub.email,
                    config.digest.max_late_hours
                );
                report.too_late += 1;
                let mut sub = sub;
                sub.last_run = Some(at.timestamp());
                index.put_subscribers(std::slice::from_ref(&sub))?;
            }
        }
    }
    report.due = due.len();
    if due.is_empty() {
        return Ok(report);
    }
    let oldest = due
        .iter()
        .map(|(s, _, _, _)| s.watermark)
        .min()
        .unwrap_or(to_seq);
    let records = index.arrived_since(oldest)?;

    for chunk in due.chunks(CHUNK) {
        let mut jobs = Vec::with_capacity(chunk.len());
        let mut quiet = Vec::new();
        for (sub, period, at, to_seq) in chunk {
            let to_seq = *to_seq;
            let delivery = Delivery {
                message_id: String::new(),
                period: period.clone(),
                from_seq: sub.watermark,
                to_seq,
                state: DeliveryState::Pending,
                run_at: at.timestamp(),
            };
            match compose_for(&ctx, sub, &records, sub.watermark, to_seq, period, *at)? {
                Some(composed) => jobs.push(Job {
                    delivery: Delivery {
                        message_id: composed.message_id.clone(),
                        ..delivery
                    },
                    sub: sub.clone(),
                    composed,
                    resumed: false,
                }),
                None => {
                    // Nothing new: no mail, but the run happened and the window moves on.
                    let mut sub = sub.clone();
                    sub.watermark = to_seq;
                    sub.last_run = Some(at.timestamp());
                    quiet.push(sub);
                }
            }
        }
        report.empty += quiet.len();
        index.put_subscribers(&quiet)?;
        // Recorded before anything is sent.
        let pending: Vec<(String, Delivery)> = jobs
            .iter()
            .map(|j| (j.sub.key(), j.delivery.clone()))
            .collect();
        index.record_deliveries(&pending)?;
        deliver(&index, &ctx, transport, jobs, &mut report).await?;
        if report.paused.is_some() {
            break;
        }
    }
    Ok(report)
}

/// Sends jobs concurrently (as many at once as the transport has connections) and records
/// each outcome.
async fn deliver(
    index: &Arc<Index>,
    ctx: &Arc<Shared>,
    transport: &Transport,
    jobs: Vec<Job>,
    report: &mut RoundReport,
) -> anyhow::Result<()> {
    let parallel = ctx.config.mail.smtp.connections.max(1);
    let mut failures_so_far = 0usize;
    let mut sent_so_far = 0usize;
    let mut iter = jobs.into_iter().peekable();
    while iter.peek().is_some() {
        let batch: Vec<Job> = iter.by_ref().take(parallel).collect();
        let sends = batch.iter().map(|job| {
            send_with_retry(transport, &job.sub.email, &ctx.from_address, &job.composed)
        });
        let outcomes = futures_util::future::join_all(sends).await;
        let mut last_error = String::new();
        // Each outcome is recorded as soon as it is known: a crash after this point
        // repeats none of these messages.
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            match &outcome {
                Ok(()) => sent_so_far += 1,
                Err(e) => {
                    failures_so_far += 1;
                    last_error = e.message().to_string();
                }
            }
            record_outcome(index, job, outcome, report)?;
        }
        if sent_so_far == 0 && failures_so_far >= FIRST_FAILURES {
            tracing::error!(
                "the relay refused the first {failures_so_far} digests ({last_error}); round paused"
            );
            report.paused = Some(last_error);
            break;
        }
    }
    Ok(())
}

fn record_outcome(
    index: &Index,
    job: Job,
    outcome: Result<(), SendError>,
    report: &mut RoundReport,
) -> anyhow::Result<()> {
    let Job {
        mut sub,
        delivery,
        resumed,
        ..
    } = job;
    match outcome {
        Ok(()) => {
            sub.watermark = delivery.to_seq;
            sub.last_run = Some(delivery.run_at);
            sub.bounces = 0;
            index.finish_delivery(
                &sub,
                &Delivery {
                    state: DeliveryState::Sent,
                    ..delivery
                },
            )?;
            report.sent += 1;
            if resumed {
                report.resumed += 1;
            }
        }
        Err(SendError::Permanent(why)) => {
            report.refused += 1;
            sub.bounces += 1;
            tracing::warn!("{}: refused ({why}); {} in a row", sub.email, sub.bounces);
            if sub.bounces >= BOUNCES {
                sub.status = Status::Bounced;
                report.bounced += 1;
            }
            index.finish_delivery(
                &sub,
                &Delivery {
                    state: DeliveryState::Failed,
                    ..delivery
                },
            )?;
        }
        Err(SendError::Temporary(why)) => {
            // Stays pending: the next round sends it, with the same Message-ID.
            tracing::warn!("{}: not delivered yet ({why})", sub.email);
            report.deferred += 1;
        }
    }
    Ok(())
}

/// `tidings digest send`: a round with the configured transport; what it prints.
pub async fn send_command(
    index: Arc<Index>,
    config: &Config,
    all: bool,
) -> crate::model::control::Response {
    let transport = match Transport::from_config(&config.mail).await {
        Ok(t) => t,
        Err(e) => return crate::model::control::Response::error(2, format!("{e:#}")),
    };
    let result = run(index, config, &transport, Utc::now(), all).await;
    transport.close().await;
    match result {
        Ok(report) => crate::model::control::Response {
            code: u8::from(report.paused.is_some() || report.deferred > 0 || report.refused > 0),
            stdout: report.to_string(),
            ..Default::default()
        },
        Err(e) => crate::model::control::Response::error(2, format!("{e:#}")),
    }
}

/// `tidings digest preview`: the text (or HTML) part.
pub fn preview_command(
    index: &Index,
    config: &Config,
    email: &str,
    html: bool,
) -> crate::model::control::Response {
    match preview(index, config, email, Utc::now()) {
        Ok(Some(c)) => crate::model::control::Response::output(format!(
            "Subject: {}\n\n{}",
            c.subject,
            if html { &c.html } else { &c.text }
        )),
        Ok(None) => crate::model::control::Response::output(format!(
            "{}: nothing new since the last digest; no mail would be sent",
            email.trim()
        )),
        Err(e) => crate::model::control::Response::error(1, format!("{e:#}")),
    }
}
