//! One SMTP connection of the pool: its stage, how its failures are classified, the rate
//! pacer, and the placeholder stream a connection starts from.

use super::*;

/// An open session, with what its EHLO reply advertised.
pub(super) struct Conn {
    pub(super) smtp: AsyncSmtpConnection,
    /// Kept beside the connection because for implicit TLS lettre's own copy describes a
    /// placeholder (see [`SmtpPool::implicit_tls`]).
    pub(super) info: ServerInfo,
    pub(super) last_used: Instant,
}

/// How far a send got; decides whether a failure may be retried on a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Stage {
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

pub(super) enum Failure {
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
    pub(super) fn lost_connection(&self) -> bool {
        matches!(
            self,
            Failure::Lost { .. } | Failure::Timeout { .. } | Failure::Reply { code: 421, .. }
        )
    }

    pub(super) fn stage(&self) -> Stage {
        match self {
            Failure::Setup(_) | Failure::Refused(_) => Stage::Connect,
            Failure::Reply { stage, .. }
            | Failure::Lost { stage, .. }
            | Failure::Timeout { stage } => *stage,
        }
    }

    /// As the caller sees it; every message names the server (`host:port`).
    pub(super) fn into_send_error(self, server: &str, timeout: Duration) -> SendError {
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
pub(super) struct Pacer {
    pub(super) interval: Duration,
    pub(super) next: Mutex<Instant>,
}

impl Pacer {
    pub(super) async fn wait(&self) {
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
pub(super) const PLACEHOLDER_SCRIPT: &[u8] =
    b"220 placeholder\r\n250-placeholder\r\n250 AUTH PLAIN LOGIN\r\n";

/// An in-memory stream that plays [`PLACEHOLDER_SCRIPT`] and swallows what is written.
#[derive(Debug)]
pub(super) struct Placeholder {
    pub(super) unread: &'static [u8],
    pub(super) peer: SocketAddr,
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
