//! Mail transports (DESIGN §4 `[mail]`, §6; issue 4 item 6): I/O at the edge that delivers
//! messages [`crate::digests::compose`] has already composed. Two transports behind one
//! [`Transport`]:
//!
//! * [`Outbox`] (the default) writes one `.eml` file per message, atomically, named after
//!   the Message-ID so that a resend replaces the earlier file instead of adding a second.
//! * [`SmtpPool`] speaks SMTP through lettre's connection type over rustls (`starttls`,
//!   `tls` or `none`, AUTH PLAIN/LOGIN), keeps up to `connections` connections open, caps
//!   the message rate across all of them, and bounds every send with a timeout.
//!
//! Failures come back as [`SendError::Temporary`] (4xx, timeouts, lost or refused
//! connections, TLS or AUTH trouble) or [`SendError::Permanent`] (a 5xx reply to the mail
//! transaction). There is no retry policy here beyond replacing, once, a pooled connection
//! the server closed while it sat idle: the digest round owns retries, backoff, bounce
//! counting and pausing.
//!
//! Why not lettre's pooled `AsyncSmtpTransport`: it opens its own sockets, without
//! `TCP_NODELAY`, and lettre writes a message's body and the terminating `.` in two writes.
//! Nagle's algorithm holds the small second write back until the first is acknowledged,
//! and the server delays that acknowledgement (40 ms on Linux) because it has nothing to
//! say before it sees the dot — about 30 messages/s per connection. So this module opens
//! the sockets itself, sets `TCP_NODELAY`, and hands them to
//! [`AsyncSmtpConnection::connect_with_transport`]; the pool around them is its own.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use lettre::address::Address;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
#[allow(deprecated)] // see `SmtpPool::implicit_tls`
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, ServerInfo,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::{self, Tls};

/// The bound on one send: connecting (TCP, TLS, greeting, AUTH) plus the mail transaction.
/// A server that stops answering costs at most this long (twice, when the stalled
/// connection was a pooled one and is replaced once).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Pooled connections idle longer than this are closed rather than reused. Servers drop
/// idle clients after a few minutes (Postfix: 300 s, 10 s under stress), and a connection
/// left over from the previous digest round would only cost a failed round trip.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The SMTP envelope: the addresses the server is told, as opposed to the message's
/// `From:`/`To:` headers. Plain addresses (`a@example.org`; a domain already IDNA-converted
/// by the caller); a `Name <a@example.org>` mailbox is accepted too, so `mail.from` can be
/// passed as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: String,
}

impl Envelope {
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Envelope {
        Envelope {
            from: from.into(),
            to: to.into(),
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a 4xx reply (421 included), a timeout, a refused, dropped
    /// or unusable connection, a TLS or AUTH failure, a full disk. Says nothing against the
    /// recipient.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Will fail the same way again: a 5xx reply to MAIL, RCPT, DATA or the message, or an
    /// envelope address that does not parse.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, SendError::Temporary(_))
    }

    pub fn message(&self) -> &str {
        match self {
            SendError::Temporary(m) | SendError::Permanent(m) => m,
        }
    }
}

/// Where messages go: `mail.transport` in the configuration.
#[derive(Debug, Clone)]
pub enum Transport {
    Outbox(Outbox),
    Smtp(SmtpPool),
}

impl Transport {
    /// The transport `[mail]` asks for: the outbox folder (created if missing), or an SMTP
    /// pool (no connection is opened yet, so a relay that is down does not stop the daemon
    /// from starting). Reads `mail.smtp.password_file` when `mail.smtp.username` is set.
    pub async fn from_config(mail: &config::Mail) -> anyhow::Result<Transport> {
        Ok(match mail.transport {
            config::Transport::Outbox => Transport::Outbox(Outbox::open(&mail.outbox).await?),
            config::Transport::Smtp => {
                Transport::Smtp(SmtpPool::new(SmtpSettings::from_config(&mail.smtp).await?)?)
            }
        })
    }

    /// Delivers `bytes` (a complete RFC 5322 message, CRLF line endings) to
    /// `envelope.to`. `message_id` is the message's `Message-ID` (with or without its angle
    /// brackets): the outbox names the file after it. Safe to call from many tasks at
    /// once; the SMTP pool runs at most `connections` of them at a time.
    pub async fn send(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Transport::Outbox(outbox) => outbox.send(envelope, message_id, bytes).await,
            Transport::Smtp(pool) => pool.send(envelope, message_id, bytes).await,
        }
    }

    /// Ends idle SMTP sessions politely (QUIT); for shutdown. The outbox has nothing to do.
    pub async fn close(&self) {
        if let Transport::Smtp(pool) = self {
            pool.close().await;
        }
    }
}

/// An envelope address as lettre's [`Address`]; a bad one is the message's permanent
/// problem (sending it again will not make it parse).
fn parse_address(text: &str, role: &str) -> Result<Address, SendError> {
    let text = text.trim();
    Address::from_str(text)
        .or_else(|_| Mailbox::from_str(text).map(|m| m.email))
        .map_err(|e| SendError::Permanent(format!("envelope {role} {text:?}: {e}")))
}

// ---------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------

/// One `.eml` file per message in a folder, for running without a mail server and for
/// handing mail to another program (e.g. a pickup script that feeds `sendmail -t`).
///
/// The file is `{Message-ID}.eml` (the ID without angle brackets, made safe as a file
/// name), so a message sent again — same ID, by design — replaces its earlier copy. It
/// holds the message as given, preceded by two header fields that record the envelope,
/// `X-Tidings-Envelope-From` and `X-Tidings-Envelope-To`; header fields may come in any
/// order, so the file stays an RFC 5322 message. Files are written to a temporary name
/// (`.tmp-…`, hidden from `*.eml` globs) in the same folder, synced, renamed into place,
/// and the folder synced: a reader never sees half a message, and a message reported sent
/// survives a power cut. Files are created with mode 0600: they carry addresses and
/// personal unsubscribe links.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// The outbox in `dir`, creating the folder (and its parents) if missing.
    pub async fn open(dir: impl Into<PathBuf>) -> anyhow::Result<Outbox> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating the outbox folder {}", dir.display()))?;
        Ok(Outbox { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the message with this Message-ID is (or would be) written.
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        self.dir.join(format!("{}.eml", file_stem(message_id)))
    }

    pub async fn send(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let from = parse_address(&envelope.from, "sender")?;
        let to = parse_address(&envelope.to, "recipient")?;
        // Match the message's own line endings so the prepended fields do not mix styles.
        let eol = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && bytes[i - 1] == b'\r' => "\r\n",
            Some(_) => "\n",
            None => "\r\n",
        };
        let head =
            format!("X-Tidings-Envelope-From: <{from}>{eol}X-Tidings-Envelope-To: <{to}>{eol}");
        let dir = self.dir.clone();
        let path = self.path_for(message_id);
        let body = bytes.to_vec();
        // File writes and fsync block; keep them off the async workers.
        let written = tokio::task::spawn_blocking(move || {
            write_atomically(&dir, &path, &[head.as_bytes(), &body]).map_err(|e| (path, e))
        })
        .await
        .map_err(|e| SendError::Temporary(format!("outbox writer: {e}")))?;
        written
            .map_err(|(path, e)| SendError::Temporary(format!("writing {}: {e}", path.display())))
    }
}

/// Temporary file in `dir`, all of `parts`, fsync, rename over `path`, fsync of `dir`.
fn write_atomically(dir: &Path, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let temp = || {
        tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".eml.part")
            .tempfile_in(dir)
    };
    let mut file = match temp() {
        Ok(file) => file,
        // Someone removed the outbox under the running daemon: make it again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            temp()?
        }
        Err(e) => return Err(e),
    };
    for part in parts {
        file.write_all(part)?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the folder's entry is on disk.
    std::fs::File::open(dir)?.sync_all()
}

/// A file name (without `.eml`) for a Message-ID: the ID without its angle brackets, with
/// anything but `A-Z a-z 0-9 . _ - + = @` replaced by `_` and no leading dot. When that
/// changed the ID (or it is very long), a hash of the original is appended so two IDs
/// cannot share a file.
pub fn file_stem(message_id: &str) -> String {
    let id = message_id.trim();
    let id = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    const MAX: usize = 150;
    let mut stem: String = id
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '+' | '=' | '@' => c,
            _ => '_',
        })
        .take(MAX)
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    if stem != id || stem.is_empty() {
        let hash = xxhash_rust::xxh3::xxh3_64(message_id.trim().as_bytes());
        stem.push_str(&format!("-{hash:016x}"));
    }
    stem
}

// ---------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------

/// What an [`SmtpPool`] needs: `[mail.smtp]` with the password read, plus the knobs tests
/// and benchmarks turn (timeouts, extra trusted CA certificates, the EHLO name).
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Empty: no AUTH.
    pub username: String,
    pub password: String,
    /// Parallel connections (at least 1).
    pub connections: usize,
    /// Messages per second across all connections; 0 = no cap.
    pub rate: u32,
    /// See [`SEND_TIMEOUT`].
    pub timeout: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// PEM certificates trusted in addition to the built-in (Mozilla) roots, e.g. a
    /// private CA's or, in tests, a throwaway one.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// The EHLO name; `None` is the machine's host name.
    pub hello_name: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("connections", &self.connections)
            .field("rate", &self.rate)
            .field("timeout", &self.timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("extra_roots_pem", &self.extra_roots_pem.len())
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

impl SmtpSettings {
    /// `[mail.smtp]` with this password (see [`read_password`]), the default timeouts, no
    /// extra roots and the machine's host name for EHLO.
    pub fn new(smtp: &config::Smtp, password: String) -> SmtpSettings {
        SmtpSettings {
            host: smtp.host.clone(),
            port: smtp.port,
            tls: smtp.tls,
            username: smtp.username.clone(),
            password,
            connections: smtp.connections,
            rate: smtp.rate,
            timeout: SEND_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            extra_roots_pem: Vec::new(),
            hello_name: None,
        }
    }

    /// [`SmtpSettings::new`] with the password read from `password_file` (only when
    /// `username` is set; errors name the file).
    pub async fn from_config(smtp: &config::Smtp) -> anyhow::Result<SmtpSettings> {
        let password = if smtp.username.is_empty() {
            String::new()
        } else {
            read_password(&smtp.password_file).await?
        };
        let mut settings = SmtpSettings::new(smtp, password);
        if !smtp.ca_file.as_os_str().is_empty() {
            let pem = tokio::fs::read(&smtp.ca_file).await.map_err(|e| {
                anyhow::anyhow!("mail.smtp.ca_file {}: {e}", smtp.ca_file.display())
            })?;
            settings.extra_roots_pem.push(pem);
        }
        Ok(settings)
    }
}

/// The password in `path`: the file's text without its trailing line break (an editor
/// adds one; it is not part of the password). Other whitespace is kept: a password may
/// end in a space. Warns when other users may read the file.
pub async fn read_password(path: &Path) -> anyhow::Result<String> {
    anyhow::ensure!(
        !path.as_os_str().is_empty(),
        "mail.smtp.username is set but mail.smtp.password_file is not"
    );
    let bytes = tokio::fs::read(path)
        .await
        .with_context(|| format!("reading mail.smtp.password_file {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("mail.smtp.password_file {}: not UTF-8 text", path.display())
    })?;
    let password = text.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "mail.smtp.password_file {} is empty",
        path.display()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = tokio::fs::metadata(path).await {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    "mail.smtp.password_file is readable by other users; chmod 600 it"
                );
            }
        }
    }
    Ok(password)
}

/// A pool of up to `connections` SMTP sessions to one relay. Cheap to clone (shared).
#[derive(Clone)]
pub struct SmtpPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    host: String,
    port: u16,
    tls_mode: Tls,
    /// Built once: it parses the root store, which is too slow to repeat per connection.
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    idle_timeout: Duration,
    /// One permit per connection: at most `connections` sends are on the wire at a time.
    slots: Semaphore,
    /// Connections between sends, most recently used last.
    idle: Mutex<Vec<Conn>>,
    pacer: Option<Pacer>,
}

impl fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("SmtpPool")
            .field("host", &inner.host)
            .field("port", &inner.port)
            .field("tls", &inner.tls_mode)
            .field("auth", &inner.credentials.is_some())
            .field("timeout", &inner.timeout)
            .finish_non_exhaustive()
    }
}

/// An open session, with what its EHLO reply advertised.
struct Conn {
    smtp: AsyncSmtpConnection,
    /// Kept beside the connection because for implicit TLS lettre's own copy describes a
    /// placeholder (see [`SmtpPool::implicit_tls`]).
    info: ServerInfo,
    last_used: Instant,
}

/// How far a send got; decides whether a failure may be retried on a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Connect,
    Mail,
    Rcpt,
    Data,
    /// The message is on the wire: from here the server may have accepted it.
    Body,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connecting",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "end of data",
        })
    }
}

enum Failure {
    /// Opening the session failed: TCP, TLS, greeting, EHLO, STARTTLS or AUTH.
    Setup(String),
    /// A 4xx/5xx reply within the mail transaction.
    Reply {
        stage: Stage,
        code: u16,
        text: String,
    },
    /// The connection broke: an I/O error, end of stream, a garbled reply.
    Lost { stage: Stage, detail: String },
    /// No progress within the timeout.
    Timeout { stage: Stage },
    /// The client cannot send this message through this server (e.g. 8-bit content to a
    /// server without 8BITMIME).
    Refused(String),
}

impl Failure {
    /// The connection cannot be trusted to have been alive when this send began.
    fn lost_connection(&self) -> bool {
        matches!(
            self,
            Failure::Lost { .. } | Failure::Timeout { .. } | Failure::Reply { code: 421, .. }
        )
    }

    fn stage(&self) -> Stage {
        match self {
            Failure::Setup(_) | Failure::Refused(_) => Stage::Connect,
            Failure::Reply { stage, .. }
            | Failure::Lost { stage, .. }
            | Failure::Timeout { stage } => *stage,
        }
    }

    /// As the caller sees it; every message names the server (`host:port`).
    fn into_send_error(self, server: &str, timeout: Duration) -> SendError {
        match self {
            Failure::Setup(m) => SendError::Temporary(m),
            Failure::Reply { stage, code, text } => {
                let m = format!("{server}: {stage}: {code} {text}");
                if (500..600).contains(&code) {
                    SendError::Permanent(m)
                } else {
                    SendError::Temporary(m)
                }
            }
            Failure::Lost { stage, detail } => {
                SendError::Temporary(format!("{server}: {stage}: connection lost: {detail}"))
            }
            Failure::Timeout { stage } => SendError::Temporary(format!(
                "{server}: {stage}: no answer within {:.1} s",
                timeout.as_secs_f64()
            )),
            Failure::Refused(m) => SendError::Permanent(m),
        }
    }
}

/// Spaces sends `1/rate` apart across all connections: a token bucket holding one token,
/// so the cap also holds over any short window (relays count per second).
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// Canned replies for the placeholder session of [`SmtpPool::implicit_tls`]: a greeting
/// and an EHLO reply. AUTH PLAIN and LOGIN are listed because lettre's `auth` checks its
/// own copy of the server's features; the real ones are checked before it is called.
const PLACEHOLDER_SCRIPT: &[u8] = b"220 placeholder\r\n250-placeholder\r\n250 AUTH PLAIN LOGIN\r\n";

/// An in-memory stream that plays [`PLACEHOLDER_SCRIPT`] and swallows what is written.
#[derive(Debug)]
struct Placeholder {
    unread: &'static [u8],
    peer: SocketAddr,
}

impl AsyncRead for Placeholder {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = this.unread.len().min(buf.remaining());
        buf.put_slice(&this.unread[..n]);
        this.unread = &this.unread[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Placeholder {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncTokioStream for Placeholder {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl SmtpPool {
    /// A pool for `settings`; no connection is opened until the first send. Fails on an
    /// unusable CA certificate or host name for TLS.
    pub fn new(settings: SmtpSettings) -> anyhow::Result<SmtpPool> {
        // `[::1]` is how a URL would write it; sockets and TLS want the bare address.
        let host = settings
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        anyhow::ensure!(!host.is_empty(), "mail.smtp.host is empty");
        let tls = match settings.tls {
            Tls::None => None,
            Tls::Starttls | Tls::Tls => {
                let mut builder = TlsParameters::builder(host.clone());
                for pem in &settings.extra_roots_pem {
                    let cert = Certificate::from_pem(pem)
                        .context("an extra root certificate for mail.smtp")?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(
                    builder
                        .build_rustls()
                        .with_context(|| format!("TLS settings for mail.smtp.host {host}"))?,
                )
            }
        };
        let credentials = if settings.username.is_empty() {
            None
        } else {
            if settings.tls == Tls::None && !is_loopback(&host) {
                tracing::warn!(
                    host = %host,
                    "mail.smtp.tls = \"none\" with a username: the password crosses the network in clear"
                );
            }
            Some(Credentials::new(
                settings.username.clone(),
                settings.password.clone(),
            ))
        };
        let hello = match &settings.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
        let connections = settings.connections.max(1);
        let pacer = (settings.rate > 0).then(|| Pacer {
            interval: Duration::from_secs_f64(1.0 / f64::from(settings.rate)),
            next: Mutex::new(Instant::now()),
        });
        Ok(SmtpPool {
            inner: Arc::new(PoolInner {
                host,
                port: settings.port,
                tls_mode: settings.tls,
                tls,
                credentials,
                hello,
                timeout: settings.timeout,
                idle_timeout: settings.idle_timeout,
                slots: Semaphore::new(connections),
                idle: Mutex::new(Vec::with_capacity(connections)),
                pacer,
            }),
        })
    }

    /// Sends one message; see [`Transport::send`].
    pub async fn send(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let from = parse_address(&envelope.from, "sender")?;
        let to = parse_address(&envelope.to, "recipient")?;
        let body = smtp_body(bytes);
        if let Some(pacer) = &self.inner.pacer {
            pacer.wait().await;
        }
        let _permit = self
            .inner
            .slots
            .acquire()
            .await
            .expect("the pool never closes its semaphore");

        let mut retried = false;
        loop {
            let mut conn = self.take_idle();
            let reused = conn.is_some();
            let mut stage = Stage::Connect;
            let attempt = self.attempt(&mut conn, &mut stage, &from, &to, &body);
            let failure = match tokio::time::timeout(self.inner.timeout, attempt).await {
                Ok(Ok(())) => {
                    if let Some(mut conn) = conn {
                        conn.last_used = Instant::now();
                        self.put_idle(conn);
                    }
                    return Ok(());
                }
                Ok(Err(failure)) => failure,
                Err(_) => {
                    // Dropping the session closes its socket: its state is unknown.
                    conn = None;
                    Failure::Timeout { stage }
                }
            };
            // A pooled connection the server closed while it sat idle fails on its first
            // command. Until the message body is on the wire the server cannot have
            // accepted it, so one retry on a fresh connection cannot duplicate it.
            if reused && !retried && failure.lost_connection() && failure.stage() < Stage::Body {
                tracing::debug!(
                    message_id,
                    stage = %failure.stage(),
                    "stale pooled SMTP connection; reconnecting"
                );
                retried = true;
                continue;
            }
            if let Some(mut conn) = conn {
                conn.last_used = Instant::now();
                self.put_idle(conn);
            }
            return Err(failure.into_send_error(&self.server(), self.inner.timeout));
        }
    }

    /// Sends QUIT on every idle connection and closes them (waiting at most a second
    /// each); connections busy with a send are closed when it ends and the pool is dropped.
    pub async fn close(&self) {
        let idle: Vec<Conn> = std::mem::take(
            &mut *self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for mut conn in idle {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.smtp.quit()).await;
        }
    }

    /// `host:port`, for messages.
    fn server(&self) -> String {
        let host = &self.inner.host;
        if host.contains(':') {
            format!("[{host}]:{}", self.inner.port)
        } else {
            format!("{host}:{}", self.inner.port)
        }
    }

    /// The most recently used idle connection still young enough to trust.
    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while let Some(conn) = idle.pop() {
            if conn.last_used.elapsed() < self.inner.idle_timeout {
                return Some(conn);
            }
            quit_in_background(conn);
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }

    /// One try: open a session if `conn` is empty, then MAIL, RCPT, DATA and the message.
    /// Leaves `conn` empty when the session is not reusable, and `stage` where it got to.
    async fn attempt(
        &self,
        conn: &mut Option<Conn>,
        stage: &mut Stage,
        from: &Address,
        to: &Address,
        body: &[u8],
    ) -> Result<(), Failure> {
        if conn.is_none() {
            *stage = Stage::Connect;
            *conn = Some(self.open().await.map_err(Failure::Setup)?);
        }
        let Some(c) = conn.as_mut() else {
            unreachable!("just filled")
        };

        let mut params = Vec::new();
        if !AsRef::<str>::as_ref(from).is_ascii() || !AsRef::<str>::as_ref(to).is_ascii() {
            if !c.info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Refused(format!(
                    "{}: the envelope <{from}> → <{to}> needs SMTPUTF8, which the server does not offer",
                    self.server()
                )));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() {
            if !c.info.supports_feature(Extension::EightBitMime) {
                return Err(Failure::Refused(format!(
                    "{}: the message has 8-bit content and the server does not offer 8BITMIME",
                    self.server()
                )));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }

        *stage = Stage::Mail;
        let result = c.smtp.command(Mail::new(Some(from.clone()), params)).await;
        settle(conn, *stage, result.map(drop)).await?;

        *stage = Stage::Rcpt;
        let c = conn.as_mut().expect("kept by settle on success");
        let result = c.smtp.command(Rcpt::new(to.clone(), Vec::new())).await;
        settle(conn, *stage, result.map(drop)).await?;

        *stage = Stage::Data;
        let c = conn.as_mut().expect("kept by settle on success");
        let result = c.smtp.command(Data).await;
        settle(conn, *stage, result.map(drop)).await?;

        *stage = Stage::Body;
        let c = conn.as_mut().expect("kept by settle on success");
        let result = c.smtp.message(body).await;
        settle(conn, *stage, result.map(drop)).await
    }

    /// A new session: TCP with `TCP_NODELAY`, then TLS as configured, EHLO, AUTH.
    async fn open(&self) -> Result<Conn, String> {
        let inner = &self.inner;
        let server = self.server();
        let tcp = TcpStream::connect((inner.host.as_str(), inner.port))
            .await
            .map_err(|e| format!("connecting to {server}: {e}"))?;
        // The point of opening the socket here rather than in lettre: see the module doc.
        tcp.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY on the connection to {server}: {e}"))?;
        let peer = tcp
            .peer_addr()
            .map_err(|e| format!("connection to {server}: {e}"))?;
        let setup =
            |what: &str, e: lettre::transport::smtp::Error| format!("{server}: {what}: {e}");

        let (mut smtp, info) = if inner.tls_mode == Tls::Tls {
            let tls = inner.tls.clone().expect("TLS parameters are built for tls");
            self.implicit_tls(tcp, peer, tls, &server).await?
        } else {
            let mut smtp = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &inner.hello)
                .await
                .map_err(|e| setup("greeting or EHLO", e))?;
            if inner.tls_mode == Tls::Starttls {
                // Never fall back to plain text when TLS was asked for.
                if !smtp.can_starttls() {
                    return Err(format!("{server}: the server does not offer STARTTLS"));
                }
                let tls = inner
                    .tls
                    .clone()
                    .expect("TLS parameters are built for starttls");
                smtp.starttls(tls, &inner.hello)
                    .await
                    .map_err(|e| setup("STARTTLS", e))?;
            }
            let info = smtp.server_info().clone();
            (smtp, info)
        };

        if let Some(credentials) = &inner.credentials {
            let mechanism = [Mechanism::Plain, Mechanism::Login]
                .into_iter()
                .find(|m| info.supports_auth_mechanism(*m))
                .ok_or_else(|| {
                    format!("{server}: the server offers neither AUTH PLAIN nor AUTH LOGIN")
                })?;
            smtp.auth(&[mechanism], credentials)
                .await
                .map_err(|e| setup("AUTH", e))?;
        }
        tracing::debug!(server = %server, encrypted = smtp.is_encrypted(), "SMTP connection open");
        Ok(Conn {
            smtp,
            info,
            last_used: Instant::now(),
        })
    }

    /// Implicit TLS ("SMTPS", port 465) over our own socket. lettre offers it only on a
    /// socket it opens itself (no `TCP_NODELAY`), and `connect_with_transport` reads the
    /// greeting at once, before any TLS could start. So: run the TLS handshake on our
    /// socket through lettre's `AsyncNetworkStream` (public, but deprecated as "not meant
    /// to be public" — the only door to lettre's rustls setup; lettre is pinned by
    /// Cargo.lock), build the session object over a placeholder stream that plays a
    /// canned greeting and EHLO reply, swap the TLS stream in (`set_stream`), then read
    /// the real greeting and send the real EHLO. The real EHLO reply is kept in
    /// [`Conn::info`]; sends never rely on lettre's copy, which describes the placeholder.
    #[allow(deprecated)]
    async fn implicit_tls(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        tls: TlsParameters,
        server: &str,
    ) -> Result<(AsyncSmtpConnection, ServerInfo), String> {
        let hello = &self.inner.hello;
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream
            .upgrade_tls(tls)
            .await
            .map_err(|e| format!("{server}: TLS handshake: {e}"))?;
        let placeholder = Placeholder {
            unread: PLACEHOLDER_SCRIPT,
            peer,
        };
        let mut smtp = AsyncSmtpConnection::connect_with_transport(Box::new(placeholder), hello)
            .await
            .map_err(|e| format!("{server}: placeholder session: {e}"))?;
        smtp.set_stream(stream);
        smtp.read_response()
            .await
            .map_err(|e| format!("{server}: greeting: {e}"))?;
        let ehlo = smtp
            .command(Ehlo::new(hello.clone()))
            .await
            .map_err(|e| format!("{server}: EHLO: {e}"))?;
        let info =
            ServerInfo::from_response(&ehlo).map_err(|e| format!("{server}: EHLO reply: {e}"))?;
        Ok((smtp, info))
    }
}

/// Turns one command's outcome into the attempt's, and decides the session's fate: a
/// negative reply other than 421 leaves it usable once the transaction is reset (RSET;
/// not needed after the reply to the message, which ends the transaction); a 421 (the
/// server is closing) or a broken stream leaves nothing to reuse.
async fn settle(
    conn: &mut Option<Conn>,
    stage: Stage,
    result: Result<(), lettre::transport::smtp::Error>,
) -> Result<(), Failure> {
    let e = match result {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let Some(code) = e.status().map(u16::from) else {
        *conn = None;
        return Err(Failure::Lost {
            stage,
            detail: e.to_string(),
        });
    };
    let text = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if code == 421 {
        *conn = None;
    } else if stage < Stage::Body {
        if let Some(c) = conn.as_mut() {
            if c.smtp.command(Rset).await.is_err() {
                *conn = None;
            }
        }
    }
    Err(Failure::Reply { stage, code, text })
}

fn quit_in_background(mut conn: Conn) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.smtp.quit()).await;
    });
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The message as SMTP DATA wants it from lettre: CRLF line endings (a bare LF becomes
/// CRLF), and without its final CRLF, because lettre ends the data with `CRLF . CRLF`
/// and would otherwise add an empty line to the message.
fn smtp_body(bytes: &[u8]) -> Cow<'_, [u8]> {
    let bare_lf = bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'));
    let mut body: Cow<'_, [u8]> = if bare_lf {
        let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    };
    if body.ends_with(b"\r\n") {
        match &mut body {
            Cow::Borrowed(b) => *b = &b[..b.len() - 2],
            Cow::Owned(v) => v.truncate(v.len() - 2),
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(
            file_stem("<20261124.5f2c@news.example>"),
            "20261124.5f2c@news.example"
        );
        // Changed IDs get a hash, so distinct IDs never share a file.
        let a = file_stem("<a/b@x>");
        let b = file_stem("<a_b@x>");
        assert!(a.starts_with("a_b@x-"), "{a}");
        assert_eq!(b, "a_b@x");
        assert_ne!(a, b);
        assert!(!file_stem("<../../etc/passwd>").contains('/'));
        assert!(!file_stem("<.hidden@x>").starts_with('.'));
        assert!(!file_stem("<>").is_empty());
        assert!(file_stem(&format!("<{}@x>", "y".repeat(1000))).len() < 200);
    }

    #[test]
    fn smtp_bodies() {
        assert_eq!(&*smtp_body(b"A: b\r\n\r\nbody\r\n"), b"A: b\r\n\r\nbody");
        assert_eq!(&*smtp_body(b"A: b\n\nbody\n"), b"A: b\r\n\r\nbody");
        assert_eq!(&*smtp_body(b"A: b\r\n\r\nbody"), b"A: b\r\n\r\nbody");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("tidings <tidings@localhost>", "sender").unwrap(),
            Address::new("tidings", "localhost").unwrap()
        );
        assert!(matches!(
            parse_address("not an address", "recipient"),
            Err(SendError::Permanent(_))
        ));
    }
}
