//! The saved search index (`search.index`), read in place: the documents are read into
//! memory when it is opened, the bitmaps stay in the file and a query reads the few its
//! keys name (positioned reads; the kernel's page cache, not the daemon's heap, keeps the
//! hot ones). Keys are kept in two tables (character keys, then feeds), each sorted and cut
//! into blocks of [`BLOCK_KEYS`]; only each block's first key is held in memory, so what a
//! large vocabulary costs in the heap is a sixty-fourth of its keys.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! MAGIC
//! u64 n, n bytes: the documents (bincode, `Vec<Option<Doc>>`, by document number)
//! blocks of a table, one after the other; a block is
//!     u32 count, then per key: u32 key length, key, u64 cardinality, u32 bitmap length
//!     then the bitmaps (roaring's portable format) in that order
//! the block index of each table (character keys, then feeds):
//!     u64 blocks, then per block: u32 first key length, first key, u64 offset, u32 header length
//! trailer: u64 block indexes' offset, u64 bitmap bytes, u64 document numbers, END
//! ```
//!
//! Pure: it reads through a [`Source`].

use std::io::{self, Write};

use roaring::RoaringBitmap;

use super::postings::Doc;

/// Where a segment is read from: positioned reads, from any thread at once (the saved
/// file in the daemon, `super`'s impl for `File`; bytes in the tests).
pub trait Source: Send + Sync {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
}

impl Source for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| past_the_end())?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(past_the_end)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

fn past_the_end() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end")
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The two key tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Characters and pairs of characters ([`super::text`]), as big-endian `u64`.
    Grams = 0,
    /// Feeds, by `Topic::index_key`.
    Topics = 1,
}

/// Where one key's bitmap is in the file, and how many documents it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub cardinality: u64,
    offset: u64,
    len: u32,
}

/// One block of a table as the block index knows it.
#[derive(Debug)]
struct BlockRef {
    first: Box<[u8]>,
    offset: u64,
    header_len: u32,
}

/// An opened segment: its block indexes; the rest stays in the source.
pub struct Segment {
    source: Box<dyn Source>,
    /// The source's size, read once: a segment is never written after it is opened.
    size: u64,
    tables: [Vec<BlockRef>; 2],
    bitmap_bytes: u64,
    numbers: u32,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("numbers", &self.numbers)
            .field("bitmap_bytes", &self.bitmap_bytes)
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// Opens a segment: checks its frame, reads its documents (returned) and its block
    /// indexes.
    pub fn open(source: Box<dyn Source>) -> io::Result<(Segment, Vec<Option<Doc>>)> {
        let size = source.size()?;
        if size < (MAGIC.len() + 8 + TRAILER) as u64 {
            return Err(bad("not a search index of this version (too short)"));
        }
        let mut magic = [0u8; MAGIC.len()];
        source.read_exact_at(&mut magic, 0)?;
        let mut trailer = [0u8; TRAILER];
        source.read_exact_at(&mut trailer, size - TRAILER as u64)?;
        if magic != *MAGIC || trailer[24..] != *END {
            return Err(bad("not a search index of this version"));
        }
        let mut fields = Cursor(&trailer[..24]);
        let (index_at, bitmap_bytes, numbers) = (fields.u64()?, fields.u64()?, fields.u64()?);
        let docs_len = read_u64(&*source, MAGIC.len() as u64)?;
        let docs_at = (MAGIC.len() + 8) as u64;
        let index_end = size - TRAILER as u64;
        if past(docs_at.checked_add(docs_len), index_at) || index_at > index_end {
            return Err(bad("its sections overlap"));
        }
        let docs: Vec<Option<Doc>> =
            bincode::deserialize(&read_vec(&*source, size, docs_at, docs_len)?)
                .map_err(|e| bad(&format!("documents: {e}")))?;
        if docs.len() as u64 != numbers {
            return Err(bad("its document count disagrees with its trailer"));
        }
        let index = read_vec(&*source, size, index_at, index_end - index_at)?;
        let mut cursor = Cursor(&index);
        let mut tables = [Vec::new(), Vec::new()];
        for table in &mut tables {
            for _ in 0..cursor.u64()? {
                let first = cursor.bytes()?.into();
                let (offset, header_len) = (cursor.u64()?, cursor.u32()?);
                if offset.saturating_add(u64::from(header_len)) > index_at {
                    return Err(bad("a block lies outside the file"));
                }
                table.push(BlockRef {
                    first,
                    offset,
                    header_len,
                });
            }
        }
        let segment = Segment {
            source,
            size,
            tables,
            bitmap_bytes,
            numbers: u32::try_from(numbers).map_err(|_| bad("too many documents"))?,
        };
        Ok((segment, docs))
    }

    fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        read_vec(&*self.source, self.size, offset, len)
    }

    /// Document numbers the segment's bitmaps cover: `0..numbers`.
    pub fn numbers(&self) -> u32 {
        self.numbers
    }

    /// Serialized size of all its bitmaps.
    pub fn bitmap_bytes(&self) -> u64 {
        self.bitmap_bytes
    }

    /// The entry of `key` in `table`, if the segment has it: one read of a block header.
    pub fn entry(&self, table: Table, key: &[u8]) -> io::Result<Option<Entry>> {
        let blocks = &self.tables[table as usize];
        let at = blocks.partition_point(|b| *b.first <= *key);
        let Some(block) = at.checked_sub(1).map(|i| &blocks[i]) else {
            return Ok(None);
        };
        Ok(self
            .block(block)?
            .into_iter()
            .find(|(k, _)| **k == *key)
            .map(|(_, e)| e))
    }

    /// Reads the bitmap of an entry.
    pub fn bitmap(&self, entry: Entry) -> io::Result<RoaringBitmap> {
        let bytes = self.read(entry.offset, u64::from(entry.len))?;
        RoaringBitmap::deserialize_from(&bytes[..])
    }

    /// Every key of `table` with its entry, in key order, a block at a time.
    pub fn entries(
        &self,
        table: Table,
    ) -> impl Iterator<Item = io::Result<(Box<[u8]>, Entry)>> + '_ {
        self.tables[table as usize]
            .iter()
            .flat_map(move |block| match self.block(block) {
                Ok(entries) => entries.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            })
    }

    fn block(&self, block: &BlockRef) -> io::Result<Vec<(Box<[u8]>, Entry)>> {
        let header = self.read(block.offset, u64::from(block.header_len))?;
        let mut cursor = Cursor(&header);
        let count = cursor.u32()?;
        let mut offset = block.offset + u64::from(block.header_len);
        // A damaged count must not reserve gigabytes: a block holds at most BLOCK_KEYS.
        let mut out = Vec::with_capacity((count as usize).min(BLOCK_KEYS));
        for _ in 0..count {
            let key: Box<[u8]> = cursor.bytes()?.into();
            let (cardinality, len) = (cursor.u64()?, cursor.u32()?);
            out.push((
                key,
                Entry {
                    cardinality,
                    offset,
                    len,
                },
            ));
            offset += u64::from(len);
        }
        Ok(out)
    }
}

/// Writes a segment in one pass: [`Writer::new`] with the documents, then each table's
/// keys in ascending order ([`Table::Grams`] first), then [`Writer::finish`]. What it
/// holds at once is one block.
pub struct Writer<W: Write> {
    out: W,
    at: u64,
    table: Table,
    block: Vec<(Box<[u8]>, u64, Vec<u8>)>,
    index: [Vec<BlockRef>; 2],
    bitmap_bytes: u64,
    numbers: u64,
    last: Option<Box<[u8]>>,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, docs: &[Option<Doc>]) -> io::Result<Writer<W>> {
        let docs_bytes = bincode::serialize(docs).map_err(io::Error::other)?;
        out.write_all(MAGIC)?;
        out.write_all(&(docs_bytes.len() as u64).to_le_bytes())?;
        out.write_all(&docs_bytes)?;
        Ok(Writer {
            out,
            at: (MAGIC.len() + 8 + docs_bytes.len()) as u64,
            table: Table::Grams,
            block: Vec::new(),
            index: [Vec::new(), Vec::new()],
            bitmap_bytes: 0,
            numbers: docs.len() as u64,
            last: None,
        })
    }

    /// Adds a key of `table` (after every key of the tables before it, and after the keys
    /// of its own table written so far) and its bitmap.
    pub fn key(&mut self, table: Table, key: &[u8], bitmap: &RoaringBitmap) -> io::Result<()> {
        if table != self.table {
            assert_eq!(table, Table::Topics, "the character keys come first");
            self.end_block()?;
            self.table = table;
            self.last = None;
        }
        assert!(
            self.last.as_deref().map_or(true, |last| last < key),
            "keys in ascending order"
        );
        self.last = Some(key.into());
        let mut bytes = Vec::with_capacity(bitmap.serialized_size());
        bitmap.serialize_into(&mut bytes)?;
        self.bitmap_bytes += bytes.len() as u64;
        self.block.push((key.into(), bitmap.len(), bytes));
        if self.block.len() == BLOCK_KEYS {
            self.end_block()?;
        }
        Ok(())
    }

    fn end_block(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let mut header = (self.block.len() as u32).to_le_bytes().to_vec();
        for (key, cardinality, bytes) in &self.block {
            header.extend_from_slice(&(key.len() as u32).to_le_bytes());
            header.extend_from_slice(key);
            header.extend_from_slice(&cardinality.to_le_bytes());
            header.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
        self.out.write_all(&header)?;
        let first = self.block[0].0.clone();
        self.index[self.table as usize].push(BlockRef {
            first,
            offset: self.at,
            header_len: header.len() as u32,
        });
        self.at += header.len() as u64;
        for (_, _, bytes) in self.block.drain(..) {
            self.out.write_all(&bytes)?;
            self.at += bytes.len() as u64;
        }
        Ok(())
    }

    /// Writes the block indexes and the trailer; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.end_block()?;
        let index_at = self.at;
        for table in &self.index {
            self.out.write_all(&(table.len() as u64).to_le_bytes())?;
            for block in table {
                self.out
                    .write_all(&(block.first.len() as u32).to_le_bytes())?;
                self.out.write_all(&block.first)?;
                self.out.write_all(&block.offset.to_le_bytes())?;
                self.out.write_all(&block.header_len.to_le_bytes())?;
            }
        }
        self.out.write_all(&index_at.to_le_bytes())?;
        self.out.write_all(&self.bitmap_bytes.to_le_bytes())?;
        self.out.write_all(&self.numbers.to_le_bytes())?;
        self.out.write_all(END)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads what a block index or header holds, failing on a short one.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(bad("a table ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Whether an end offset overflowed (`None`) or lies past `limit`.
fn past(end: Option<u64>, limit: u64) -> bool {
    end.map_or(true, |end| end > limit)
}

fn read_u64(source: &dyn Source, offset: u64) -> io::Result<u64> {
    let mut b = [0u8; 8];
    source.read_exact_at(&mut b, offset)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads `len` bytes at `offset` of a source of `size` bytes, refusing a length past its
/// end (a corrupt length must not allocate gigabytes).
fn read_vec(source: &dyn Source, size: u64, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    if past(offset.checked_add(len), size) {
        return Err(past_the_end());
    }
    let mut buf = vec![0u8; len as usize];
    source.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

/// Keys per block: what a lookup reads beyond the one it wants, and what the block index
/// divides the vocabulary by.
const BLOCK_KEYS: usize = 64;

/// The first bytes of the file; another layout gets another line.
const MAGIC: &[u8; 18] = b"tidings search 2\n\0";
/// The last bytes of the file: a save cut short has none.
const END: &[u8; 8] = b"tidings\0";
/// Offset of the indexes, bitmap bytes, document numbers, END.
const TRAILER: usize = 24 + END.len();

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> Option<Doc> {
        Some(Doc {
            id: id.into(),
            hash: 7,
            published: 1,
        })
    }

    fn written(keys: &[(Table, Vec<u8>, Vec<u32>)]) -> Vec<u8> {
        let docs = [doc("a"), None, doc("c")];
        let mut w = Writer::new(Vec::new(), &docs).unwrap();
        for (table, key, members) in keys {
            w.key(*table, key, &members.iter().copied().collect())
                .unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn keys_are_found_across_blocks_and_tables() {
        let mut keys: Vec<(Table, Vec<u8>, Vec<u32>)> = (0..200u64)
            .map(|k| {
                (
                    Table::Grams,
                    (k * 3).to_be_bytes().to_vec(),
                    vec![k as u32 % 2, 2],
                )
            })
            .collect();
        keys.push((Table::Topics, b"k\x00a".to_vec(), vec![0]));
        keys.push((Table::Topics, b"s\x00b".to_vec(), vec![0, 2]));
        let bytes = written(&keys);
        let (segment, docs) = Segment::open(Box::new(bytes)).unwrap();
        assert_eq!(docs, [doc("a"), None, doc("c")]);
        assert_eq!(segment.numbers(), 3);
        for (table, key, members) in &keys {
            let entry = segment.entry(*table, key).unwrap().expect("found");
            assert_eq!(entry.cardinality, members.len() as u64);
            let bitmap = segment.bitmap(entry).unwrap();
            assert_eq!(bitmap.iter().collect::<Vec<_>>(), *members);
        }
        for missing in [1u64, 5, 1000] {
            let key = missing.to_be_bytes();
            assert_eq!(segment.entry(Table::Grams, &key).unwrap(), None);
        }
        assert_eq!(segment.entry(Table::Topics, b"a").unwrap(), None);
        assert_eq!(segment.entry(Table::Topics, b"z").unwrap(), None);
        let listed: Vec<Box<[u8]>> = segment
            .entries(Table::Grams)
            .map(|e| e.unwrap().0)
            .collect();
        assert_eq!(listed.len(), 200);
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(segment.entries(Table::Topics).count(), 2);
    }

    /// Bytes changed, cut or added anywhere: opening and reading answer an error or some
    /// answer (a damaged bitmap may list other documents, which the exact rule then
    /// checks), never a panic or an allocation larger than the file.
    #[test]
    fn any_damage_is_an_error_or_an_answer_never_a_panic() {
        let keys: Vec<(Table, Vec<u8>, Vec<u32>)> = (0..150u64)
            .map(|k| {
                (
                    Table::Grams,
                    k.to_be_bytes().to_vec(),
                    vec![0, k as u32 % 3],
                )
            })
            .chain([(Table::Topics, b"k\x00a".to_vec(), vec![1, 2])])
            .collect();
        let good = written(&keys);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(4) {
                    0 => bytes[at] ^= 1 << next(8),
                    1 => bytes[at] = 0xff,
                    2 => bytes.truncate(at.max(1)),
                    _ => bytes.insert(at, next(256) as u8),
                }
            }
            let Ok((segment, _)) = Segment::open(Box::new(bytes)) else {
                continue;
            };
            for (table, key, _) in &keys {
                if let Ok(Some(entry)) = segment.entry(*table, key) {
                    let _ = segment.bitmap(entry);
                }
            }
            for table in [Table::Grams, Table::Topics] {
                for entry in segment.entries(table).flatten() {
                    let _ = segment.bitmap(entry.1);
                }
            }
        }
    }

    #[test]
    fn a_damaged_file_is_refused_not_trusted() {
        let bytes = written(&[(Table::Grams, vec![1], vec![0, 2])]);
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                Segment::open(Box::new(bytes[..cut].to_vec())).is_err(),
                "cut {cut}"
            );
        }
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 3] ^= 0xff;
        assert!(
            Segment::open(Box::new(flipped)).is_err(),
            "a huge document length"
        );
        let mut other = bytes.clone();
        other[..7].copy_from_slice(b"garbage");
        assert!(Segment::open(Box::new(other)).is_err());
    }
}
