//! What the listings and the keyword search need of the feeds, kept up to date one
//! article at a time so that no publish sorts or scans every feed (DESIGN §2 "A real
//! newsroom's vocabulary"): the keyword feeds ordered most used first, the folded
//! keywords in order (for prefix search), which keyword feeds each manifest page holds,
//! the feeds that are not keywords (all and the section tree: the site's own shape, not
//! its vocabulary), and the folder of every feed whose name had to change to be safe.
//! Pure: no sled call, file or clock.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::catalog::FastMap;
use crate::model::topic::{Topic, MANIFEST_PAGES};

#[derive(Default)]
pub(super) struct Vocabulary {
    /// Keyword feeds with at least one article: (articles, hash of the folded keyword,
    /// feed number), most used first. Ties go by the keyword's hash, not by the feed's
    /// number, so the order is the same however the catalog was filled; and an entry
    /// holds no string, so the update made for every keyword of every article allocates
    /// nothing.
    top: BTreeSet<(Reverse<u64>, u64, u32)>,
    /// Every keyword feed ever interned, by folded keyword.
    keywords: BTreeMap<Box<str>, u32>,
    /// Keyword feed numbers per manifest page.
    pages: Vec<Vec<u32>>,
    /// Keyword feeds with at least one article per manifest page.
    page_live: Vec<u32>,
    /// `all` and every section feed, in order of first sight.
    headline: Vec<u32>,
    /// Feed folders that are not the feed's own name (see [`crate::model::topic::safe_name`]).
    renamed_dirs: FastMap<Box<str>, u32>,
}

impl Vocabulary {
    /// A feed seen for the first time.
    pub fn interned(&mut self, topic: &Topic, number: u32) {
        match topic {
            Topic::Keyword(k) => {
                self.keywords.insert(k.as_str().into(), number);
                if self.pages.is_empty() {
                    self.pages = vec![Vec::new(); MANIFEST_PAGES];
                    self.page_live = vec![0; MANIFEST_PAGES];
                }
                self.pages[topic.manifest_page().expect("a keyword") as usize].push(number);
            }
            _ => self.headline.push(number),
        }
        if Topic::from_dir(&topic.dir()).as_ref() != Some(topic) {
            self.renamed_dirs.insert(topic.dir().into(), number);
        }
    }

    /// A feed's article count went from `before` to `after`.
    pub fn counted(&mut self, topic: &Topic, number: u32, before: u64, after: u64) {
        let Topic::Keyword(k) = topic else {
            return;
        };
        let tie = xxhash_rust::xxh3::xxh3_64(k.as_bytes());
        if before > 0 {
            self.top.remove(&(Reverse(before), tie, number));
        }
        if after > 0 {
            self.top.insert((Reverse(after), tie, number));
        }
        if (before == 0) != (after == 0) {
            let page = topic.manifest_page().expect("a keyword") as usize;
            match after {
                0 => self.page_live[page] -= 1,
                _ => self.page_live[page] += 1,
            }
        }
    }

    /// The `n` most used keyword feeds, most used first.
    pub fn top(&self, n: usize) -> impl Iterator<Item = u32> + '_ {
        self.top.iter().take(n).map(|&(_, _, f)| f)
    }

    /// Keyword feeds with at least one article.
    pub fn live_keywords(&self) -> usize {
        self.top.len()
    }

    /// Every keyword feed with articles, most used first.
    pub fn keywords_by_use(&self) -> impl Iterator<Item = u32> + '_ {
        self.top.iter().map(|&(_, _, f)| f)
    }

    /// Keyword feeds whose folded keyword starts with `prefix`, in keyword order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.keywords
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, &f)| f)
    }

    pub fn page(&self, page: u16) -> &[u32] {
        self.pages
            .get(page as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Manifest pages holding at least one feed with articles.
    pub fn live_pages(&self) -> impl Iterator<Item = u16> + '_ {
        self.page_live
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(p, _)| p as u16)
    }

    pub fn headline(&self) -> &[u32] {
        &self.headline
    }

    /// The feed a folder below `feeds.output` belongs to, when its name had to change.
    pub fn renamed_dir(&self, dir: &str) -> Option<u32> {
        self.renamed_dirs.get(dir).copied()
    }
}

/// One feed as the listings, the keyword search and rendering on request see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFacts {
    pub topic: Topic,
    /// Articles in the feed (all of them, not only those its documents hold).
    pub count: u64,
    /// The spelling seen most often (ties: the smallest).
    pub title: String,
    /// Newest `updated` among the documents' items, unix seconds.
    pub updated: i64,
    /// Changes whenever the feed's documents would.
    pub version: u64,
}

impl super::Index {
    fn facts(&self, catalog: &super::Catalog, number: u32, items: usize) -> FeedFacts {
        let feed = catalog.feed(number);
        let title = feed
            .names
            .iter()
            .filter(|(_, n)| *n > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(name, _)| name.to_string())
            .unwrap_or_default();
        FeedFacts {
            topic: feed.topic.clone(),
            count: feed.count,
            title,
            updated: catalog.feed_updated(number, items),
            version: feed.version,
        }
    }

    fn facts_of(&self, numbers: impl IntoIterator<Item = u32>, items: usize) -> Vec<FeedFacts> {
        let catalog = self.catalog();
        numbers
            .into_iter()
            .filter(|&f| catalog.feed(f).count > 0)
            .map(|f| self.facts(&catalog, f, items))
            .collect()
    }

    /// A feed with at least one article; `items`: how many its documents hold.
    pub fn feed_facts(&self, topic: &Topic, items: usize) -> Option<FeedFacts> {
        let catalog = self.catalog();
        let number = catalog.feed_number(topic)?;
        (catalog.feed(number).count > 0).then(|| self.facts(&catalog, number, items))
    }

    /// `all` and every section feed, in section order.
    pub fn headline_feeds(&self, items: usize) -> Vec<FeedFacts> {
        let numbers = self.catalog().vocabulary.headline().to_vec();
        let mut feeds = self.facts_of(numbers, items);
        feeds.sort_by(|a, b| a.topic.cmp(&b.topic));
        feeds
    }

    /// The `n` most used keyword feeds, most used first.
    pub fn top_keywords(&self, n: usize, items: usize) -> Vec<FeedFacts> {
        let numbers: Vec<u32> = self.catalog().vocabulary.top(n).collect();
        self.facts_of(numbers, items)
    }

    /// Every keyword feed, most used first (for `opml-keywords.xml`).
    pub fn all_keywords(&self, items: usize) -> Vec<FeedFacts> {
        let numbers: Vec<u32> = self.catalog().vocabulary.keywords_by_use().collect();
        self.facts_of(numbers, items)
    }

    /// Up to `limit` keyword feeds whose folded keyword starts with `folded_prefix`, most
    /// used first (ties by keyword).
    pub fn search_keywords(
        &self,
        folded_prefix: &str,
        limit: usize,
        items: usize,
    ) -> Vec<FeedFacts> {
        let catalog = self.catalog();
        let mut found: Vec<(std::cmp::Reverse<u64>, &str, u32)> = catalog
            .vocabulary
            .with_prefix(folded_prefix)
            .map(|f| (catalog.feed(f), f))
            .filter(|(feed, _)| feed.count > 0)
            .map(|(feed, f)| (std::cmp::Reverse(feed.count), &*feed.key, f))
            .collect();
        if found.len() > limit {
            found.select_nth_unstable(limit);
            found.truncate(limit);
        }
        found.sort_unstable();
        found
            .into_iter()
            .map(|(_, _, f)| self.facts(&catalog, f, items))
            .collect()
    }

    /// The keyword feeds a manifest page lists, in keyword order.
    pub fn manifest_page(&self, page: u16, items: usize) -> Vec<FeedFacts> {
        let numbers = self.catalog().vocabulary.page(page).to_vec();
        let mut feeds = self.facts_of(numbers, items);
        feeds.sort_by(|a, b| a.topic.cmp(&b.topic));
        feeds
    }

    /// Keyword feeds with at least one article.
    pub fn keyword_feed_count(&self) -> usize {
        self.catalog().vocabulary.live_keywords()
    }

    /// Every live feed (for a full pass).
    pub fn topics(&self) -> Vec<Topic> {
        let catalog = self.catalog();
        let v = &catalog.vocabulary;
        v.headline()
            .iter()
            .copied()
            .chain(v.keywords_by_use())
            .map(|f| catalog.feed(f))
            .filter(|feed| feed.count > 0)
            .map(|feed| feed.topic.clone())
            .collect()
    }

    /// Manifest pages with at least one feed.
    pub fn manifest_pages(&self) -> Vec<u16> {
        self.catalog().vocabulary.live_pages().collect()
    }

    /// The feed whose folder below `feeds.output` is `dir`, if it has articles.
    pub fn topic_of_dir(&self, dir: &str) -> Option<Topic> {
        let catalog = self.catalog();
        let number = Topic::from_dir(dir)
            .filter(|t| t.dir() == dir)
            .and_then(|t| catalog.feed_number(&t))
            .or_else(|| catalog.vocabulary.renamed_dir(dir))?;
        let feed = catalog.feed(number);
        (feed.count > 0).then(|| feed.topic.clone())
    }
}
