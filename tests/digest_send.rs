//! `tidings digest preview|send` end to end with the outbox transport: the real binary, a
//! store, subscribers, and the `.eml` files read back by Python's `email` package.

use crate::support;

use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::smtp::{self, SmtpSink};
use crate::support::{article, ok, outbox, python, seeded_site, site, tidings, tidings_command};

#[test]
fn a_digest_holds_only_what_arrived_since_the_last_and_never_repeats() {
    let dir = seeded_site(
        "[site]\nbase_url = \"https://news.example\"\ntitle = \"新聞站\"\n[mail]\nfrom = \"新聞站 <digest@news.example>\"\n",
    );
    let d = dir.path();
    ok(d, &["build"]);
    ok(
        d,
        &[
            "subscriber",
            "add",
            "reader@example.org",
            "--keyword",
            "重慶市",
            "--section",
            "时政",
        ],
    );

    // Subscribed after the seed arrived: nothing for them yet.
    let sent = ok(d, &["digest", "send", "--now"]);
    assert!(sent.contains("0 sent, 1 with nothing new"), "{sent}");
    assert!(outbox(d).is_empty());
    assert!(ok(d, &["digest", "preview", "reader@example.org"]).contains("nothing new"));

    // Two new articles: one matches by keyword (Simplified spelling), one by section.
    std::fs::write(d.join("articles/n1.txt"), article("重庆新闻一则", "重庆市")).unwrap();
    std::fs::write(d.join("articles/n2.txt"), article("时政新闻一则", "北京市")).unwrap();
    std::fs::write(
        d.join("articles/n3.txt"),
        "首页>体育>足球 足球\n不相关\n正文。\n关键词:足球\n",
    )
    .unwrap();
    ok(d, &["build"]);
    let preview = ok(d, &["digest", "preview", "READER@example.org"]);
    assert!(
        preview.contains("重庆新闻一则") && preview.contains("时政新闻一则"),
        "{preview}"
    );
    assert!(!preview.contains("不相关"));

    let sent = ok(d, &["digest", "send", "--now"]);
    assert!(sent.contains("1 sent"), "{sent}");
    let files = outbox(d);
    assert_eq!(files.len(), 1);

    // Python's email package reads it as a reader's client would.
    let check = r#"
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg.get_content_type() == 'multipart/alternative', msg.get_content_type()
parts = [p.get_content_type() for p in msg.iter_parts()]
assert parts == ['text/plain', 'text/html'], parts
text = msg.get_body(('plain',)).get_content()
html = msg.get_body(('html',)).get_content()
assert '重庆新闻一则' in text and '时政新闻一则' in html and '不相关' not in text
assert '2 篇' in str(msg['Subject']), str(msg['Subject'])
for h in ('From', 'To', 'Date', 'Message-ID', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post'):
    assert msg[h], h
assert 'https://news.example/unsubscribe?token=' in str(msg['List-Unsubscribe'])
assert str(msg['List-Unsubscribe-Post']) == 'List-Unsubscribe=One-Click'
assert all(len(l) <= 998 for l in raw.split(b'\r\n'))
print(msg['Message-ID'])
"#;
    python(check, [&files[0]]);

    // Sent once: a second round has nothing to send.
    let sent = ok(d, &["digest", "send", "--now"]);
    assert!(sent.contains("0 sent, 1 with nothing new"), "{sent}");
    assert_eq!(outbox(d).len(), 1);

    // A newer article: the next digest holds only it.
    std::fs::write(
        d.join("articles/n4.txt"),
        article("更新的重庆新闻", "重慶市"),
    )
    .unwrap();
    ok(d, &["build"]);
    // A second manual run in the same second would share its period: make it the next.
    std::thread::sleep(Duration::from_millis(1100));
    ok(d, &["digest", "send", "--now"]);
    let files = outbox(d);
    assert_eq!(files.len(), 2);
    let bodies = python(
        "import email,email.policy,sys\nfor f in sys.argv[1:]:\n m=email.message_from_bytes(open(f,'rb').read(),policy=email.policy.default)\n print(m.get_body(('plain',)).get_content().replace('\\n',' '))",
        &files,
    );
    let with_new: Vec<&str> = bodies
        .lines()
        .filter(|l| l.contains("更新的重庆新闻"))
        .collect();
    assert_eq!(with_new.len(), 1, "{bodies}");
    assert!(
        !with_new[0].contains("重庆新闻一则"),
        "only what is new: {}",
        with_new[0]
    );
}

#[test]
fn an_unknown_subscriber_is_named() {
    let dir = site("");
    let out = tidings(dir.path(), &["digest", "preview", "nobody@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@example.org: no such subscriber"));
}

#[test]
fn killed_mid_round_and_restarted_every_digest_arrives_once_with_in_flight_ones_at_most_twice() {
    // -w 1: each DATA waits a second, so the round is slow enough to kill in the middle.
    let sink = SmtpSink::start(&["-w", "1"], true);
    let dir = seeded_site(&format!(
        "[mail]\nfrom = \"digest@news.example\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nconnections = 4\n",
        sink.port
    ));
    let d = dir.path();
    ok(d, &["build"]);
    let mut csv = String::from("email,keywords\n");
    for i in 0..16 {
        csv.push_str(&format!("r{i}@example.org,重慶市\n"));
    }
    std::fs::write(d.join("subs.csv"), csv).unwrap();
    ok(
        d,
        &["subscriber", "import", d.join("subs.csv").to_str().unwrap()],
    );
    std::fs::write(d.join("articles/n1.txt"), article("給十六位讀者", "重庆市")).unwrap();
    ok(d, &["build"]);

    let mut round = tidings_command(d)
        .args(["digest", "send", "--now"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2600));
    round.kill().unwrap(); // SIGKILL
    round.wait().unwrap();
    let after_kill = std::fs::read_dir(sink.dump_dir()).unwrap().count();
    assert!(
        after_kill > 0 && after_kill < 16,
        "killed mid-round: {after_kill} delivered"
    );

    // Restarted: the pending digests go out, the sent ones do not.
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("resumed"), "{out}");

    let mut per_recipient: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for message in sink.dumped(16) {
        per_recipient
            .entry(smtp::header(&message, "To"))
            .or_default()
            .push(smtp::header(&message, "Message-ID"));
    }
    assert_eq!(
        per_recipient.len(),
        16,
        "every subscriber got their digest: {per_recipient:#?}"
    );
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
    // And a further round sends nothing.
    let out = ok(d, &["digest", "send", "--now"]);
    assert!(out.contains("0 sent"), "{out}");
}

#[test]
fn the_daemon_sends_due_digests_on_their_schedule() {
    let dir = seeded_site("[server]\nlisten = \"127.0.0.1:0\"\n");
    let d = dir.path();
    ok(d, &["build"]);
    ok(
        d,
        &[
            "subscriber",
            "add",
            "minutely@example.org",
            "--keyword",
            "重慶市",
            "--schedule",
            "* * * * *",
        ],
    );
    let mut daemon = Daemon::start_in(dir);
    let d = daemon.path();
    // Arrives while the daemon runs: published, then in the next minute's digest.
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(
        d.join("articles/n1.txt"),
        article("按時寄出的新聞", "重慶市"),
    )
    .unwrap();
    // The minutely run comes within a minute; after that, patience.
    let found = support::poll(
        Duration::from_secs(60) + support::PATIENCE,
        || match outbox(d) {
            files if files.is_empty() => Err("no digest in the outbox".to_string()),
            files => Ok(files),
        },
    );
    assert_eq!(daemon.stop().code(), Some(0));
    let found = found.unwrap();
    assert_eq!(found.len(), 1, "one digest from the minutely schedule");
    let text = std::fs::read(&found[0]).unwrap();
    assert!(!text.is_empty());
}
