//! One batch of changes: records upserted and removed, topics interned, feeds marked
//! dirty, all written as one atomic sled batch.

use super::*;

impl Index {
    /// Records upserts and removals as one atomic batch, flushed. `exists` tells whether a
    /// store path still holds a file (an id held by a vanished file moves to the new one;
    /// one held by a file that is still there is a collision).
    pub fn apply(
        &self,
        incoming: &[Incoming],
        removed: &[String],
        exists: &dyn Fn(&str) -> bool,
    ) -> Result<Applied> {
        let mut catalog = self.catalog_mut();
        if self.diverged.load(std::sync::atomic::Ordering::Acquire) {
            // An earlier failure left the catalog unlike the tree: nothing more is
            // written until it has been read back.
            *catalog = load_catalog(&self.tree)?;
            self.diverged
                .store(false, std::sync::atomic::Ordering::Release);
        }
        let result = self.apply_to(&mut catalog, incoming, removed, exists);
        if let Ok(applied) = &result {
            // The batch is recorded whatever becomes of this; publishing completes the
            // pages again before it renders (DESIGN §2 "Archives").
            if let Err(e) = self.complete_archive_pages(&mut catalog, &applied.dirty) {
                tracing::warn!("index: archive pages not completed with their batch: {e}");
            }
        }
        if result.is_err() {
            // The catalog ran ahead of what reached the disk: read it back from there.
            match load_catalog(&self.tree) {
                Ok(read_back) => *catalog = read_back,
                Err(e) => {
                    // Readers meanwhile get feeds in order, possibly ahead of the disk.
                    catalog.settle();
                    self.diverged
                        .store(true, std::sync::atomic::Ordering::Release);
                    tracing::error!(
                        "index: cannot read the catalog back after a failed write: {e}"
                    );
                }
            }
        }
        result
    }

    pub(super) fn apply_to(
        &self,
        catalog: &mut Catalog,
        incoming: &[Incoming],
        removed: &[String],
        exists: &dyn Fn(&str) -> bool,
    ) -> Result<Applied> {
        let log = self.log();
        let log_start = log.end().map_err(log_error)?;
        let mut tx = Tx {
            catalog,
            applied: Applied::default(),
            written: BTreeSet::new(),
            dirty: BTreeSet::new(),
            seq: None,
            last_seq: || self.last_seq(),
            log_start,
            log_entries: Vec::new(),
            log_len: 0,
            vacated: HashSet::new(),
        };
        // A file now holding another id gives its article up; if that id arrives at
        // another path of this batch (files swapped or rotated), the article is only
        // detached from its path, to be moved there rather than removed and re-added.
        let claimed: HashSet<&str> = incoming.iter().map(|i| i.id.as_str()).collect();
        let mut detached = Vec::new();
        for inc in incoming {
            if let Some(slot) = tx.catalog.slot_of_path(&inc.path) {
                let held = tx.catalog.get(slot);
                if *held.id != *inc.id && claimed.contains(&*held.id) {
                    tx.vacated.insert(held.path.to_string());
                    tx.catalog.forget_path(slot);
                    detached.push(slot);
                }
            }
        }
        // Upserts first: a file moved within the store takes its id along before the old
        // path's removal is seen, so the article keeps its record.
        for inc in incoming {
            let outcome = tx.upsert(inc, exists)?;
            tx.applied.outcomes.push(outcome);
        }
        // Every detached article was claimed by a file of this batch and moved there;
        // should one not have been, it gets its path back, or goes if that is taken.
        for slot in detached {
            let Some(e) = tx.catalog.try_get(slot) else {
                continue;
            };
            if tx.catalog.slot_of_path(&e.path) != Some(slot) {
                let path = e.path.to_string();
                match tx.catalog.slot_of_path(&path) {
                    None => tx.catalog.set_path(slot, &path),
                    Some(_) => tx.remove(slot),
                }
            }
        }
        for rel in removed {
            if let Some(slot) = tx.catalog.slot_of_path(rel) {
                tx.remove(slot);
            }
        }
        let mut batch = sled::Batch::default();
        for &page in &tx.written {
            put_page(&mut batch, tx.catalog, page);
        }
        // A feed already marked (and not yet published) is not marked again: a cold build
        // would otherwise write a keyword's mark once per chunk it appears in.
        let mut marked = Vec::new();
        for &f in &tx.dirty {
            let feed = tx.catalog.feed(f);
            if !feed.marked_dirty {
                batch.insert(key(prefix::DIRTY, feed.key.as_bytes()), &[]);
                marked.push(f);
            }
            tx.applied.dirty.insert(feed.topic.clone());
        }
        if let Some(seq) = tx.seq {
            batch.insert(key(prefix::META, SEQ_KEY), &seq.to_be_bytes());
        }
        let Tx {
            catalog,
            applied,
            log_entries,
            ..
        } = tx;
        if !log_entries.is_empty() {
            log.append(&log_entries).map_err(log_error)?;
        }
        self.tree.apply_batch(batch)?;
        self.flush()?;
        for f in marked {
            catalog.set_marked_dirty(f, true);
        }
        catalog.settle();
        Ok(applied)
    }
}

/// One batch of changes being made to the catalog, with what the tree must record.
pub(super) struct Tx<'a, 'i, F> {
    pub(super) catalog: &'a mut Catalog,
    pub(super) applied: Applied,
    /// Pages of records to write again.
    pub(super) written: BTreeSet<u64>,
    /// Feeds whose content changed, by number.
    pub(super) dirty: BTreeSet<u32>,
    /// The last arrival number handed out by this batch.
    pub(super) seq: Option<u64>,
    pub(super) last_seq: F,
    /// Log position of the first of `log_entries`.
    pub(super) log_start: u64,
    /// Framed articles to append to the log before the batch is applied.
    pub(super) log_entries: Vec<&'i [u8]>,
    /// Their length in all.
    pub(super) log_len: u64,
    /// Paths whose article moves to another file of this batch: an id found there is
    /// not held by an existing file.
    pub(super) vacated: HashSet<String>,
}

impl<'i, F: Fn() -> Result<u64>> Tx<'_, 'i, F> {
    pub(super) fn append(&mut self, framed: &'i [u8]) -> BlobRef {
        let blob = BlobRef {
            offset: self.log_start + self.log_len,
            len: framed.len() as u32,
        };
        self.log_entries.push(framed);
        self.log_len += framed.len() as u64;
        blob
    }

    pub(super) fn next_seq(&mut self) -> Result<u64> {
        let next = match self.seq {
            Some(s) => s,
            None => (self.last_seq)()?,
        } + 1;
        self.seq = Some(next);
        Ok(next)
    }

    pub(super) fn intern(&mut self, topics: &[(Topic, String)]) -> Box<[(u32, u32)]> {
        topics
            .iter()
            .map(|(topic, spelling)| {
                let f = self.catalog.intern_feed(topic);
                (f, self.catalog.intern_spelling(f, spelling))
            })
            .collect()
    }

    pub(super) fn mark_dirty(&mut self, slot: Slot) {
        let feeds = self.catalog.get(slot).topics.iter().map(|&(f, _)| f);
        self.dirty.extend(feeds);
    }

    /// Forgets an article.
    pub(super) fn remove(&mut self, slot: Slot) {
        self.mark_dirty(slot);
        let gone = self.catalog.remove(slot);
        self.written.insert(gone.seq / PAGE);
        self.applied.removed += 1;
    }

    pub(super) fn upsert(
        &mut self,
        inc: &'i Incoming,
        exists: &dyn Fn(&str) -> bool,
    ) -> Result<Outcome> {
        let id = inc.id.as_str();
        // The file used to hold another id (a JSON article whose id was edited).
        if let Some(slot) = self.catalog.slot_of_path(&inc.path) {
            if &*self.catalog.get(slot).id != id {
                self.remove(slot);
            }
        }
        let Some(slot) = self.catalog.slot_of_id(id) else {
            let published = inc.stated_published.unwrap_or(inc.mtime);
            let entry = Entry {
                id: id.into(),
                path: inc.path.as_str().into(),
                stamp: inc.stamp,
                hash: inc.hash,
                published,
                updated: inc.stated_updated.unwrap_or(published).max(published),
                seq: self.next_seq()?,
                blob: self.append(&inc.framed),
                topics: self.intern(&inc.topics),
            };
            let page = entry.seq / PAGE;
            let slot = self.catalog.insert(entry);
            self.written.insert(page);
            self.mark_dirty(slot);
            return Ok(Outcome::New);
        };
        let current = self.catalog.get(slot);
        if *current.path != *inc.path
            && exists(&current.path)
            && !self.vacated.contains(&*current.path)
        {
            return Ok(Outcome::Collision {
                other: current.path.to_string(),
            });
        }
        let (moved, seq) = (*current.path != *inc.path, current.seq);
        if moved {
            self.catalog.set_path(slot, &inc.path);
        }
        let current = self.catalog.get(slot);
        if current.hash == inc.hash {
            if moved || current.stamp != inc.stamp {
                self.catalog.set_stamp(slot, inc.stamp);
                self.written.insert(seq / PAGE);
            }
            return Ok(Outcome::Unchanged);
        }
        let published = inc.stated_published.unwrap_or(current.published);
        let updated = inc
            .stated_updated
            .unwrap_or(inc.mtime.max(current.updated))
            .max(published);
        let topics = self.intern(&inc.topics);
        let blob = self.append(&inc.framed);
        self.mark_dirty(slot);
        self.catalog.update(slot, |e| {
            e.stamp = inc.stamp;
            e.hash = inc.hash;
            e.published = published;
            e.updated = updated;
            e.topics = topics;
            e.blob = blob;
        });
        self.mark_dirty(slot);
        self.written.insert(seq / PAGE);
        Ok(Outcome::Changed)
    }
}
