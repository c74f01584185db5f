//! The search index: for each key of [`super::text`] (a character, a pair of adjacent
//! characters) and for each feed, the set of documents that have it, as roaring bitmaps;
//! and the documents themselves (article id, content hash, publication time). The bitmaps
//! of the documents saved last are in the saved [`Segment`] and read from it when a query
//! needs them; only those of the documents added since are in memory, until the next
//! save folds them in ([`Postings::write_to`]). A query's candidates are the
//! intersection of its terms' keys, within the union of its feeds. Pure but for the
//! segment's [`super::segment::Source`].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};

use hashbrown::HashTable;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::query::Query;
use super::segment::{Entry, Segment, Source, Table, Writer};

/// One indexed version of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    pub id: Box<str>,
    /// The index's content hash of the version indexed, its low 64 bits (enough to tell
    /// two versions apart, and a document is then 32 bytes instead of 48): a different
    /// one is out of date.
    pub hash: u64,
    pub published: i64,
}

// What each article costs in memory beside its id (`Doc::hash`).
const _: () = assert!(std::mem::size_of::<Option<Doc>>() == 32);

/// What is indexed of one article version: its document and its keys.
#[derive(Debug, Clone)]
pub struct Indexed {
    pub doc: Doc,
    /// Sorted, each once ([`super::text::text_grams`]).
    pub grams: Vec<u64>,
    /// `Topic::index_key` of every feed the article is in.
    pub topics: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Postings {
    /// By document number; a removed or replaced version leaves `None` (its number stays
    /// in the bitmaps, masked by `live`).
    docs: Vec<Option<Doc>>,
    /// The number of each live document, hashed by its id (which `docs` holds: the ids
    /// are not kept twice).
    by_id: HashTable<u32>,
    hasher: RandomState,
    live: RoaringBitmap,
    /// The bitmaps of the numbers below its `numbers()`, in the saved file.
    base: Option<Segment>,
    /// The bitmaps of the numbers added since the base was written.
    grams: HashMap<u64, RoaringBitmap>,
    topics: HashMap<Box<[u8]>, RoaringBitmap>,
    /// Members added to `grams` and `topics`: what they cost in memory.
    added: usize,
    /// Moves on every change: what cached results are keyed by.
    version: u64,
}

impl Postings {
    /// The postings a saved segment holds.
    pub fn open(source: Box<dyn Source>) -> io::Result<Postings> {
        let (segment, docs) = Segment::open(source)?;
        let mut p = Postings {
            docs,
            version: 1,
            ..Postings::default()
        };
        for n in 0..p.docs.len() as u32 {
            let Some(doc) = &p.docs[n as usize] else {
                continue;
            };
            if p.number_of(&doc.id).is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "an article id is listed twice",
                ));
            }
            p.index_number(n);
            append(&mut p.live, n);
        }
        p.base = Some(segment);
        Ok(p)
    }

    /// The number of the live document of article `id`.
    fn number_of(&self, id: &str) -> Option<u32> {
        let docs = &self.docs;
        self.by_id
            .find(self.hasher.hash_one(id), |&n| id_of(docs, n) == id)
            .copied()
    }

    /// Makes document `n` (live, in `docs`) found by its id.
    fn index_number(&mut self, n: u32) {
        let (docs, hasher) = (&self.docs, &self.hasher);
        self.by_id
            .insert_unique(hasher.hash_one(id_of(docs, n)), n, |&m| {
                hasher.hash_one(id_of(docs, m))
            });
    }

    /// These postings, with their bitmaps now read from `saved` (what [`Postings::write_to`]
    /// wrote of them): the same documents, the same answers and version, the memory of the
    /// added bitmaps given back.
    pub fn reopened(&self, saved: Box<dyn Source>) -> io::Result<Postings> {
        let mut p = Postings::open(saved)?;
        if p.len() != self.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the saved index does not hold what was written",
            ));
        }
        p.version = self.version;
        Ok(p)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Document numbers handed out, removed ones included.
    pub fn numbers(&self) -> usize {
        self.docs.len()
    }

    /// The indexed version of article `id`.
    pub fn doc(&self, id: &str) -> Option<&Doc> {
        let n = self.number_of(id)?;
        self.docs[n as usize].as_ref()
    }

    /// Every indexed document.
    pub fn docs(&self) -> impl Iterator<Item = &Doc> {
        self.docs.iter().flatten()
    }

    /// Indexes an article version, replacing the one indexed before.
    pub fn add(&mut self, indexed: Indexed) {
        self.remove(&indexed.doc.id);
        let number = u32::try_from(self.docs.len()).expect("fewer than 2³² versions");
        self.added += indexed.grams.len() + indexed.topics.len();
        for gram in indexed.grams {
            append(self.grams.entry(gram).or_default(), number);
        }
        for topic in indexed.topics {
            append(
                self.topics.entry(topic.into_boxed_slice()).or_default(),
                number,
            );
        }
        append(&mut self.live, number);
        self.docs.push(Some(indexed.doc));
        self.index_number(number);
        self.version += 1;
    }

    pub fn remove(&mut self, id: &str) {
        let docs = &self.docs;
        let found = self
            .by_id
            .find_entry(self.hasher.hash_one(id), |&n| id_of(docs, n) == id);
        if let Ok(found) = found {
            let (n, _) = found.remove();
            self.docs[n as usize] = None;
            self.live.remove(n);
            self.version += 1;
        }
    }

    /// Bytes the bitmaps added since the last save take in memory, about: two a member,
    /// and a bitmap's own allocations for each key.
    pub fn added_bytes(&self) -> usize {
        self.added * 2 + (self.grams.len() + self.topics.len()) * KEY_OVERHEAD
    }

    /// Serialized size of the saved bitmaps.
    pub fn saved_bytes(&self) -> u64 {
        self.base.as_ref().map_or(0, Segment::bitmap_bytes)
    }

    /// Whether the bitmaps added since the last save have grown enough to be folded into
    /// the file: past [`ADDED_MIN`] and a quarter of the saved ones, so that the file is
    /// rewritten a few times while it grows from nothing, not once per chunk.
    pub fn needs_saving(&self) -> bool {
        let added = self.added_bytes() as u64;
        added >= ADDED_MIN && added * 4 >= self.saved_bytes()
    }

    /// Documents that may match `query`, in no order (see [`in_order`]): every key of
    /// every term, and one of the query's feeds when it names any. Term candidates still
    /// need [`super::text::has_terms`]; feed membership is exact.
    pub fn candidates(&self, query: &Query) -> io::Result<Vec<&Doc>> {
        let mut set = self.live.clone();
        if !query.topics.is_empty() {
            let mut any = RoaringBitmap::new();
            for topic in &query.topics {
                let key = topic.index_key();
                let saved = self.saved_entry(Table::Topics, &key)?;
                any |= self.members(saved, self.topics.get(key.as_slice()))?;
            }
            set &= any;
        }
        let mut keys = Vec::new();
        for gram in query.terms.iter().flat_map(|t| super::text::term_grams(t)) {
            let saved = self.saved_entry(Table::Grams, &gram.to_be_bytes())?;
            let added = self.grams.get(&gram);
            let size = saved.map_or(0, |e| e.cardinality) + added.map_or(0, |b| b.len());
            if size == 0 {
                return Ok(Vec::new());
            }
            keys.push((size, saved, added));
        }
        // The rarest key first: the set shrinks fastest, and the frequent keys' bitmaps
        // need not be read at all once it is empty.
        keys.sort_by_key(|(size, _, _)| *size);
        for (_, saved, added) in keys {
            set &= self.members(saved, added)?;
            if set.is_empty() {
                return Ok(Vec::new());
            }
        }
        Ok(set
            .iter()
            .filter_map(|n| self.docs[n as usize].as_ref())
            .collect())
    }

    fn saved_entry(&self, table: Table, key: &[u8]) -> io::Result<Option<Entry>> {
        match &self.base {
            Some(base) => base.entry(table, key),
            None => Ok(None),
        }
    }

    /// A key's members: the saved ones and those added since.
    fn members(
        &self,
        saved: Option<Entry>,
        added: Option<&RoaringBitmap>,
    ) -> io::Result<RoaringBitmap> {
        let mut members = match (saved, &self.base) {
            (Some(entry), Some(base)) => base.bitmap(entry)?,
            _ => RoaringBitmap::new(),
        };
        if let Some(added) = added {
            members |= added;
        }
        Ok(members)
    }

    /// Whether the numbers of removed and replaced versions have grown to a quarter of
    /// the live ones (and at least [`COMPACT_MIN`]): the bitmaps still hold them, so an
    /// archive whose articles are edited would otherwise grow without end.
    pub fn needs_compacting(&self) -> bool {
        let dead = self.docs.len() - self.live.len() as usize;
        dead >= COMPACT_MIN && dead * 4 >= self.live.len() as usize
    }

    /// Writes the saved form ([`Postings::open`] reads it): the saved bitmaps with those
    /// added since, a key at a time, so saving costs one block in memory, not a copy of
    /// the index. With `compact`, the live documents are renumbered from 0 in their order
    /// and the dead numbers dropped from every bitmap (keys no live document has are
    /// dropped too): after a quarter of the archive was edited or removed.
    pub fn write_to(&self, out: impl Write, compact: bool) -> io::Result<()> {
        let renumber: Option<Vec<u32>> = compact.then(|| {
            let mut map = vec![u32::MAX; self.docs.len()];
            for (new, old) in self.live.iter().enumerate() {
                map[old as usize] = new as u32;
            }
            map
        });
        let mut writer = match &renumber {
            Some(_) => {
                let live: Vec<Option<Doc>> = self
                    .live
                    .iter()
                    .map(|n| self.docs[n as usize].clone())
                    .collect();
                Writer::new(out, &live)?
            }
            None => Writer::new(out, &self.docs)?,
        };
        let remap = |bitmap: RoaringBitmap| match &renumber {
            // Live numbers keep their order, so the new bitmap is built by appending.
            Some(map) => {
                let mut out = RoaringBitmap::new();
                for m in bitmap.iter().map(|n| map[n as usize]) {
                    if m != u32::MAX {
                        append(&mut out, m);
                    }
                }
                out
            }
            None => bitmap,
        };
        let mut grams: Vec<(Box<[u8]>, &RoaringBitmap)> = self
            .grams
            .iter()
            .map(|(k, b)| (k.to_be_bytes().into(), b))
            .collect();
        let mut topics: Vec<(Box<[u8]>, &RoaringBitmap)> =
            self.topics.iter().map(|(k, b)| (k.clone(), b)).collect();
        for (table, added) in [(Table::Grams, &mut grams), (Table::Topics, &mut topics)] {
            added.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut added = added.iter().peekable();
            let mut saved = self.base.iter().flat_map(|b| b.entries(table)).peekable();
            // A merge of the two key orders.
            loop {
                let order = match (saved.peek(), added.peek()) {
                    (None, None) => break,
                    (Some(Ok((s, _))), Some((a, _))) => s.cmp(a),
                    // An error is taken (and returned) as the saved side's next key.
                    (Some(_), _) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                };
                let (key, entry, new) = match order {
                    Ordering::Less => {
                        let (key, entry) = saved.next().expect("peeked")?;
                        (key, Some(entry), None)
                    }
                    Ordering::Greater => {
                        let (key, bitmap) = added.next().expect("peeked");
                        (key.clone(), None, Some(*bitmap))
                    }
                    Ordering::Equal => {
                        let (key, entry) = saved.next().expect("peeked")?;
                        (key, Some(entry), added.next().map(|(_, b)| *b))
                    }
                };
                let members = remap(self.members(entry, new)?);
                if !members.is_empty() {
                    writer.key(table, &key, &members)?;
                }
            }
        }
        writer.finish()?;
        Ok(())
    }
}

/// The id of a live document.
fn id_of(docs: &[Option<Doc>], n: u32) -> &str {
    &docs[n as usize].as_ref().expect("a live document").id
}

/// Newest first; the same second orders by id, as feeds order their items.
fn newest_first(a: &&Doc, b: &&Doc) -> std::cmp::Ordering {
    b.published.cmp(&a.published).then_with(|| a.id.cmp(&b.id))
}

/// Visits `docs` newest first until `visit` says stop (returns false). A frequent term has
/// most of the archive as candidates and needs only the first few dozen, so the order is
/// made in growing batches (selecting the newest of the rest, then sorting just those)
/// rather than by sorting all of them.
pub fn in_order<'d>(
    docs: &mut [&'d Doc],
    first_batch: usize,
    mut visit: impl FnMut(&'d Doc) -> bool,
) {
    let mut start = 0;
    let mut batch = first_batch.max(1);
    while start < docs.len() {
        let rest = &mut docs[start..];
        let take = batch.min(rest.len());
        if take < rest.len() {
            rest.select_nth_unstable_by(take, newest_first);
        }
        rest[..take].sort_unstable_by(newest_first);
        for doc in &rest[..take] {
            if !visit(doc) {
                return;
            }
        }
        start += take;
        batch = batch.saturating_mul(4);
    }
}

/// Adds `n` to `bitmap`: appended without a search when it is the largest, as document
/// numbers always are.
fn append(bitmap: &mut RoaringBitmap, n: u32) {
    if bitmap.try_push(n).is_err() {
        bitmap.insert(n);
    }
}

/// Dead document numbers below which compacting is not worth its pass.
const COMPACT_MIN: usize = 1024;

/// What the bitmaps added since the last save may take before they are saved, at least.
pub const ADDED_MIN: u64 = 8 << 20;

/// What a key's bitmap costs beyond its members: the map's slot, the bitmap's container
/// list and the container's own allocation.
const KEY_OVERHEAD: usize = 96;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::search::text::{fold_term, text_grams};
    use crate::model::topic::Topic;

    fn indexed(id: &str, published: i64, text: &str, topics: &[Topic]) -> Indexed {
        Indexed {
            doc: Doc {
                id: id.into(),
                hash: published as u64,
                published,
            },
            grams: text_grams(&fold_term(text)),
            topics: topics.iter().map(Topic::index_key).collect(),
        }
    }

    fn ids(p: &Postings, query: &str) -> Vec<String> {
        let mut found = p.candidates(&Query::parse(query).unwrap()).unwrap();
        let mut out = Vec::new();
        in_order(&mut found, 1, |d| {
            out.push(d.id.to_string());
            true
        });
        out
    }

    #[test]
    fn in_order_is_a_sort_in_batches_that_can_stop() {
        let docs: Vec<Doc> = (0..200u32)
            .map(|i| Doc {
                id: format!("{:03}", (i * 37) % 200).into(),
                hash: 0,
                published: i64::from((i * 7919) % 50),
            })
            .collect();
        let mut sorted: Vec<&Doc> = docs.iter().collect();
        sorted.sort_by(newest_first);
        for batch in [1, 3, 50, 500] {
            let mut refs: Vec<&Doc> = docs.iter().collect();
            let mut seen = Vec::new();
            in_order(&mut refs, batch, |d| {
                seen.push(d);
                true
            });
            assert_eq!(seen, sorted, "batch {batch}");
            let mut refs: Vec<&Doc> = docs.iter().collect();
            let mut first = Vec::new();
            in_order(&mut refs, batch, |d| {
                first.push(d);
                first.len() < 10
            });
            assert_eq!(first, sorted[..10], "batch {batch}");
        }
    }

    #[test]
    fn candidates_hold_every_key_newest_first_within_the_feeds() {
        let a = Topic::Section(vec!["a".into()]);
        let ab = Topic::Section(vec!["a".into(), "b".into()]);
        let k = Topic::Keyword("k".into());
        let mut p = Postings::default();
        p.add(indexed("old", 1, "重慶市經濟", std::slice::from_ref(&a)));
        p.add(indexed("new", 3, "重庆市", &[a.clone(), ab.clone()]));
        p.add(indexed("mid", 2, "重慶，慶市", std::slice::from_ref(&k)));
        p.add(indexed("tie", 2, "無關", std::slice::from_ref(&k)));
        assert_eq!(
            ids(&p, "q=重慶市"),
            ["new", "mid", "old"],
            "mid: a false positive"
        );
        assert_eq!(ids(&p, "q=慶"), ["new", "mid", "old"]);
        assert_eq!(ids(&p, "q=重慶&section=a/b"), ["new"]);
        assert_eq!(ids(&p, "section=a&keyword=k"), ["new", "mid", "tie", "old"]);
        assert_eq!(ids(&p, "q=經濟&q=重庆"), ["old"]);
        assert!(ids(&p, "q=不在").is_empty());
        assert!(ids(&p, "keyword=nothing").is_empty());

        let before = p.version();
        p.add(indexed("new", 3, "別的", std::slice::from_ref(&a)));
        p.remove("old");
        p.remove("never");
        assert!(p.version() > before);
        assert_eq!(ids(&p, "q=重慶市"), ["mid"]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.numbers(), 5);

        let back = saved(&p, false);
        assert!(Postings::open(Box::new(written(&p, false)[1..].to_vec())).is_err());
        assert!(Postings::open(Box::new(b"something else entirely".to_vec())).is_err());
        assert_eq!(ids(&back, "q=重慶市"), ["mid"]);
        assert_eq!(ids(&back, "section=a"), ["new"]);
        assert_eq!(back.doc("mid"), p.doc("mid"));
        assert_eq!(back.len(), 3);
        assert_eq!(back.version(), p.version());
        assert_eq!(back.added_bytes(), 0, "the bitmaps are in the file now");
    }

    fn written(p: &Postings, compact: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        p.write_to(&mut bytes, compact).unwrap();
        bytes
    }

    /// `p` saved and read back, as the daemon does when it saves.
    fn saved(p: &Postings, compact: bool) -> Postings {
        p.reopened(Box::new(written(p, compact))).unwrap()
    }

    #[test]
    fn queries_join_the_saved_bitmaps_and_those_added_since() {
        let k = Topic::Keyword("k".into());
        let j = Topic::Keyword("j".into());
        let mut p = Postings::default();
        p.add(indexed("a", 1, "重慶市", std::slice::from_ref(&k)));
        p.add(indexed("b", 2, "北京市", std::slice::from_ref(&j)));
        let mut p = saved(&p, false);
        p.add(indexed("c", 3, "重慶", std::slice::from_ref(&j)));
        p.add(indexed("d", 4, "上海", &[]));
        p.add(indexed("a", 5, "別的", std::slice::from_ref(&k)));
        let expect = |p: &Postings| {
            assert_eq!(ids(p, "q=重慶"), ["c"], "a's new version lacks it");
            assert_eq!(ids(p, "q=市"), ["b"]);
            assert_eq!(ids(p, "keyword=j"), ["c", "b"]);
            assert_eq!(ids(p, "keyword=k&keyword=j"), ["a", "c", "b"]);
            assert_eq!(ids(p, "q=上海"), ["d"]);
            assert_eq!(ids(p, "q=別的&keyword=k"), ["a"]);
            assert!(ids(p, "q=廣州").is_empty());
        };
        expect(&p);
        assert!(p.added_bytes() > 0);
        // Saved again: the saved bitmaps and the added ones are one file now.
        let p = saved(&p, false);
        expect(&p);
        assert_eq!(p.numbers(), 5);
        expect(&saved(&p, true));
        assert_eq!(saved(&p, true).numbers(), 4);
    }

    #[test]
    fn what_was_added_is_saved_when_it_outgrows_a_quarter_of_the_file() {
        let mut p = Postings::default();
        let text: String = ('一'..='龥').take(3000).collect();
        let long = indexed("", 0, &text, &[]);
        let article = |n: i64| {
            let mut one = long.clone();
            one.doc.id = format!("a{n}").into();
            one
        };
        let mut n = 0;
        while !p.needs_saving() {
            p.add(article(n));
            n += 1;
        }
        assert!(p.added_bytes() as u64 >= ADDED_MIN);
        let mut p = saved(&p, false);
        assert!(!p.needs_saving());
        assert!(p.saved_bytes() > 0);
        // The next save waits for a quarter of what is saved, at least ADDED_MIN.
        let first = n;
        while !p.needs_saving() {
            p.add(article(n));
            n += 1;
        }
        assert!(p.added_bytes() as u64 * 4 >= p.saved_bytes());
        assert!(n - first > first / 2, "{first} then {n}");
    }

    #[test]
    fn compacting_drops_the_numbers_of_old_versions_and_finds_the_same() {
        let k = Topic::Keyword("k".into());
        let mut p = Postings::default();
        let text = |i: usize| {
            if i % 2 == 0 {
                "重慶經濟"
            } else {
                "北京天氣"
            }
        };
        for i in 0..1000 {
            p.add(indexed(
                &format!("a{i}"),
                i as i64,
                text(i),
                std::slice::from_ref(&k),
            ));
        }
        // Every article edited twice, and a tenth removed.
        for round in 0..2 {
            for i in 0..1000 {
                let topics = if round == 1 && i % 3 == 0 {
                    vec![]
                } else {
                    vec![k.clone()]
                };
                p.add(indexed(&format!("a{i}"), i as i64, text(i), &topics));
            }
        }
        for i in (0..1000).step_by(10) {
            p.remove(&format!("a{i}"));
        }
        assert!(p.needs_compacting());
        let queries = ["q=重慶", "q=北京", "keyword=k", "q=經濟&keyword=k", "q=無"];
        let before: Vec<Vec<String>> = queries.iter().map(|q| ids(&p, q)).collect();
        let mut p = saved(&p, true);
        assert_eq!(p.numbers(), 900);
        assert_eq!(p.len(), 900);
        assert!(!p.needs_compacting());
        let after: Vec<Vec<String>> = queries.iter().map(|q| ids(&p, q)).collect();
        assert_eq!(after, before);
        assert_eq!(p.doc("a1").unwrap().published, 1);
        // Numbers handed out after a compaction follow on.
        p.add(indexed("new", 5000, "重慶", &[]));
        assert_eq!(ids(&p, "q=重慶")[0], "new");
        let back = saved(&p, false);
        assert_eq!(ids(&back, "keyword=k"), after[2]);
        assert_eq!(ids(&back, "q=重慶")[0], "new");
    }
}
