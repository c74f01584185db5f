//! Archive pages in the tree and for readers (DESIGN §2 "Archives"): each feed's page
//! ends are kept under their own key, written when a page closes, so that the pages are
//! the same after a reopen, whatever was removed meanwhile.

use super::*;

/// One archive page as a renderer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePage {
    pub page: u32,
    /// The feed's open page, the newest.
    pub newest: u32,
    /// Article ids, newest arrival first.
    pub ids: Vec<String>,
    /// The spelling most used by the page's own articles.
    pub title: String,
    /// The feed's version (see [`FeedFacts::version`]) when the page was read.
    pub version: u64,
}

impl ArchivePage {
    /// Complete pages change only when one of their own articles is edited or removed.
    pub fn is_complete(&self) -> bool {
        self.page < self.newest
    }
}

fn archive_key(feed_key: &str) -> Vec<u8> {
    key(prefix::ARCHIVE, feed_key.as_bytes())
}

fn encode_ends(ends: &[u64]) -> Vec<u8> {
    ends.iter().flat_map(|e| e.to_be_bytes()).collect()
}

/// Reads every feed's page ends into the catalog (its feeds already interned from the
/// records); ends of a feed with no article left are ignored.
pub(super) fn load_archives(tree: &sled::Tree, catalog: &mut Catalog) -> Result<()> {
    for kv in tree.scan_prefix([prefix::ARCHIVE]) {
        let (k, v) = kv?;
        let topic = topic_of_key(&k[1..])?;
        if v.len() % 8 != 0 {
            return Err(IndexError::Corrupt {
                key: String::from_utf8_lossy(&k[1..]).into_owned(),
                reason: "archive page ends are not 8-byte numbers".into(),
            });
        }
        let ends: Box<[u64]> = v
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if let Some(number) = catalog.feed_number(&topic) {
            catalog.set_archive(number, ends);
        }
    }
    Ok(())
}

impl Index {
    /// The open (newest) archive page of a feed with articles.
    pub fn archive_newest(&self, topic: &Topic) -> Option<u32> {
        let catalog = self.catalog();
        let number = catalog.feed_number(topic)?;
        (catalog.feed(number).count > 0).then(|| catalog.archive_newest(number))
    }

    /// One archive page of a feed; `None`: no such feed, or no such page.
    pub fn archive_page(&self, topic: &Topic, page: u32) -> Option<ArchivePage> {
        let catalog = self.catalog();
        let number = catalog.feed_number(topic)?;
        let newest = catalog.archive_newest(number);
        if catalog.feed(number).count == 0 || page == 0 || page > newest {
            return None;
        }
        let members = catalog.archive_page(number, page);
        Some(page_of(&catalog, number, page, newest, &members))
    }

    /// Every archive page of a feed whose number `wanted` accepts, oldest first.
    pub fn archive_pages(&self, topic: &Topic, wanted: impl Fn(u32) -> bool) -> Vec<ArchivePage> {
        let catalog = self.catalog();
        let Some(number) = catalog.feed_number(topic) else {
            return Vec::new();
        };
        let newest = catalog.archive_newest(number);
        (catalog.archive_pages(number).iter().zip(1..))
            .filter(|(_, page)| wanted(*page))
            .map(|(members, page)| page_of(&catalog, number, page, newest, members))
            .collect()
    }

    /// Sets the articles per archive page (`feeds.items`): from then on each batch of
    /// changes completes the pages it fills under the same lock, so that no reader sees an
    /// open page holding more.
    pub fn set_archive_page_size(&self, items: usize) {
        self.archive_page_size
            .store(items, std::sync::atomic::Ordering::Release);
    }

    /// Completes the full open archive pages of `topics` (at `items` articles a page) and
    /// records their ends, one atomic batch, flushed; a feed with no article left loses
    /// its pages. Called before the feeds are published, so that the documents name the
    /// pages as they are. Returns, per feed, the complete pages that changed since it was
    /// last published (completed since, or an article on them edited or removed): with
    /// the open page, those a writer of archive files rewrites.
    pub fn close_archive_pages(
        &self,
        topics: &[Topic],
        items: usize,
    ) -> Result<BTreeMap<Topic, Vec<u32>>> {
        let mut catalog = self.catalog_mut();
        catalog.settle();
        let numbers: Vec<u32> = topics
            .iter()
            .filter_map(|t| catalog.feed_number(t))
            .collect();
        self.close_in(&mut catalog, &numbers, items)?;
        Ok(numbers
            .into_iter()
            .map(|n| {
                (
                    catalog.feed(n).topic.clone(),
                    catalog.archive_touched(n).to_vec(),
                )
            })
            .collect())
    }

    /// After a batch: completes the pages its dirty feeds filled, once the page size is
    /// known.
    pub(super) fn complete_archive_pages(
        &self,
        catalog: &mut Catalog,
        dirty: &BTreeSet<Topic>,
    ) -> Result<()> {
        let items = self
            .archive_page_size
            .load(std::sync::atomic::Ordering::Acquire);
        if items == 0 {
            return Ok(());
        }
        let numbers: Vec<u32> = dirty
            .iter()
            .filter_map(|t| catalog.feed_number(t))
            .collect();
        self.close_in(catalog, &numbers, items)
    }

    fn close_in(&self, catalog: &mut Catalog, numbers: &[u32], items: usize) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut writes = false;
        for &number in numbers {
            let feed = catalog.feed(number);
            if feed.count == 0 {
                if !feed.archive.is_empty() {
                    batch.remove(archive_key(&feed.key));
                    writes = true;
                    catalog.set_archive(number, Box::default());
                }
            } else if catalog.close_archive_pages(number, items).is_some() {
                let feed = catalog.feed(number);
                batch.insert(archive_key(&feed.key), encode_ends(&feed.archive));
                writes = true;
            }
        }
        if writes {
            if let Err(e) = self.tree.apply_batch(batch).and_then(|_| self.db.flush()) {
                // The catalog completed pages the tree does not have: read it back.
                *catalog = load_catalog(&self.tree)?;
                return Err(e.into());
            }
        }
        Ok(())
    }
}

fn page_of(
    catalog: &Catalog,
    number: u32,
    page: u32,
    newest: u32,
    members: &[&Entry],
) -> ArchivePage {
    ArchivePage {
        page,
        newest,
        ids: members.iter().map(|e| e.id.to_string()).collect(),
        title: catalog.spelling_among(number, members).to_string(),
        version: catalog.feed(number).version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::index::tests::{article, reopen};

    fn incoming(id: &str, keyword: &str) -> Incoming {
        let article = Article {
            sections: vec!["國內".into()],
            keywords: vec![keyword.into()],
            ..article(id)
        };
        let stamp = FileStamp {
            mtime_ns: 1,
            size: 1,
        };
        Incoming::new(format!("{id}.txt"), stamp, article, Some(100), None, 100)
    }

    /// Page ends survive a reopen, so a removal before it moves no page after it; a page
    /// takes its title from its own articles' spelling.
    #[test]
    fn pages_survive_a_reopen_and_a_removal() {
        let dir = tempfile::tempdir().unwrap();
        let kw = Topic::Keyword("重庆市".into());
        {
            let index = reopen(dir.path());
            let batch: Vec<Incoming> = (0..5)
                .map(|n| incoming(&format!("a{n}"), if n < 2 { "重慶市" } else { "重庆市" }))
                .collect();
            index.apply(&batch, &[], &|_| true).unwrap();
            let changes = index
                .close_archive_pages(&[kw.clone(), Topic::All], 2)
                .unwrap();
            assert_eq!(changes[&kw], [1, 2], "completed");
            assert_eq!(index.archive_newest(&kw), Some(3));
            assert_eq!(index.archive_page(&kw, 1).unwrap().title, "重慶市");
            assert_eq!(index.archive_page(&kw, 2).unwrap().title, "重庆市");
            assert!(index.archive_page(&kw, 1).unwrap().is_complete());
            assert!(!index.archive_page(&kw, 3).unwrap().is_complete());
            assert_eq!(index.archive_page(&kw, 4), None);
            assert_eq!(index.archive_page(&kw, 0), None);
        }
        let index = reopen(dir.path());
        index
            .apply(&[], &["a0.txt".to_string()], &|_| false)
            .unwrap();
        let ids = |page| index.archive_page(&kw, page).unwrap().ids;
        assert_eq!(ids(1), ["a1"]);
        assert_eq!(ids(2), ["a3", "a2"]);
        assert_eq!(ids(3), ["a4"]);
        let changes = index
            .close_archive_pages(std::slice::from_ref(&kw), 2)
            .unwrap();
        assert_eq!(changes[&kw], [1], "the removal touched page 1");
        // Every article removed: the feed's pages go with it.
        let gone: Vec<String> = (1..5).map(|n| format!("a{n}.txt")).collect();
        index.apply(&[], &gone, &|_| false).unwrap();
        index
            .close_archive_pages(std::slice::from_ref(&kw), 2)
            .unwrap();
        assert_eq!(index.archive_newest(&kw), None);
        assert!(
            index.tree.scan_prefix([prefix::ARCHIVE]).next().is_some(),
            "pages of a feed not published since stay"
        );
        drop(index);
        let index = reopen(dir.path());
        index
            .apply(&[incoming("b", "重庆市")], &[], &|_| true)
            .unwrap();
        assert_eq!(index.archive_newest(&kw), Some(1), "a new start");
    }
}
