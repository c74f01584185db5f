//! The SMTP transport (DESIGN §6): a pool of lettre connections with TLS, AUTH, a rate
//! cap and a timeout on every send.

use super::*;

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
    pub(super) inner: Arc<PoolInner>,
}

pub(super) struct PoolInner {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls_mode: Tls,
    /// Built once: it parses the root store, which is too slow to repeat per connection.
    pub(super) tls: Option<TlsParameters>,
    pub(super) credentials: Option<Credentials>,
    pub(super) hello: ClientId,
    pub(super) timeout: Duration,
    pub(super) idle_timeout: Duration,
    /// One permit per connection: at most `connections` sends are on the wire at a time.
    pub(super) slots: Semaphore,
    /// Connections between sends, most recently used last.
    pub(super) idle: Mutex<Vec<Conn>>,
    pub(super) pacer: Option<Pacer>,
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
    pub(super) fn server(&self) -> String {
        let host = &self.inner.host;
        if host.contains(':') {
            format!("[{host}]:{}", self.inner.port)
        } else {
            format!("{host}:{}", self.inner.port)
        }
    }

    /// The most recently used idle connection still young enough to trust.
    pub(super) fn take_idle(&self) -> Option<Conn> {
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

    pub(super) fn put_idle(&self, conn: Conn) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }

    /// One try: open a session if `conn` is empty, then MAIL, RCPT, DATA and the message.
    /// Leaves `conn` empty when the session is not reusable, and `stage` where it got to.
    pub(super) async fn attempt(
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
    pub(super) async fn open(&self) -> Result<Conn, String> {
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
    pub(super) async fn implicit_tls(
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

pub(super) fn quit_in_background(mut conn: Conn) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.smtp.quit()).await;
    });
}

pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The message as SMTP DATA wants it from lettre: CRLF line endings (a bare LF becomes
/// CRLF), and without its final CRLF, because lettre ends the data with `CRLF . CRLF`
/// and would otherwise add an empty line to the message.
pub(super) fn smtp_body(bytes: &[u8]) -> Cow<'_, [u8]> {
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
