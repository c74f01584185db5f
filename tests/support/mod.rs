//! What the integration tests share, in one place: the programs they drive (found, or a
//! failure naming the line that installs them — never a skip), the `tidings` binary, the
//! fixtures (the seed article, page exports, a site folder), waiting without hanging,
//! and launchers for the daemon ([`daemon`]), the mail servers ([`smtp`]), a browser
//! ([`browser`]) and a feed reader ([`newsboat`]).

pub mod browser;
pub mod daemon;
pub mod http;
pub mod newsboat;
pub mod smtp;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tidings::config::{Config, SystemdDirs};
use tidings::feeds::index::Index;

// ---------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------

pub const INSTALL_POSTFIX: &str =
    "echo 'postfix postfix/main_mailer_type select No configuration' \
    | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends postfix";
pub const INSTALL_OPENSSL: &str = "apt-get install -y openssl";
pub const INSTALL_PYTHON: &str = "apt-get install -y python3";
pub const INSTALL_AIOSMTPD: &str = "python3 -m pip install aiosmtpd";
pub const INSTALL_FEEDPARSER: &str = "python3 -m pip install feedparser";
pub const INSTALL_XMLLINT: &str = "apt-get install -y libxml2-utils";
pub const INSTALL_NEWSBOAT: &str = "apt-get install -y newsboat";
pub const INSTALL_SYSTEMD: &str = "apt-get install -y systemd";
pub const INSTALL_CHROMIUM: &str = "DEBIAN_FRONTEND=noninteractive apt-get install -y chromium";
/// CJK glyphs for Chromium's screenshots of the pages.
pub const INSTALL_CJK_FONTS: &str =
    "DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-cjk";

/// `name` on PATH or in the sbin folders (smtp-sink lives in /usr/sbin, which a non-root
/// PATH often lacks); panics with the install line otherwise.
pub fn program(name: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed; install it with: {install}"))
}

/// python3, after checking that it can import `module`; panics with the install line
/// otherwise.
pub fn python_with(module: &str, install: &str) -> PathBuf {
    let python = program("python3", INSTALL_PYTHON);
    let found = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "Python's {module} is not installed; install it with: {install}"
    );
    python
}

/// Runs a Python script with `args`; its standard output, or a failure showing its
/// standard error.
pub fn python(script: &str, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> String {
    let out = Command::new(program("python3", INSTALL_PYTHON))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// What a Python script that prints one JSON document says about `path`.
pub fn python_json(script: &str, path: &Path) -> Value {
    serde_json::from_str(&python(script, [path])).unwrap()
}

/// feedparser over every feed file below `feeds` (`check_feeds.py`: bozo == 0, entry
/// counts and titles against `expected`, written to `expect_file` for the script).
pub fn check_feeds(
    python: &Path,
    feeds: &Path,
    expected: &impl serde::Serialize,
    expect_file: &Path,
) {
    std::fs::write(expect_file, serde_json::to_vec(expected).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/check_feeds.py");
    let out = Command::new(python)
        .arg(script)
        .arg(feeds)
        .arg(expect_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "feedparser: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// Processes and waiting
// ---------------------------------------------------------------------------------------

/// How long a test waits for something that should happen before it gives up. Only a
/// guard against hanging: how fast things happen is measured in the benchmarks
/// (BENCHMARKS.md), not asserted in tests.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `probe` until it gives a value; panics with its last complaint after
/// [`PATIENCE`].
pub fn eventually<T>(probe: impl FnMut() -> Result<T, String>) -> T {
    poll(PATIENCE, probe).unwrap_or_else(|why| panic!("gave up after {PATIENCE:?}: {why}"))
}

/// Polls `probe` until it gives a value, for at most `within`; then its last complaint.
pub fn poll<T>(
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(value) => return Ok(value),
            Err(why) if Instant::now() > deadline => return Err(why),
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// A child process that is killed when the test is done with it, passed or failed.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Sends `signal` (`libc::SIGTERM`, …).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.0.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the process to exit (a hang fails after [`PATIENCE`]).
    pub fn wait(&mut self) -> ExitStatus {
        eventually(|| match self.0.try_wait().unwrap() {
            Some(status) => Ok(status),
            None => Err(format!("process {} has not exited", self.0.id())),
        })
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The tidings binary
// ---------------------------------------------------------------------------------------

/// The binary on `dir/config.toml`, outside systemd and whatever the caller's
/// environment names as its configuration.
pub fn tidings_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
    command
        .arg("--config")
        .arg(dir.join("config.toml"))
        .env_remove("TIDINGS_CONFIG")
        .env_remove("NOTIFY_SOCKET");
    command
}

pub fn tidings(dir: &Path, args: &[&str]) -> Output {
    tidings_command(dir).args(args).output().unwrap()
}

/// Runs a command that must succeed; its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tidings(dir, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    text(&out.stdout)
}

/// The `.eml` files in `dir/outbox`, sorted.
pub fn outbox(dir: &Path) -> Vec<PathBuf> {
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

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

pub const SEED_ID: &str = "000_8c7ef1c8e8c43d29";
/// The real article of the site (DESIGN §1a), as the repository keeps it.
pub const SEED: &[u8] = include_bytes!("../../articles/000_8c7ef1c8e8c43d29.txt");

/// A page export (DESIGN §1a): `sections` is the breadcrumb after the home crumb
/// (`時政>高層動態`); the heading repeat, two paragraphs and the keyword line follow.
pub fn page_export(sections: &str, title: &str, keywords: &str) -> String {
    let heading = sections.rsplit('>').next().unwrap();
    format!("首頁>{sections} {heading}\n{title}\n正文第一段。\n正文第二段。\n關鍵詞:{keywords}\n")
}

/// A page export under 時政 > 高層動態.
pub fn article(title: &str, keyword: &str) -> String {
    page_export("時政>高層動態", title, keyword)
}

/// A temporary folder with an empty store, `articles/`.
pub fn store() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("articles")).unwrap();
    dir
}

/// Puts the seed article into `dir/articles`.
pub fn put_seed(dir: &Path) {
    std::fs::write(dir.join("articles").join(format!("{SEED_ID}.txt")), SEED).unwrap();
}

/// A store and `config.toml` holding `config`.
pub fn site(config: &str) -> TempDir {
    let dir = store();
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    dir
}

/// [`site`] with the seed article in its store.
pub fn seeded_site(config: &str) -> TempDir {
    let dir = site(config);
    put_seed(dir.path());
    dir
}

/// Writes outside the store, then renames in — how exporters and editors deliver.
pub fn drop_in(store: &Path, name: &str, text: &str) {
    let tmp = store.parent().unwrap().join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, store.join(name)).unwrap();
}

/// Builds the store in `dir` through the library with `config` (TOML) and opens its
/// index; every article must be accepted.
pub fn build_in_process(dir: &Path, config: &str) -> (Config, Index) {
    let config = Config::parse(config)
        .unwrap()
        .resolve(dir, &SystemdDirs::default());
    let report = tidings::feeds::publish::build(
        &config,
        false,
        std::time::Duration::ZERO,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let index = open_index(&config.state.path);
    (config, index)
}

/// Opens an index its last user has just closed. sled lets go of its file lock only when
/// its background threads have finished with the closed database, a moment after the
/// drop.
pub fn open_index(path: &Path) -> Index {
    Index::open_waiting(path, PATIENCE).unwrap_or_else(|e| panic!("{e}"))
}

/// Every feed the manifest lists (DESIGN §2): those of `index.json` and of each page it
/// links, in order, as `read` returns a file by its path relative to `feeds.output`.
pub fn manifest_feeds(mut read: impl FnMut(&str) -> Vec<u8>) -> Vec<Value> {
    let first: Value = serde_json::from_slice(&read("index.json")).expect("index.json is JSON");
    let mut feeds = first["feeds"].as_array().expect("a feeds list").clone();
    for page in first["pages"].as_array().expect("a pages list") {
        let page = page.as_str().expect("a page path");
        let listed: Value = serde_json::from_slice(&read(page)).expect("a page is JSON");
        let listed = listed["feeds"].as_array().expect("a page lists feeds");
        assert!(!listed.is_empty(), "{page} lists no feed");
        feeds.extend(listed.iter().cloned());
    }
    feeds
}

/// What a feed must hold, computed from the generator's own record of the corpus: its
/// folder (`all`, `section/…`, `keyword/…`) → the titles of its newest `items` articles,
/// newest first (ties by id).
pub fn expectations(
    articles: &[tidings_corpus::GeneratedArticle],
    items: usize,
) -> std::collections::BTreeMap<String, Vec<String>> {
    use tidings::feeds::topic::fold_name;
    let mut feeds: std::collections::BTreeMap<String, Vec<(i64, &str, &str)>> =
        std::collections::BTreeMap::new();
    for a in articles {
        let published = a.published.map(|p| p.timestamp()).unwrap_or_else(|| {
            a.mtime
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
        });
        let mut dirs = vec!["all".to_string()];
        let mut path = String::from("section");
        for s in &a.sections {
            path.push('/');
            path.push_str(&tidings::model::topic::safe_name(&fold_name(s)));
            dirs.push(path.clone());
        }
        let mut kws = std::collections::BTreeSet::new();
        for k in &a.keywords {
            kws.insert(format!(
                "keyword/{}",
                tidings::model::topic::safe_name(&fold_name(k))
            ));
        }
        dirs.extend(kws);
        for d in dirs {
            feeds
                .entry(d)
                .or_default()
                .push((published, &a.id, &a.title));
        }
    }
    feeds
        .into_iter()
        .map(|(dir, mut entries)| {
            entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let titles = entries
                .into_iter()
                .take(items)
                .map(|e| e.2.to_string())
                .collect();
            (dir, titles)
        })
        .collect()
}
