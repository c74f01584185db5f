//! `@instant` alerts (DESIGN §4, §6): the batching by minute through the library with a
//! controlled clock, then the daemon end to end — an article renamed into the store
//! while it runs alerts the matching subscribers only, the arrivals of one minute in one
//! mail, and a daemon killed mid-send delivers every alert after its restart, none twice
//! beyond the messages in flight.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use tidings::digests::schedule::instant::Arrivals;
use tidings::model::subscriber::{Status, Subscriber, Topics};

use crate::support::daemon::Daemon;
use crate::support::smtp::{self, SmtpSink};
use crate::support::{
    article, build_in_process, drop_in, ok, outbox, poll, put_seed, python, seeded_site, store,
    PATIENCE,
};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339 instant")
}

fn subscriber(email: &str, keyword: &str, schedule: &str, watermark: u64) -> Subscriber {
    let topics = Topics::from_input(&[], &[keyword.to_string()], &[]).unwrap();
    // Subscribed just before the test's first arrival (the daily one is not due).
    let created = utc("2026-12-02T01:40:00Z").timestamp();
    let mut sub = Subscriber::new(email, topics, schedule, "Asia/Shanghai", created).unwrap();
    sub.status = Status::Active;
    sub.watermark = watermark;
    sub
}

/// Subject and plain text of each `.eml` file, read by Python's `email` package.
fn subjects_and_texts(files: &[std::path::PathBuf]) -> Vec<(String, String)> {
    let out = python(
        "import email,email.policy,sys\nfor f in sys.argv[1:]:\n m=email.message_from_bytes(open(f,'rb').read(),policy=email.policy.default)\n print(str(m['Subject']) + '\\t' + m.get_body(('plain',)).get_content().replace('\\n',' '))",
        files,
    );
    out.lines()
        .map(|l| {
            let (s, t) = l.split_once('\t').unwrap();
            (s.to_string(), t.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrivals_of_a_minute_go_in_one_alert_once_the_minute_is_over() {
    let dir = store();
    put_seed(dir.path());
    let (config, index) = build_in_process(dir.path(), "");
    let index = Arc::new(index);
    let seed = index.last_seq().unwrap();
    index
        .put_subscribers(&[
            subscriber("alert@example.org", "重庆市", "@instant", seed),
            subscriber("football@example.org", "足球", "@instant", seed),
            subscriber("daily@example.org", "重慶市", "0 8 * * *", seed),
        ])
        .unwrap();
    let transport = tidings::digests::mail::Transport::from_config(&config.mail)
        .await
        .unwrap();
    let mut indexer = tidings::feeds::publish::Indexer::new(&index, config.clone());
    let mut arrivals = Arrivals::starting_at(seed);
    let mut arrive = |name: &str, title: &str, at: &str| {
        std::fs::write(
            dir.path().join("articles").join(name),
            article(title, "重慶市"),
        )
        .unwrap();
        indexer
            .reconcile(&indicatif::ProgressBar::hidden())
            .unwrap();
        arrivals.arrived(index.last_seq().unwrap(), utc(at));
        arrivals.clone()
    };
    let round = |now: &str, arrivals: Arrivals| {
        let (index, config, transport) = (index.clone(), &config, &transport);
        let now = utc(now);
        async move {
            tidings::digests::round::run_with_arrivals(
                index, config, transport, now, false, &arrivals,
            )
            .await
            .unwrap()
        }
    };

    arrive("n1.txt", "第一則快訊", "2026-12-02T01:45:10Z");
    let known = arrive("n2.txt", "第二則快訊", "2026-12-02T01:45:40Z");
    // The minute is not over: no alert yet.
    let r = round("2026-12-02T01:45:50Z", known.clone()).await;
    assert_eq!((r.due, r.sent), (0, 0), "{r}");
    // Arrives just after the minute: the next alert's.
    let known = arrive("n3.txt", "下一分鐘的快訊", "2026-12-02T01:46:00.5Z");
    let r = round("2026-12-02T01:46:01Z", known.clone()).await;
    // The alert subscriber gets one mail; the football one has nothing new that matches;
    // the daily one is not due.
    assert_eq!((r.due, r.sent, r.empty), (2, 1, 1), "{r}");
    let r = round("2026-12-02T01:46:30Z", known.clone()).await;
    assert_eq!((r.due, r.sent), (0, 0), "once a minute: {r}");
    let r = round("2026-12-02T01:47:01Z", known).await;
    assert_eq!((r.due, r.sent, r.empty), (2, 1, 1), "{r}");

    let files = outbox(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let mails = subjects_and_texts(&files);
    let first = mails
        .iter()
        .find(|(_, t)| t.contains("第一則快訊"))
        .unwrap();
    assert!(
        first.1.contains("第二則快訊"),
        "one mail for one minute: {}",
        first.1
    );
    assert!(!first.1.contains("下一分鐘的快訊"), "{}", first.1);
    assert_eq!(first.0, "「重庆市」即時快訊 · 2 篇 · 2026-12-02 09:46");
    let second = mails
        .iter()
        .find(|(_, t)| t.contains("下一分鐘的快訊"))
        .unwrap();
    assert!(
        !second.1.contains("第一則快訊"),
        "never twice: {}",
        second.1
    );
    assert_eq!(second.0, "「重庆市」即時快訊 · 1 篇 · 2026-12-02 09:47");
    // Nobody else got anything, and the alert subscriber is up to date.
    let sub = index.subscriber("alert@example.org").unwrap().unwrap();
    assert_eq!(sub.watermark, index.last_seq().unwrap());
    let daily = index.subscriber("daily@example.org").unwrap().unwrap();
    assert_eq!((daily.watermark, daily.last_run), (seed, None));

    // A command knows no arrival times: what is unsent goes out at once.
    let known = arrive("n4.txt", "指令寄出的快訊", "2026-12-02T01:47:20Z");
    assert_eq!(round("2026-12-02T01:47:30Z", known).await.sent, 0);
    let r = tidings::digests::round::run(
        index.clone(),
        &config,
        &transport,
        utc("2026-12-02T01:48:30Z"),
        false,
    )
    .await
    .unwrap();
    assert_eq!((r.sent, r.empty), (1, 1), "{r}");
}

#[test]
fn preview_shows_the_next_alert_and_send_now_sends_it() {
    let dir = seeded_site("");
    let d = dir.path();
    ok(d, &["build"]);
    ok(
        d,
        &[
            "subscriber",
            "add",
            "alert@example.org",
            "--keyword",
            "重慶市",
            "--schedule",
            "@Instant",
        ],
    );
    assert!(ok(d, &["subscriber", "list"]).contains("\t@instant\t"));
    std::fs::write(d.join("articles/n1.txt"), article("預覽的快訊", "重庆市")).unwrap();
    ok(d, &["build"]);
    let preview = ok(d, &["digest", "preview", "alert@example.org"]);
    assert!(
        preview.starts_with("Subject: 「重慶市」即時快訊 · 1 篇 · "),
        "{preview}"
    );
    assert!(preview.contains("預覽的快訊"), "{preview}");
    let sent = ok(d, &["digest", "send", "--now"]);
    assert!(sent.contains("1 sent"), "{sent}");
    assert_eq!(outbox(d).len(), 1);
    let sent = ok(d, &["digest", "send"]);
    assert!(sent.contains("0 sent"), "{sent}");
}

/// Waits until the current minute has at least `left` seconds to go, so that what
/// happens next falls in one minute.
fn early_in_a_minute(left: u32) {
    while 60 - Utc::now().second() < left {
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn an_article_renamed_into_the_store_alerts_matching_instant_subscribers_in_one_mail() {
    let dir = seeded_site("[server]\nlisten = \"127.0.0.1:0\"\n");
    let d = dir.path();
    ok(d, &["build"]);
    for (email, keyword, schedule) in [
        ("alert@example.org", "重慶市", "@instant"),
        ("football@example.org", "足球", "@instant"),
        ("daily@example.org", "重慶市", "0 8 * * *"),
    ] {
        ok(
            d,
            &[
                "subscriber",
                "add",
                email,
                "--keyword",
                keyword,
                "--schedule",
                schedule,
            ],
        );
    }
    let mut daemon = Daemon::start_in(dir);
    let d = daemon.path().to_path_buf();
    // The form offers it beside the daily and weekly choices.
    let form = daemon.get("/subscribe").body;
    assert!(form.contains("value=\"@instant\""), "{form}");
    assert!(
        form.contains("即時快訊：新文章到達後兩分鐘內寄出"),
        "{form}"
    );
    // Two arrivals in one minute.
    early_in_a_minute(20);
    drop_in(&daemon.store(), "n1.txt", &article("第一則快訊", "重庆市"));
    std::thread::sleep(Duration::from_millis(1500));
    drop_in(&daemon.store(), "n2.txt", &article("第二則快訊", "重慶市"));
    // The alert round comes after the minute is over; after that, patience.
    poll(Duration::from_secs(60) + PATIENCE, || match outbox(&d) {
        files if files.is_empty() => Err("no alert in the outbox".to_string()),
        files => Ok(files),
    })
    .unwrap();
    daemon.wait_log("digest round:");
    // Nothing else is due: the daily and football subscribers get nothing, and the alert
    // is not sent again.
    let sent = daemon.ok(&["digest", "send"]);
    assert!(sent.contains("0 sent"), "{sent}");
    assert_eq!(daemon.stop().code(), Some(0));
    let files = outbox(&d);
    assert_eq!(files.len(), 1, "one alert for one minute: {files:?}");
    let mails = subjects_and_texts(&files);
    let (subject, text) = &mails[0];
    assert!(subject.contains("即時快訊 · 2 篇"), "{subject}");
    assert!(
        text.contains("第一則快訊") && text.contains("第二則快訊"),
        "{text}"
    );
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("To: alert@example.org"), "{raw}");
}

#[test]
fn killed_mid_send_and_restarted_every_alert_arrives_once_with_in_flight_ones_at_most_twice() {
    // -w 1: each DATA waits a second, so the alerts go out slowly enough to kill midway.
    let sink = SmtpSink::start(&["-w", "1"], true);
    let dir = seeded_site(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[mail]\nfrom = \"alerts@news.example\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nconnections = 4\n",
        sink.port
    ));
    let d = dir.path();
    ok(d, &["build"]);
    // Imported with the schedule column: CSV takes `@instant` too.
    let mut csv = String::from("email,keywords,schedule\n");
    for i in 0..24 {
        csv.push_str(&format!("r{i}@example.org,重慶市,@instant\n"));
    }
    csv.push_str("daily@example.org,重慶市,0 8 * * *\n");
    std::fs::write(d.join("subs.csv"), csv).unwrap();
    ok(
        d,
        &["subscriber", "import", d.join("subs.csv").to_str().unwrap()],
    );

    let mut daemon = Daemon::start_in(dir);
    drop_in(
        &daemon.store(),
        "n1.txt",
        &article("給二十四位讀者", "重庆市"),
    );
    // Killed once the first alerts are through.
    poll(
        Duration::from_secs(60) + PATIENCE,
        || match std::fs::read_dir(sink.dump_dir()).unwrap().count() {
            0 => Err("no alert sent yet".to_string()),
            n => Ok(n),
        },
    )
    .unwrap();
    daemon.signal(libc::SIGKILL);
    daemon.wait();
    let after_kill = std::fs::read_dir(sink.dump_dir()).unwrap().count();
    assert!(
        after_kill > 0 && after_kill < 24,
        "killed mid-send: {after_kill} delivered"
    );

    // Restarted: the pending alerts go out at once, the sent ones do not.
    let mut daemon = Daemon::start_in(daemon.into_dir());
    let mut per_recipient: BTreeMap<String, Vec<String>> = Default::default();
    for message in sink.dumped(24) {
        per_recipient
            .entry(smtp::header(&message, "To"))
            .or_default()
            .push(smtp::header(&message, "Message-ID"));
    }
    let sent = daemon.ok(&["digest", "send"]);
    assert!(sent.contains("0 sent"), "nothing left: {sent}");
    assert_eq!(daemon.stop().code(), Some(0));
    assert_eq!(
        per_recipient.len(),
        24,
        "every subscriber got their alert: {per_recipient:#?}"
    );
    assert!(!per_recipient.contains_key("daily@example.org"));
    let repeated: Vec<_> = per_recipient
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        repeated.len() <= 4,
        "at most the messages in flight are repeated: {repeated:#?}"
    );
    for (to, ids) in &per_recipient {
        assert!(ids.len() <= 2, "{to}: {ids:?}");
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{to}: a repeat carries the same Message-ID: {ids:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_the_relay_deferred_goes_first_under_its_own_message_id() {
    let dir = store();
    put_seed(dir.path());
    let (config, index) = build_in_process(dir.path(), "");
    let index = Arc::new(index);
    let seed = index.last_seq().unwrap();
    index
        .put_subscribers(&[subscriber("alert@example.org", "重庆市", "@instant", seed)])
        .unwrap();
    // A relay that is not there: every send fails for now.
    let down = tidings::config::Config::parse(&format!(
        "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        crate::support::free_port()
    ))
    .unwrap();
    let down = tidings::digests::mail::Transport::from_config(&down.mail)
        .await
        .unwrap();
    let up = tidings::digests::mail::Transport::from_config(&config.mail)
        .await
        .unwrap();
    let mut indexer = tidings::feeds::publish::Indexer::new(&index, config.clone());
    let mut arrivals = Arrivals::starting_at(seed);
    let mut arrive = |name: &str, title: &str, at: &str| {
        std::fs::write(
            dir.path().join("articles").join(name),
            article(title, "重慶市"),
        )
        .unwrap();
        indexer
            .reconcile(&indicatif::ProgressBar::hidden())
            .unwrap();
        arrivals.arrived(index.last_seq().unwrap(), utc(at));
        arrivals.clone()
    };
    let round = |now: &str, arrivals: Arrivals, transport| {
        let (index, config) = (index.clone(), &config);
        let now = utc(now);
        async move {
            tidings::digests::round::run_with_arrivals(
                index, config, transport, now, false, &arrivals,
            )
            .await
            .unwrap()
        }
    };
    let pending = || {
        let list = index.pending_deliveries().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        list[0].1.message_id.clone()
    };

    let known = arrive("n1.txt", "第一則快訊", "2026-12-02T01:45:10Z");
    let r = round("2026-12-02T01:46:01Z", known, &down).await;
    assert_eq!((r.sent, r.deferred), (0, 1), "{r}");
    let first = pending();
    // The next minute, more arrived, the relay still down: the same alert is tried again,
    // and no second one takes its place.
    let known = arrive("n2.txt", "第二則快訊", "2026-12-02T01:46:10Z");
    let r = round("2026-12-02T01:47:01Z", known.clone(), &down).await;
    assert_eq!((r.due, r.sent, r.deferred), (0, 0, 1), "{r}");
    assert_eq!(pending(), first);
    // The relay is back: the deferred alert goes out as it was, then the next one.
    let r = round("2026-12-02T01:48:01Z", known, &up).await;
    assert_eq!((r.resumed, r.sent), (1, 2), "{r}");
    let mails = subjects_and_texts(&outbox(dir.path()));
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (subject, text) = mails
        .iter()
        .find(|(_, t)| t.contains("第一則快訊"))
        .unwrap();
    assert!(subject.ends_with("2026-12-02 09:46"), "{subject}");
    assert!(!text.contains("第二則快訊"), "{text}");
    assert!(mails
        .iter()
        .any(|(s, t)| t.contains("第二則快訊") && s.ends_with("09:48")));
    assert!(std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .any(|f| first.contains(&*f.unwrap().file_name().to_string_lossy().replace(".eml", ""))));
}
