//! The in-memory side of the index: every article's metadata (not its content), looked up
//! by id and by store path, and every feed's members ordered newest first, its article
//! count and its spellings. sled keeps one record per article; all of this is derived
//! from those records when the index opens, so the B-tree holds no per-feed keys (a cold
//! build writes one key per article instead of one per feed membership). Pure: no sled
//! call, file or clock here.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;

use super::vocabulary::Vocabulary;
use super::{BlobRef, FeedInfo, FileStamp};
use crate::model::topic::Topic;

/// Position of an article in [`Catalog::slots`].
pub(super) type Slot = u32;

/// What the catalog keeps of one article.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub id: Box<str>,
    /// Store-relative path, `/`-separated.
    pub path: Box<str>,
    pub stamp: FileStamp,
    pub hash: u128,
    pub published: i64,
    pub updated: i64,
    pub seq: u64,
    pub blob: BlobRef,
    /// (topic number, spelling number within that topic), in the article's topic order.
    pub topics: Box<[(u32, u32)]>,
}

/// One feed.
#[derive(Debug)]
pub(super) struct Feed {
    pub topic: Topic,
    /// `Topic::index_key`, as text (folded names are UTF-8).
    pub key: Box<str>,
    pub count: u64,
    /// Spellings with how many articles use each; a spelling whose count falls to zero
    /// keeps its place, so that entries' spelling numbers stay valid.
    pub names: Vec<(Box<str>, u32)>,
    /// (published, slot), newest first, ties by id: what `recent` reads.
    members: Vec<(i64, Slot)>,
    /// Members added since the last [`Catalog::settle`], in no order.
    pending: Vec<(i64, Slot)>,
    /// Changes whenever the feed's members or their content do (a catalog-wide counter,
    /// so a feed removed and made again never repeats a version): what a document
    /// rendered on request is cached under.
    pub version: u64,
    /// Its mark as dirty is in the tree (set by a batch, cleared when published).
    pub marked_dirty: bool,
    /// The arrival number that ends each complete archive page, oldest first (DESIGN §2
    /// "Archives"): page n holds the members that arrived after the end of page n − 1
    /// and no later than its own; the open page, `archive.len() + 1`, those after. Kept
    /// in the tree ([`super::archive`]), so that a removal never moves a page's end;
    /// empty (no allocation) for a feed that never filled a page.
    pub archive: Box<[u64]>,
}

impl Feed {
    fn info(&self) -> FeedInfo {
        FeedInfo {
            count: self.count,
            names: self
                .names
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| (name.to_string(), *n))
                .collect(),
        }
    }
}

/// xxh3 with a seed chosen per process: several times faster than std's SipHash on the
/// paths and ids a store is full of, and still not predictable from outside.
#[derive(Clone, Copy)]
pub(super) struct FastHash {
    seed: u64,
}

impl Default for FastHash {
    fn default() -> Self {
        FastHash {
            seed: std::hash::RandomState::new().hash_one(0u8),
        }
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.seed)
    }
}

pub(super) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FastHash {
    fn str(&self, s: &str) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(s.as_bytes(), self.seed)
    }
}

/// A map keyed by feed keys or topics, hashed with [`FastHash`].
pub(super) type FastMap<K, V> = HashMap<K, V, FastHash>;

#[derive(Default)]
pub(super) struct Catalog {
    /// By arrival: an article keeps its slot while it lives; a removed one leaves `None`
    /// until the index is next opened.
    slots: Vec<Option<Entry>>,
    /// The arrival number of each slot, kept for removed ones too: slots are in arrival
    /// order, so a range of arrival numbers is found by binary search.
    seqs: Vec<u64>,
    live: usize,
    by_id: HashTable<Slot>,
    by_path: HashTable<Slot>,
    hasher: FastHash,
    feeds: Vec<Feed>,
    feed_numbers: FastMap<Topic, u32>,
    /// Feeds with at least one article.
    live_feeds: usize,
    /// Feeds with members in `pending`.
    unsettled: Vec<u32>,
    /// Hands out feed versions.
    clock: u64,
    /// Complete archive pages whose members changed (edits and removals) since the feed
    /// was last published, per feed number: the pages a writer of archive files must
    /// rewrite besides the open one. Empty in the common case of arrivals only.
    archive_touched: FastMap<u32, Vec<u32>>,
    pub(super) vocabulary: Vocabulary,
}

fn entry(slots: &[Option<Entry>], slot: Slot) -> &Entry {
    slots[slot as usize]
        .as_ref()
        .expect("the catalog's tables only point at live slots")
}

/// Newest first; the same second orders by id, so the order never depends on arrival.
fn newest_first(slots: &[Option<Entry>], a: &(i64, Slot), b: &(i64, Slot)) -> Ordering {
    b.0.cmp(&a.0)
        .then_with(|| entry(slots, a.1).id.cmp(&entry(slots, b.1).id))
}

impl Catalog {
    /// An empty catalog with room for `articles` without rehashing.
    pub fn with_capacity(articles: usize) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.slots.reserve(articles);
        catalog.seqs.reserve(articles);
        catalog.by_id.reserve(articles, |_| 0);
        catalog.by_path.reserve(articles, |_| 0);
        catalog
    }

    pub fn len(&self) -> usize {
        self.live
    }

    fn hash(&self, s: &str) -> u64 {
        self.hasher.str(s)
    }

    pub fn slot_of_id(&self, id: &str) -> Option<Slot> {
        let slots = &self.slots;
        self.by_id
            .find(self.hash(id), |&s| &*entry(slots, s).id == id)
            .copied()
    }

    pub fn slot_of_path(&self, path: &str) -> Option<Slot> {
        let slots = &self.slots;
        self.by_path
            .find(self.hash(path), |&s| &*entry(slots, s).path == path)
            .copied()
    }

    pub fn get(&self, slot: Slot) -> &Entry {
        entry(&self.slots, slot)
    }

    /// The article in a slot, if it was not removed.
    pub fn try_get(&self, slot: Slot) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    pub fn by_id(&self, id: &str) -> Option<&Entry> {
        self.slot_of_id(id).map(|s| self.get(s))
    }

    pub fn by_path(&self, path: &str) -> Option<&Entry> {
        self.slot_of_path(path).map(|s| self.get(s))
    }

    /// Every live article, in arrival order.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// Every live article with its slot.
    pub fn slotted(&self) -> impl Iterator<Item = (Slot, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(n, e)| e.as_ref().map(|e| (n as Slot, e)))
    }

    /// Moves an article's content to another place in the log.
    pub fn set_blob(&mut self, slot: Slot, blob: BlobRef) {
        if let Some(e) = self.slots[slot as usize].as_mut() {
            e.blob = blob;
        }
    }

    /// Live articles whose arrival numbers are in `range`, in arrival order.
    pub fn arrived_in(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = &Entry> {
        let start = self.seqs.partition_point(|&s| s < range.start);
        let end = self.seqs.partition_point(|&s| s < range.end);
        self.slots[start..end].iter().flatten()
    }

    /// Which of `files` (store path, stamp) are new or changed since recorded, by
    /// position, and which recorded paths are not among them.
    pub fn compare<'a>(
        &self,
        files: impl IntoIterator<Item = (&'a str, FileStamp)>,
    ) -> (Vec<usize>, Vec<String>) {
        let mut seen = vec![false; self.slots.len()];
        let mut changed = Vec::new();
        for (n, (path, stamp)) in files.into_iter().enumerate() {
            match self.slot_of_path(path) {
                Some(slot) => {
                    seen[slot as usize] = true;
                    if self.get(slot).stamp != stamp {
                        changed.push(n);
                    }
                }
                None => changed.push(n),
            }
        }
        let gone = self
            .slots
            .iter()
            .zip(seen)
            .filter_map(|(e, seen)| e.as_ref().filter(|_| !seen))
            .map(|e| e.path.to_string())
            .collect();
        (changed, gone)
    }

    pub fn feed(&self, number: u32) -> &Feed {
        &self.feeds[number as usize]
    }

    pub fn feed_number(&self, topic: &Topic) -> Option<u32> {
        self.feed_numbers.get(topic).copied()
    }

    /// The number of a feed, creating it (empty) on first sight.
    pub fn intern_feed(&mut self, topic: &Topic) -> u32 {
        if let Some(&n) = self.feed_numbers.get(topic) {
            return n;
        }
        let n = self.feeds.len() as u32;
        let key = String::from_utf8(topic.index_key()).expect("topic keys are UTF-8");
        self.feeds.push(Feed {
            topic: topic.clone(),
            key: key.into(),
            count: 0,
            names: Vec::new(),
            members: Vec::new(),
            pending: Vec::new(),
            version: 0,
            marked_dirty: false,
            archive: Box::default(),
        });
        self.feed_numbers.insert(topic.clone(), n);
        self.vocabulary.interned(topic, n);
        n
    }

    /// The number of a spelling within a feed, adding it on first sight.
    pub fn intern_spelling(&mut self, feed: u32, spelling: &str) -> u32 {
        let names = &mut self.feeds[feed as usize].names;
        match names.iter().position(|(s, _)| &**s == spelling) {
            Some(n) => n as u32,
            None => {
                names.push((spelling.into(), 0));
                (names.len() - 1) as u32
            }
        }
    }

    pub fn set_marked_dirty(&mut self, number: u32, marked: bool) {
        self.feeds[number as usize].marked_dirty = marked;
    }

    /// How many feeds have at least one article.
    pub fn feed_count(&self) -> usize {
        self.live_feeds
    }

    /// The newest `updated` (never before `published`) among a feed's newest `n`
    /// members: the `updated` time of its documents.
    pub fn feed_updated(&self, number: u32, n: usize) -> i64 {
        self.feeds[number as usize]
            .members
            .iter()
            .take(n)
            .map(|&(_, s)| {
                let e = entry(&self.slots, s);
                e.updated.max(e.published)
            })
            .max()
            .unwrap_or(0)
    }

    /// Feeds with at least one article.
    pub fn table(&self) -> BTreeMap<Topic, FeedInfo> {
        self.feeds
            .iter()
            .filter(|f| f.count > 0)
            .map(|f| (f.topic.clone(), f.info()))
            .collect()
    }

    /// The newest `n` members of a feed (settled), newest first.
    pub fn recent(&self, topic: &Topic, n: usize) -> Vec<&Entry> {
        let Some(number) = self.feed_number(topic) else {
            return Vec::new();
        };
        let feed = &self.feeds[number as usize];
        debug_assert!(feed.pending.is_empty(), "recent() on an unsettled catalog");
        feed.members
            .iter()
            .take(n)
            .map(|&(_, s)| entry(&self.slots, s))
            .collect()
    }

    /// The newest `n` articles that are members of any of `topics` (settled), newest
    /// first as within a feed, each once: a personal feed's sections and keywords
    /// (DESIGN §5). Reads each feed's newest `n` members, nothing proportional to its size.
    pub fn newest_of(&self, topics: &[Topic], n: usize) -> Vec<&Entry> {
        let mut members: Vec<(i64, Slot)> = topics
            .iter()
            .filter_map(|t| self.feed_number(t))
            .flat_map(|f| self.feeds[f as usize].members.iter().take(n).copied())
            .collect();
        let slots = &self.slots;
        members.sort_unstable_by(|a, b| newest_first(slots, a, b));
        // One article in several of the feeds compares equal to itself: adjacent.
        members.dedup_by_key(|m| m.1);
        members
            .into_iter()
            .take(n)
            .map(|(_, s)| entry(slots, s))
            .collect()
    }

    /// The catalog-wide version: moves whenever any feed's members or their content do.
    pub fn version(&self) -> u64 {
        self.clock
    }

    /// Adds an article (its topics already interned) and makes it a member of its feeds.
    /// Articles are added in arrival order. Returns its slot.
    pub fn insert(&mut self, e: Entry) -> Slot {
        debug_assert!(self.seqs.last().map_or(true, |&last| last < e.seq));
        let slot = self.slots.len() as Slot;
        let (hid, hpath) = (self.hash(&e.id), self.hash(&e.path));
        self.seqs.push(e.seq);
        self.slots.push(Some(e));
        self.live += 1;
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id
            .insert_unique(hid, slot, |&s| hasher.str(&entry(slots, s).id));
        self.by_path
            .insert_unique(hpath, slot, |&s| hasher.str(&entry(slots, s).path));
        self.link(slot);
        slot
    }

    /// Removes an article from its feeds and both lookups; returns what it was.
    pub fn remove(&mut self, slot: Slot) -> Entry {
        self.unlink(slot);
        self.forget_path(slot);
        let h = self.hash(&self.get(slot).id);
        if let Ok(found) = self.by_id.find_entry(h, |&s| s == slot) {
            found.remove();
        }
        self.live -= 1;
        self.slots[slot as usize]
            .take()
            .expect("remove() of a live slot")
    }

    /// Gives an article a new path.
    pub fn set_path(&mut self, slot: Slot, path: &str) {
        self.forget_path(slot);
        let h = self.hash(path);
        self.slots[slot as usize]
            .as_mut()
            .expect("set_path() of a live slot")
            .path = path.into();
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_path
            .insert_unique(h, slot, |&s| hasher.str(&entry(slots, s).path));
    }

    /// Takes an article out of the lookup by path, leaving it otherwise as it is (until
    /// [`Catalog::set_path`] gives it a path again).
    pub fn forget_path(&mut self, slot: Slot) {
        let h = self.hash(&self.get(slot).path);
        if let Ok(found) = self.by_path.find_entry(h, |&s| s == slot) {
            found.remove();
        }
    }

    /// Changes an article's fields other than id and path: it leaves its old feeds and
    /// joins its new ones.
    pub fn update(&mut self, slot: Slot, change: impl FnOnce(&mut Entry)) {
        self.unlink(slot);
        change(
            self.slots[slot as usize]
                .as_mut()
                .expect("update() of a live slot"),
        );
        self.link(slot);
    }

    /// A stamp-only change (the file was touched, its content is the same).
    pub fn set_stamp(&mut self, slot: Slot, stamp: FileStamp) {
        if let Some(e) = self.slots[slot as usize].as_mut() {
            e.stamp = stamp;
        }
    }

    fn link(&mut self, slot: Slot) {
        let e = entry(&self.slots, slot);
        for &(f, sp) in e.topics.iter() {
            touch_archive(&mut self.archive_touched, &self.feeds[f as usize], f, e.seq);
            let feed = &mut self.feeds[f as usize];
            feed.count += 1;
            feed.names[sp as usize].1 += 1;
            if feed.pending.is_empty() {
                self.unsettled.push(f);
            }
            feed.pending.push((e.published, slot));
            self.clock += 1;
            feed.version = self.clock;
            if feed.count == 1 {
                self.live_feeds += 1;
            }
            self.vocabulary
                .counted(&feed.topic, f, feed.count - 1, feed.count);
        }
    }

    fn unlink(&mut self, slot: Slot) {
        let slots = &self.slots;
        let e = entry(slots, slot);
        let member = (e.published, slot);
        for &(f, sp) in e.topics.iter() {
            touch_archive(&mut self.archive_touched, &self.feeds[f as usize], f, e.seq);
            let feed = &mut self.feeds[f as usize];
            feed.count -= 1;
            feed.names[sp as usize].1 -= 1;
            self.clock += 1;
            feed.version = self.clock;
            if feed.count == 0 {
                self.live_feeds -= 1;
            }
            self.vocabulary
                .counted(&feed.topic, f, feed.count + 1, feed.count);
            if let Some(i) = feed.pending.iter().position(|m| m.1 == slot) {
                feed.pending.swap_remove(i);
            } else if let Ok(i) = feed
                .members
                .binary_search_by(|m| newest_first(slots, m, &member))
            {
                feed.members.remove(i);
            }
        }
    }

    /// Gives back what the lists grown member by member hold beyond their length (up to
    /// half of each): once, after the catalog is read whole, when no list grows for a while.
    pub fn trim(&mut self) {
        for feed in &mut self.feeds {
            feed.members.shrink_to_fit();
            feed.names.shrink_to_fit();
        }
        self.feeds.shrink_to_fit();
    }

    /// Orders the members added since the last settle into their feeds (a sort of the
    /// new ones and one merge per feed, so a build of many batches stays linear).
    pub fn settle(&mut self) {
        let slots = &self.slots;
        for f in std::mem::take(&mut self.unsettled) {
            let feed = &mut self.feeds[f as usize];
            if feed.pending.is_empty() {
                continue;
            }
            let mut new = std::mem::take(&mut feed.pending);
            new.sort_unstable_by(|a, b| newest_first(slots, a, b));
            if feed.members.is_empty() {
                feed.members = new;
                continue;
            }
            let old = std::mem::take(&mut feed.members);
            let mut merged = Vec::with_capacity(old.len() + new.len());
            let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                if newest_first(slots, x, y) == Ordering::Greater {
                    merged.push(b.next().expect("peeked"));
                } else {
                    merged.push(a.next().expect("peeked"));
                }
            }
            merged.extend(a);
            merged.extend(b);
            feed.members = merged;
        }
    }
}

/// The archive page of a feed that an arrival number falls on.
fn archive_page_of(feed: &Feed, seq: u64) -> u32 {
    feed.archive.partition_point(|&end| end < seq) as u32 + 1
}

/// Records that a member of a complete archive page came or went.
fn touch_archive(touched: &mut FastMap<u32, Vec<u32>>, feed: &Feed, number: u32, seq: u64) {
    let page = archive_page_of(feed, seq);
    if page as usize <= feed.archive.len() {
        let pages = touched.entry(number).or_default();
        if !pages.contains(&page) {
            pages.push(page);
        }
    }
}

/// Archive pages (DESIGN §2 "Archives"): which members each holds, and closing the open
/// page once it is full. Pages are bounded by arrival numbers, not by rank, so that an
/// arrival only ever joins the open page and a removal shrinks its own page alone.
impl Catalog {
    /// The open (newest) archive page of a feed.
    pub fn archive_newest(&self, number: u32) -> u32 {
        self.feeds[number as usize].archive.len() as u32 + 1
    }

    /// The members of archive page `page` (1 ..= newest), newest arrival first.
    pub fn archive_page(&self, number: u32, page: u32) -> Vec<&Entry> {
        let feed = &self.feeds[number as usize];
        debug_assert!(
            feed.pending.is_empty(),
            "archive_page() on an unsettled catalog"
        );
        // Page n holds the arrival numbers in (end of n − 1, end of n]; no page 0, and
        // nothing after the open page.
        let end = |n: u32| match n {
            0 => 0,
            n => feed
                .archive
                .get(n as usize - 1)
                .copied()
                .unwrap_or(u64::MAX),
        };
        let (after, until) = match page {
            0 => (u64::MAX, 0),
            n => (end(n - 1), end(n)),
        };
        let mut slots: Vec<Slot> = feed
            .members
            .iter()
            .map(|&(_, s)| s)
            .filter(|&s| (after.saturating_add(1)..=until).contains(&self.seqs[s as usize]))
            .collect();
        // Slots are in arrival order.
        slots.sort_unstable_by(|a, b| b.cmp(a));
        slots.into_iter().map(|s| entry(&self.slots, s)).collect()
    }

    /// Every archive page of a feed at once (one pass over its members), oldest page
    /// first, each newest arrival first.
    pub fn archive_pages(&self, number: u32) -> Vec<Vec<&Entry>> {
        let feed = &self.feeds[number as usize];
        let mut pages: Vec<Vec<Slot>> = vec![Vec::new(); feed.archive.len() + 1];
        for &(_, s) in &feed.members {
            let page = archive_page_of(feed, self.seqs[s as usize]);
            pages[page as usize - 1].push(s);
        }
        pages
            .into_iter()
            .map(|mut slots| {
                slots.sort_unstable_by(|a, b| b.cmp(a));
                slots.into_iter().map(|s| entry(&self.slots, s)).collect()
            })
            .collect()
    }

    /// Closes the open page of a feed while it holds at least `items` members: each
    /// closed page ends at the arrival number of its `items`-th member (oldest first).
    /// Returns the open page before, if any page was closed.
    pub fn close_archive_pages(&mut self, number: u32, items: usize) -> Option<u32> {
        let feed = &self.feeds[number as usize];
        if items == 0 || (feed.count as usize) < items {
            return None;
        }
        let last_end = feed.archive.last().copied().unwrap_or(0);
        let mut open: Vec<u64> = feed
            .members
            .iter()
            .map(|&(_, s)| self.seqs[s as usize])
            .filter(|&seq| seq > last_end)
            .collect();
        if open.len() < items {
            return None;
        }
        open.sort_unstable();
        let before = self.archive_newest(number);
        let mut ends = self.feeds[number as usize].archive.to_vec();
        ends.extend(open.chunks_exact(items).map(|page| page[items - 1]));
        self.set_archive(number, ends.into());
        let newest = self.archive_newest(number);
        let touched = self.archive_touched.entry(number).or_default();
        for page in before..newest {
            if !touched.contains(&page) {
                touched.push(page);
            }
        }
        Some(before)
    }

    /// Sets the page ends of a feed (read back from the tree, or closed).
    pub fn set_archive(&mut self, number: u32, ends: Box<[u64]>) {
        let feed = &mut self.feeds[number as usize];
        if feed.archive != ends {
            feed.archive = ends;
            self.clock += 1;
            feed.version = self.clock;
        }
    }

    /// The complete pages of a feed that changed since it was last published: completed
    /// since, or with members edited or removed.
    pub fn archive_touched(&self, number: u32) -> &[u32] {
        self.archive_touched.get(&number).map_or(&[], Vec::as_slice)
    }

    /// The feed was published.
    pub fn clear_archive_touched(&mut self, number: u32) {
        self.archive_touched.remove(&number);
    }

    /// The spelling of a feed used most by some of its members (ties: the smallest), so
    /// that an archive page's title depends on its own articles alone.
    pub fn spelling_among(&self, number: u32, members: &[&Entry]) -> &str {
        let feed = &self.feeds[number as usize];
        let mut counts = vec![0u32; feed.names.len()];
        for e in members {
            if let Some(&(_, sp)) = e.topics.iter().find(|&&(f, _)| f == number) {
                counts[sp as usize] += 1;
            }
        }
        counts
            .iter()
            .zip(&feed.names)
            .filter(|(&n, _)| n > 0)
            .max_by(|a, b| a.0.cmp(b.0).then_with(|| b.1 .0.cmp(&a.1 .0)))
            .map_or("", |(_, (name, _))| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_for(cat: &mut Catalog, id: &str, published: i64, topics: &[(Topic, &str)]) -> Entry {
        let topics = topics
            .iter()
            .map(|(t, sp)| {
                let f = cat.intern_feed(t);
                (f, cat.intern_spelling(f, sp))
            })
            .collect();
        Entry {
            id: id.into(),
            path: format!("{id}.txt").into(),
            stamp: FileStamp {
                mtime_ns: 0,
                size: 0,
            },
            hash: 0,
            published,
            updated: published,
            seq: cat.seqs.last().map_or(1, |s| s + 1),
            blob: BlobRef { offset: 0, len: 0 },
            topics,
        }
    }

    fn ids(cat: &Catalog, topic: &Topic) -> Vec<String> {
        cat.recent(topic, 100)
            .iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    #[test]
    fn members_stay_newest_first_through_inserts_updates_and_removals() {
        let mut cat = Catalog::default();
        let kw = Topic::Keyword("重庆市".into());
        for (id, t) in [("b", 20), ("a", 20), ("c", 10), ("d", 30)] {
            let e = entry_for(&mut cat, id, t, &[(Topic::All, ""), (kw.clone(), "重慶市")]);
            cat.insert(e);
        }
        cat.settle();
        assert_eq!(ids(&cat, &Topic::All), ["d", "a", "b", "c"]);
        for (id, t) in [("e", 15), ("f", 40)] {
            let e = entry_for(&mut cat, id, t, &[(Topic::All, "")]);
            cat.insert(e);
        }
        let c = cat.slot_of_id("c").unwrap();
        cat.update(c, |e| e.published = 50);
        let a = cat.slot_of_id("a").unwrap();
        let gone = cat.remove(a);
        assert_eq!(&*gone.id, "a");
        cat.settle();
        assert_eq!(ids(&cat, &Topic::All), ["c", "f", "d", "b", "e"]);
        assert_eq!(ids(&cat, &kw), ["c", "d", "b"]);
        assert_eq!(cat.len(), 5);
        assert!(cat.by_id("a").is_none());
        assert!(cat.by_path("a.txt").is_none());
        let table = cat.table();
        assert_eq!(table[&kw].count, 3);
        assert_eq!(table[&kw].title(), "重慶市");
    }

    /// The top-keyword order, the prefix lookup, the manifest pages and the live feed
    /// count follow every insert and removal without a scan of the feeds.
    #[test]
    fn the_vocabulary_follows_each_article() {
        let mut cat = Catalog::default();
        let kw = |k: &str| Topic::Keyword(k.into());
        let mut slots = Vec::new();
        for (id, kws) in [
            ("a", &["重庆市", "上海市"][..]),
            ("b", &["重庆市"][..]),
            ("c", &["重庆", "上海市"][..]),
            ("d", &["重庆市"][..]),
        ] {
            let mut topics = vec![(Topic::All, "")];
            topics.extend(kws.iter().map(|k| (kw(k), *k)));
            let e = entry_for(&mut cat, id, 1, &topics);
            slots.push(cat.insert(e));
        }
        cat.settle();
        let names = |cat: &Catalog, numbers: Vec<u32>| -> Vec<String> {
            numbers
                .into_iter()
                .map(|f| cat.feed(f).topic.manifest_key())
                .collect()
        };
        let top = cat.vocabulary.top(10).collect();
        assert_eq!(names(&cat, top), ["重庆市", "上海市", "重庆"]);
        let found = cat.vocabulary.with_prefix("重庆").collect();
        assert_eq!(names(&cat, found), ["重庆", "重庆市"]);
        assert_eq!(cat.feed_count(), 4);
        let page = kw("重庆").manifest_page().unwrap();
        assert!(cat.vocabulary.live_pages().any(|p| p == page));
        let version = cat.feed(cat.feed_number(&kw("上海市")).unwrap()).version;
        // b, c and d leave: 重庆 has no article left, 上海市 now leads.
        cat.remove(slots[2]);
        cat.remove(slots[1]);
        cat.remove(slots[3]);
        cat.settle();
        let mut top = names(&cat, cat.vocabulary.top(10).collect());
        top.sort();
        assert_eq!(top, ["上海市", "重庆市"], "one article each");
        assert_eq!(cat.feed_count(), 3);
        assert_ne!(
            cat.feed(cat.feed_number(&kw("上海市")).unwrap()).version,
            version
        );
    }

    fn page_ids(cat: &Catalog, topic: &Topic, page: u32) -> Vec<String> {
        let f = cat.feed_number(topic).unwrap();
        cat.archive_page(f, page)
            .iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    /// Archive pages go by arrival: full pages close at `items`, a back-dated arrival
    /// joins the open page, a removal shrinks its own page and moves no other, and every
    /// member is on exactly one page.
    #[test]
    fn archive_pages_are_bounded_by_arrival() {
        let mut cat = Catalog::default();
        let all = Topic::All;
        let mut slots = Vec::new();
        for (id, t) in [("a", 10), ("b", 20), ("c", 30), ("d", 40), ("e", 50)] {
            let e = entry_for(&mut cat, id, t, &[(Topic::All, "")]);
            slots.push(cat.insert(e));
        }
        cat.settle();
        let f = cat.feed_number(&all).unwrap();
        assert_eq!(cat.archive_newest(f), 1);
        assert_eq!(cat.close_archive_pages(f, 2), Some(1));
        assert_eq!(cat.close_archive_pages(f, 2), None, "nothing more to close");
        assert_eq!(cat.archive_newest(f), 3);
        assert_eq!(page_ids(&cat, &all, 1), ["b", "a"]);
        assert_eq!(page_ids(&cat, &all, 2), ["d", "c"]);
        assert_eq!(page_ids(&cat, &all, 3), ["e"]);
        let version = cat.feed(f).version;
        // Back-dated: published before everything, it still lands on the open page.
        let old = entry_for(&mut cat, "z", 1, &[(Topic::All, "")]);
        cat.insert(old);
        cat.settle();
        assert_eq!(page_ids(&cat, &all, 3), ["z", "e"]);
        assert_eq!(page_ids(&cat, &all, 1), ["b", "a"]);
        assert_eq!(cat.archive_touched(f), [1, 2], "completed");
        cat.clear_archive_touched(f);
        assert!(
            cat.archive_touched(f).is_empty(),
            "arrivals touch the open page only"
        );
        assert_ne!(cat.feed(f).version, version);
        // A removal shrinks page 1; page 2 keeps its members.
        cat.remove(slots[0]);
        cat.settle();
        assert_eq!(page_ids(&cat, &all, 1), ["b"]);
        assert_eq!(page_ids(&cat, &all, 2), ["d", "c"]);
        assert_eq!(cat.archive_touched(f), [1]);
        // The full open page closes; the new open page is empty until the next arrival.
        assert_eq!(cat.close_archive_pages(f, 2), Some(3));
        assert_eq!(cat.archive_touched(f), [1, 3]);
        assert_eq!(cat.archive_newest(f), 4);
        assert!(page_ids(&cat, &all, 4).is_empty());
        assert!(page_ids(&cat, &all, 0).is_empty() && page_ids(&cat, &all, 9).is_empty());
        let pages: Vec<Vec<String>> = cat
            .archive_pages(f)
            .iter()
            .map(|p| p.iter().map(|e| e.id.to_string()).collect())
            .collect();
        assert_eq!(pages, [vec!["b"], vec!["d", "c"], vec!["z", "e"], vec![]]);
    }

    #[test]
    fn a_new_path_replaces_the_old_in_the_lookup() {
        let mut cat = Catalog::default();
        let e = entry_for(&mut cat, "x", 1, &[(Topic::All, "")]);
        let slot = cat.insert(e);
        cat.set_path(slot, "moved/x.txt");
        assert!(cat.by_path("x.txt").is_none());
        assert_eq!(&*cat.by_path("moved/x.txt").unwrap().id, "x");
    }

    #[test]
    fn a_feed_that_loses_its_last_article_leaves_the_table() {
        let mut cat = Catalog::default();
        let kw = Topic::Keyword("k".into());
        let e = entry_for(&mut cat, "x", 1, &[(Topic::All, ""), (kw.clone(), "k")]);
        let slot = cat.insert(e);
        cat.settle();
        cat.remove(slot);
        cat.settle();
        assert!(cat.table().is_empty());
        assert!(ids(&cat, &kw).is_empty());
    }

    /// Several feeds merged: newest first (ties by id), an article in two of them once,
    /// at most `n`, a feed without articles ignored; the version moves with any change.
    #[test]
    fn newest_of_several_feeds_merges_them_once_each() {
        let mut cat = Catalog::default();
        let kw = |k: &str| Topic::Keyword(k.into());
        let sec = Topic::Section(vec!["党派·声音".into()]);
        for (id, t, topics) in [
            (
                "a",
                10,
                vec![(sec.clone(), "黨派·聲音"), (kw("重庆市"), "重慶市")],
            ),
            ("b", 30, vec![(kw("重庆市"), "重慶市")]),
            ("c", 20, vec![(sec.clone(), "黨派·聲音")]),
            ("d", 20, vec![(kw("上海市"), "上海市")]),
            ("e", 40, vec![(kw("北京市"), "北京市")]),
        ] {
            let e = entry_for(&mut cat, id, t, &topics);
            cat.insert(e);
        }
        cat.settle();
        let newest = |cat: &Catalog, topics: &[Topic], n| -> Vec<String> {
            cat.newest_of(topics, n)
                .iter()
                .map(|e| e.id.to_string())
                .collect()
        };
        let wanted = [sec.clone(), kw("重庆市"), kw("上海市"), kw("没有")];
        assert_eq!(newest(&cat, &wanted, 10), ["b", "c", "d", "a"]);
        assert_eq!(newest(&cat, &wanted, 2), ["b", "c"]);
        assert!(newest(&cat, &[kw("没有")], 10).is_empty());
        let before = cat.version();
        let b = cat.slot_of_id("b").unwrap();
        cat.remove(b);
        cat.settle();
        assert_ne!(cat.version(), before);
        assert_eq!(newest(&cat, &wanted, 10), ["c", "d", "a"]);
    }
}
