//! Mail transports (DESIGN §4 `[mail]`, §6): I/O at the edge that delivers
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

mod connection;
mod outbox;
mod smtp;
use connection::*;
pub use outbox::*;
pub use smtp::*;

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
