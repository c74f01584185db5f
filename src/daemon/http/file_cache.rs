//! The cache of published files in memory: entity tags, gzip, and a byte budget.

use super::*;

// The file cache

/// `"` + xxh3-128 of the bytes in hex + suffix + `"`: a strong ETag, equal exactly when
/// the bytes are.
pub(super) fn content_etag(bytes: &[u8], suffix: &str) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(bytes);
    HeaderValue::from_str(&format!("\"{hash:032x}{suffix}\"")).expect("hex digits only")
}

/// The content type of a published file, by name.
pub(super) fn content_type(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match name {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        "feed.json" => "application/feed+json; charset=utf-8",
        "opml.xml" => "text/x-opml; charset=utf-8",
        _ => match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => "text/html; charset=utf-8",
            Some("json") => "application/json",
            Some("opml") => "text/x-opml; charset=utf-8",
            Some("xml") => "application/xml; charset=utf-8",
            Some("txt") => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        },
    }
}

/// What tells one version of a file from the next. Files are replaced by rename, never
/// rewritten in place, so a new version always has a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) len: u64,
    pub(super) mtime_ns: i128,
}

/// The device number of [`Identity::rendered`]: no filesystem hands it out.
const RENDERED_DEV: u64 = u64::MAX;

impl Identity {
    /// A document rendered on request: its feed's version stands for the inode.
    pub(super) fn rendered(version: u64) -> Identity {
        Identity {
            dev: RENDERED_DEV,
            ino: version,
            len: 0,
            mtime_ns: 0,
        }
    }

    fn is_rendered(&self) -> bool {
        self.dev == RENDERED_DEV
    }

    pub(super) fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }
}

/// One version of one published file, ready to send.
pub(super) struct Entry {
    pub(super) identity: Identity,
    pub(super) content_type: HeaderValue,
    pub(super) body: Bytes,
    /// The gzip encoding, made the first time a client asks for it.
    pub(super) gzip: OnceLock<Bytes>,
    pub(super) etag: HeaderValue,
    /// Derived from the identity bytes, so it is known before the gzip body is made. A
    /// strong ETag must change with the bytes sent, and gzip output is a function of the
    /// input at a fixed level and library version.
    pub(super) gzip_etag: HeaderValue,
    /// Whole seconds, as HTTP dates have them.
    pub(super) modified: SystemTime,
    pub(super) last_modified: HeaderValue,
    /// The cache's clock at the last use, for eviction.
    pub(super) last_used: AtomicU64,
}

impl Entry {
    /// Reads a file. The identity comes from the open file, so it belongs to the bytes
    /// read even if the path is replaced meanwhile. `None`: not a regular file (anymore).
    pub(super) fn load(path: &Path, rel: &str) -> io::Result<Option<Entry>> {
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)?;
        let modified_secs = meta.mtime().max(0) as u64;
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(modified_secs);
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
            .expect("HTTP dates are ASCII");
        Ok(Some(Entry {
            identity: Identity::of(&meta),
            content_type: HeaderValue::from_static(content_type(rel)),
            etag: content_etag(&bytes, ""),
            gzip_etag: content_etag(&bytes, "-gz"),
            body: Bytes::from(bytes),
            gzip: OnceLock::new(),
            modified,
            last_modified,
            last_used: AtomicU64::new(0),
        }))
    }

    /// A feed document rendered on request; `Last-Modified` is the feed's `updated`.
    pub(super) fn rendered(
        rel: &str,
        bytes: Vec<u8>,
        facts: &crate::feeds::index::FeedFacts,
    ) -> Entry {
        Entry::rendered_as(rel, bytes, facts.version, facts.updated)
    }

    /// A document rendered on request under `version`, last modified at `updated` (unix
    /// seconds).
    pub(super) fn rendered_as(rel: &str, bytes: Vec<u8>, version: u64, updated: i64) -> Entry {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(updated.max(0) as u64);
        Entry {
            identity: Identity::rendered(version),
            content_type: HeaderValue::from_static(content_type(rel)),
            etag: content_etag(&bytes, ""),
            gzip_etag: content_etag(&bytes, "-gz"),
            body: Bytes::from(bytes),
            gzip: OnceLock::new(),
            modified,
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .expect("HTTP dates are ASCII"),
            last_used: AtomicU64::new(0),
        }
    }

    /// Another rendering of a published file (the home page in one language, DESIGN §5):
    /// it has the file's identity, so it is looked up under its own key and goes stale
    /// exactly when the file is replaced.
    pub(super) fn variant(of: &Entry, bytes: Vec<u8>) -> Entry {
        Entry {
            identity: of.identity,
            content_type: of.content_type.clone(),
            etag: content_etag(&bytes, ""),
            gzip_etag: content_etag(&bytes, "-gz"),
            body: Bytes::from(bytes),
            gzip: OnceLock::new(),
            modified: of.modified,
            last_modified: of.last_modified.clone(),
            last_used: AtomicU64::new(0),
        }
    }

    pub(super) fn compress(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut enc = GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 4),
                    Compression::default(),
                );
                io::Write::write_all(&mut enc, &self.body).expect("writing to a Vec");
                Bytes::from(enc.finish().expect("writing to a Vec"))
            })
            .clone()
    }
}

/// A missing file, or a path through something that is not a folder: both a 404.
pub(super) fn is_missing(e: &io::Error) -> bool {
    /// ENOTDIR and ENAMETOOLONG on Linux (`io::ErrorKind` has stable names for them only
    /// since Rust 1.83 and 1.87, past this crate's MSRV).
    const ENOTDIR: i32 = 20;
    const ENAMETOOLONG: i32 = 36;
    e.kind() == io::ErrorKind::NotFound || matches!(e.raw_os_error(), Some(ENOTDIR | ENAMETOOLONG))
}

/// Published files in memory: `relative path → entry`, bounded by bytes held, evicting
/// the least recently used.
pub(super) struct FileCache {
    pub(super) budget: usize,
    pub(super) slots: RwLock<Slots>,
    /// Advances on every insertion; an entry's `last_used` is the clock at its last hit.
    /// Hits only read it, so concurrent requests do not contend on one cache line.
    pub(super) clock: AtomicU64,
}

#[derive(Default)]
pub(super) struct Slots {
    pub(super) map: HashMap<Box<str>, Slot>,
    /// Sum of `charged` over `map`.
    pub(super) total: usize,
}

pub(super) struct Slot {
    pub(super) entry: Arc<Entry>,
    /// Bytes counted against the budget: the body, plus the gzip body once made.
    pub(super) charged: usize,
}

impl FileCache {
    pub(super) fn new(budget: usize) -> FileCache {
        FileCache {
            budget,
            slots: RwLock::new(Slots::default()),
            clock: AtomicU64::new(1),
        }
    }

    pub(super) fn read_slots(&self) -> std::sync::RwLockReadGuard<'_, Slots> {
        // Slots stay consistent under a panic (each update is a few plain assignments),
        // so a poisoned lock is still usable.
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn write_slots(&self) -> std::sync::RwLockWriteGuard<'_, Slots> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current version of `root/rel`, or `None` if there is no such regular file.
    /// One `stat` when the cached version is current; otherwise the file is read and
    /// hashed on the blocking pool.
    pub(super) async fn get(&self, root: &Path, rel: &str) -> io::Result<Option<Arc<Entry>>> {
        let path = root.join(rel);
        // A stat of a file in the kernel's caches takes about a microsecond; handing it to
        // the blocking pool would cost more than it saves.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(e) if is_missing(&e) => {
                // A document rendered on request stays: it has no file.
                if !self
                    .read_slots()
                    .map
                    .get(rel)
                    .is_some_and(|s| s.entry.identity.is_rendered())
                {
                    self.forget(rel);
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let identity = Identity::of(&meta);
        if let Some(entry) = self.lookup(rel, identity) {
            return Ok(Some(entry));
        }
        // Concurrent misses on one file each read it and the last insertion wins: a miss
        // happens once per publication of a file and costs well under a millisecond, so
        // coalescing them would not pay for its complexity.
        let owned_rel = rel.to_string();
        let loaded = tokio::task::spawn_blocking(move || Entry::load(&path, &owned_rel))
            .await
            .map_err(io::Error::other)??;
        Ok(loaded.map(|entry| self.insert(rel, entry)))
    }

    pub(super) fn lookup(&self, rel: &str, identity: Identity) -> Option<Arc<Entry>> {
        let slots = self.read_slots();
        let entry = &slots.map.get(rel)?.entry;
        if entry.identity != identity {
            return None;
        }
        let now = self.clock.load(Ordering::Relaxed);
        if entry.last_used.load(Ordering::Relaxed) != now {
            entry.last_used.store(now, Ordering::Relaxed);
        }
        Some(entry.clone())
    }

    pub(super) fn insert(&self, rel: &str, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        let size = entry.body.len();
        if size > self.budget / CACHE_MAX_ENTRY_SHARE {
            self.forget(rel);
            return entry;
        }
        entry.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
        let mut slots = self.write_slots();
        let slot = Slot {
            entry: entry.clone(),
            charged: size,
        };
        if let Some(old) = slots.map.insert(rel.into(), slot) {
            slots.total -= old.charged;
        }
        slots.total += size;
        self.evict(&mut slots);
        entry
    }

    /// The gzip body of `entry`, made on the blocking pool the first time (a few
    /// milliseconds for a large feed) and counted against the budget.
    pub(super) async fn gzip(&self, rel: &str, entry: &Arc<Entry>) -> io::Result<Bytes> {
        if let Some(bytes) = entry.gzip.get() {
            return Ok(bytes.clone());
        }
        let made = entry.clone();
        let bytes = tokio::task::spawn_blocking(move || made.compress())
            .await
            .map_err(io::Error::other)?;
        let mut slots = self.write_slots();
        let Slots { map, total } = &mut *slots;
        if let Some(slot) = map.get_mut(rel) {
            // Only the cached version is charged, and only once (two requests may have
            // waited for the same compression).
            if Arc::ptr_eq(&slot.entry, entry) && slot.charged == entry.body.len() {
                slot.charged += bytes.len();
                *total += bytes.len();
            }
        }
        self.evict(&mut slots);
        Ok(bytes)
    }

    pub(super) fn forget(&self, rel: &str) {
        if !self.read_slots().map.contains_key(rel) {
            return;
        }
        let mut slots = self.write_slots();
        if let Some(old) = slots.map.remove(rel) {
            slots.total -= old.charged;
        }
    }

    /// Over budget: drops the least recently used entries down to three quarters of it,
    /// so that the sort is paid once per many insertions rather than on each.
    pub(super) fn evict(&self, slots: &mut Slots) {
        if slots.total <= self.budget {
            return;
        }
        let mut by_age: Vec<(u64, Box<str>)> = slots
            .map
            .iter()
            .map(|(k, s)| (s.entry.last_used.load(Ordering::Relaxed), k.clone()))
            .collect();
        by_age.sort_unstable();
        let target = self.budget / 4 * 3;
        for (_, key) in by_age {
            if slots.total <= target {
                break;
            }
            if let Some(old) = slots.map.remove(&key) {
                slots.total -= old.charged;
            }
        }
    }
}
