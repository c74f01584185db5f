//! Subscribers and deliveries in the index (DESIGN §6): the digest side's records, written
//! in the same sled tree so that a sent digest and the subscriber's new watermark are one
//! write.

use super::*;

impl Index {
    pub fn subscriber(&self, email_key: &str) -> Result<Option<Subscriber>> {
        self.get(prefix::SUBSCRIBER, email_key)
    }

    /// Every subscriber, ordered by address.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>> {
        self.scan(prefix::SUBSCRIBER)
            .map(|kv| {
                let (k, v) = kv?;
                decode(&String::from_utf8_lossy(&k), &v)
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
