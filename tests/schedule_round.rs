//! The scheduler's rules with a controlled clock, through the library: a run missed while
//! the daemon was down is sent once when it comes back, several missed runs collapse into
//! one, and a run later than `digest.max_late_hours` is skipped and counted.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tidings::model::subscriber::{Status, Subscriber, Topics};

use crate::support::{build_in_process, put_seed, store};

/// 2026-11-24 `hh:mm` in Shanghai, plus `days`.
fn shanghai(days: i64, hh: u32, mm: u32) -> chrono::DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 24, hh, mm, 0)
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::days(days)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_runs_are_sent_once_and_too_late_ones_skipped() {
    let dir = store();
    put_seed(dir.path());
    let (config, index) = build_in_process(dir.path(), "[digest]\nmax_late_hours = 2\n");
    let index = Arc::new(index);

    let topics = Topics::from_input(&[], &["重庆市".to_string()], &[]).unwrap();
    let created = shanghai(0, 7, 0).timestamp();
    let mut sub = Subscriber::new(
        "daily@example.org",
        topics,
        "0 8 * * *",
        "Asia/Shanghai",
        created,
    )
    .unwrap();
    sub.status = Status::Active;
    sub.watermark = 0; // the seed article counts as new for them
    index.put_subscribers(&[sub]).unwrap();
    let transport = tidings::digests::mail::Transport::from_config(&config.mail)
        .await
        .unwrap();
    let round = |now| tidings::digests::round::run(index.clone(), &config, &transport, now, false);

    // Down over 08:00, back at 09:30 (1.5 h late, within the bound): sent once.
    let r = round(shanghai(0, 9, 30)).await.unwrap();
    assert_eq!((r.due, r.sent, r.too_late), (1, 1, 0), "{r}");
    let r = round(shanghai(0, 9, 31)).await.unwrap();
    assert_eq!((r.due, r.sent), (0, 0), "not twice: {r}");
    let sub = index.subscriber("daily@example.org").unwrap().unwrap();
    assert_eq!(sub.last_run, Some(shanghai(0, 8, 0).timestamp()));

    // Down for three days, back one hour after the third 08:00: the missed runs collapse
    // into one (nothing new arrived, so no mail, but the run is recorded).
    let r = round(shanghai(3, 9, 0)).await.unwrap();
    assert_eq!((r.due, r.sent, r.empty, r.too_late), (1, 0, 1, 0), "{r}");
    let sub = index.subscriber("daily@example.org").unwrap().unwrap();
    assert_eq!(sub.last_run, Some(shanghai(3, 8, 0).timestamp()));

    // Back three hours after 08:00: later than max_late_hours = 2, skipped and counted.
    let r = round(shanghai(4, 11, 0)).await.unwrap();
    assert_eq!((r.due, r.sent, r.too_late), (0, 0, 1), "{r}");
    let r = round(shanghai(4, 11, 5)).await.unwrap();
    assert_eq!(
        (r.due, r.too_late),
        (0, 0),
        "skipped once, not every round: {r}"
    );

    // The next day runs on time again.
    let r = round(shanghai(5, 8, 0) + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(r.due, 1, "{r}");

    let mails = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .count();
    assert_eq!(mails, 1, "one digest in all: the seed article, once");
}
