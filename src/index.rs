//! The index: every sled call of tidings lives here. It records articles with their
//! first-seen publication time (set once, never changed), a content hash (so `updated`
//! moves only when content does), an arrival sequence number, feed membership ordered
//! newest first, per-feed title spellings, and which feeds still need publishing.
//!
//! Each batch of changes is one sled transaction across all trees and is flushed before
//! the caller goes on, so a crash leaves either the old or the new state, and feeds
//! marked dirty stay dirty until they have been published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use crate::article::Article;
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
    articles: sled::Tree,
    paths: sled::Tree,
    members: sled::Tree,
    feeds: sled::Tree,
    dirty: sled::Tree,
    meta: sled::Tree,
    /// Feed → the `updated` time its published documents carry (for the listings).
    rendered: sled::Tree,
}

const SEQ_KEY: &[u8] = b"seq";

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
        Ok(Index {
            articles: db.open_tree("articles")?,
            paths: db.open_tree("paths")?,
            members: db.open_tree("members")?,
            feeds: db.open_tree("feeds")?,
            dirty: db.open_tree("dirty")?,
            meta: db.open_tree("meta")?,
            rendered: db.open_tree("rendered")?,
            db,
        })
    }

    /// Makes everything written so far survive a crash.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn path_entry(&self, path: &str) -> Result<Option<PathEntry>> {
        self.paths
            .get(path.as_bytes())?
            .map(|v| decode(path, &v))
            .transpose()
    }

    /// Every recorded store path.
    pub fn paths(&self) -> Result<Vec<(String, PathEntry)>> {
        self.paths
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let path = String::from_utf8_lossy(&k).into_owned();
                let entry = decode(&path, &v)?;
                Ok((path, entry))
            })
            .collect()
    }

    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        self.articles
            .get(id.as_bytes())?
            .map(|v| decode(id, &v))
            .transpose()
    }

    pub fn article_count(&self) -> usize {
        self.articles.len()
    }

    pub fn feed_table(&self) -> Result<FeedTable> {
        self.feeds
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let topic = topic_of_key(&k)?;
                Ok((topic, decode("feed", &v)?))
            })
            .collect()
    }

    /// The newest `n` articles of a feed, newest first.
    pub fn recent(&self, topic: &Topic, n: usize) -> Result<Vec<Record>> {
        let prefix = member_prefix(topic);
        let mut out = Vec::with_capacity(n);
        for kv in self.members.scan_prefix(&prefix).take(n) {
            let (k, _) = kv?;
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
        self.dirty
            .iter()
            .keys()
            .map(|k| topic_of_key(&k?))
            .collect()
    }

    /// Records feeds as published — with the `updated` time their documents carry, or
    /// `None` for a feed that was removed — and no longer dirty; flushed.
    pub fn finish_publish(&self, done: &[(Topic, Option<i64>)]) -> Result<()> {
        let mut rendered = sled::Batch::default();
        let mut dirty = sled::Batch::default();
        for (topic, updated) in done {
            match updated {
                Some(t) => rendered.insert(topic.index_key(), &t.to_be_bytes()),
                None => rendered.remove(topic.index_key()),
            }
            dirty.remove(topic.index_key());
        }
        self.rendered.apply_batch(rendered)?;
        self.dirty.apply_batch(dirty)?;
        self.flush()
    }

    /// Every published feed's `updated` time (unix seconds).
    pub fn rendered_times(&self) -> Result<HashMap<Topic, i64>> {
        self.rendered
            .iter()
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
            batch.insert(t.index_key(), &[]);
        }
        self.dirty.apply_batch(batch)?;
        self.flush()
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.meta.insert(key.as_bytes(), value)?;
        self.flush()
    }

    /// Records upserts and removals in one transaction, flushed. `exists` tells whether a
    /// store path still holds a file (an id held by a vanished file moves to the new one;
    /// one held by a file that is still there is a collision). `table` is updated to match.
    pub fn apply(
        &self,
        table: &mut FeedTable,
        incoming: &[Incoming],
        removed: &[String],
        exists: &dyn Fn(&str) -> bool,
    ) -> Result<Applied> {
        let trees = (
            &self.articles,
            &self.paths,
            &self.members,
            &self.feeds,
            &self.dirty,
            &self.meta,
        );
        let result = trees.transaction(|(articles, paths, members, feeds, dirty, meta)| {
            let mut tx = Tx {
                articles,
                paths,
                members,
                feeds,
                dirty,
                meta,
                table,
                touched: HashMap::new(),
                applied: Applied::default(),
                seq: None,
            };
            // Upserts first: a file moved within the store takes its id along before the
            // old path's removal is seen, so the article keeps its record.
            for inc in incoming {
                let outcome = tx.upsert(inc, exists)?;
                tx.applied.outcomes.push(outcome);
            }
            for rel in removed {
                tx.remove_path(rel)?;
            }
            Ok((tx.applied, tx.touched))
        });
        let (applied, touched) = match result {
            Ok(v) => v,
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(e)) => return Err(e),
        };
        for (topic, info) in touched {
            if info.count == 0 {
                table.remove(&topic);
            } else {
                table.insert(topic, info);
            }
        }
        self.flush()?;
        Ok(applied)
    }
}

/// One transaction's working state.
struct Tx<'a> {
    articles: &'a TransactionalTree,
    paths: &'a TransactionalTree,
    members: &'a TransactionalTree,
    feeds: &'a TransactionalTree,
    dirty: &'a TransactionalTree,
    meta: &'a TransactionalTree,
    /// Feed facts as of before the transaction (it may be retried, so it is not changed).
    table: &'a FeedTable,
    /// Feed facts changed by this transaction.
    touched: HashMap<Topic, FeedInfo>,
    applied: Applied,
    seq: Option<u64>,
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<IndexError>>;

impl Tx<'_> {
    fn get<T: for<'de> Deserialize<'de>>(
        tree: &TransactionalTree,
        key: &str,
    ) -> TxResult<Option<T>> {
        match tree.get(key.as_bytes())? {
            Some(v) => Ok(Some(
                decode(key, &v).map_err(ConflictableTransactionError::Abort)?,
            )),
            None => Ok(None),
        }
    }

    fn next_seq(&mut self) -> TxResult<u64> {
        let current = match self.seq {
            Some(s) => s,
            None => match self.meta.get(SEQ_KEY)? {
                Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
                None => 0,
            },
        };
        let next = current + 1;
        self.seq = Some(next);
        self.meta.insert(SEQ_KEY, &next.to_be_bytes())?;
        Ok(next)
    }

    fn feed(&mut self, topic: &Topic) -> &mut FeedInfo {
        if !self.touched.contains_key(topic) {
            let current = self.table.get(topic).cloned().unwrap_or_default();
            self.touched.insert(topic.clone(), current);
        }
        self.touched.get_mut(topic).expect("inserted above")
    }

    fn mark_dirty(&mut self, topic: &Topic) -> Result<(), UnabortableTransactionError> {
        self.dirty.insert(topic.index_key(), &[])?;
        self.applied.dirty.insert(topic.clone());
        Ok(())
    }

    fn unlink(&mut self, rec: &Record) -> TxResult<()> {
        for (topic, name) in &rec.topics {
            self.members
                .remove(member_key(topic, rec.published, &rec.article.id))?;
            let info = self.feed(topic);
            info.count = info.count.saturating_sub(1);
            if let Some(n) = info.names.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    info.names.remove(name);
                }
            }
            let info = info.clone();
            if info.count == 0 {
                self.feeds.remove(topic.index_key())?;
            } else {
                self.feeds.insert(topic.index_key(), encode(&info))?;
            }
            self.mark_dirty(topic)?;
        }
        Ok(())
    }

    fn link(&mut self, rec: &Record) -> TxResult<()> {
        for (topic, name) in &rec.topics {
            self.members
                .insert(member_key(topic, rec.published, &rec.article.id), &[])?;
            let info = self.feed(topic);
            info.count += 1;
            *info.names.entry(name.clone()).or_insert(0) += 1;
            let info = encode(&*info);
            self.feeds.insert(topic.index_key(), info)?;
            self.mark_dirty(topic)?;
        }
        Ok(())
    }

    /// A store path is gone: its article goes too, unless the id now lives elsewhere.
    fn remove_path(&mut self, rel: &str) -> TxResult<()> {
        let Some(entry) = Self::get::<PathEntry>(self.paths, rel)? else {
            return Ok(());
        };
        self.paths.remove(rel.as_bytes())?;
        if let Some(rec) = Self::get::<Record>(self.articles, &entry.id)? {
            if rec.path == rel {
                self.unlink(&rec)?;
                self.articles.remove(entry.id.as_bytes())?;
                self.applied.removed += 1;
            }
        }
        Ok(())
    }

    fn upsert(&mut self, inc: &Incoming, exists: &dyn Fn(&str) -> bool) -> TxResult<Outcome> {
        let id = inc.article.id.as_str();
        // The file used to hold another id (a JSON article whose id was edited).
        if let Some(old) = Self::get::<PathEntry>(self.paths, &inc.path)? {
            if old.id != id {
                self.remove_path(&inc.path)?;
            }
        }
        let existing = Self::get::<Record>(self.articles, id)?;
        if let Some(rec) = &existing {
            if rec.path != inc.path && exists(&rec.path) {
                return Ok(Outcome::Collision {
                    other: rec.path.clone(),
                });
            }
        }
        let hash = content_hash(&inc.article);
        let outcome = match existing {
            Some(rec) if rec.hash == hash => {
                if rec.path != inc.path {
                    // Moved, same content: only the path changes.
                    let moved = Record {
                        path: inc.path.clone(),
                        ..rec
                    };
                    self.articles.insert(id.as_bytes(), encode(&moved))?;
                }
                Outcome::Unchanged
            }
            Some(rec) => {
                let published = inc.stated_published.unwrap_or(rec.published);
                let updated = inc
                    .stated_updated
                    .unwrap_or(inc.mtime.max(rec.updated))
                    .max(published);
                let new = Record {
                    article: inc.article.clone(),
                    path: inc.path.clone(),
                    hash,
                    published,
                    updated,
                    seq: rec.seq,
                    topics: topics_of(&inc.article),
                };
                self.unlink(&rec)?;
                self.link(&new)?;
                self.articles.insert(id.as_bytes(), encode(&new))?;
                Outcome::Changed
            }
            None => {
                let published = inc.stated_published.unwrap_or(inc.mtime);
                let new = Record {
                    article: inc.article.clone(),
                    path: inc.path.clone(),
                    hash,
                    published,
                    updated: inc.stated_updated.unwrap_or(published).max(published),
                    seq: self.next_seq()?,
                    topics: topics_of(&inc.article),
                };
                self.link(&new)?;
                self.articles.insert(id.as_bytes(), encode(&new))?;
                Outcome::New
            }
        };
        let entry = PathEntry {
            id: id.to_string(),
            stamp: inc.stamp,
        };
        self.paths.insert(inc.path.as_bytes(), encode(&entry))?;
        Ok(outcome)
    }
}

/// Identity of an article's content: equal hashes, same feed items.
pub fn content_hash(article: &Article) -> u128 {
    xxhash_rust::xxh3::xxh3_128(&encode(article))
}

fn member_prefix(topic: &Topic) -> Vec<u8> {
    let mut key = topic.index_key();
    key.push(0);
    key
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
