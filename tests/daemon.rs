//! `tidings run` end to end: the real binary on port 0 with a temporary store, driven over
//! real HTTP, with real signals, and read by a real feed reader (newsboat).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SEED: &[u8] = include_bytes!("../articles/000_8c7ef1c8e8c43d29.txt");

struct Daemon {
    dir: TempDir,
    child: Child,
    logs: Receiver<String>,
    seen: Vec<String>,
    base: String,
}

fn config_text(extra: &str) -> String {
    format!(
        "[site]\nbase_url = \"http://127.0.0.1\"\ntitle = \"測試站\"\n[server]\nlisten = \"127.0.0.1:0\"\n{extra}"
    )
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("articles")).unwrap();
        std::fs::write(dir.path().join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
        std::fs::write(dir.path().join("config.toml"), config_text("")).unwrap();
        Daemon::start_in(dir)
    }

    fn start_in(dir: TempDir) -> Daemon {
        let (child, logs) = spawn(dir.path());
        let mut d = Daemon {
            dir,
            child,
            logs,
            seen: Vec::new(),
            base: String::new(),
        };
        let line = d.wait_log("listening on http://", Duration::from_secs(20));
        let addr = line
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        d.base = format!("http://{addr}");
        d
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("articles")
    }

    /// Waits for a log line containing `needle`; returns it.
    fn wait_log(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        while Instant::now() < deadline {
            if let Ok(line) = self.logs.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!(
            "no log line with {needle:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }

    fn get(&self, path: &str) -> (u16, String) {
        let resp = reqwest::blocking_get(&format!("{}{path}", self.base));
        resp
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Polls `path` until `pred` holds on its body, for at most `within`.
    fn wait_for(&self, path: &str, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self.get(path);
            if status == 200 && pred(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} did not change in {within:?}: {status} {body:.300}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// A tiny blocking HTTP client over the async reqwest, so tests stay synchronous.
mod reqwest {
    pub fn blocking_get(url: &str) -> (u16, String) {
        let (status, _, body) = request(url, &[]);
        (status, body)
    }

    pub fn request(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = ::reqwest::Client::new();
            let mut req = client.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            (status, headers, resp.text().await.unwrap())
        })
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn article(title: &str, keyword: &str) -> String {
    format!("首頁>時政>高層動態 高層動態\n{title}\n正文第一段。\n正文第二段。\n關鍵詞:{keyword}\n")
}

/// Writes outside the store, then renames in — how exporters and editors deliver.
fn drop_in(store: &Path, name: &str, text: &str) {
    let tmp = store.parent().unwrap().join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, store.join(name)).unwrap();
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
    let d = Daemon::start();
    let (status, _) = d.get("/healthz");
    assert_eq!(status, 200);
    assert!(d.get("/feeds/all/rss.xml").1.contains("把握要求積極作為"));

    // New article: in all, its section chain and its keyword within 2 s.
    let start = Instant::now();
    drop_in(&d.store(), "new1.txt", &article("新文章甲", "北京市"));
    for path in [
        "/feeds/all/atom.xml",
        "/feeds/section/%E6%97%B6%E6%94%BF/atom.xml",
        "/feeds/section/%E6%97%B6%E6%94%BF/%E9%AB%98%E5%B1%82%E5%8A%A8%E6%80%81/atom.xml",
        "/feeds/keyword/%E5%8C%97%E4%BA%AC%E5%B8%82/atom.xml",
    ] {
        d.wait_for(path, Duration::from_secs(2), |b| b.contains("新文章甲"));
    }
    assert!(start.elapsed() < Duration::from_secs(2));

    // Conditional GET.
    let (status, headers, _) = reqwest::request(&format!("{}/feeds/all/rss.xml", d.base), &[]);
    assert_eq!(status, 200);
    let etag = header(&headers, "etag").unwrap().to_string();
    let (status, _, body) = reqwest::request(
        &format!("{}/feeds/all/rss.xml", d.base),
        &[("if-none-match", &etag)],
    );
    assert_eq!((status, body.as_str()), (304, ""));
    let guid = guid_of(&d.get("/feeds/all/rss.xml").1, "新文章甲");

    // Edit its title: same guid, updated moves, ETag changes.
    std::thread::sleep(Duration::from_millis(1100));
    drop_in(
        &d.store(),
        "new1.txt",
        &article("新文章甲（修訂）", "北京市"),
    );
    let feed = d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        b.contains("新文章甲（修訂）")
    });
    assert_eq!(guid_of(&feed, "新文章甲（修訂）"), guid);
    let (status, headers, _) = reqwest::request(
        &format!("{}/feeds/all/rss.xml", d.base),
        &[("if-none-match", &etag)],
    );
    assert_eq!(status, 200);
    assert_ne!(header(&headers, "etag").unwrap(), etag);
    let atom = d.get("/feeds/all/atom.xml").1;
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    let entry = feed
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "新文章甲（修訂）")
        .unwrap();
    assert!(entry.updated() > entry.published().unwrap());

    // Delete it: gone, and so is the keyword feed it alone made.
    std::fs::remove_file(d.store().join("new1.txt")).unwrap();
    d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        !b.contains("新文章甲")
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    while d
        .get("/feeds/keyword/%E5%8C%97%E4%BA%AC%E5%B8%82/rss.xml")
        .0
        != 404
    {
        assert!(Instant::now() < deadline, "keyword feed not removed");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The article page.
    let (status, page) = d.get("/articles/000_8c7ef1c8e8c43d29");
    assert_eq!(status, 200);
    assert!(page.contains("把握要求積極作為"));
}

#[test]
fn a_file_being_written_is_not_published_half() {
    use std::io::Write;
    let d = Daemon::start();
    let path = d.store().join("slow.txt");
    let text = article("慢慢寫入的文章", "上海市");
    let (head, tail) = text.split_at(text.find("正文").unwrap());
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(head.as_bytes()).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(!d.get("/feeds/all/rss.xml").1.contains("慢慢寫入的文章"));
    f.write_all(tail.as_bytes()).unwrap();
    drop(f);
    let feed = d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        b.contains("慢慢寫入的文章")
    });
    assert!(feed.contains("正文第二段"));
}

#[test]
fn reload_keeps_serving_through_a_broken_config_and_sigterm_exits_0() {
    let mut d = Daemon::start();
    let config = d.dir.path().join("config.toml");
    std::fs::write(&config, "[site\nbroken").unwrap();
    d.signal("HUP");
    d.wait_log("reload refused", Duration::from_secs(5));
    assert_eq!(d.get("/healthz").0, 200);
    assert!(d.get("/feeds/all/rss.xml").1.contains("測試站"));

    std::fs::write(&config, config_text("").replace("測試站", "新站名")).unwrap();
    d.signal("HUP");
    d.wait_log("configuration reloaded", Duration::from_secs(5));
    d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        b.contains("新站名")
    });

    // Only the output folder changes: the feeds are published there at once.
    let moved = d.dir.path().join("feeds-moved");
    let text = config_text(&format!("[feeds]\noutput = \"{}\"\n", moved.display()));
    std::fs::write(&config, text.replace("測試站", "新站名")).unwrap();
    d.seen.clear();
    d.signal("HUP");
    d.wait_log("configuration reloaded", Duration::from_secs(5));
    assert!(moved.join("keyword/重庆市/atom.xml").is_file());
    d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        b.contains("新站名")
    });

    // A second instance on the same state refuses, naming the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another tidings process"));

    // `tidings build` beside the daemon is handed to it.
    drop_in(&d.store(), "via-build.txt", &article("經由建置", "廣州市"));
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&config)
        .arg("build")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("articles indexed"));

    let start = Instant::now();
    d.signal("TERM");
    let status = d.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn newsboat_reads_a_served_feed_and_lists_a_new_article() {
    let found = Command::new("sh")
        .args(["-c", "command -v newsboat"])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "newsboat is not installed: run `apt-get install -y newsboat`"
    );
    let d = Daemon::start();
    let home = d.dir.path().join("newsboat");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("urls"), format!("{}/feeds/all/rss.xml\n", d.base)).unwrap();
    std::fs::write(home.join("config"), "").unwrap();
    let reload = || {
        let out = Command::new("newsboat")
            .arg("-u")
            .arg(home.join("urls"))
            .arg("-C")
            .arg(home.join("config"))
            .arg("-c")
            .arg(home.join("cache.db"))
            .arg("-x")
            .arg("reload")
            .env("HOME", &home)
            .output()
            .unwrap();
        assert!(out.status.success(), "newsboat: {out:?}");
        let titles = Command::new("python3")
            .arg("-c")
            .arg("import sqlite3,sys; print('\\n'.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute('select title from rss_item')))")
            .arg(home.join("cache.db"))
            .output()
            .unwrap();
        String::from_utf8(titles.stdout).unwrap()
    };
    assert!(reload().contains("把握要求積極作為"));
    drop_in(
        &d.store(),
        "news.txt",
        &article("給閱讀器的新文章", "重慶市"),
    );
    d.wait_for("/feeds/all/rss.xml", Duration::from_secs(2), |b| {
        b.contains("給閱讀器的新文章")
    });
    let titles = reload();
    assert!(titles.contains("給閱讀器的新文章"), "{titles}");
}

#[test]
fn systemd_hears_ready_reloading_stopping_and_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/a.txt"), article("甲", "北京市")).unwrap();
    std::fs::write(dir.path().join("config.toml"), config_text("")).unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        // 300 ms: the daemon must ping well within it.
        .env("WATCHDOG_USEC", "300000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct KillOnDrop(Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let child = KillOnDrop(child);
    let mut heard = Vec::<String>::new();
    let listen_until = |want: &str, heard: &mut Vec<String>| {
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).expect("a notify message in time");
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            heard.push(msg.clone());
            if msg.lines().any(|l| l == want) {
                return;
            }
        }
    };
    listen_until("READY=1", &mut heard);
    listen_until("WATCHDOG=1", &mut heard);
    let kill = |sig: &str| {
        Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
    };
    kill("HUP");
    listen_until("RELOADING=1", &mut heard);
    listen_until("READY=1", &mut heard);
    kill("TERM");
    listen_until("STOPPING=1", &mut heard);
    let mut child = child;
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/000_8c7ef1c8e8c43d29.txt"), SEED).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        config_text(&format!("[feeds]\nwebsub_hub = \"{hub}\"\n")),
    )
    .unwrap();
    let d = Daemon::start_in(dir);
    let (_, headers, _) = reqwest::request(&format!("{}/feeds/all/rss.xml", d.base), &[]);
    let link = header(&headers, "link").unwrap_or_default().to_string();
    assert!(link.contains(&format!("<{hub}>; rel=\"hub\"")), "{link}");
    seen.lock().unwrap().clear();

    drop_in(&d.store(), "hubbed.txt", &article("通知樞紐", "天津市"));
    let want = [
        "hub.url=http%3A%2F%2F127.0.0.1%2Ffeeds%2Fall%2Frss.xml",
        "hub.url=http%3A%2F%2F127.0.0.1%2Ffeeds%2Fkeyword%2F%25E5%25A4%25A9%25E6%25B4%25A5%25E5%25B8%2582%2Fatom.xml",
    ];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let bodies = seen.lock().unwrap().clone();
        if want.iter().all(|w| {
            bodies
                .iter()
                .any(|b| b.contains(w) && b.contains("hub.mode=publish"))
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "hub saw: {bodies:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_new_folder_and_a_burst_of_1000_files_are_published_in_few_rounds() {
    let mut d = Daemon::start();
    let outside = d.dir.path().join("incoming");
    std::fs::create_dir_all(outside.join("batch")).unwrap();
    for i in 0..1000 {
        std::fs::write(
            outside.join(format!("batch/b{i:04}.txt")),
            article(&format!("批量文章{i:04}"), "石家莊市"),
        )
        .unwrap();
    }
    let rounds_before = d.seen.len();
    // A whole folder moved in at once, as an exporter would deliver a day's articles.
    std::fs::rename(outside.join("batch"), d.store().join("batch")).unwrap();
    let feed = d.wait_for("/index.json", Duration::from_secs(20), |b| {
        b.contains("石家庄市") && b.contains("\"items\": 50")
    });
    assert!(feed.contains("石家庄市"));
    d.wait_for("/metrics", Duration::from_secs(20), |m| {
        m.contains("tidings_articles 1001")
    });
    // And files copied in one by one (each written, then closed) are coalesced too.
    for i in 0..1000 {
        std::fs::write(
            d.store().join(format!("c{i:04}.txt")),
            article(&format!("逐一複製{i:04}"), "保定市"),
        )
        .unwrap();
    }
    d.wait_for("/metrics", Duration::from_secs(20), |m| {
        m.contains("tidings_articles 2001")
    });
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(line) = d.logs.recv_timeout(Duration::from_millis(100)) {
        d.seen.push(line);
    }
    let rounds = d.seen[rounds_before..]
        .iter()
        .filter(|l| l.contains("articles indexed"))
        .count();
    assert!(rounds <= 20, "{rounds} publish rounds for 2,000 files");
}
