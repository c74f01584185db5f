//! The index: every sled call of tidings lives here. It records each article once — its
//! path and file stamp, first-seen publication time (set once, never changed), a content
//! hash (so `updated` moves only when content does), its arrival number and the feeds it
//! belongs to with the spelling it uses for each — plus which feeds still need
//! publishing, subscribers and deliveries. Article contents live in an append-only log
//! beside the tree; what is looked up by path, id or feed is derived from the records
//! into a [`catalog`] when the index opens.
//!
//! Each batch of changes is one atomic sled batch and is flushed before the caller goes
//! on, so a crash leaves either the old or the new state, and feeds marked dirty stay
//! dirty until they have been published.

mod archive;
mod batch;
mod log;
mod migrate;
mod pages;
mod subscribers;
mod vocabulary;
pub use archive::ArchivePage;
use log::*;
use pages::*;
pub use vocabulary::FeedFacts;

mod catalog;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use crate::feeds::topic::topics_of;
use crate::model::article::Article;
use crate::model::article::{FileStamp, Record};
use crate::model::subscriber::{Delivery, DeliveryState};
use crate::model::subscriber::{Subscriber, SubscriberWithoutLang};
use crate::model::topic::Topic;
use catalog::{Catalog, Entry, FastMap, Slot};

/// How long [`Index::open`] waits for sled to let go of the lock of the database it has
/// just closed (its flusher thread ends within one flush interval, well under a second).
const REOPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// sled's database in `dir`. While another holds its lock: [`IndexError::Locked`] at once
/// (`patience` zero: another process has the index), or after waiting up to `patience`.
fn open_db(dir: &Path, patience: std::time::Duration) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .mode(sled::Mode::HighThroughput)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(IndexError::Locked {
                        path: dir.to_owned(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(source) => {
                return Err(IndexError::Open {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

/// sled's page cache; its default (1 GiB) lets RSS grow far past what a feed server needs.
/// The tree is read whole only when the index opens (the catalog keeps the rest), so 8 MB
/// serve the daemon as well as 32 MB did (BENCHMARKS.md, "memory and speed of the cold build").
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("state directory {path}: in use by another tidings process (stop it, or hand the command to it)")]
    Locked { path: PathBuf },
    #[error("state directory {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("index: {0}")]
    Sled(#[from] sled::Error),
    #[error("index: corrupt record {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A file of the state directory beside the tree (the search index).
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

type Result<T, E = IndexError> = std::result::Result<T, E>;

/// An article's record in the tree: everything but its content, which lives in the
/// article log and is referenced by position. Topics are stored by their index keys, so
/// that opening the index reads them without decoding. Records are kept in pages of
/// [`PAGE`] consecutive arrival numbers, one tree value per page: opening the index reads
/// every record, and sled's per-item cost for 100,000 small values was most of that.
#[derive(Debug, Serialize, Deserialize)]
struct Stored<'a> {
    id: &'a str,
    path: &'a str,
    stamp: FileStamp,
    hash: u128,
    published: i64,
    updated: i64,
    #[serde(borrow)]
    topics: Vec<(&'a str, &'a str)>,
    blob: BlobRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct BlobRef {
    offset: u64,
    len: u32,
}

/// Per-feed facts the manifest and titles need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInfo {
    pub count: u64,
    /// Spelling → how many articles use it.
    pub names: BTreeMap<String, u32>,
}

impl FeedInfo {
    /// The spelling seen most often (ties: the smallest, so the choice is stable).
    pub fn title(&self) -> &str {
        self.names
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(name, _)| name.as_str())
            .unwrap_or("")
    }
}

/// A parsed file, ready to record: [`Incoming::new`] does the costly part (folding its
/// topics, encoding and hashing it) so that callers can run it in parallel. It keeps the
/// article only in its encoded form.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub path: String,
    pub stamp: FileStamp,
    /// The article's id.
    pub id: String,
    /// Publication time the article itself states (already read in the site's zone).
    pub stated_published: Option<i64>,
    pub stated_updated: Option<i64>,
    /// The file's modification time, unix seconds.
    pub mtime: i64,
    topics: Vec<(Topic, String)>,
    /// The article framed for the log.
    framed: Vec<u8>,
    hash: u128,
}

impl Incoming {
    pub fn new(
        path: String,
        stamp: FileStamp,
        article: Article,
        stated_published: Option<i64>,
        stated_updated: Option<i64>,
        mtime: i64,
    ) -> Incoming {
        let framed = frame(&article);
        Incoming {
            hash: xxhash_rust::xxh3::xxh3_128(&framed[LOG_HEADER..]),
            topics: topics_of(&article),
            framed,
            path,
            stamp,
            id: article.id,
            stated_published,
            stated_updated,
            mtime,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    New,
    Changed,
    Unchanged,
    /// Its id is held by another file that still exists.
    Collision {
        other: String,
    },
}

/// What one [`Index::apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// One per `Incoming`, in order.
    pub outcomes: Vec<Outcome>,
    pub removed: usize,
    /// Feeds whose content changed.
    pub dirty: BTreeSet<Topic>,
}

/// Every feed with its facts.
pub type FeedTable = BTreeMap<Topic, FeedInfo>;

pub struct Index {
    db: sled::Db,
    /// Everything lives in one tree under one-byte prefixes, so that each batch of
    /// changes is a single atomic `apply_batch` (sled's multi-tree transactions were 15×
    /// slower here).
    tree: sled::Tree,
    /// Taken after the catalog's lock, never before (`compact_log` swaps it while holding
    /// the catalog's write lock).
    log: RwLock<ArticleLog>,
    /// Derived from the article records at open, kept in step by `apply`.
    catalog: RwLock<Catalog>,
    /// Set when a failed write could not be undone in the catalog; the next write reads
    /// it back from the tree first.
    diverged: std::sync::atomic::AtomicBool,
    dir: PathBuf,
    /// Articles per archive page (`feeds.items`; 0 until told): with it, a batch
    /// completes the archive pages it fills before anyone reads them (DESIGN §2
    /// "Archives").
    archive_page_size: std::sync::atomic::AtomicUsize,
}

/// Key prefixes of the one tree.
mod prefix {
    /// page number (arrival number / PAGE, big-endian) → the page's records
    pub const ARTICLE: u8 = b'A';
    /// topic → () while its documents need publishing
    pub const DIRTY: u8 = b'd';
    /// topic → `updated` of its published documents
    pub const RENDERED: u8 = b'r';
    /// name → value
    pub const META: u8 = b'x';
    /// email key → Subscriber
    pub const SUBSCRIBER: u8 = b's';
    /// email key → Delivery: the digest in flight or last sent to a subscriber
    pub const DELIVERY: u8 = b'D';
    /// topic → the arrival numbers that end its complete archive pages (8 bytes each)
    pub const ARCHIVE: u8 = b'h';
    /// Prefixes of the first index layout (one key per path, per feed membership and
    /// per arrival, and records keyed by id), read once to migrate and then removed.
    pub const OLD_LAYOUT: [u8; 5] = [b'a', b'p', b'm', b'f', b'q'];
}

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

/// Articles per page of records (by arrival number). A page is rewritten whole when one
/// of its articles changes: 32 records are ~5 KB. (sled puts a leaf of up to 16 values
/// over 128 KB into a file of its own, which made a cold build 30 % slower with 10 KB
/// pages.)
const PAGE: u64 = 32;

fn page_key(page: u64) -> [u8; 9] {
    let mut k = [prefix::ARTICLE; 9];
    k[1..].copy_from_slice(&page.to_be_bytes());
    k
}

/// A page of records, each with its arrival number.
type Page<'a> = Vec<(u64, Stored<'a>)>;

/// Feeds per batch of [`Index::finish_publish`] and [`Index::mark_dirty`].
const FINISH_BATCH: usize = 1024;

const SEQ_KEY: &[u8] = b"seq";
/// The article log's generation (absent: 0).
const LOG_KEY: &[u8] = b"log";

impl Index {
    pub fn open(dir: &Path) -> Result<Index> {
        Index::open_waiting(dir, std::time::Duration::ZERO)
    }

    /// [`Index::open`], waiting up to `patience` while another holds sled's lock: as the
    /// index this process has just dropped does for a moment (sled lets go of the lock
    /// when its flusher thread ends).
    pub fn open_waiting(dir: &Path, patience: std::time::Duration) -> Result<Index> {
        let db = open_db(dir, patience)?;
        let tree = db.open_tree("index")?;
        migrate::from_first_layout(&tree)?;
        let generation = log_generation(&tree)?;
        remove_stale_logs(dir, generation);
        let log =
            ArticleLog::open(&dir.join(log_name(generation))).map_err(|e| IndexError::Open {
                path: dir.to_owned(),
                source: sled::Error::Io(e),
            })?;
        let catalog = RwLock::new(load_catalog(&tree)?);
        // Reading the catalog pulled every node of the tree into sled's page cache, and
        // nothing presses that cache afterwards, so they would stay for the life of the
        // daemon (~34 MB at 100,000 articles; BENCHMARKS.md, "where the daemon's heap
        // is"). The database opened again starts with an empty cache; sled lets go of its
        // lock a moment after the drop, when its flusher thread ends.
        db.flush()?;
        drop(tree);
        drop(db);
        let db = open_db(dir, REOPEN_PATIENCE)?;
        let tree = db.open_tree("index")?;
        Ok(Index {
            tree,
            log: RwLock::new(log),
            db,
            catalog,
            diverged: Default::default(),
            archive_page_size: Default::default(),
            dir: dir.to_owned(),
        })
    }

    /// The index opened again from its directory: flushed, closed, and read back, so
    /// that what a large reconciliation left in sled's cache and in the catalog's
    /// growth is given back (the catalog read whole is sized to what it holds). Waits for
    /// sled to let go of the lock as [`Index::open`] does.
    pub fn reopen(self) -> Result<Index> {
        self.flush()?;
        let dir = self.dir.clone();
        drop(self);
        Index::open_waiting(&dir, REOPEN_PATIENCE)
    }

    fn log(&self) -> RwLockReadGuard<'_, ArticleLog> {
        self.log.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Rewrites the article log without the entries no record points at any more (left
    /// by edits and removals) once they are a quarter of it and at least `min_garbage`
    /// bytes. The new log is synced, then one atomic batch points every record into it,
    /// then the old one is deleted; a crash in between leaves one of the two in use and
    /// the other is deleted at the next open. Returns the log's size before and after,
    /// when it was rewritten.
    pub fn compact_log(&self, min_garbage: u64) -> Result<Option<(u64, u64)>> {
        let mut catalog = self.catalog_mut();
        if self.diverged.load(std::sync::atomic::Ordering::Acquire) {
            // Its records would be written from a catalog unlike the tree.
            return Ok(None);
        }
        let mut log = self.log.write().unwrap_or_else(|e| e.into_inner());
        let before = log.end().map_err(log_error)?;
        let live: u64 = catalog.entries().map(|e| u64::from(e.blob.len)).sum();
        let garbage = before.saturating_sub(live);
        if garbage < min_garbage.max(1) || garbage * 4 < before {
            return Ok(None);
        }
        let generation = log_generation(&self.tree)? + 1;
        let path = self.dir.join(log_name(generation));
        let io = |e: std::io::Error| IndexError::Open {
            path: path.clone(),
            source: sled::Error::Io(e),
        };
        let (file, moved) = copy_live_entries(&log, &catalog, &path).map_err(io)?;
        let new_log = ArticleLog { file };
        let after = new_log.end().map_err(io)?;
        for &(slot, blob) in &moved {
            catalog.set_blob(slot, blob);
        }
        let mut batch = sled::Batch::default();
        let pages: BTreeSet<u64> = catalog.entries().map(|e| e.seq / PAGE).collect();
        for page in pages {
            put_page(&mut batch, &catalog, page);
        }
        batch.insert(key(prefix::META, LOG_KEY), &generation.to_be_bytes());
        if let Err(e) = self.tree.apply_batch(batch) {
            // Nothing points into the new log: it goes, and the catalog is read back.
            let _ = std::fs::remove_file(&path);
            match load_catalog(&self.tree) {
                Ok(read_back) => *catalog = read_back,
                Err(_) => self
                    .diverged
                    .store(true, std::sync::atomic::Ordering::Release),
            }
            return Err(e.into());
        }
        // From here the tree may point into the new log (sled can write the batch out
        // even if the flush below fails), so it is used and never deleted.
        *log = new_log;
        self.db.flush()?;
        remove_stale_logs(&self.dir, generation);
        Ok(Some((before, after)))
    }

    fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|e| e.into_inner())
    }

    fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes everything written so far survive a crash.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn get<T: for<'de> Deserialize<'de>>(&self, prefix: u8, name: &str) -> Result<Option<T>> {
        self.tree
            .get(key(prefix, name.as_bytes()))?
            .map(|v| decode(name, &v))
            .transpose()
    }

    /// Every entry under a prefix, with the prefix stripped from the key.
    fn scan(&self, prefix: u8) -> impl Iterator<Item = Result<(Vec<u8>, sled::IVec)>> + '_ {
        self.tree.scan_prefix([prefix]).map(|kv| {
            let (k, v) = kv?;
            Ok((k[1..].to_vec(), v))
        })
    }

    /// The stamp recorded for a store path, if it holds a recorded article.
    pub fn stamp(&self, path: &str) -> Option<FileStamp> {
        self.catalog().by_path(path).map(|e| e.stamp)
    }

    /// Every recorded store path; `visit` runs under the index's read lock, so it must
    /// not call back into the index.
    pub fn for_each_path(&self, mut visit: impl FnMut(&str)) {
        for e in self.catalog().entries() {
            visit(&e.path);
        }
    }

    /// Compares the store with the index: which of `files` (store path, stamp) are new or
    /// changed since recorded, by position, and which recorded paths are not among them.
    /// Every article's id and content hash, for the search index to find what it lacks.
    pub fn for_each_article(&self, mut visit: impl FnMut(&str, u128)) {
        for e in self.catalog().entries() {
            visit(&e.id, e.hash);
        }
    }

    pub fn compare<'a>(
        &self,
        files: impl IntoIterator<Item = (&'a str, FileStamp)>,
    ) -> (Vec<usize>, Vec<String>) {
        self.catalog().compare(files)
    }

    fn read_record(&self, catalog: &Catalog, e: &Entry) -> Result<Record> {
        let article = self.log().read(&e.id, e.blob)?;
        Ok(Record {
            article,
            path: e.path.to_string(),
            hash: e.hash,
            published: e.published,
            updated: e.updated,
            seq: e.seq,
            topics: e
                .topics
                .iter()
                .map(|&(f, sp)| {
                    let feed = catalog.feed(f);
                    (feed.topic.clone(), feed.names[sp as usize].0.to_string())
                })
                .collect(),
        })
    }

    /// The store paths of the recorded articles for which `pred` holds (reads every
    /// article from the log: for one-off passes over the whole index).
    pub fn paths_of_articles(&self, pred: impl Fn(&Article) -> bool) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let log = self.log();
        let mut paths = Vec::new();
        for e in catalog.entries() {
            if pred(&log.read(&e.id, e.blob)?) {
                paths.push(e.path.to_string());
            }
        }
        Ok(paths)
    }

    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        let catalog = self.catalog();
        catalog
            .by_id(id)
            .map(|e| self.read_record(&catalog, e))
            .transpose()
    }

    /// Articles in the index.
    pub fn article_count(&self) -> usize {
        self.catalog().len()
    }

    /// Feeds with at least one article.
    pub fn feed_count(&self) -> usize {
        self.catalog().feed_count()
    }

    /// Every feed with at least one article.
    pub fn feed_table(&self) -> FeedTable {
        self.catalog().table()
    }

    /// The ids of a feed's newest `n` articles, newest first.
    pub fn recent_ids(&self, topic: &Topic, n: usize) -> Vec<String> {
        self.catalog()
            .recent(topic, n)
            .into_iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    /// The ids of the newest `n` articles in any of `topics`, newest first, each once.
    pub fn newest_ids_of(&self, topics: &[Topic], n: usize) -> Vec<String> {
        self.catalog()
            .newest_of(topics, n)
            .into_iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    /// The ids of the last `n` articles to arrive, the last first.
    pub fn latest_arrival_ids(&self, n: usize) -> Vec<String> {
        self.catalog()
            .entries()
            .rev()
            .take(n)
            .map(|e| e.id.to_string())
            .collect()
    }

    /// Moves whenever any article is added, changed or removed: what a document made
    /// from several feeds (a personal feed) is cached under.
    pub fn version(&self) -> u64 {
        self.catalog().version()
    }

    /// Articles that arrived after `seq` (arrival order).
    pub fn arrived_since(&self, seq: u64) -> Result<Vec<Record>> {
        let catalog = self.catalog();
        let mut newer: Vec<&Entry> = catalog
            .entries()
            .rev()
            .take_while(|e| e.seq > seq)
            .collect();
        newer.reverse();
        newer
            .into_iter()
            .map(|e| self.read_record(&catalog, e))
            .collect()
    }

    /// Feeds recorded as changed but not yet published.
    pub fn dirty_topics(&self) -> Result<BTreeSet<Topic>> {
        self.scan(prefix::DIRTY)
            .map(|kv| topic_of_key(&kv?.0))
            .collect()
    }

    /// Records feeds as published — with the `updated` time their documents carry, or
    /// `None` for a feed that was removed — and no longer dirty; flushed.
    pub fn finish_publish(&self, done: &[(Topic, Option<i64>)]) -> Result<()> {
        // In batches: sled frees the tree nodes a batch replaces only after the batch,
        // and one batch for a cold build's 60,000 feeds rendered on request held 150 MB
        // (BENCHMARKS.md, "memory and speed of the cold build"). Each feed's two keys stay in one batch; a crash
        // between batches leaves the rest dirty, to be published again.
        for chunk in done.chunks(FINISH_BATCH) {
            let mut batch = sled::Batch::default();
            for (topic, updated) in chunk {
                let rendered = key(prefix::RENDERED, &topic.index_key());
                match updated {
                    Some(t) => batch.insert(rendered, &t.to_be_bytes()),
                    None => batch.remove(rendered),
                }
                batch.remove(key(prefix::DIRTY, &topic.index_key()));
            }
            self.tree.apply_batch(batch)?;
            let mut catalog = self.catalog_mut();
            for (topic, _) in chunk {
                if let Some(f) = catalog.feed_number(topic) {
                    catalog.set_marked_dirty(f, false);
                    catalog.clear_archive_touched(f);
                }
            }
        }
        self.flush()
    }

    /// Every published feed's `updated` time (unix seconds).
    pub fn rendered_times(&self) -> Result<HashMap<Topic, i64>> {
        self.scan(prefix::RENDERED)
            .map(|kv| {
                let (k, v) = kv?;
                let t = v.as_ref().try_into().map(i64::from_be_bytes).unwrap_or(0);
                Ok((topic_of_key(&k)?, t))
            })
            .collect()
    }

    /// Marks feeds to be published again (e.g. after a configuration change).
    pub fn mark_dirty<'a>(&self, topics: impl IntoIterator<Item = &'a Topic>) -> Result<()> {
        // In batches, as in `finish_publish`: a first build marks every feed.
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for t in topics {
            batch.insert(key(prefix::DIRTY, &t.index_key()), &[]);
            in_batch += 1;
            if in_batch == FINISH_BATCH {
                self.tree.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        self.tree.apply_batch(batch)?;
        self.flush()
    }

    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tree
            .get(key(prefix::META, name.as_bytes()))?
            .map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, name: &str, value: &[u8]) -> Result<()> {
        self.tree
            .insert(key(prefix::META, name.as_bytes()), value)?;
        self.flush()
    }

    /// The arrival sequence of the newest article (0 for an empty index). A new
    /// subscriber's watermark starts here, so their first digest covers only what arrives
    /// after they subscribed.
    pub fn last_seq(&self) -> Result<u64> {
        Ok(match self.tree.get(key(prefix::META, SEQ_KEY))? {
            Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
            None => 0,
        })
    }
}

fn topic_of_key(key: &[u8]) -> Result<Topic> {
    Topic::from_index_key(key).ok_or_else(|| IndexError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "not a feed key".into(),
    })
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    bincode::serialize(value).expect("in-memory values always serialize")
}

fn decode<'a, T: Deserialize<'a>>(key: &str, bytes: &'a [u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| IndexError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::article::Block;

    /// Opens an index in `dir`, waiting while the one dropped just before still holds
    /// sled's lock.
    pub(super) fn reopen(dir: &Path) -> Index {
        Index::open_waiting(dir, std::time::Duration::from_secs(10)).unwrap()
    }

    pub(super) fn article(id: &str) -> Article {
        Article {
            id: id.into(),
            title: "標題".into(),
            subtitle: None,
            original_title: None,
            sections: vec!["黨派·聲音".into()],
            keywords: vec!["重慶市".into()],
            editor: None,
            author: None,
            url: None,
            published: None,
            updated: None,
            body: vec![Block::Paragraph("正文。".into())],
            summary: None,
            image: None,
        }
    }

    /// A state directory written by the first index layout opens with every article,
    /// its times, arrival number and file stamp kept, and the old keys gone.
    #[test]
    fn the_first_layout_is_migrated_in_place() {
        use super::migrate::{OldPath, OldRecord};
        let dir = tempfile::tempdir().unwrap();
        let stamp = FileStamp {
            mtime_ns: 1_700_000_000_000_000_000,
            size: 1234,
        };
        {
            let framed = frame(&article("x1"));
            std::fs::write(dir.path().join("articles.log"), &framed).unwrap();
            let db = sled::open(dir.path()).unwrap();
            let tree = db.open_tree("index").unwrap();
            let a = article("x1");
            let record = OldRecord {
                path: "a/x1.txt".into(),
                hash: 7,
                published: 1_600_000_000,
                updated: 1_600_000_100,
                seq: 41,
                topics: topics_of(&a),
                blob: BlobRef {
                    offset: 0,
                    len: framed.len() as u32,
                },
            };
            tree.insert(key(b'a', b"x1"), encode(&record)).unwrap();
            let path = OldPath {
                id: "x1".into(),
                stamp,
            };
            tree.insert(key(b'p', b"a/x1.txt"), encode(&path)).unwrap();
            tree.insert(key(b'm', b"whatever"), &[]).unwrap();
            tree.insert(key(b'f', b"k\x1fx"), &[]).unwrap();
            tree.insert(key(b'q', &41u64.to_be_bytes()), &b"x1"[..])
                .unwrap();
            tree.insert(key(prefix::META, SEQ_KEY), &41u64.to_be_bytes())
                .unwrap();
            tree.insert(key(prefix::META, b"articles"), &1u64.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let index = reopen(dir.path());
        let rec = index.record("x1").unwrap().expect("migrated");
        assert_eq!(rec.article, article("x1"));
        assert_eq!(
            (
                rec.path.as_str(),
                rec.hash,
                rec.published,
                rec.updated,
                rec.seq
            ),
            ("a/x1.txt", 7, 1_600_000_000, 1_600_000_100, 41)
        );
        assert_eq!(rec.topics, topics_of(&article("x1")));
        assert_eq!(index.stamp("a/x1.txt"), Some(stamp));
        assert_eq!(index.article_count(), 1);
        assert_eq!(index.last_seq().unwrap(), 41);
        assert_eq!(index.arrived_since(40).unwrap().len(), 1);
        let table = index.feed_table();
        assert_eq!(table[&Topic::Keyword("重庆市".into())].title(), "重慶市");
        for old in prefix::OLD_LAYOUT {
            assert!(index.tree.scan_prefix([old]).next().is_none());
        }
        assert!(index.meta("articles").unwrap().is_none());
    }

    /// Pages: articles spread over several pages survive a reopen, and removing every
    /// article of a page removes the page.
    #[test]
    fn records_survive_a_reopen_across_pages() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = |n: u64| FileStamp {
            mtime_ns: n as i128,
            size: n,
        };
        let n = PAGE * 2 + 3;
        {
            let index = reopen(dir.path());
            let incoming: Vec<Incoming> = (0..n)
                .map(|i| {
                    let id = format!("id{i:03}");
                    Incoming::new(
                        format!("{id}.txt"),
                        stamp(i),
                        article(&id),
                        None,
                        None,
                        i as i64,
                    )
                })
                .collect();
            let applied = index.apply(&incoming, &[], &|_| true).unwrap();
            assert!(applied.outcomes.iter().all(|o| *o == Outcome::New));
            let first_page: Vec<String> = (0..PAGE).map(|i| format!("id{i:03}.txt")).collect();
            let applied = index.apply(&[], &first_page, &|_| false).unwrap();
            assert_eq!(applied.removed, PAGE as usize);
        }
        let index = reopen(dir.path());
        assert_eq!(index.article_count(), (n - PAGE) as usize);
        assert!(index.tree.get(page_key(0)).unwrap().is_none());
        assert_eq!(
            index.stamp(&format!("id{:03}.txt", n - 1)),
            Some(stamp(n - 1))
        );
        assert_eq!(
            index.recent_ids(&Topic::All, 3),
            ["id066", "id065", "id064"]
        );
        assert_eq!(index.arrived_since(n - 1).unwrap()[0].article.id, "id066");
        // Opened again in place (the daemon after a large start-up reconciliation): the
        // same, and still written to.
        let index = index.reopen().unwrap();
        assert_eq!(index.article_count(), (n - PAGE) as usize);
        assert_eq!(
            index.recent_ids(&Topic::All, 3),
            ["id066", "id065", "id064"]
        );
        let one = Incoming::new(
            "new.txt".into(),
            stamp(1),
            article("new"),
            None,
            None,
            1_000,
        );
        index.apply(&[one], &[], &|_| true).unwrap();
        assert_eq!(index.recent_ids(&Topic::All, 1), ["new"]);
    }

    /// Compaction drops what edits and removals left in the log, keeps every article
    /// readable, survives a reopen, and later appends land after the copied entries.
    #[test]
    fn compaction_keeps_every_live_article_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = |n: i128| FileStamp {
            mtime_ns: n,
            size: 1,
        };
        let edited = |id: &str, n: usize| {
            let mut a = article(id);
            a.body = vec![Block::Paragraph("改".repeat(n))];
            a
        };
        let incoming = |id: &str, a: Article, n: i128| {
            Incoming::new(format!("{id}.txt"), stamp(n), a, None, None, 100)
        };
        {
            let index = reopen(dir.path());
            let first: Vec<Incoming> = ["a", "b", "c"]
                .iter()
                .map(|id| incoming(id, edited(id, 1000), 1))
                .collect();
            index.apply(&first, &[], &|_| true).unwrap();
            for n in 2..5 {
                let again = [incoming("a", edited("a", 1000 + n as usize), n)];
                index.apply(&again, &[], &|_| true).unwrap();
            }
            index
                .apply(&[], &["b.txt".to_string()], &|_| false)
                .unwrap();
            let before = std::fs::metadata(dir.path().join("articles.log"))
                .unwrap()
                .len();
            assert_eq!(
                index.compact_log(u64::MAX).unwrap(),
                None,
                "below the minimum"
            );
            let (was, now) = index.compact_log(1).unwrap().expect("compacted");
            assert_eq!(now, index.log().end().unwrap());
            assert_eq!(was, before);
            assert!(now * 2 < was, "{was} → {now}");
            assert!(!dir.path().join("articles.log").exists());
            assert_eq!(
                std::fs::metadata(dir.path().join("articles.1.log"))
                    .unwrap()
                    .len(),
                now
            );
            assert_eq!(
                index.record("a").unwrap().unwrap().article,
                edited("a", 1004)
            );
            assert_eq!(
                index.record("c").unwrap().unwrap().article,
                edited("c", 1000)
            );
            assert!(index.record("b").unwrap().is_none());
            index
                .apply(&[incoming("d", edited("d", 10), 9)], &[], &|_| true)
                .unwrap();
        }
        // A log a crash left behind is removed at open.
        std::fs::write(dir.path().join("articles.2.log"), b"half-written").unwrap();
        let index = reopen(dir.path());
        assert!(!dir.path().join("articles.2.log").exists());
        for (id, a) in [
            ("a", edited("a", 1004)),
            ("c", edited("c", 1000)),
            ("d", edited("d", 10)),
        ] {
            assert_eq!(index.record(id).unwrap().unwrap().article, a, "{id}");
        }
        assert_eq!(index.article_count(), 3);
    }

    /// Files that swap or rotate their contents in one batch move their articles: none
    /// is lost, re-added under a new arrival number, or reported as a collision.
    #[test]
    fn ids_swapped_or_rotated_between_files_in_one_batch_move() {
        let dir = tempfile::tempdir().unwrap();
        let index = reopen(dir.path());
        let inc = |p: &str, id: &str, n: i128| {
            let stamp = FileStamp {
                mtime_ns: n,
                size: 1,
            };
            Incoming::new(p.into(), stamp, article(id), Some(100), None, 100)
        };
        let first = [
            inc("p0.txt", "X", 1),
            inc("p1.txt", "Y", 1),
            inc("p2.txt", "Z", 1),
        ];
        index.apply(&first, &[], &|_| true).unwrap();
        let seq = |id: &str| index.record(id).unwrap().unwrap().seq;
        let seqs = [seq("X"), seq("Y"), seq("Z")];
        let path = |id: &str| index.record(id).unwrap().unwrap().path;

        let swap = [inc("p0.txt", "Y", 2), inc("p1.txt", "X", 2)];
        let applied = index.apply(&swap, &[], &|_| true).unwrap();
        assert_eq!(applied.outcomes, [Outcome::Unchanged, Outcome::Unchanged]);
        assert_eq!(applied.removed, 0);
        assert_eq!((path("X"), path("Y")), ("p1.txt".into(), "p0.txt".into()));

        let rotate = [
            inc("p0.txt", "Z", 3),
            inc("p1.txt", "Y", 3),
            inc("p2.txt", "X", 3),
        ];
        let applied = index.apply(&rotate, &[], &|_| true).unwrap();
        assert!(applied.outcomes.iter().all(|o| *o == Outcome::Unchanged));
        assert_eq!(
            (path("X"), path("Y"), path("Z")),
            ("p2.txt".into(), "p1.txt".into(), "p0.txt".into())
        );
        assert_eq!([seq("X"), seq("Y"), seq("Z")], seqs);
        assert_eq!(index.article_count(), 3);
        assert_eq!(index.stamp("p2.txt").unwrap().mtime_ns, 3);

        // Two files claiming one id: the second is a collision, as before.
        let twice = [inc("p0.txt", "W", 4), inc("p3.txt", "Z", 4)];
        let applied = index.apply(&twice, &[], &|_| true).unwrap();
        assert_eq!(applied.outcomes[0], Outcome::New);
        assert_eq!(applied.outcomes[1], Outcome::Unchanged);
        assert_eq!(path("Z"), "p3.txt");
        drop(index);
        let index = reopen(dir.path());
        assert_eq!(index.record("Z").unwrap().unwrap().path, "p3.txt");
        assert_eq!(index.record("W").unwrap().unwrap().path, "p0.txt");
    }

    /// A small xorshift generator: the randomized test below is the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// id, path, published, updated, arrival, feeds.
    type RecordView = (String, String, i64, i64, u64, Vec<(Topic, String)>);

    #[derive(Debug, PartialEq)]
    struct View {
        records: Vec<RecordView>,
        stamps: Vec<(String, Option<FileStamp>)>,
        table: FeedTable,
        recent: Vec<(Topic, Vec<String>)>,
        arrived: Vec<String>,
    }

    fn view(index: &Index, ids: &[String], paths: &[String]) -> View {
        let mut records = Vec::new();
        for id in ids {
            if let Some(r) = index.record(id).unwrap() {
                assert_eq!(&r.article.id, id);
                records.push((id.clone(), r.path, r.published, r.updated, r.seq, r.topics));
            }
        }
        let stamps = paths.iter().map(|p| (p.clone(), index.stamp(p))).collect();
        let table = index.feed_table();
        let recent = table
            .keys()
            .map(|t| (t.clone(), index.recent_ids(t, 1000)))
            .collect();
        let arrived = index
            .arrived_since(0)
            .unwrap()
            .into_iter()
            .map(|r| r.article.id)
            .collect();
        View {
            records,
            stamps,
            table,
            recent,
            arrived,
        }
    }

    /// Random edits of a simulated store, applied batch by batch: the in-memory catalog
    /// matches what a reopen reads back, and every feed is newest first, ties by id.
    #[test]
    fn random_batches_keep_catalog_and_tree_in_step() {
        for seed in 1..40u64 {
            let dir = tempfile::tempdir().unwrap();
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let ids: Vec<String> = (0..6).map(|i| format!("id{i}")).collect();
            let paths: Vec<String> = (0..6).map(|i| format!("p{i}.txt")).collect();
            // path -> (id, version, published, keyword)
            let mut fs: BTreeMap<String, (String, u64, i64, u64)> = BTreeMap::new();
            let mut tick = 0i128;
            let mut index = reopen(dir.path());
            for round in 0..12 {
                let before = view(&index, &ids, &paths);
                drop(index);
                index = reopen(dir.path());
                let reopened = view(&index, &ids, &paths);
                assert_eq!(before, reopened, "seed {seed} round {round}");
                for _ in 0..3 {
                    let mut touched = BTreeSet::new();
                    let mut removed = Vec::new();
                    for _ in 0..rng.below(5) + 1 {
                        let p = paths[rng.below(6) as usize].clone();
                        if rng.below(4) == 0 {
                            if fs.remove(&p).is_some() {
                                removed.push(p.clone());
                                touched.remove(&p);
                            }
                        } else {
                            let id = ids[rng.below(6) as usize].clone();
                            fs.insert(
                                p.clone(),
                                (id, rng.below(3), rng.below(3) as i64, rng.below(3)),
                            );
                            touched.insert(p.clone());
                            removed.retain(|r| *r != p);
                        }
                    }
                    let mut incoming: Vec<Incoming> = touched
                        .iter()
                        .map(|p| {
                            let (id, version, published, kw) = fs[p].clone();
                            tick += 1;
                            let mut a = article(&id);
                            a.keywords = vec![format!("k{kw}")];
                            a.body = vec![Block::Paragraph(format!("v{version}"))];
                            Incoming::new(
                                p.clone(),
                                FileStamp {
                                    mtime_ns: tick,
                                    size: 1,
                                },
                                a,
                                Some(published),
                                None,
                                published,
                            )
                        })
                        .collect();
                    if rng.below(2) == 0 {
                        incoming.reverse();
                    }
                    let exists = |p: &str| fs.contains_key(p);
                    index.apply(&incoming, &removed, &exists).unwrap();
                    // Feed order: newest first, ties by id.
                    for (topic, got) in view(&index, &ids, &paths).recent {
                        let mut want: Vec<(i64, String)> = ids
                            .iter()
                            .filter_map(|id| index.record(id).unwrap())
                            .filter(|r| r.topics.iter().any(|(t, _)| *t == topic))
                            .map(|r| (r.published, r.article.id))
                            .collect();
                        want.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                        let want: Vec<String> = want.into_iter().map(|w| w.1).collect();
                        assert_eq!(got, want, "seed {seed} round {round} {topic:?}");
                    }
                }
                if rng.below(3) == 0 {
                    index.compact_log(1).unwrap();
                }
            }
        }
    }
}
