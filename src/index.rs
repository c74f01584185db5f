//! The index: every sled call of tidings lives here. It records articles with their
//! first-seen publication time (set once, never changed), a content hash (so `updated`
//! moves only when content does), an arrival sequence number, feed membership ordered
//! newest first, per-feed title spellings, and which feeds still need publishing.
//!
//! Each batch of changes is one atomic sled batch and is flushed before the caller goes
//! on, so a crash leaves either the old or the new state, and feeds
//! marked dirty stay dirty until they have been published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::article::Article;
use crate::subscriber::Subscriber;
use crate::topic::{topics_of, Topic};

/// sled's page cache; its default (1 GiB) lets RSS grow far past what a feed server needs.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

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
}

type Result<T, E = IndexError> = std::result::Result<T, E>;

/// A file's modification time and size, to skip files that have not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub mtime_ns: i128,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathEntry {
    pub id: String,
    pub stamp: FileStamp,
}

/// One article as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub article: Article,
    /// Store-relative path, `/`-separated.
    pub path: String,
    pub hash: u128,
    /// Unix seconds.
    pub published: i64,
    pub updated: i64,
    /// Arrival order in this index (digests count by it, so back-dated articles are not
    /// skipped).
    pub seq: u64,
    /// The feeds it belongs to, with the spelling it uses for each.
    pub topics: Vec<(Topic, String)>,
}

impl Record {
    /// The deepest section feed the article belongs to, with its spelling — which holds
    /// the whole path as written (`黨派·聲音 > 統一戰線`).
    pub fn deepest_section(&self) -> Option<&(Topic, String)> {
        self.topics
            .iter()
            .rev()
            .find(|(t, _)| matches!(t, Topic::Section(_)))
    }
}

/// What the tree keeps of an article: everything but its content, which lives in the
/// article log and is referenced by position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    path: String,
    hash: u128,
    published: i64,
    updated: i64,
    seq: u64,
    topics: Vec<(Topic, String)>,
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

/// A parsed file to record.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub path: String,
    pub stamp: FileStamp,
    pub article: Article,
    /// Publication time the article itself states (already read in the site's zone).
    pub stated_published: Option<i64>,
    pub stated_updated: Option<i64>,
    /// The file's modification time, unix seconds.
    pub mtime: i64,
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

/// Every feed with its facts, kept in memory by whoever writes (a few thousand entries).
pub type FeedTable = BTreeMap<Topic, FeedInfo>;

pub struct Index {
    db: sled::Db,
    /// Everything lives in one tree under one-byte prefixes, so that each batch of
    /// changes is a single atomic `apply_batch` (sled's multi-tree transactions were 15×
    /// slower here).
    tree: sled::Tree,
    log: ArticleLog,
}

/// Article contents, appended to `articles.log` beside the tree. Kept out of sled's B-tree
/// because its pages are rewritten whole: with ~3 KB values a cold build spent most of
/// its time copying and re-reading pages. Each entry is length, checksum and the encoded
/// article; the log is synced before the tree batch that points into it is applied, so
/// the tree never references bytes a crash could lose. Entries replaced by edits stay as
/// garbage until a compaction (not yet implemented; edits are rare next to the store).
struct ArticleLog {
    file: std::fs::File,
    /// Where the next entry goes.
    end: std::sync::Mutex<u64>,
}

const LOG_HEADER: usize = 12;

impl ArticleLog {
    fn open(path: &Path) -> std::io::Result<ArticleLog> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let end = file.metadata()?.len();
        Ok(ArticleLog {
            file,
            end: std::sync::Mutex::new(end),
        })
    }

    fn read(&self, id: &str, blob: BlobRef) -> Result<Article> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; blob.len as usize];
        self.file
            .read_exact_at(&mut buf, blob.offset)
            .map_err(|e| IndexError::Corrupt {
                key: id.to_string(),
                reason: format!("article log: {e}"),
            })?;
        let (head, body) = buf.split_at(LOG_HEADER.min(buf.len()));
        let sum = u64::from_le_bytes(head[4..12].try_into().unwrap_or_default());
        if head.len() < LOG_HEADER || xxhash_rust::xxh3::xxh3_64(body) != sum {
            return Err(IndexError::Corrupt {
                key: id.to_string(),
                reason: "article log entry fails its checksum".into(),
            });
        }
        decode(id, body)
    }

    /// Appends entries (already framed) and syncs them; returns nothing to undo: on error
    /// the tree is not updated and the bytes are garbage.
    fn append(&self, bytes: &[u8], expected_start: u64) -> Result<()> {
        use std::io::Write;
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        debug_assert_eq!(*end, expected_start);
        let mut file = &self.file;
        file.write_all(bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| IndexError::Open {
                path: PathBuf::from("articles.log"),
                source: sled::Error::Io(e),
            })?;
        *end += bytes.len() as u64;
        Ok(())
    }

    fn end(&self) -> u64 {
        *self.end.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Frames one article for the log: length, checksum, encoding.
fn frame(article: &Article) -> Vec<u8> {
    let body = encode(article);
    let mut out = Vec::with_capacity(body.len() + LOG_HEADER);
    out.extend_from_slice(&((body.len() + LOG_HEADER) as u32).to_le_bytes());
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Key prefixes of the one tree.
mod prefix {
    /// id → Record
    pub const ARTICLE: u8 = b'a';
    /// store path → PathEntry
    pub const PATH: u8 = b'p';
    /// topic 0 newest-first-order id → ()
    pub const MEMBER: u8 = b'm';
    /// topic → FeedInfo
    pub const FEED: u8 = b'f';
    /// topic → () while its documents need publishing
    pub const DIRTY: u8 = b'd';
    /// topic → `updated` of its published documents
    pub const RENDERED: u8 = b'r';
    /// name → value
    pub const META: u8 = b'x';
    /// email key → Subscriber
    pub const SUBSCRIBER: u8 = b's';
    /// arrival seq (big-endian) → article id: digests read "everything since" from here
    pub const ARRIVAL: u8 = b'q';
    /// email key → Delivery: the digest in flight or last sent to a subscriber
    pub const DELIVERY: u8 = b'D';
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

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

const SEQ_KEY: &[u8] = b"seq";
const COUNT_KEY: &[u8] = b"articles";

impl Index {
    pub fn open(dir: &Path) -> Result<Index> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|source| match &source {
                sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
                    IndexError::Locked {
                        path: dir.to_owned(),
                    }
                }
                _ => IndexError::Open {
                    path: dir.to_owned(),
                    source,
                },
            })?;
        let log = ArticleLog::open(&dir.join("articles.log")).map_err(|e| IndexError::Open {
            path: dir.to_owned(),
            source: sled::Error::Io(e),
        })?;
        Ok(Index {
            tree: db.open_tree("index")?,
            log,
            db,
        })
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

    pub fn path_entry(&self, path: &str) -> Result<Option<PathEntry>> {
        self.get(prefix::PATH, path)
    }

    /// Every recorded store path.
    pub fn paths(&self) -> Result<Vec<(String, PathEntry)>> {
        self.scan(prefix::PATH)
            .map(|kv| {
                let (k, v) = kv?;
                let path = String::from_utf8_lossy(&k).into_owned();
                let entry = decode(&path, &v)?;
                Ok((path, entry))
            })
            .collect()
    }

    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        let Some(stored) = self.get::<Stored>(prefix::ARTICLE, id)? else {
            return Ok(None);
        };
        let article = self.log.read(id, stored.blob)?;
        Ok(Some(Record {
            article,
            path: stored.path,
            hash: stored.hash,
            published: stored.published,
            updated: stored.updated,
            seq: stored.seq,
            topics: stored.topics,
        }))
    }

    /// Articles in the index (kept as a counter beside them, updated in the same batch).
    pub fn article_count(&self) -> usize {
        match self.tree.get(key(prefix::META, COUNT_KEY)) {
            Ok(Some(v)) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0) as usize,
            _ => 0,
        }
    }

    pub fn feed_table(&self) -> Result<FeedTable> {
        self.scan(prefix::FEED)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((topic_of_key(&k)?, decode("feed", &v)?))
            })
            .collect()
    }

    /// The newest `n` articles of a feed, newest first.
    pub fn recent(&self, topic: &Topic, n: usize) -> Result<Vec<Record>> {
        let prefix = member_prefix(topic);
        let mut out = Vec::with_capacity(n);
        for k in self.tree.scan_prefix(&prefix).keys().take(n) {
            let k = k?;
            let id = String::from_utf8_lossy(&k[prefix.len() + 8..]).into_owned();
            match self.record(&id)? {
                Some(rec) => out.push(rec),
                None => {
                    return Err(IndexError::Corrupt {
                        key: id,
                        reason: "feed member without a record".into(),
                    })
                }
            }
        }
        Ok(out)
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
        let mut batch = sled::Batch::default();
        for (topic, updated) in done {
            let rendered = key(prefix::RENDERED, &topic.index_key());
            match updated {
                Some(t) => batch.insert(rendered, &t.to_be_bytes()),
                None => batch.remove(rendered),
            }
            batch.remove(key(prefix::DIRTY, &topic.index_key()));
        }
        self.tree.apply_batch(batch)?;
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
        let mut batch = sled::Batch::default();
        for t in topics {
            batch.insert(key(prefix::DIRTY, &t.index_key()), &[]);
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

    /// Articles that arrived after `seq` (arrival order), with their arrival numbers.
    pub fn arrived_since(&self, seq: u64) -> Result<Vec<Record>> {
        let start = key(prefix::ARRIVAL, &(seq + 1).to_be_bytes());
        let end = key(prefix::ARRIVAL, &u64::MAX.to_be_bytes());
        let mut out = Vec::new();
        for kv in self.tree.range(start..=end) {
            let (_, id) = kv?;
            let id = String::from_utf8_lossy(&id).into_owned();
            // An article removed after arriving has no record: nothing to send.
            if let Some(rec) = self.record(&id)? {
                out.push(rec);
            }
        }
        Ok(out)
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

    /// Records upserts and removals as one atomic batch, flushed. `exists` tells whether a
    /// store path still holds a file (an id held by a vanished file moves to the new one;
    /// one held by a file that is still there is a collision). `table` is updated to match.
    pub fn apply(
        &self,
        table: &mut FeedTable,
        incoming: &[Incoming],
        removed: &[String],
        exists: &dyn Fn(&str) -> bool,
    ) -> Result<Applied> {
        let log_start = self.log.end();
        let mut tx = Tx {
            tree: &self.tree,
            pending: HashMap::new(),
            table,
            touched: HashMap::new(),
            applied: Applied::default(),
            seq: None,
            log_start,
            log_bytes: Vec::new(),
            count_delta: 0,
        };
        // Upserts first: a file moved within the store takes its id along before the old
        // path's removal is seen, so the article keeps its record.
        for inc in incoming {
            let outcome = tx.upsert(inc, exists)?;
            tx.applied.outcomes.push(outcome);
        }
        for rel in removed {
            tx.remove_path(rel)?;
        }
        if tx.count_delta != 0 {
            let count = (self.article_count() as i64 + tx.count_delta).max(0) as u64;
            tx.put(key(prefix::META, COUNT_KEY), count.to_be_bytes().to_vec());
        }
        let mut batch = sled::Batch::default();
        for (k, v) in tx.pending {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        let (applied, touched) = (tx.applied, tx.touched);
        if !tx.log_bytes.is_empty() {
            self.log.append(&tx.log_bytes, log_start)?;
        }
        self.tree.apply_batch(batch)?;
        self.flush()?;
        for (topic, info) in touched {
            if info.count == 0 {
                table.remove(&topic);
            } else {
                table.insert(topic, info);
            }
        }
        Ok(applied)
    }
}

/// One batch of changes being computed: reads see the batch's own writes first.
struct Tx<'a> {
    tree: &'a sled::Tree,
    pending: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Feed facts as of before the batch.
    table: &'a FeedTable,
    /// Feed facts changed by this batch.
    touched: HashMap<Topic, FeedInfo>,
    applied: Applied,
    seq: Option<u64>,
    /// Log position of `log_bytes[0]`.
    log_start: u64,
    /// Framed articles to append to the log before the batch is applied.
    log_bytes: Vec<u8>,
    /// Articles added minus articles removed.
    count_delta: i64,
}

impl Tx<'_> {
    fn append_article(&mut self, article: &Article) -> BlobRef {
        let framed = frame(article);
        let blob = BlobRef {
            offset: self.log_start + self.log_bytes.len() as u64,
            len: framed.len() as u32,
        };
        self.log_bytes.extend_from_slice(&framed);
        blob
    }

    fn get<T: for<'de> Deserialize<'de>>(&self, prefix: u8, name: &str) -> Result<Option<T>> {
        let k = key(prefix, name.as_bytes());
        match self.pending.get(&k) {
            Some(Some(v)) => decode(name, v).map(Some),
            Some(None) => Ok(None),
            None => self.tree.get(&k)?.map(|v| decode(name, &v)).transpose(),
        }
    }

    fn put(&mut self, k: Vec<u8>, v: Vec<u8>) {
        self.pending.insert(k, Some(v));
    }

    fn delete(&mut self, k: Vec<u8>) {
        self.pending.insert(k, None);
    }

    fn next_seq(&mut self) -> Result<u64> {
        let current = match self.seq {
            Some(s) => s,
            None => match self.tree.get(key(prefix::META, SEQ_KEY))? {
                Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
                None => 0,
            },
        };
        let next = current + 1;
        self.seq = Some(next);
        self.put(key(prefix::META, SEQ_KEY), next.to_be_bytes().to_vec());
        Ok(next)
    }

    fn feed(&mut self, topic: &Topic) -> &mut FeedInfo {
        if !self.touched.contains_key(topic) {
            let current = self.table.get(topic).cloned().unwrap_or_default();
            self.touched.insert(topic.clone(), current);
        }
        self.touched.get_mut(topic).expect("inserted above")
    }

    fn mark_dirty(&mut self, topic: &Topic) {
        self.put(key(prefix::DIRTY, &topic.index_key()), Vec::new());
        self.applied.dirty.insert(topic.clone());
    }

    fn unlink(&mut self, id: &str, rec: &Stored) {
        for (topic, name) in &rec.topics {
            self.delete(member_key(topic, rec.published, id));
            let info = self.feed(topic);
            info.count = info.count.saturating_sub(1);
            if let Some(n) = info.names.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    info.names.remove(name);
                }
            }
            let feed_key = key(prefix::FEED, &topic.index_key());
            if info.count == 0 {
                self.delete(feed_key);
            } else {
                let encoded = encode(&*info);
                self.put(feed_key, encoded);
            }
            self.mark_dirty(topic);
        }
    }

    fn link(&mut self, id: &str, rec: &Stored) {
        for (topic, name) in &rec.topics {
            self.put(member_key(topic, rec.published, id), Vec::new());
            let info = self.feed(topic);
            info.count += 1;
            *info.names.entry(name.clone()).or_insert(0) += 1;
            let encoded = encode(&*info);
            self.put(key(prefix::FEED, &topic.index_key()), encoded);
            self.mark_dirty(topic);
        }
    }

    /// A store path is gone: its article goes too, unless the id now lives elsewhere.
    fn remove_path(&mut self, rel: &str) -> Result<()> {
        let Some(entry) = self.get::<PathEntry>(prefix::PATH, rel)? else {
            return Ok(());
        };
        self.delete(key(prefix::PATH, rel.as_bytes()));
        if let Some(rec) = self.get::<Stored>(prefix::ARTICLE, &entry.id)? {
            if rec.path == rel {
                self.unlink(&entry.id, &rec);
                self.delete(key(prefix::ARTICLE, entry.id.as_bytes()));
                self.delete(key(prefix::ARRIVAL, &rec.seq.to_be_bytes()));
                self.applied.removed += 1;
                self.count_delta -= 1;
            }
        }
        Ok(())
    }

    fn upsert(&mut self, inc: &Incoming, exists: &dyn Fn(&str) -> bool) -> Result<Outcome> {
        let id = inc.article.id.as_str();
        // The file used to hold another id (a JSON article whose id was edited).
        if let Some(old) = self.get::<PathEntry>(prefix::PATH, &inc.path)? {
            if old.id != id {
                self.remove_path(&inc.path)?;
            }
        }
        let existing = self.get::<Stored>(prefix::ARTICLE, id)?;
        if let Some(rec) = &existing {
            if rec.path != inc.path && exists(&rec.path) {
                return Ok(Outcome::Collision {
                    other: rec.path.clone(),
                });
            }
        }
        let hash = content_hash(&inc.article);
        let article_key = key(prefix::ARTICLE, id.as_bytes());
        let outcome = match existing {
            Some(rec) if rec.hash == hash => {
                if rec.path != inc.path {
                    // Moved, same content: only the path changes.
                    let moved = Stored {
                        path: inc.path.clone(),
                        ..rec
                    };
                    self.put(article_key, encode(&moved));
                }
                Outcome::Unchanged
            }
            Some(rec) => {
                let published = inc.stated_published.unwrap_or(rec.published);
                let updated = inc
                    .stated_updated
                    .unwrap_or(inc.mtime.max(rec.updated))
                    .max(published);
                let new = Stored {
                    path: inc.path.clone(),
                    hash,
                    published,
                    updated,
                    seq: rec.seq,
                    topics: topics_of(&inc.article),
                    blob: self.append_article(&inc.article),
                };
                self.unlink(id, &rec);
                self.link(id, &new);
                self.put(article_key, encode(&new));
                Outcome::Changed
            }
            None => {
                let published = inc.stated_published.unwrap_or(inc.mtime);
                let new = Stored {
                    path: inc.path.clone(),
                    hash,
                    published,
                    updated: inc.stated_updated.unwrap_or(published).max(published),
                    seq: self.next_seq()?,
                    topics: topics_of(&inc.article),
                    blob: self.append_article(&inc.article),
                };
                self.link(id, &new);
                self.put(
                    key(prefix::ARRIVAL, &new.seq.to_be_bytes()),
                    id.as_bytes().to_vec(),
                );
                self.put(article_key, encode(&new));
                self.count_delta += 1;
                Outcome::New
            }
        };
        let entry = PathEntry {
            id: id.to_string(),
            stamp: inc.stamp,
        };
        self.put(key(prefix::PATH, inc.path.as_bytes()), encode(&entry));
        Ok(outcome)
    }
}

/// Identity of an article's content: equal hashes, same feed items.
pub fn content_hash(article: &Article) -> u128 {
    xxhash_rust::xxh3::xxh3_128(&encode(article))
}

fn member_prefix(topic: &Topic) -> Vec<u8> {
    let mut k = key(prefix::MEMBER, &topic.index_key());
    k.push(0);
    k
}

/// Topic, then newest first (published descending), then id.
fn member_key(topic: &Topic, published: i64, id: &str) -> Vec<u8> {
    let mut key = member_prefix(topic);
    let ordered = !((published as u64) ^ (1 << 63));
    key.extend_from_slice(&ordered.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
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

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| IndexError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}
