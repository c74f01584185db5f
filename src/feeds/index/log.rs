//! The article log (DESIGN §7): article contents, appended beside the tree and rewritten
//! without old versions once they are a quarter of it.

use super::*;

/// Article contents, appended to the article log beside the tree. Kept out of sled's B-tree
/// because its pages are rewritten whole: with ~3 KB values a cold build spent most of
/// its time copying and re-reading pages. Each entry is length, checksum and the encoded
/// article; the log is synced before the tree batch that points into it is applied, so
/// the tree never references bytes a crash could lose. Entries left behind by edits and
/// removals are dropped by [`Index::compact_log`], which writes the live ones to a log of
/// the next generation (`articles.<n>.log`; the first is `articles.log`).
pub(super) struct ArticleLog {
    /// Opened for appending: entries go where the file ends, which is read again before
    /// each batch, so a failed write can never leave the offsets of the next one behind.
    pub(super) file: std::fs::File,
}

pub(super) const LOG_HEADER: usize = 12;

impl ArticleLog {
    pub(super) fn open(path: &Path) -> std::io::Result<ArticleLog> {
        let existed = path.exists();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        if !existed {
            // The new file's name must survive a crash as well as its bytes.
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
        }
        Ok(ArticleLog { file })
    }

    pub(super) fn read(&self, id: &str, blob: BlobRef) -> Result<Article> {
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

    /// Appends entries (already framed) at the end of the file and syncs them. On error
    /// the tree is not updated and whatever reached the file is garbage.
    pub(super) fn append(&self, entries: &[&[u8]]) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, &self.file);
        let written = entries
            .iter()
            .try_for_each(|entry| file.write_all(entry))
            .and_then(|()| file.flush());
        // Whatever a failed write left buffered is dropped, not retried.
        let _ = file.into_parts();
        written.and_then(|()| self.file.sync_data())
    }

    /// Where the next entry goes.
    pub(super) fn end(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

/// An I/O error of the article log.
pub(super) fn log_error(e: std::io::Error) -> IndexError {
    IndexError::Open {
        path: PathBuf::from("articles.log"),
        source: sled::Error::Io(e),
    }
}

/// The article log's file name in a generation (0: the first, `articles.log`).
pub(super) fn log_name(generation: u64) -> String {
    match generation {
        0 => "articles.log".to_string(),
        n => format!("articles.{n}.log"),
    }
}

pub(super) fn log_generation(tree: &sled::Tree) -> Result<u64> {
    Ok(match tree.get(key(prefix::META, LOG_KEY))? {
        Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
        None => 0,
    })
}

/// Deletes article logs of other generations: what a compaction cut short by a crash
/// left behind (the new log, not yet in use, or the old one, no longer in use).
pub(super) fn remove_stale_logs(dir: &Path, current: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let keep = log_name(current);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name != keep && name.starts_with("articles.") && name.ends_with(".log") {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(
                    "{}: cannot remove an old article log: {e}",
                    entry.path().display()
                );
            }
        }
    }
}

/// Writes the live entries of `log`, in log order, to a new file at `path` and syncs it
/// (and its folder); returns it, opened for appending, with each slot's new position.
pub(super) fn copy_live_entries(
    log: &ArticleLog,
    catalog: &Catalog,
    path: &Path,
) -> std::io::Result<(std::fs::File, Vec<(Slot, BlobRef)>)> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut order: Vec<(Slot, BlobRef)> = catalog.slotted().map(|(s, e)| (s, e.blob)).collect();
    order.sort_unstable_by_key(|(_, blob)| blob.offset);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.set_len(0)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut moved = Vec::with_capacity(order.len());
    let (mut offset, mut buf) = (0u64, Vec::new());
    for (slot, blob) in order {
        buf.resize(blob.len as usize, 0);
        log.file.read_exact_at(&mut buf, blob.offset)?;
        out.write_all(&buf)?;
        moved.push((
            slot,
            BlobRef {
                offset,
                len: blob.len,
            },
        ));
        offset += u64::from(blob.len);
    }
    out.flush()?;
    drop(out);
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok((file, moved))
}

/// Frames one article for the log: length, checksum, encoding.
pub(super) fn frame(article: &Article) -> Vec<u8> {
    let size = bincode::serialized_size(article).unwrap_or(0) as usize;
    let mut out = Vec::with_capacity(LOG_HEADER + size);
    out.resize(LOG_HEADER, 0);
    bincode::serialize_into(&mut out, article).expect("in-memory values always serialize");
    let sum = xxhash_rust::xxh3::xxh3_64(&out[LOG_HEADER..]);
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..LOG_HEADER].copy_from_slice(&sum.to_le_bytes());
    out
}
