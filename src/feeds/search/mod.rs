//! Search over the articles (DESIGN §5 `/search`, `/search/…`): a character and
//! character-pair index of the folded text ([`text`]), kept in memory as roaring bitmaps
//! ([`postings`]) and saved beside the article log (`search.index` in the state
//! directory), so that a query reads the few candidates its keys allow instead of the
//! whole archive; each candidate is then verified with the exact rule ([`text::has_term`]),
//! so a false positive of the pairs never shows.
//!
//! One writer at a time: the daemon's builder thread brings the index up to date at
//! start (reading `search.index`, then indexing what the article index has and it lacks),
//! then the publisher after each round ([`Search::sync`]). Until the first build
//! is done, [`Search::is_ready`] is false and the HTTP side answers 503.

pub mod postings;
pub mod query;
pub mod segment;
pub mod text;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::feeds::index::{Index, IndexError};
use crate::model::article::Record;
use postings::{Doc, Indexed, Postings};
use query::Query;

/// The index file in the state directory.
pub const FILE_NAME: &str = "search.index";
/// The start of a save's temporary file's name, beside [`FILE_NAME`].
const TEMP_PREFIX: &str = ".search-";
/// Articles read and folded between two takes of the write lock.
const CHUNK: usize = 256;
/// Queries whose matches are remembered (per index version).
const FOUND_CACHE: usize = 512;

/// The search index and its state, shared by the builder, the publisher and HTTP.
pub struct Search {
    postings: RwLock<Postings>,
    ready: AtomicBool,
    /// Held by whoever changes the postings: the builder or the publisher.
    writer: Mutex<()>,
    stop: AtomicBool,
    file: PathBuf,
    /// The postings version last written to `file`.
    saved: AtomicU64,
    /// The matches of recent queries.
    found: Mutex<FoundCache>,
}

/// Normal form and limit → (postings version, ids found, newest first).
type FoundCache = HashMap<(String, usize), (u64, Arc<[Box<str>]>)>;

/// What a query found: the matching records, newest first, and the postings version
/// they were found in (a new version may find others).
pub struct Found {
    pub version: u64,
    pub records: Vec<Record>,
}

impl Search {
    /// An empty, not yet ready index whose file is `state_dir/search.index`.
    pub fn new(state_dir: &Path) -> Search {
        Search {
            postings: RwLock::new(Postings::default()),
            ready: AtomicBool::new(false),
            writer: Mutex::new(()),
            stop: AtomicBool::new(false),
            file: state_dir.join(FILE_NAME),
            saved: AtomicU64::new(0),
            found: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Moves whenever what a query finds may change.
    pub fn version(&self) -> u64 {
        self.read().version()
    }

    /// Articles indexed.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Serialized size of the saved bitmaps, for the log line of a build.
    pub fn saved_bytes(&self) -> u64 {
        self.read().saved_bytes()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Postings> {
        self.postings.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Postings> {
        self.postings.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks a running [`Search::build`] to return at its next chunk.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// The first build (the daemon's builder thread): reads the saved index if there is
    /// one, indexes every article it lacks or holds in another version and drops those
    /// gone, until nothing is left to do; then it is ready, and saved. Returns early
    /// (not ready) after [`Search::stop`].
    pub fn build(&self, index: &Index) -> Result<(), IndexError> {
        let started = Instant::now();
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.remove_stale_temporaries();
        match std::fs::File::open(&self.file) {
            Ok(file) => match Postings::open(Box::new(file)) {
                Ok(p) => {
                    self.saved.store(p.version(), Ordering::Release);
                    *self.write() = p;
                }
                Err(e) => tracing::warn!(
                    "{}: {e}; building the search index afresh",
                    self.file.display()
                ),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "{}: {e}; building the search index afresh",
                self.file.display()
            ),
        }
        let mut indexed = 0;
        loop {
            let (stale, gone) = self.diff(index);
            if stale.is_empty() && gone.is_empty() {
                break;
            }
            indexed += stale.len();
            if !self.apply(index, &stale, &gone)? {
                return Ok(());
            }
        }
        // Ready first, then one more pass: a publisher round that saw "not ready" and
        // left its change to this thread changed the index before the flag was set, so
        // this pass sees it; one that sees "ready" waits for the lock and syncs itself.
        self.ready.store(true, Ordering::SeqCst);
        let (stale, gone) = self.diff(index);
        indexed += stale.len();
        self.apply(index, &stale, &gone)?;
        self.save_or_warn(false);
        drop(writer);
        tracing::info!(
            "search index ready: {} articles ({indexed} indexed now), {} MB of bitmaps, in {:.1} s",
            self.len(),
            self.saved_bytes() >> 20,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// After a publisher round: indexes what changed, once the first build is done (until
    /// then the builder catches up itself; see [`Search::build`]).
    pub fn sync(&self, index: &Index) -> Result<(), IndexError> {
        if !self.ready.load(Ordering::SeqCst) {
            return Ok(());
        }
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (stale, gone) = self.diff(index);
        if !stale.is_empty() || !gone.is_empty() {
            self.apply(index, &stale, &gone)?;
        }
        Ok(())
    }

    /// Articles of the index not indexed in their current version, and indexed ids that
    /// the index no longer has. One pass over both (about 10 ms at 100,000 articles).
    fn diff(&self, index: &Index) -> (Vec<String>, Vec<Box<str>>) {
        let postings = self.read();
        let mut present: HashMap<&str, bool> = postings.docs().map(|d| (&*d.id, false)).collect();
        let mut stale = Vec::new();
        index.for_each_article(|id, hash| match postings.doc(id) {
            Some(doc) => {
                present.insert(&*doc.id, true);
                if doc.hash != hash as u64 {
                    stale.push(id.to_string());
                }
            }
            None => stale.push(id.to_string()),
        });
        let gone = present
            .into_iter()
            .filter(|(_, seen)| !seen)
            .map(|(id, _)| id.into())
            .collect();
        (stale, gone)
    }

    /// Indexes `stale` in chunks (read and folded without the lock, added under it) and
    /// drops `gone`. False: stopped.
    fn apply(
        &self,
        index: &Index,
        stale: &[String],
        gone: &[Box<str>],
    ) -> Result<bool, IndexError> {
        if !gone.is_empty() {
            let mut postings = self.write();
            for id in gone {
                postings.remove(id);
            }
        }
        for chunk in stale.chunks(CHUNK) {
            if self.stop.load(Ordering::Acquire) {
                return Ok(false);
            }
            let mut made = Vec::with_capacity(chunk.len());
            for id in chunk {
                // Removed since the diff: the next diff drops it if it was indexed.
                if let Some(rec) = index.record(id)? {
                    made.push(indexed(&rec));
                }
            }
            let mut postings = self.write();
            for one in made {
                postings.add(one);
            }
            let full = postings.needs_saving();
            drop(postings);
            if full {
                self.save_or_warn(false);
            }
        }
        let compact = self.read().needs_compacting();
        if compact {
            self.save_or_warn(true);
        }
        Ok(true)
    }

    /// A save by the holder of `writer` while indexing: failing, it is logged and the
    /// bitmaps stay in memory (the next chunk or round tries again), which costs memory
    /// but loses nothing.
    fn save_or_warn(&self, compact: bool) {
        if let Err(e) = self.save_locked(compact) {
            tracing::warn!("{}: cannot save the search index: {e}", self.file.display());
        }
    }

    /// Temporary files of a save cut short by a crash (a save removes its own otherwise).
    fn remove_stale_temporaries(&self) {
        let Some(dir) = self.file.parent() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Writes the index to its file (atomically: a temporary file, then rename) unless
    /// the file already holds this version.
    pub fn save(&self) -> io::Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.save_locked(false)
    }

    /// [`Search::save`] by the holder of `writer` (nothing changes the postings
    /// meanwhile): the saved bitmaps and those added since are written to a new file,
    /// which then replaces the old one and is read from, and the added bitmaps' memory is
    /// given back. With `compact`, the dead document numbers are dropped as well.
    fn save_locked(&self, compact: bool) -> io::Result<()> {
        let postings = self.read();
        if self.saved.load(Ordering::Acquire) == postings.version() && !compact {
            return Ok(());
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        postings.write_to(
            io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut()),
            compact,
        )?;
        tmp.as_file().sync_data()?;
        let file = tmp.persist(&self.file).map_err(|e| e.error)?;
        let reopened = postings.reopened(Box::new(file))?;
        drop(postings);
        let version = reopened.version();
        *self.write() = reopened;
        self.saved.store(version, Ordering::Release);
        Ok(())
    }

    /// The newest `limit` articles matching `query`, read from `index` and verified
    /// against the exact rule: each term a substring of the folded text, and the article
    /// in one of the query's feeds when it names any.
    pub fn find(&self, index: &Index, query: &Query, limit: usize) -> Result<Found, IndexError> {
        let key = (query.normal_form(), limit);
        // Held while candidates are verified (tens of milliseconds at most), so that
        // they are not copied: a writer waits that long.
        let postings = self.read();
        let version = postings.version();
        let cached = self.found_cache().get(&key).cloned();
        if let Some((_, ids)) = cached.filter(|(v, _)| *v == version) {
            let records = ids
                .iter()
                .filter_map(|id| index.record(id).transpose())
                .collect::<Result<_, _>>()?;
            return Ok(Found { version, records });
        }
        let mut records = Vec::new();
        let mut failed = None;
        let mut candidates = postings
            .candidates(query)
            .map_err(|source| IndexError::File {
                path: self.file.clone(),
                source,
            })?;
        // Most candidates of a term match: twice the limit usually holds them all.
        postings::in_order(&mut candidates, limit * 2, |doc| {
            if records.len() == limit {
                return false;
            }
            match index.record(&doc.id) {
                Ok(Some(rec)) if matches(query, &rec) => records.push(rec),
                Ok(_) => {}
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            true
        });
        drop(postings);
        if let Some(e) = failed {
            return Err(e);
        }
        let ids: Arc<[Box<str>]> = records
            .iter()
            .map(|r| r.article.id.as_str().into())
            .collect();
        let mut cache = self.found_cache();
        if cache.len() >= FOUND_CACHE {
            cache.clear();
        }
        cache.insert(key, (version, ids));
        Ok(Found { version, records })
    }

    fn found_cache(&self) -> std::sync::MutexGuard<'_, FoundCache> {
        self.found.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The saved index is read in place: positioned reads, shared by every thread.
impl segment::Source for std::fs::File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// The exact rule a candidate is checked with.
pub fn matches(query: &Query, rec: &Record) -> bool {
    let in_feeds =
        query.topics.is_empty() || rec.topics.iter().any(|(t, _)| query.topics.contains(t));
    if !in_feeds {
        return false;
    }
    text::has_terms(&rec.article, &query.terms)
}

/// What the index keeps of one record.
fn indexed(rec: &Record) -> Indexed {
    Indexed {
        doc: Doc {
            id: rec.article.id.as_str().into(),
            hash: rec.hash as u64,
            published: rec.published,
        },
        grams: text::text_grams(&text::searchable_text(&rec.article)),
        topics: rec.topics.iter().map(|(t, _)| t.index_key()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures;

    #[test]
    fn matching_checks_terms_and_feeds_exactly() {
        let rec = fixtures::seed();
        let q = |s: &str| Query::parse(s).unwrap();
        assert!(matches(&q("q=重庆"), &rec));
        assert!(matches(&q("q=重庆&q=统战"), &rec));
        assert!(!matches(&q("q=重庆&q=不在此文"), &rec));
        assert!(
            matches(&q("q=重庆&section=黨派·聲音"), &rec),
            "a parent section"
        );
        assert!(matches(
            &q("section=黨派·聲音/統一戰線&keyword=无此词"),
            &rec
        ));
        assert!(!matches(&q("q=重庆&section=國際"), &rec));
        assert!(matches(&q("keyword=重庆市"), &rec));
        let grams = indexed(&rec).grams;
        assert!(grams.windows(2).all(|w| w[0] < w[1]));
    }
}
