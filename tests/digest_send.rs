//! `tidings digest preview|send` end to end with the outbox transport: the real binary, a
//! store, subscribers, and the `.eml` files read back by Python's `email` package.

mod support;

use support::{free_port, is_root, program, INSTALL_POSTFIX};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED: &[u8] = include_bytes!("../articles/000_8c7ef1c8e8c43d29.txt");

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

fn outbox(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("outbox"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn article(title: &str, keyword: &str) -> String {
    format!("首页>时政>高层动态 高层动态\n{title}\n正文第一段。\n正文第二段。\n关键词:{keyword}\n")
}

#[test]
fn a_digest_holds_only_what_arrived_since_the_last_and_never_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("articles")).unwrap();
    std::fs::write(d.join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
    std::fs::write(
        d.join("config.toml"),
        "[site]\nbase_url = \"https://news.example\"\ntitle = \"新聞站\"\n[mail]\nfrom = \"新聞站 <digest@news.example>\"\n",
    )
    .unwrap();
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
    let out = Command::new("python3")
        .arg("-c")
        .arg(check)
        .arg(&files[0])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

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
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(d, &["digest", "send", "--now"]);
    let files = outbox(d);
    assert_eq!(files.len(), 2);
    let decoded = Command::new("python3")
        .arg("-c")
        .arg("import email,email.policy,sys\nfor f in sys.argv[1:]:\n m=email.message_from_bytes(open(f,'rb').read(),policy=email.policy.default)\n print(m.get_body(('plain',)).get_content().replace('\\n',' '))")
        .args(&files)
        .output()
        .unwrap();
    let bodies = String::from_utf8_lossy(&decoded.stdout).into_owned();
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let out = tidings(dir.path(), &["digest", "preview", "nobody@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@example.org: no such subscriber"));
}

#[test]
fn killed_mid_round_and_restarted_every_digest_arrives_once_with_in_flight_ones_at_most_twice() {
    let sink_bin = program("smtp-sink", INSTALL_POSTFIX);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dump = d.join("dump");
    std::fs::create_dir_all(&dump).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dump, std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = free_port();
    let mut sink = Command::new(sink_bin);
    if is_root() {
        sink.args(["-u", "nobody"]);
    }
    // -w 1: each DATA waits a second, so the round is slow enough to kill in the middle.
    let mut sink = sink
        .arg("-d")
        .arg(format!("{}/", dump.display()))
        .args(["-w", "1"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("64")
        .spawn()
        .unwrap();
    std::fs::create_dir_all(d.join("articles")).unwrap();
    std::fs::write(d.join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
    std::fs::write(
        d.join("config.toml"),
        format!("[mail]\nfrom = \"digest@news.example\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nconnections = 4\n"),
    )
    .unwrap();
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

    let mut round = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(d.join("config.toml"))
        .args(["digest", "send", "--now"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2600));
    round.kill().unwrap(); // SIGKILL
    round.wait().unwrap();
    let after_kill = std::fs::read_dir(&dump).unwrap().count();
    assert!(
        after_kill > 0 && after_kill < 16,
        "killed mid-round: {after_kill} delivered"
    );

    // Restarted: the pending digests go out, the sent ones do not.
    let out = ok(d, &["digest", "send"]);
    assert!(out.contains("resumed"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = sink.kill();
    let _ = sink.wait();

    let mut per_recipient: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for f in std::fs::read_dir(&dump).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or("?")
            .trim()
            .to_string();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap_or("?")
            .trim()
            .to_string();
        per_recipient.entry(to).or_default().push(id);
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
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("articles")).unwrap();
    std::fs::write(d.join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
    std::fs::write(
        d.join("config.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(d.join("config.toml"))
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || for _ in stderr.lines() {});
    // Arrives while the daemon runs: published, then in the next minute's digest.
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(
        d.join("articles/n1.txt"),
        article("按時寄出的新聞", "重慶市"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(75);
    let mut found = Vec::new();
    while Instant::now() < deadline {
        found = outbox(d);
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(found.len(), 1, "one digest within a minute");
    let text = std::fs::read(&found[0]).unwrap();
    assert!(!text.is_empty());
}
