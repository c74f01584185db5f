//! The first index layout kept a key per store path, per feed membership, per arrival and
//! per feed beside records keyed by id; this turns such a tree into the current one in one
//! atomic batch, keeping every article's arrival number, times and log position (so
//! subscribers' watermarks and first-seen times stay true).

use super::*;

/// A record of the first layout (the test writes them, hence `Serialize` there).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(super) struct OldRecord {
    pub(super) path: String,
    pub(super) hash: u128,
    pub(super) published: i64,
    pub(super) updated: i64,
    pub(super) seq: u64,
    pub(super) topics: Vec<(Topic, String)>,
    pub(super) blob: BlobRef,
}

/// A store path's entry of the first layout.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(super) struct OldPath {
    pub(super) id: String,
    pub(super) stamp: FileStamp,
}

pub(super) fn from_first_layout(tree: &sled::Tree) -> Result<()> {
    let old_keys: Vec<sled::IVec> = prefix::OLD_LAYOUT
        .iter()
        .flat_map(|p| tree.scan_prefix([*p]).keys())
        .collect::<Result<_, _>>()?;
    if old_keys.is_empty() {
        return Ok(());
    }
    let mut stamps: HashMap<String, OldPath> = HashMap::new();
    for kv in tree.scan_prefix([b'p']) {
        let (k, v) = kv?;
        let path = String::from_utf8_lossy(&k[1..]).into_owned();
        stamps.insert(path.clone(), decode(&path, &v)?);
    }
    let mut records = Vec::new();
    for kv in tree.scan_prefix([b'a']) {
        let (k, v) = kv?;
        let id = String::from_utf8_lossy(&k[1..]).into_owned();
        let old: OldRecord = decode(&id, &v)?;
        // A path entry of another id means this file was never re-read: stamp zero
        // makes the next build read it again.
        let stamp = match stamps.get(&old.path) {
            Some(p) if p.id == id => p.stamp,
            _ => FileStamp {
                mtime_ns: 0,
                size: 0,
            },
        };
        let keys: Vec<String> = old
            .topics
            .iter()
            .map(|(t, _)| String::from_utf8(t.index_key()).expect("topic keys are UTF-8"))
            .collect();
        records.push((id, old, stamp, keys));
    }
    records.sort_by_key(|(_, old, _, _)| old.seq);
    let mut batch = sled::Batch::default();
    for group in records.chunk_by(|a, b| a.1.seq / PAGE == b.1.seq / PAGE) {
        let page: Page = group
            .iter()
            .map(|(id, old, stamp, keys)| {
                let record = Stored {
                    id,
                    path: &old.path,
                    stamp: *stamp,
                    hash: old.hash,
                    published: old.published,
                    updated: old.updated,
                    topics: keys
                        .iter()
                        .zip(&old.topics)
                        .map(|(k, (_, spelling))| (k.as_str(), spelling.as_str()))
                        .collect(),
                    blob: old.blob,
                };
                (old.seq, record)
            })
            .collect();
        batch.insert(&page_key(group[0].1.seq / PAGE), encode_page(&page));
    }
    for k in old_keys {
        batch.remove(k);
    }
    batch.remove(key(prefix::META, b"articles"));
    tree.apply_batch(batch)?;
    tree.flush()?;
    Ok(())
}
