//! Subscribers and deliveries in the index (DESIGN §6): the digest side's records, written
//! in the same sled tree so that a sent digest and the subscriber's new watermark are one
//! write.

use super::*;

impl Index {
    pub fn subscriber(&self, email_key: &str) -> Result<Option<Subscriber>> {
        self.tree
            .get(key(prefix::SUBSCRIBER, email_key.as_bytes()))?
            .map(|v| decode_subscriber(email_key, &v))
            .transpose()
    }

    /// Every subscriber, ordered by address.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>> {
        self.scan(prefix::SUBSCRIBER)
            .map(|kv| {
                let (k, v) = kv?;
                decode_subscriber(&String::from_utf8_lossy(&k), &v)
            })
            .collect()
    }

    /// Stores subscribers (new or changed) in one atomic batch; flushed.
    pub fn put_subscribers(&self, subscribers: &[Subscriber]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for s in subscribers {
            batch.insert(key(prefix::SUBSCRIBER, s.key().as_bytes()), encode(s));
        }
        self.tree.apply_batch(batch)?;
        self.flush()
    }

    /// Forgets a subscriber; returns whether there was one. Flushed.
    pub fn remove_subscriber(&self, email_key: &str) -> Result<bool> {
        let existed = self
            .tree
            .remove(key(prefix::SUBSCRIBER, email_key.as_bytes()))?
            .is_some();
        self.flush()?;
        Ok(existed)
    }

    pub fn delivery(&self, email_key: &str) -> Result<Option<Delivery>> {
        self.get(prefix::DELIVERY, email_key)
    }

    /// Every delivery still pending (a round cut short by a crash or a relay outage).
    pub fn pending_deliveries(&self) -> Result<Vec<(String, Delivery)>> {
        let mut out = Vec::new();
        for kv in self.scan(prefix::DELIVERY) {
            let (k, v) = kv?;
            let email = String::from_utf8_lossy(&k).into_owned();
            let d: Delivery = decode(&email, &v)?;
            if d.state == DeliveryState::Pending {
                out.push((email, d));
            }
        }
        Ok(out)
    }

    /// Records a round's recipients before anything is sent; flushed.
    pub fn record_deliveries(&self, deliveries: &[(String, Delivery)]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (email_key, d) in deliveries {
            batch.insert(key(prefix::DELIVERY, email_key.as_bytes()), encode(d));
        }
        self.tree.apply_batch(batch)?;
        self.flush()
    }

    /// After a send: the subscriber (watermark, last run, bounces, status) and the delivery
    /// (its new state) in one atomic batch, flushed.
    pub fn finish_delivery(&self, subscriber: &Subscriber, delivery: &Delivery) -> Result<()> {
        let mut batch = sled::Batch::default();
        let k = subscriber.key();
        batch.insert(key(prefix::SUBSCRIBER, k.as_bytes()), encode(subscriber));
        batch.insert(key(prefix::DELIVERY, k.as_bytes()), encode(delivery));
        self.tree.apply_batch(batch)?;
        self.flush()
    }
}

/// A subscriber record of either layout: the current one, or the one stored before the
/// language was kept ([`SubscriberWithoutLang`], read as the site's default language).
/// bincode has no field names, and the old layout is the new one less its last field, so
/// an old record fails as the current layout (it ends early) and reads as the old. The
/// next write of the subscriber stores the current layout.
fn decode_subscriber(email_key: &str, bytes: &[u8]) -> Result<Subscriber> {
    decode::<Subscriber>(email_key, bytes).or_else(|current| {
        decode::<SubscriberWithoutLang>(email_key, bytes)
            .map(Subscriber::from)
            .map_err(|_| current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::subscriber::{Status, Topics};

    fn old_record() -> SubscriberWithoutLang {
        SubscriberWithoutLang {
            email: "old@example.com".into(),
            topics: Topics {
                keywords: vec!["重庆市".into()],
                keyword_names: vec!["重慶市".into()],
                ..Topics::default()
            },
            schedule: "0 8 * * *".into(),
            tz: "Asia/Shanghai".into(),
            status: Status::Active,
            created: 1_700_000_000,
            watermark: 7,
            last_run: Some(1_700_000_100),
            bounces: 1,
        }
    }

    #[test]
    fn a_record_stored_without_a_language_reads_as_the_site_default() {
        let bytes = encode(&old_record());
        let read = decode_subscriber("k", &bytes).unwrap();
        assert_eq!(read, Subscriber::from(old_record()));
        assert_eq!(read.lang, None);
        assert_eq!(read.watermark, 7);
    }

    #[test]
    fn a_record_with_a_language_keeps_it() {
        let mut sub = Subscriber::from(old_record());
        sub.lang = Some(crate::i18n::Lang::En);
        assert_eq!(decode_subscriber("k", &encode(&sub)).unwrap(), sub);
        sub.lang = None;
        assert_eq!(decode_subscriber("k", &encode(&sub)).unwrap(), sub);
    }

    #[test]
    fn garbage_is_still_corrupt() {
        assert!(decode_subscriber("k", b"\x01\x02").is_err());
    }
}
