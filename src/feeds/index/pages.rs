//! How records are kept in the tree: pages of consecutive arrival numbers, encoded with
//! bincode, and the catalog read back from them when the index opens.

use super::*;

/// Article records use bincode's variable-length integers: a record holds some twenty
/// lengths, and at 8 bytes each they were a third of it (the tree is read whole at open).
pub(super) fn compact() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .allow_trailing_bytes()
}

pub(super) fn encode_page(records: &Page) -> Vec<u8> {
    use bincode::Options;
    compact()
        .serialize(records)
        .expect("in-memory values always serialize")
}

pub(super) fn decode_page(page: u64, bytes: &[u8]) -> Result<Page<'_>> {
    use bincode::Options;
    compact()
        .deserialize(bytes)
        .map_err(|e| IndexError::Corrupt {
            key: format!("article page {page}"),
            reason: e.to_string(),
        })
}

/// Writes a page of records as the catalog has them now (or removes it, empty).
pub(super) fn put_page(batch: &mut sled::Batch, catalog: &Catalog, page: u64) {
    let records: Page = catalog
        .arrived_in(page * PAGE..(page + 1) * PAGE)
        .map(|e| (e.seq, stored(catalog, e)))
        .collect();
    if records.is_empty() {
        batch.remove(&page_key(page));
    } else {
        batch.insert(&page_key(page), encode_page(&records));
    }
}

/// An article's record as the tree stores it.
pub(super) fn stored<'a>(catalog: &'a Catalog, e: &'a Entry) -> Stored<'a> {
    Stored {
        id: &e.id,
        path: &e.path,
        stamp: e.stamp,
        hash: e.hash,
        published: e.published,
        updated: e.updated,
        topics: e
            .topics
            .iter()
            .map(|&(f, sp)| {
                let feed = catalog.feed(f);
                (&*feed.key, &*feed.names[sp as usize].0)
            })
            .collect(),
        blob: e.blob,
    }
}

/// Reads every article record into a catalog.
pub(super) fn load_catalog(tree: &sled::Tree) -> Result<Catalog> {
    let last_seq = match tree.get(key(prefix::META, SEQ_KEY))? {
        Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
        None => 0,
    };
    // Arrival numbers are never reused, so the last one bounds the article count.
    let mut catalog = Catalog::with_capacity(last_seq.min(10_000_000) as usize);
    let mut feeds: FastMap<Box<str>, u32> = FastMap::default();
    for kv in tree.scan_prefix([prefix::ARTICLE]) {
        let (k, v) = kv?;
        let page = k[1..]
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| IndexError::Corrupt {
                key: format!("{k:?}"),
                reason: "not an article page key".into(),
            })?;
        for (seq, s) in decode_page(page, &v)? {
            let mut topics = Vec::with_capacity(s.topics.len());
            for (topic_key, spelling) in s.topics {
                let f = match feeds.get(topic_key) {
                    Some(&f) => f,
                    None => {
                        let f = catalog.intern_feed(&topic_of_key(topic_key.as_bytes())?);
                        feeds.insert(topic_key.into(), f);
                        f
                    }
                };
                topics.push((f, catalog.intern_spelling(f, spelling)));
            }
            catalog.insert(Entry {
                id: s.id.into(),
                path: s.path.into(),
                stamp: s.stamp,
                hash: s.hash,
                published: s.published,
                updated: s.updated,
                seq,
                blob: s.blob,
                topics: topics.into(),
            });
        }
    }
    catalog.settle();
    catalog.trim();
    super::archive::load_archives(tree, &mut catalog)?;
    Ok(catalog)
}
