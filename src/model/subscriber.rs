//! Subscribers and deliveries as the index stores them (DESIGN §6). Types only:
//! validation, matching and CSV are `digests::subscriber`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a subscriber is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Signed up on the web, confirmation link not yet followed. Gets no digest.
    Pending,
    Active,
    Unsubscribed,
    /// Too many permanent delivery failures.
    Bounced,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Active,
        Status::Unsubscribed,
        Status::Bounced,
    ];

    /// The lowercase name used in CSV files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Bounced => "bounced",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a subscriber asked for. The key vectors (`sections`, `keywords`, `terms`) are what
/// matching uses; each `*_names` vector runs parallel to its key vector and keeps the
/// spelling the subscriber typed, for the digest's group headings, the manage page and
/// CSV export. Build it with `Topics::from_input`, which keeps the two in step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topics {
    /// Folded section paths, e.g. `["党派·声音", "统一战线"]`.
    pub sections: Vec<Vec<String>>,
    /// Folded keywords, e.g. `"重庆市"`.
    pub keywords: Vec<String>,
    /// Folded and lowercased free-text terms.
    pub terms: Vec<String>,
    /// As typed, segments trimmed and joined by ` > `: `黨派·聲音 > 統一戰線`.
    pub section_names: Vec<String>,
    /// As typed, trimmed.
    pub keyword_names: Vec<String>,
    /// As typed, trimmed.
    pub term_names: Vec<String>,
}

/// One subscriber as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Normalised by `subscriber::normalize_email`; the identity is `subscriber::email_key` of it.
    pub email: String,
    pub topics: Topics,
    /// As typed (trimmed), valid for `Cron::parse`.
    pub schedule: String,
    /// Canonical IANA name, e.g. `Asia/Shanghai`.
    pub tz: String,
    pub status: Status,
    /// Unix seconds.
    pub created: i64,
    /// Index arrival sequence the subscriber has had digests up to: the next digest holds
    /// the matching records with a larger `seq`.
    pub watermark: u64,
    /// Unix seconds of the last digest run for this subscriber, sent or not.
    pub last_run: Option<i64>,
    /// Permanent delivery failures since the last successful one.
    pub bounces: u32,
    /// The language of the subscriber's mails (DESIGN §5): the page's language when
    /// subscribing on the web, `subscriber add --lang`, the CSV `lang` column; `None`
    /// (records stored before there was a choice, or none given) is the site's default.
    /// Last, so that a record of the earlier layout is this one without it (see
    /// `feeds::index::subscribers`).
    pub lang: Option<crate::i18n::Lang>,
}

/// A subscriber as stored before the language was kept: every field of [`Subscriber`]
/// up to `bounces`, in the same order, so that bincode reads an old record with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberWithoutLang {
    pub email: String,
    pub topics: Topics,
    pub schedule: String,
    pub tz: String,
    pub status: Status,
    pub created: i64,
    pub watermark: u64,
    pub last_run: Option<i64>,
    pub bounces: u32,
}

impl From<SubscriberWithoutLang> for Subscriber {
    fn from(old: SubscriberWithoutLang) -> Subscriber {
        Subscriber {
            email: old.email,
            topics: old.topics,
            schedule: old.schedule,
            tz: old.tz,
            status: old.status,
            created: old.created,
            watermark: old.watermark,
            last_run: old.last_run,
            bounces: old.bounces,
            lang: None,
        }
    }
}

/// A digest recorded before it is sent, so that a crash mid-round neither loses it nor
/// sends it twice: on restart a `Pending` one is sent again with the same Message-ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub message_id: String,
    pub period: String,
    /// The subscriber's watermark before this digest, and the one it moves to once sent.
    pub from_seq: u64,
    pub to_seq: u64,
    pub state: DeliveryState,
    /// Unix seconds of the run.
    pub run_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Pending,
    Sent,
    Failed,
}
