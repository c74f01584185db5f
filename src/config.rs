//! Configuration: `config.toml` as DESIGN §4 fixes it. [`Config::parse`] is pure (text in,
//! checked values out); [`Config::from_file`] adds reading the file and resolving relative
//! paths (against the file's folder, or systemd's directories where they are set).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

/// The repository's `config.toml`, built in: with no config file anywhere, tidings runs on
/// these defaults (outbox mail, local feeds).
pub const EMBEDDED_DEFAULTS: &str = include_str!("../config.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, each naming the file, line and key where known.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// One line per problem, for a command's output; a read error is one line too.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid(problems) => problems.iter().map(Problem::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One thing wrong with a configuration: `config.toml:14: feeds.items: invalid type: …`
/// (DESIGN §3: errors name the file, line and key). Without a file (the built-in
/// defaults, or text given to [`Config::parse`]) the line reads `line 14: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    /// The key's dotted path (`feeds.items`); empty for a syntax error outside any key.
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.reason)
    }
}

/// Where a configuration came from: its file (if any) and text, so that a problem found
/// after parsing — by [`Config::problem`], in any layer — can still name its line.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub file: Option<PathBuf>,
    pub text: String,
}

impl Source {
    /// The line (1-based) where the dotted `key` is written, if it is.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        use toml_edit::TableLike;
        let doc = toml_edit::ImDocument::parse(self.text.as_str()).ok()?;
        let mut table: &dyn TableLike = doc.as_table();
        let mut parts = key.split('.').peekable();
        let mut span = None;
        while let Some(part) = parts.next() {
            let (k, item) = table.get_key_value(part)?;
            span = k.span().or_else(|| item.span());
            if parts.peek().is_some() {
                table = item.as_table_like()?;
            }
        }
        span.map(|s| line_at(&self.text, s.start))
    }
}

/// The 1-based line of byte offset `at` in `text`.
fn line_at(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub site: Site,
    pub store: Store,
    pub state: State,
    pub feeds: Feeds,
    pub server: Server,
    pub mail: Mail,
    pub digest: Digest,
    /// Where it was read from (not a key).
    #[serde(skip)]
    pub source: Source,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Site {
    pub title: String,
    /// Absolute http(s) URL without a trailing slash (normalised by `parse`).
    pub base_url: String,
    pub language: String,
    pub timezone: String,
    #[serde(skip)]
    pub tz: Option<Tz>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Store {
    pub path: PathBuf,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct State {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The file a feed folder holds for this format.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::Json => "feed.json",
        }
    }

    /// Name used in `index.json`'s `files` map.
    pub fn key(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Feeds {
    pub output: PathBuf,
    pub items: usize,
    pub formats: Vec<Format>,
    pub websub_hub: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: String,
    /// `Cache-Control: max-age` for feeds and listings, in seconds.
    pub cache_max_age: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    pub from: String,
    pub transport: Transport,
    pub outbox: PathBuf,
    pub smtp: Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: String,
    pub password_file: PathBuf,
    pub connections: usize,
    /// Messages per second across all connections; 0 = no cap.
    pub rate: u32,
    /// Extra CA certificates (PEM) to trust for the relay's TLS, beside the built-in
    /// roots: for a relay with a private CA.
    pub ca_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Digest {
    pub schedule: String,
    pub timezone: String,
    pub secret_file: PathBuf,
    /// A run missed (the daemon was down) is sent once when it comes back, unless it is
    /// more than this many hours late; then it is skipped, logged and counted.
    pub max_late_hours: u32,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            title: "tidings".into(),
            base_url: "http://127.0.0.1:8080".into(),
            language: "zh".into(),
            timezone: "Asia/Shanghai".into(),
            tz: None,
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            path: "articles".into(),
            max_bytes: 5_000_000,
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            path: "state".into(),
        }
    }
}

impl Default for Feeds {
    fn default() -> Self {
        Feeds {
            output: "feeds".into(),
            items: 50,
            formats: Format::ALL.to_vec(),
            websub_hub: String::new(),
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            cache_max_age: 300,
        }
    }
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            from: "tidings <tidings@localhost>".into(),
            transport: Transport::Outbox,
            outbox: "outbox".into(),
            smtp: Smtp::default(),
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: "127.0.0.1".into(),
            port: 25,
            tls: Tls::Starttls,
            username: String::new(),
            password_file: PathBuf::new(),
            connections: 8,
            rate: 0,
            ca_file: PathBuf::new(),
        }
    }
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            schedule: "0 8 * * *".into(),
            timezone: "Asia/Shanghai".into(),
            secret_file: "digest.key".into(),
            max_late_hours: 24,
        }
    }
}

/// The systemd directories relative paths resolve against, when set
/// (`$STATE_DIRECTORY`, `$CACHE_DIRECTORY`, `$CONFIGURATION_DIRECTORY`).
#[derive(Debug, Clone, Default)]
pub struct SystemdDirs {
    pub state: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    pub configuration: Option<PathBuf>,
}

impl SystemdDirs {
    /// Reads the three variables; systemd may list several paths separated by `:`, the
    /// first is ours.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .and_then(|v| {
                    v.to_str()
                        .and_then(|s| s.split(':').next())
                        .map(PathBuf::from)
                })
                .filter(|p| !p.as_os_str().is_empty())
        };
        SystemdDirs {
            state: var("STATE_DIRECTORY"),
            cache: var("CACHE_DIRECTORY"),
            configuration: var("CONFIGURATION_DIRECTORY"),
        }
    }
}

impl Config {
    /// Parses and checks a configuration text. Paths stay as written.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_source(Source {
            file: None,
            text: text.to_owned(),
        })
    }

    /// Reads `path`, parses it and resolves relative paths (see [`Config::resolve`]).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = Config::parse_source(Source {
            file: Some(path.to_owned()),
            text,
        })?;
        Ok(config.resolve(&base_of(path), &SystemdDirs::from_env()))
    }

    /// The state folder (where a running daemon's control socket is) of the configuration
    /// in `path`, even when the file does not parse or check: then its `state.path` if
    /// that much can be read, else the default — resolved as [`Config::from_file`] would.
    /// `tidings reload` needs it to reach a daemon that will refuse the file.
    pub fn state_path_of(path: &Path) -> PathBuf {
        if let Ok(config) = Config::from_file(path) {
            return config.state.path;
        }
        let written = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .and_then(|table| {
                let state = table.get("state")?.get("path")?.as_str()?.to_owned();
                Some(PathBuf::from(state))
            })
            .filter(|p| !p.as_os_str().is_empty());
        let mut config = Config::default();
        if let Some(state) = written {
            config.state.path = state;
        }
        config
            .resolve(&base_of(path), &SystemdDirs::from_env())
            .state
            .path
    }

    fn parse_source(source: Source) -> Result<Config, ConfigError> {
        // serde_path_to_error names the key a type error is about; toml's span, its line.
        let parsed: Result<Config, _> =
            serde_path_to_error::deserialize(toml::Deserializer::new(&source.text));
        let mut config = parsed.map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::Invalid(vec![Problem {
                line: inner.span().map(|s| line_at(&source.text, s.start)),
                file: source.file.clone(),
                key: if key == "." { String::new() } else { key },
                reason: one_line(inner.message()),
            }])
        })?;
        config.source = source;
        let problems = config.check();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// A problem with `key` (dotted), naming this configuration's file and the key's line.
    pub fn problem(&self, key: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: self.source.file.clone(),
            line: self.source.line_of(key),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// Makes every relative path anchored: state, outbox and the digest key against the
    /// state directory, feeds against the cache directory, the SMTP password file against
    /// the configuration directory — each falling back to `base` (the config file's folder).
    pub fn resolve(mut self, base: &Path, dirs: &SystemdDirs) -> Config {
        let anchor = |p: &mut PathBuf, dir: Option<&PathBuf>| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = dir.map(PathBuf::as_path).unwrap_or(base).join(&*p);
            }
        };
        anchor(&mut self.store.path, None);
        anchor(&mut self.state.path, dirs.state.as_ref());
        anchor(&mut self.mail.outbox, dirs.state.as_ref());
        anchor(&mut self.feeds.output, dirs.cache.as_ref());
        // The digest key is generated state (created on first start), and systemd keeps
        // ConfigurationDirectory= owned by root, so it lives with the state.
        anchor(&mut self.digest.secret_file, dirs.state.as_ref());
        anchor(
            &mut self.mail.smtp.password_file,
            dirs.configuration.as_ref(),
        );
        self
    }

    /// The site's zone (checked by `parse`).
    pub fn tz(&self) -> Tz {
        self.site.tz.unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Every key that can be checked from the text alone; the rest (cron schedules, the
    /// mail sender's address, files and folders) is `preflight`'s.
    fn check(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |config: &Config, key: &str, reason: String| {
            problems.push(config.problem(key, reason));
        };
        let base = self.site.base_url.trim().trim_end_matches('/').to_string();
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        // A host the URL parser finds, written right after `//` (a parser reads
        // `http:///x` as `http://x/`; a reader of the feed may not).
        let host = url::Url::parse(&base)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let after_scheme = base.split_once("://").map_or("", |(_, rest)| rest);
        if !scheme_ok
            || host.is_empty()
            || after_scheme.starts_with(['/', '\\'])
            || base.contains(char::is_whitespace)
        {
            let reason = format!("{:?} is not an absolute http(s) URL", self.site.base_url);
            bad(self, "site.base_url", reason);
        } else {
            self.site.base_url = base;
        }
        match parse_zone(&self.site.timezone) {
            Ok(tz) => self.site.tz = Some(tz),
            Err(reason) => bad(self, "site.timezone", reason),
        }
        if let Err(reason) = parse_zone(&self.digest.timezone) {
            bad(self, "digest.timezone", reason);
        }
        if self.store.max_bytes == 0 {
            bad(self, "store.max_bytes", "must be at least 1".into());
        }
        if self.feeds.items == 0 {
            bad(self, "feeds.items", "must be at least 1".into());
        }
        if self.feeds.formats.is_empty() {
            let reason = "name at least one of \"rss\", \"atom\", \"json\"";
            bad(self, "feeds.formats", reason.into());
        }
        self.feeds.formats.sort();
        self.feeds.formats.dedup();
        let hub = self.feeds.websub_hub.trim();
        if !(hub.is_empty() || hub.starts_with("http://") || hub.starts_with("https://")) {
            bad(
                self,
                "feeds.websub_hub",
                format!("{hub:?} is not an http(s) URL"),
            );
        }
        // An address literal: a host name would need a resolver at start-up (and may
        // resolve to something else at the next one).
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            let reason = format!(
                "{:?} is not an IP address and port, such as \"127.0.0.1:8080\" or \"[::1]:8080\"",
                self.server.listen
            );
            bad(self, "server.listen", reason);
        }
        for (key, path) in [
            ("store.path", &self.store.path),
            ("state.path", &self.state.path),
            ("feeds.output", &self.feeds.output),
            ("digest.secret_file", &self.digest.secret_file),
        ] {
            if path.as_os_str().is_empty() {
                bad(self, key, "must not be empty".into());
            }
        }
        match self.mail.transport {
            Transport::Outbox if self.mail.outbox.as_os_str().is_empty() => {
                bad(
                    self,
                    "mail.outbox",
                    "must not be empty with transport = \"outbox\"".into(),
                );
            }
            Transport::Outbox => {}
            Transport::Smtp => {
                let smtp = &self.mail.smtp;
                if smtp.host.trim().is_empty() {
                    bad(
                        self,
                        "mail.smtp.host",
                        "must not be empty with transport = \"smtp\"".into(),
                    );
                }
                if smtp.port == 0 {
                    bad(self, "mail.smtp.port", "must be 1 to 65535".into());
                }
                if smtp.connections == 0 {
                    bad(self, "mail.smtp.connections", "must be at least 1".into());
                }
                if !smtp.username.is_empty() && smtp.password_file.as_os_str().is_empty() {
                    let reason = "must name the password's file when mail.smtp.username is set";
                    bad(self, "mail.smtp.password_file", reason.into());
                }
            }
        }
        problems
    }
}

/// The folder relative paths of the file at `path` resolve against: its own, made
/// absolute so that a daemon's paths mean the same whatever its working folder, and paths
/// reported by the watcher compare equal to the configured store.
fn base_of(path: &Path) -> PathBuf {
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(base).unwrap_or_else(|_| base.to_owned())
}

/// An IANA zone name such as `Asia/Shanghai`.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. \"Asia/Shanghai\")"))
}

/// toml's messages span several lines (a source excerpt); a log line wants one.
fn one_line(msg: &str) -> String {
    let mut parts = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|");
    let head = parts.next().unwrap_or_default().to_string();
    let detail = parts
        .next_back()
        .unwrap_or_default()
        .trim_start_matches('^')
        .trim();
    if detail.is_empty() || head.contains(detail) {
        head
    } else {
        format!("{head} {detail}")
    }
}

/// Environment-free view of which config file to read: `--config`, then
/// `$TIDINGS_CONFIG`, then `./config.toml` if present; `None` means the embedded defaults.
pub fn locate(
    flag: Option<&Path>,
    env: &HashMap<String, String>,
    cwd_has_config: bool,
) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_owned());
    }
    if let Some(p) = env.get("TIDINGS_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    cwd_has_config.then(|| PathBuf::from("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse() {
        let c = Config::parse(EMBEDDED_DEFAULTS).unwrap();
        assert_eq!(c.site.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.feeds.items, 50);
        assert_eq!(c.feeds.formats, Format::ALL.to_vec());
        assert_eq!(c.mail.transport, Transport::Outbox);
        assert_eq!(c.tz(), chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn empty_text_is_all_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.store.path, PathBuf::from("articles"));
        assert_eq!(c.state.path, PathBuf::from("state"));
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let err = Config::parse("[feeds]\nitems = 5\nitmes = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("itmes"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = Config::parse("[sever]\nlisten = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sever"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[site]\nbase_url = \"example.com\"", "site.base_url"),
            ("[site]\ntimezone = \"Mars/Olympus\"", "site.timezone"),
            ("[digest]\ntimezone = \"UTC+8\"", "digest.timezone"),
            ("[feeds]\nitems = 0", "feeds.items"),
            ("[feeds]\nformats = []", "feeds.formats"),
            ("[store]\nmax_bytes = 0", "store.max_bytes"),
            ("[feeds]\nwebsub_hub = \"hub\"", "feeds.websub_hub"),
        ] {
            let err = Config::parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = Config::parse("[feeds]\nformats = [\"rdf\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rdf"), "{err}");
    }

    #[test]
    fn a_type_error_names_the_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "[site]\ntitle = \"t\"\n\n[feeds]\nformats = [\"rss\"]\nitems = \"fifty\"\n";
        std::fs::write(&path, text).unwrap();
        let err = Config::from_file(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}:6: feeds.items: invalid type: string \"fifty\", expected usize",
                path.display()
            )
        );
        let err = Config::parse("[mail.smtp]\nport = 99999\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2: mail.smtp.port: "), "{err}");
    }

    #[test]
    fn a_bad_value_names_its_line_too() {
        let text = "[site]\ntitle = \"t\"\n[server]\n\nlisten = \"nowhere:port\"\n";
        let err = Config::parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with("line 5: server.listen: \"nowhere:port\""),
            "{err}"
        );
        // A dotted key and an inline table are found as well.
        let err = Config::parse("feeds.items = 0\n").unwrap_err().to_string();
        assert!(err.starts_with("line 1: feeds.items: must be"), "{err}");
        let err = Config::parse("\nmail = { smtp = { connections = 0 }, transport = \"smtp\" }")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2: mail.smtp.connections: "), "{err}");
        // A default at fault has no line.
        let err = Config::parse("[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("line 4: mail.smtp.host: must not be empty"),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Config::parse("[feeds]\nitems = 0\nformats = []\n[server]\nlisten = \"x\"\n")
            .unwrap_err();
        let lines = err.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("line 2: feeds.items"), "{lines:?}");
        assert!(lines[1].starts_with("line 3: feeds.formats"), "{lines:?}");
        assert!(lines[2].starts_with("line 5: server.listen"), "{lines:?}");
    }

    #[test]
    fn listen_takes_address_literals() {
        for ok in ["127.0.0.1:0", "0.0.0.0:80", "[::1]:8080"] {
            let text = format!("[server]\nlisten = \"{ok}\"");
            assert!(Config::parse(&text).is_ok(), "{ok}");
        }
        for bad in [
            "nowhere:port",
            "127.0.0.1",
            "localhost:8080",
            ":80",
            "127.0.0.1:65536",
        ] {
            let text = format!("[server]\nlisten = \"{bad}\"");
            let err = Config::parse(&text).unwrap_err().to_string();
            assert!(err.contains("server.listen"), "{bad}: {err}");
        }
    }

    #[test]
    fn smtp_settings_are_checked_only_for_smtp() {
        assert!(Config::parse("[mail.smtp]\nconnections = 0\n").is_ok());
        let err = Config::parse("[mail]\ntransport = \"smtp\"\n[mail.smtp]\nusername = \"u\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mail.smtp.password_file"), "{err}");
    }

    #[test]
    fn base_url_loses_its_trailing_slash() {
        let c = Config::parse("[site]\nbase_url = \"https://news.example/\"").unwrap();
        assert_eq!(c.site.base_url, "https://news.example");
    }

    #[test]
    fn base_url_needs_a_host() {
        for good in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "https://user@news.example:8443/tidings",
            "https://新聞.例子.广告",
        ] {
            let text = format!("[site]\nbase_url = {good:?}");
            assert!(Config::parse(&text).is_ok(), "{good}");
        }
        for bad in [
            "http://",
            "http:///news.example",
            "http://\\news.example",
            "http://user@",
            "http://:8080",
            "http://news.example:port",
            "http://[::1",
            "ftp://news.example",
        ] {
            let text = format!("[site]\nbase_url = {bad:?}");
            let err = Config::parse(&text).unwrap_err().to_string();
            assert!(err.contains("site.base_url"), "{bad}: {err}");
        }
    }

    #[test]
    fn relative_paths_resolve_against_base_and_systemd_dirs() {
        let c = Config::parse("").unwrap();
        let plain = c
            .clone()
            .resolve(Path::new("/etc/tidings"), &SystemdDirs::default());
        assert_eq!(plain.state.path, PathBuf::from("/etc/tidings/state"));
        assert_eq!(plain.feeds.output, PathBuf::from("/etc/tidings/feeds"));
        let dirs = SystemdDirs {
            state: Some("/var/lib/tidings".into()),
            cache: Some("/var/cache/tidings".into()),
            configuration: Some("/etc/tidings".into()),
        };
        let sd = c.resolve(Path::new("/somewhere"), &dirs);
        assert_eq!(sd.state.path, PathBuf::from("/var/lib/tidings/state"));
        assert_eq!(sd.mail.outbox, PathBuf::from("/var/lib/tidings/outbox"));
        assert_eq!(sd.feeds.output, PathBuf::from("/var/cache/tidings/feeds"));
        assert_eq!(
            sd.digest.secret_file,
            PathBuf::from("/var/lib/tidings/digest.key")
        );
        assert_eq!(sd.store.path, PathBuf::from("/somewhere/articles"));
    }

    #[test]
    fn absolute_paths_stay() {
        let c = Config::parse("[state]\npath = \"/srv/state\"").unwrap();
        let c = c.resolve(Path::new("/etc"), &SystemdDirs::default());
        assert_eq!(c.state.path, PathBuf::from("/srv/state"));
    }

    #[test]
    fn locate_prefers_flag_then_env_then_cwd() {
        let mut env = HashMap::new();
        assert_eq!(locate(None, &env, false), None);
        assert_eq!(locate(None, &env, true), Some(PathBuf::from("config.toml")));
        env.insert("TIDINGS_CONFIG".into(), "/etc/t.toml".into());
        assert_eq!(locate(None, &env, true), Some(PathBuf::from("/etc/t.toml")));
        assert_eq!(
            locate(Some(Path::new("x.toml")), &env, true),
            Some(PathBuf::from("x.toml"))
        );
    }
}
