//! `tidings run` end to end: the real binary on port 0 with a temporary store, driven over
//! real HTTP, with real signals, and read by a real feed reader (newsboat).

use crate::support;

use std::path::Path;
use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::http;
use crate::support::{article, drop_in, seeded_site, site, tidings_command};

fn config_text(extra: &str) -> String {
    format!(
        "[site]\nbase_url = \"http://127.0.0.1\"\ntitle = \"測試站\"\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}"
    )
}

/// The daemon on the seed article.
fn start_daemon() -> Daemon {
    Daemon::start_in(seeded_site(&config_text("")))
}

fn guid_of(feed: &str, title: &str) -> String {
    let channel = ::rss::Channel::read_from(feed.as_bytes()).unwrap();
    let item = channel
        .items()
        .iter()
        .find(|i| i.title() == Some(title))
        .unwrap();
    item.guid().unwrap().value().to_string()
}

#[test]
fn an_article_travels_through_every_feed_and_conditional_get_works() {
    let d = start_daemon();
    assert_eq!(d.get("/healthz").status, 200);
    assert!(d
        .get("/feeds/all/rss.xml")
        .body
        .contains("把握要求積極作為"));

    // New article: in all, its section chain and its keyword.
    drop_in(&d.store(), "new1.txt", &article("新文章甲", "北京市"));
    for path in [
        "/feeds/all/atom.xml",
        "/feeds/section/%E6%97%B6%E6%94%BF/atom.xml",
        "/feeds/section/%E6%97%B6%E6%94%BF/%E9%AB%98%E5%B1%82%E5%8A%A8%E6%80%81/atom.xml",
        "/feeds/keyword/%E5%8C%97%E4%BA%AC%E5%B8%82/atom.xml",
    ] {
        d.wait_for(path, |b| b.contains("新文章甲"));
    }

    // Conditional GET.
    let first = d.get("/feeds/all/rss.xml");
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_string();
    let again = http::request(
        "GET",
        &d.url("/feeds/all/rss.xml"),
        &[("if-none-match", &etag)],
        None,
    );
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let guid = guid_of(&d.get("/feeds/all/rss.xml").body, "新文章甲");

    // Edit its title: same guid, updated moves, ETag changes.
    std::thread::sleep(Duration::from_millis(1100));
    drop_in(
        &d.store(),
        "new1.txt",
        &article("新文章甲（修訂）", "北京市"),
    );
    let feed = d.wait_for("/feeds/all/rss.xml", |b| b.contains("新文章甲（修訂）"));
    assert_eq!(guid_of(&feed, "新文章甲（修訂）"), guid);
    let changed = http::request(
        "GET",
        &d.url("/feeds/all/rss.xml"),
        &[("if-none-match", &etag)],
        None,
    );
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    // Each format is its own file, renamed into place one after the other: wait for the
    // Atom document too rather than assume it was written with the RSS one.
    let atom = d.wait_for("/feeds/all/atom.xml", |b| b.contains("新文章甲（修訂）"));
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    let entry = feed
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "新文章甲（修訂）")
        .unwrap();
    assert!(entry.updated() > entry.published().unwrap());

    // Delete it: gone, and so is the keyword feed it alone made.
    std::fs::remove_file(d.store().join("new1.txt")).unwrap();
    d.wait_for("/feeds/all/rss.xml", |b| !b.contains("新文章甲"));
    support::eventually(|| {
        match d
            .get("/feeds/keyword/%E5%8C%97%E4%BA%AC%E5%B8%82/rss.xml")
            .status
        {
            404 => Ok(()),
            status => Err(format!("keyword feed not removed: {status}")),
        }
    });

    // The article page.
    let page = d.get("/articles/000_8c7ef1c8e8c43d29");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("把握要求積極作為"));
}

#[test]
fn a_file_being_written_is_not_published_half() {
    use std::io::Write;
    let d = start_daemon();
    let path = d.store().join("slow.txt");
    let text = article("慢慢寫入的文章", "上海市");
    let (head, tail) = text.split_at(text.find("正文").unwrap());
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(head.as_bytes()).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(!d.get("/feeds/all/rss.xml").body.contains("慢慢寫入的文章"));
    f.write_all(tail.as_bytes()).unwrap();
    drop(f);
    let feed = d.wait_for("/feeds/all/rss.xml", |b| b.contains("慢慢寫入的文章"));
    assert!(feed.contains("正文第二段"));
}

#[test]
fn reload_keeps_serving_through_a_broken_config_and_sigterm_exits_0() {
    let mut d = start_daemon();
    let config = d.path().join("config.toml");
    std::fs::write(&config, "[site\nbroken").unwrap();
    d.signal(libc::SIGHUP);
    d.wait_log("reload refused");
    assert_eq!(d.get("/healthz").status, 200);
    assert!(d.get("/feeds/all/rss.xml").body.contains("測試站"));

    std::fs::write(&config, config_text("").replace("測試站", "新站名")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_log("configuration reloaded");
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("新站名"));

    // Only the output folder changes: the feeds are published there at once.
    let moved = d.path().join("feeds-moved");
    let text = config_text(&format!("[feeds]\noutput = \"{}\"\n", moved.display()));
    std::fs::write(&config, text.replace("測試站", "新站名")).unwrap();
    d.forget_logs();
    d.signal(libc::SIGHUP);
    d.wait_log("configuration reloaded");
    assert!(moved.join("section/党派·声音/atom.xml").is_file());
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("新站名"));

    // A second instance on the same state refuses, naming the reason.
    let out = d.tidings(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another tidings process"));

    // `tidings build` beside the daemon is handed to it.
    drop_in(&d.store(), "via-build.txt", &article("經由建置", "廣州市"));
    let out = d.tidings(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("articles indexed"));

    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn newsboat_reads_a_served_feed_and_lists_a_new_article() {
    let d = start_daemon();
    let newsboat = support::newsboat::Newsboat::new(&d.path().join("newsboat"));
    let urls = [format!("{}/feeds/all/rss.xml", d.base())];
    let reload = || newsboat.reload_titles(&urls).join("\n");
    assert!(reload().contains("把握要求積極作為"));
    drop_in(
        &d.store(),
        "news.txt",
        &article("給閱讀器的新文章", "重慶市"),
    );
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("給閱讀器的新文章"));
    let titles = reload();
    assert!(titles.contains("給閱讀器的新文章"), "{titles}");
}

#[test]
fn systemd_hears_ready_reloading_stopping_and_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let dir = site(&config_text(""));
    std::fs::write(dir.path().join("articles/a.txt"), article("甲", "北京市")).unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(support::PATIENCE)).unwrap();
    let mut d = Daemon::spawn_in(dir, |dir: &Path| {
        let mut command = tidings_command(dir);
        command
            .env("NOTIFY_SOCKET", &socket_path)
            // 300 ms: the daemon must ping well within it.
            .env("WATCHDOG_USEC", "300000");
        command
    });
    let mut heard = Vec::<String>::new();
    let listen_until = |want: &str, heard: &mut Vec<String>| {
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).expect("a notify message");
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            heard.push(msg.clone());
            if msg.lines().any(|l| l == want) {
                return;
            }
        }
    };
    listen_until("READY=1", &mut heard);
    listen_until("WATCHDOG=1", &mut heard);
    d.signal(libc::SIGHUP);
    listen_until("RELOADING=1", &mut heard);
    listen_until("READY=1", &mut heard);
    d.signal(libc::SIGTERM);
    listen_until("STOPPING=1", &mut heard);
    assert_eq!(d.wait().code(), Some(0));
    assert!(heard.iter().any(|m| m.contains("STATUS=")), "{heard:?}");
}

/// A hub on loopback that answers 204 and records each request body.
fn recording_hub() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hub", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                    }
                }
            };
            record.lock().unwrap().push(body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

#[test]
fn changed_feeds_are_announced_to_the_websub_hub() {
    let (hub, seen) = recording_hub();
    let d = Daemon::start_in(seeded_site(&config_text(&format!(
        "[feeds]\nwebsub_hub = \"{hub}\"\n"
    ))));
    let reply = d.get("/feeds/all/rss.xml");
    let link = reply.header("link").unwrap_or_default();
    assert!(link.contains(&format!("<{hub}>; rel=\"hub\"")), "{link}");
    // The feeds of the first start, which a child process indexed, are announced from
    // its report.
    support::eventually(|| {
        let bodies = seen.lock().unwrap().clone();
        let all = "hub.url=http%3A%2F%2F127.0.0.1%2Ffeeds%2Fall%2Frss.xml";
        match bodies.iter().any(|b| b.contains(all)) {
            true => Ok(()),
            false => Err(format!("hub saw at start-up: {bodies:#?}")),
        }
    });
    seen.lock().unwrap().clear();

    drop_in(&d.store(), "hubbed.txt", &article("通知樞紐", "天津市"));
    let want = [
        "hub.url=http%3A%2F%2F127.0.0.1%2Ffeeds%2Fall%2Frss.xml",
        "hub.url=http%3A%2F%2F127.0.0.1%2Ffeeds%2Fkeyword%2F%25E5%25A4%25A9%25E6%25B4%25A5%25E5%25B8%2582%2Fatom.xml",
    ];
    support::eventually(|| {
        let bodies = seen.lock().unwrap().clone();
        let announced = want.iter().all(|w| {
            bodies
                .iter()
                .any(|b| b.contains(w) && b.contains("hub.mode=publish"))
        });
        match announced {
            true => Ok(()),
            false => Err(format!("hub saw: {bodies:#?}")),
        }
    });
}

#[test]
fn a_new_folder_and_a_burst_of_1000_files_are_published_in_few_rounds() {
    let mut d = start_daemon();
    let outside = d.path().join("incoming");
    std::fs::create_dir_all(outside.join("batch")).unwrap();
    for i in 0..1000 {
        std::fs::write(
            outside.join(format!("batch/b{i:04}.txt")),
            article(&format!("批量文章{i:04}"), "石家莊市"),
        )
        .unwrap();
    }
    let rounds_before = d.logs(Duration::ZERO).len();
    // A whole folder moved in at once, as an exporter would deliver a day's articles.
    std::fs::rename(outside.join("batch"), d.store().join("batch")).unwrap();
    let feed = d.wait_for("/keywords?q=%E7%9F%B3%E5%AE%B6%E8%8E%8A", |b| {
        b.contains("石家庄市") && b.contains("\"items\":50")
    });
    assert!(feed.contains("石家庄市"));
    d.wait_for("/metrics", |m| m.contains("tidings_articles 1001"));
    // And files copied in one by one (each written, then closed) are coalesced too.
    for i in 0..1000 {
        std::fs::write(
            d.store().join(format!("c{i:04}.txt")),
            article(&format!("逐一複製{i:04}"), "保定市"),
        )
        .unwrap();
    }
    d.wait_for("/metrics", |m| m.contains("tidings_articles 2001"));
    std::thread::sleep(Duration::from_millis(300));
    let rounds = d.logs(Duration::from_millis(100))[rounds_before..]
        .iter()
        .filter(|l| l.contains("articles indexed"))
        .count();
    assert!(rounds <= 20, "{rounds} publish rounds for 2,000 files");
}
