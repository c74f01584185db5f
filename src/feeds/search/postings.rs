//! The search index in memory: for each key of [`super::text`] (a character, a pair of
//! adjacent characters) and for each feed, the set of documents that have it, as roaring
//! bitmaps; and the documents themselves (article id, content hash, publication time).
//! A query's candidates are the intersection of its terms' keys, within the union of its
//! feeds. Pure: no file, clock or index here.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::query::Query;

/// One indexed version of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    pub id: Box<str>,
    /// The index's content hash of the version indexed: a different one is out of date.
    pub hash: u128,
    pub published: i64,
}

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
    by_id: HashMap<Box<str>, u32>,
    grams: HashMap<u64, RoaringBitmap>,
    topics: HashMap<Box<[u8]>, RoaringBitmap>,
    live: RoaringBitmap,
    /// Moves on every change: what cached results are keyed by.
    version: u64,
}

impl Postings {
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
        let n = *self.by_id.get(id)?;
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
        self.by_id.insert(indexed.doc.id.clone(), number);
        self.docs.push(Some(indexed.doc));
        self.version += 1;
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(n) = self.by_id.remove(id) {
            self.docs[n as usize] = None;
            self.live.remove(n);
            self.version += 1;
        }
    }

    /// Documents that may match `query`, in no order (see [`in_order`]): every key of
    /// every term, and one of the query's feeds when it names any. Term candidates still
    /// need [`super::text::has_terms`]; feed membership is exact.
    pub fn candidates(&self, query: &Query) -> Vec<&Doc> {
        let mut set = self.live.clone();
        if !query.topics.is_empty() {
            let mut any = RoaringBitmap::new();
            for topic in &query.topics {
                if let Some(members) = self.topics.get(topic.index_key().as_slice()) {
                    any |= members;
                }
            }
            set &= any;
        }
        // The rarest key first: the set shrinks fastest.
        let mut keys: Vec<Option<&RoaringBitmap>> = query
            .terms
            .iter()
            .flat_map(|t| super::text::term_grams(t))
            .map(|g| self.grams.get(&g))
            .collect();
        keys.sort_by_key(|k| k.map_or(0, |b| b.len()));
        for key in keys {
            match key {
                Some(members) => set &= members,
                None => return Vec::new(),
            }
            if set.is_empty() {
                return Vec::new();
            }
        }
        set.iter()
            .filter_map(|n| self.docs[n as usize].as_ref())
            .collect()
    }

    /// Whether the numbers of removed and replaced versions have grown to a quarter of
    /// the live ones (and at least [`COMPACT_MIN`]): the bitmaps still hold them, so an
    /// archive whose articles are edited would otherwise grow without end.
    pub fn needs_compacting(&self) -> bool {
        let dead = self.docs.len() - self.live.len() as usize;
        dead >= COMPACT_MIN && dead * 4 >= self.live.len() as usize
    }

    /// Renumbers the live documents from 0, in their order, and rebuilds every bitmap
    /// without the dead numbers (keys no live document has are dropped): one pass over
    /// every bitmap, after a quarter of the archive was edited or removed.
    pub fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.docs.len()];
        let mut docs = Vec::with_capacity(self.live.len() as usize);
        for n in self.live.iter() {
            renumber[n as usize] = docs.len() as u32;
            docs.push(self.docs[n as usize].take());
        }
        // Live numbers keep their order, so each bitmap is rebuilt by appending.
        let remap = |bitmap: &mut RoaringBitmap| {
            let mut out = RoaringBitmap::new();
            for m in bitmap.iter().map(|n| renumber[n as usize]) {
                if m != u32::MAX {
                    append(&mut out, m);
                }
            }
            *bitmap = out;
            !bitmap.is_empty()
        };
        self.grams.retain(|_, b| remap(b));
        self.topics.retain(|_, b| remap(b));
        for n in self.by_id.values_mut() {
            *n = renumber[*n as usize];
        }
        self.live = (0..docs.len() as u32).collect();
        self.docs = docs;
        self.version += 1;
    }

    /// Bytes the bitmaps take serialized: about what they hold in memory.
    pub fn bitmap_bytes(&self) -> usize {
        self.grams
            .values()
            .chain(self.topics.values())
            .map(RoaringBitmap::serialized_size)
            .sum()
    }

    /// Writes the persistent form ([`Postings::read_from`] reads it back): the documents
    /// (bincode), then each bitmap in roaring's portable format after its key. Streamed,
    /// so saving costs no second copy of the index in memory.
    pub fn write_to(&self, mut out: impl Write) -> io::Result<()> {
        out.write_all(MAGIC)?;
        bincode::serialize_into(&mut out, &self.docs).map_err(io::Error::other)?;
        out.write_all(&(self.grams.len() as u64).to_le_bytes())?;
        for (key, bitmap) in &self.grams {
            out.write_all(&key.to_le_bytes())?;
            bitmap.serialize_into(&mut out)?;
        }
        out.write_all(&(self.topics.len() as u64).to_le_bytes())?;
        for (key, bitmap) in &self.topics {
            out.write_all(&(key.len() as u32).to_le_bytes())?;
            out.write_all(key)?;
            bitmap.serialize_into(&mut out)?;
        }
        out.flush()
    }

    pub fn read_from(mut input: impl Read) -> io::Result<Postings> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let mut magic = [0u8; MAGIC.len()];
        input.read_exact(&mut magic)?;
        if magic != *MAGIC {
            return Err(bad("not a search index of this version"));
        }
        let docs: Vec<Option<Doc>> =
            bincode::deserialize_from(&mut input).map_err(|e| bad(&e.to_string()))?;
        let mut p = Postings {
            version: 1,
            ..Postings::default()
        };
        for (n, doc) in docs.iter().enumerate() {
            if let Some(doc) = doc {
                if p.by_id.insert(doc.id.clone(), n as u32).is_some() {
                    return Err(bad("an article id is listed twice"));
                }
                append(&mut p.live, n as u32);
            }
        }
        p.docs = docs;
        let u64_of = |input: &mut dyn Read| -> io::Result<u64> {
            let mut b = [0u8; 8];
            input.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        for _ in 0..u64_of(&mut input)? {
            let key = u64_of(&mut input)?;
            p.grams
                .insert(key, RoaringBitmap::deserialize_from(&mut input)?);
        }
        for _ in 0..u64_of(&mut input)? {
            let mut len = [0u8; 4];
            input.read_exact(&mut len)?;
            let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
            input.read_exact(&mut key)?;
            p.topics.insert(
                key.into_boxed_slice(),
                RoaringBitmap::deserialize_from(&mut input)?,
            );
        }
        Ok(p)
    }
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

/// Dead document numbers below which [`Postings::compact`] is not worth its pass.
const COMPACT_MIN: usize = 1024;

/// The first bytes of the persistent form; another layout gets another line.
const MAGIC: &[u8; 18] = b"tidings search 1\n\0";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::search::text::{fold_term, text_grams};
    use crate::model::topic::Topic;

    fn indexed(id: &str, published: i64, text: &str, topics: &[Topic]) -> Indexed {
        Indexed {
            doc: Doc {
                id: id.into(),
                hash: published as u128,
                published,
            },
            grams: text_grams(&fold_term(text)),
            topics: topics.iter().map(Topic::index_key).collect(),
        }
    }

    fn ids(p: &Postings, query: &str) -> Vec<String> {
        let mut found = p.candidates(&Query::parse(query).unwrap());
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

        let mut bytes = Vec::new();
        p.write_to(&mut bytes).unwrap();
        let back = Postings::read_from(&bytes[..]).unwrap();
        assert!(Postings::read_from(&bytes[..bytes.len() - 1]).is_err());
        assert!(Postings::read_from(&b"something else entirely"[..]).is_err());
        assert_eq!(ids(&back, "q=重慶市"), ["mid"]);
        assert_eq!(ids(&back, "section=a"), ["new"]);
        assert_eq!(back.doc("mid"), p.doc("mid"));
        assert_eq!(back.len(), 3);
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
        let version = p.version();
        p.compact();
        assert_eq!(p.numbers(), 900);
        assert_eq!(p.len(), 900);
        assert!(!p.needs_compacting());
        assert!(p.version() > version, "cached results are dropped");
        let after: Vec<Vec<String>> = queries.iter().map(|q| ids(&p, q)).collect();
        assert_eq!(after, before);
        assert_eq!(p.doc("a1").unwrap().published, 1);
        // Numbers handed out after a compaction follow on.
        p.add(indexed("new", 5000, "重慶", &[]));
        assert_eq!(ids(&p, "q=重慶")[0], "new");
        let mut bytes = Vec::new();
        p.write_to(&mut bytes).unwrap();
        let back = Postings::read_from(&bytes[..]).unwrap();
        assert_eq!(ids(&back, "keyword=k"), after[2]);
    }
}
