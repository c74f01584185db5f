//! Personal feeds (DESIGN §5): a subscriber's selection — exactly the articles their
//! digest picks, by the digest's own rule ([`Topics::matches`]) — as RSS, Atom and JSON
//! Feed at `/me/{token}/rss.xml`, `…/atom.xml`, `…/feed.json`, for readers who would
//! rather follow it in a feed reader than in mail.
//!
//! The token ([`token::sign_feed`]) names one subscription and never expires; the
//! subscriber record is looked up on every request, so unsubscribing, `subscriber
//! remove` and bouncing revoke the URL at once ([`Access`]), and a change of topics on
//! `/manage` changes what the same URL serves.
//!
//! Cost: sections and keywords come from the index's feed memberships (each feed's
//! newest members, merged newest first), reading only the articles that make the feed.
//! Terms need the text: once the daemon's search index is built ([`Search`]), each term's
//! newest matches over the whole store come from it; and always from a newest-first walk
//! over the last [`TERM_WALK`] arrivals, which the search index takes a moment after they
//! are published — the one place that reads article bodies.
//!
//! [`select`] and [`owner`] read the index; the rest is pure.

use crate::config::Format;
use crate::digests::subscriber::masked;
use crate::digests::token;
use crate::feeds::feed::{self, FeedDoc, Item, OwnFeed, Site};
use crate::feeds::index::{Index, IndexError};
use crate::feeds::search::query::Query;
use crate::feeds::search::Search;
use crate::i18n::Lang;
use crate::model::article::Record;
use crate::model::subscriber::{Status, Subscriber, Topics};
use crate::model::topic::Topic;

/// Arrivals a personal feed with terms reads itself, newest first: all its term matches
/// until the search index is built, and the newest ones it may not have taken yet.
pub const TERM_WALK: usize = 1000;

/// What the holder of a feed token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The subscription stands (active): its feed.
    Feed(Box<Subscriber>),
    /// Not yet confirmed: `403` until the confirmation link is followed; the same URL
    /// works from then on.
    Pending,
    /// Unsubscribed, bounced, removed, or subscribed again since (a new subscription has
    /// a new URL): `410 Gone`.
    Gone,
    /// The token does not verify: `404`, as for any unknown URL (no oracle).
    NotFound,
}

/// Who a feed token belongs to, and whether their feed is served.
pub fn owner(index: &Index, link_key: &[u8], feed_token: &str) -> Result<Access, IndexError> {
    let Ok((email_key, subscribed)) = token::verify_feed(link_key, feed_token) else {
        return Ok(Access::NotFound);
    };
    Ok(match index.subscriber(&email_key)? {
        Some(sub) if sub.created != subscribed => Access::Gone,
        Some(sub) => match sub.status {
            Status::Active => Access::Feed(Box::new(sub)),
            Status::Pending => Access::Pending,
            Status::Unsubscribed | Status::Bounced => Access::Gone,
        },
        None => Access::Gone,
    })
}

/// The URL of a subscriber's personal feed in `format`.
pub fn feed_url(base_url: &str, link_key: &[u8], sub: &Subscriber, format: Format) -> String {
    format!(
        "{}{}",
        folder_url(base_url, link_key, sub),
        format.file_name()
    )
}

/// `{base_url}/me/{token}/`: where the subscriber's feed documents are.
fn folder_url(base_url: &str, link_key: &[u8], sub: &Subscriber) -> String {
    let token = token::sign_feed(link_key, &sub.key(), sub.created);
    format!("{}/me/{token}/", base_url.trim_end_matches('/'))
}

/// The newest `n` articles the digest of `topics` would pick, newest first (ties by id,
/// as in every feed). Sections and keywords: the index's feeds for them; terms: each
/// term's newest `n` matches in `search` when it is built ([`Search::is_ready`]), and the
/// last [`TERM_WALK`] arrivals, newest first, until `n` match (what the search index may
/// not have taken yet). Every article is checked with the digest's rule.
pub fn select(
    index: &Index,
    search: Option<&Search>,
    topics: &Topics,
    n: usize,
) -> Result<Vec<Record>, IndexError> {
    let feeds: Vec<Topic> = topics
        .sections
        .iter()
        .map(|path| Topic::Section(path.clone()))
        .chain(topics.keywords.iter().map(|k| Topic::Keyword(k.clone())))
        .collect();
    let mut picked: Vec<Record> = Vec::new();
    let pick = |rec: Record, picked: &mut Vec<Record>| {
        let known = picked.iter().any(|r| r.article.id == rec.article.id);
        let pick = !known && topics.matches(&rec).is_some();
        if pick {
            picked.push(rec);
        }
        pick
    };
    for id in index.newest_ids_of(&feeds, n) {
        // Removed meanwhile: the index's version has moved, and the caller reads again.
        if let Some(rec) = index.record(&id)? {
            pick(rec, &mut picked);
        }
    }
    if !topics.terms.is_empty() {
        if let Some(search) = search.filter(|s| s.is_ready()) {
            for term in &topics.terms {
                let query = Query {
                    terms: vec![term.clone()],
                    topics: Vec::new(),
                    typed: Vec::new(),
                };
                for rec in search.find(index, &query, n)?.records {
                    pick(rec, &mut picked);
                }
            }
        }
        // The newest arrivals also from the index itself: the search index takes them
        // in a moment after they are published, and a feed read in between holds them.
        let mut found = 0;
        for id in index.latest_arrival_ids(TERM_WALK) {
            if found == n {
                break;
            }
            if let Some(rec) = index.record(&id)? {
                if pick(rec, &mut picked) {
                    found += 1;
                }
            }
        }
    }
    picked.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.article.id.cmp(&b.article.id))
    });
    picked.truncate(n);
    Ok(picked)
}

/// The version a rendered personal feed is cached under: moves with the index (any
/// article added, changed or removed), with the search index when terms were found in
/// it (it follows the index a moment later), and with the subscription's topics.
pub fn cache_version(index_version: u64, search_version: Option<u64>, sub: &Subscriber) -> u64 {
    let mut bytes = index_version.to_be_bytes().to_vec();
    bytes.extend_from_slice(&search_version.unwrap_or(u64::MAX).to_be_bytes());
    bytes.extend_from_slice(&sub.created.to_be_bytes());
    bytes.extend_from_slice(&bincode::serialize(&sub.topics).expect("plain data serializes"));
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The document of a subscriber's feed over the selected `records` (newest first), with
/// the same items as the site's feeds; titled, in the subscriber's language, with whose
/// selection it is (the address masked as in the logs). Returns the bytes and the
/// newest `updated` among the items (unix seconds, 0 for none).
pub fn document(
    site: &Site,
    link_key: &[u8],
    sub: &Subscriber,
    records: &[Record],
    format: Format,
) -> (Vec<u8>, i64) {
    let items: Vec<Item> = records.iter().map(|r| Item::from_record(site, r)).collect();
    let m = sub
        .lang
        .unwrap_or_else(|| Lang::site_default(&site.language))
        .messages();
    let title = format!(
        "{} · {}{}{}",
        site.title,
        m.personal_feed_title_before,
        masked(&sub.email),
        m.personal_feed_title_after
    );
    let id_name = format!("personal:{}:{}", sub.key(), sub.created);
    let doc = FeedDoc {
        topic: &Topic::All,
        title: feed::xml_clean(&title).into_owned(),
        items: items.iter().collect(),
        own: Some(OwnFeed {
            base: folder_url(&site.base_url, link_key, sub),
            id: feed::own_guid(&id_name),
            query: String::new(),
        }),
    };
    let updated = records
        .iter()
        .map(|r| r.updated.max(r.published))
        .max()
        .unwrap_or(0);
    (feed::render(site, &doc, format), updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures::{seed, site};

    fn subscriber() -> Subscriber {
        let topics = Topics::from_input(&["黨派·聲音".into()], &[], &[]).unwrap();
        Subscriber::new(
            "li.wei@example.com",
            topics,
            "0 8 * * *",
            "Asia/Shanghai",
            1_780_000_000,
        )
        .unwrap()
    }

    #[test]
    fn the_document_says_whose_selection_and_links_to_itself() {
        let site = site();
        let sub = subscriber();
        let key = b"0123456789abcdef0123456789abcdef";
        for format in Format::ALL {
            let (bytes, updated) = document(&site, key, &sub, &[seed()], format);
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("l***@example.com"), "{text}");
            assert!(!text.contains("li.wei@"), "the address is masked: {text}");
            let url = feed_url(&site.base_url, key, &sub, format);
            assert!(url.contains("/me/"), "{url}");
            assert!(text.contains(&url), "self link {url} in {text}");
            assert!(!text.contains("\"hub\""), "no hub link: {text}");
            assert_eq!(updated, seed().updated.max(seed().published));
        }
    }

    /// Active: the feed; pending: wait; unsubscribed, bounced, removed or subscribed
    /// again: gone; a token that does not verify, or is made for another page: not found.
    #[test]
    fn who_a_feed_token_belongs_to() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let key = b"0123456789abcdef0123456789abcdef";
        let mut sub = subscriber();
        let url_token = token::sign_feed(key, &sub.key(), sub.created);
        let access = |index: &Index| owner(index, key, &url_token).unwrap();
        assert_eq!(access(&index), Access::Gone, "no such subscriber");
        for (status, expected) in [
            (Status::Pending, Access::Pending),
            (Status::Unsubscribed, Access::Gone),
            (Status::Bounced, Access::Gone),
        ] {
            sub.status = status;
            index.put_subscribers(&[sub.clone()]).unwrap();
            assert_eq!(access(&index), expected, "{status}");
        }
        sub.status = Status::Active;
        index.put_subscribers(&[sub.clone()]).unwrap();
        assert_eq!(access(&index), Access::Feed(Box::new(sub.clone())));
        // The same address subscribed again later: the old URL stays revoked.
        let mut again = subscriber();
        again.created += 86_400;
        again.status = Status::Active;
        index.put_subscribers(&[again.clone()]).unwrap();
        assert_eq!(access(&index), Access::Gone);
        let new_token = token::sign_feed(key, &again.key(), again.created);
        assert!(matches!(
            owner(&index, key, &new_token).unwrap(),
            Access::Feed(_)
        ));
        // Forged, signed with another key, or a manage link's token.
        let manage = token::sign(key, token::Purpose::Manage, &again.key(), i64::MAX);
        for bad in [
            "nonsense",
            "",
            &manage,
            &token::sign_feed(b"another key", &again.key(), again.created),
        ] {
            assert_eq!(owner(&index, key, bad).unwrap(), Access::NotFound, "{bad}");
        }
    }

    #[test]
    fn the_cache_version_moves_with_the_index_and_the_topics() {
        let sub = subscriber();
        let v = cache_version(7, None, &sub);
        assert_eq!(cache_version(7, None, &sub), v);
        assert_ne!(cache_version(8, None, &sub), v);
        assert_ne!(cache_version(7, Some(3), &sub), v);
        assert_ne!(
            cache_version(7, Some(3), &sub),
            cache_version(7, Some(4), &sub)
        );
        let mut changed = sub.clone();
        changed.topics = Topics::from_input(&[], &["重慶市".into()], &[]).unwrap();
        assert_ne!(cache_version(7, None, &changed), v);
        // A digest sent (watermark, last run) does not change the feed.
        let mut sent = sub;
        sent.watermark += 5;
        sent.last_run = Some(1);
        assert_eq!(cache_version(7, None, &sent), v);
    }
}
