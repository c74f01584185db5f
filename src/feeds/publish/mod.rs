//! `tidings build` and `tidings check`: scan the store, parse what changed, record it in
//! the index, and publish every feed whose content changed (DESIGN §3, §7). The daemon
//! reuses [`publish`] for its incremental updates.

mod archive;
mod indexer;
pub mod write;

pub use archive::render_archive_on_request;
pub use indexer::{Detached, Indexer};

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Format};
use crate::feeds::feed::listing::{self, Listed};
use crate::feeds::feed::{self, FeedDoc, History, Item, Site};
use crate::feeds::index::{FeedFacts, Incoming, Index, IndexError, Outcome};
use crate::feeds::publish::write::{prune_empty_dirs, remove_file, write_if_changed};
use crate::feeds::store::{self, StoreFile};
use crate::i18n::Lang;
use crate::model::article::{Article, FileStamp, Stamp};
use crate::model::escape::{escaped, escaped_path};
use crate::model::limits::beyond_limits;
use crate::model::topic::{manifest_page_file, Topic, MANIFEST_PAGES};

/// Files parsed and recorded per index transaction.
const CHUNK: usize = 2048;
/// The article log is rewritten once this much of it (and a quarter) is left over from
/// edits and removals.
const LOG_GARBAGE_MIN: u64 = 16 * 1024 * 1024;
/// Feeds rendered per round (bounds the records held in memory at once).
const RENDER_CHUNK: usize = 128;
/// Keywords that `index.html` and `opml.xml` name (the most used): with `all` and ~150
/// sections they stay far below 256 KB at any vocabulary (DESIGN §2). Every other
/// keyword is found by the search box, in `opml-keywords.xml` and in the manifest.
pub const TOP_KEYWORDS: usize = 100;
/// How long the daemon lets `opml-keywords.xml`, the one listing as large as the
/// vocabulary, lag behind the keyword feeds: it is rewritten when due and the publisher
/// is idle, not on every publish.
pub const KEYWORD_LIST_DELAY: Duration = Duration::from_secs(60);

/// Which feeds get files, and which listings are rewritten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishMode {
    /// Write every feed's files (`tidings build --all-feeds`), not only those of `all`
    /// and the sections: the long tail of keyword feeds is otherwise rendered on request
    /// by `tidings run` (see BENCHMARKS.md for the measurements behind that choice).
    pub all_feeds: bool,
    /// A full pass: every manifest page and `opml-keywords.xml` are brought up to date,
    /// not only what the dirty feeds touch.
    pub full: bool,
    /// Rewrite every archive page of the feeds published (the settings they are rendered
    /// with changed), not only those that can have changed since.
    pub every_archive_page: bool,
}

/// Whether a feed's files are written when it changes. Keyword feeds are rendered on
/// request unless every file is asked for, or the folder is there already (written by
/// an earlier `--all-feeds`): files that exist are always kept current, so that a plain
/// web server never serves a stale one.
fn writes_files(output: &Path, topic: &Topic, mode: PublishMode) -> bool {
    mode.all_feeds || !matches!(topic, Topic::Keyword(_)) || output.join(topic.dir()).is_dir()
}

/// A store file read and parsed, or why it could not be.
type Parsed = (PathBuf, FileStamp, Result<Incoming, String>);

/// A file left out, with the reason: printed as one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// A string in a serialized report, or bytes: a hostile store's names need not be UTF-8.
    #[serde(with = "path_text_or_bytes")]
    pub path: PathBuf,
    /// The version of the file that was rejected (`None`: a part of the store that could
    /// not be read at all), so that a rejection can be counted once per version.
    pub stamp: Option<FileStamp>,
    pub reason: String,
}

impl fmt::Display for Rejection {
    /// Names and reasons are escaped: a file name cannot split or forge a report line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.as_os_str().is_empty() {
            write!(f, "{}: ", escaped_path(&self.path))?;
        }
        write!(f, "{}", escaped(&self.reason))
    }
}

/// A path for serde: as a string when it is UTF-8, else as its bytes (`PathBuf`'s own
/// serialization refuses names that are not UTF-8, which a hostile store has).
mod path_text_or_bytes {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(text) => s.serialize_str(text),
            None => s.serialize_bytes(path.as_os_str().as_bytes()),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(match Form::deserialize(d)? {
            Form::Text(text) => PathBuf::from(text),
            Form::Bytes(bytes) => PathBuf::from(std::ffi::OsString::from_vec(bytes)),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("{0}")]
    Store(std::io::Error),
    #[error("feeds.output {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishReport {
    /// Feeds with at least one file rewritten.
    pub written: usize,
    /// Feeds rendered whose files already held the same bytes.
    pub unchanged: usize,
    /// Feeds that lost their last article, files removed.
    pub removed: usize,
    /// Feeds that changed and are rendered on request (no file written).
    pub on_request: usize,
    /// Feeds published in all.
    pub feeds: usize,
    /// Feeds whose documents changed: files written or removed, or rendered on request
    /// (their subscribers' hub is told).
    pub changed: Vec<Topic>,
    /// Feeds that could not be written, one line each (folder: reason); they stay marked
    /// for publishing and are tried again by the next publish.
    pub failed: Vec<String>,
    /// Whether any keyword feed changed (`opml-keywords.xml` is then due).
    pub keywords_changed: bool,
}

/// What a build or a reconciliation did. Serializable: the daemon's first start reads
/// it from a `tidings build` child process (`daemon::first_start`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BuildReport {
    /// Articles in the index after the build.
    pub articles: usize,
    pub new: usize,
    pub changed: usize,
    pub removed: usize,
    pub rejected: Vec<Rejection>,
    pub publish: PublishReport,
    /// The article log's size before and after, when it was compacted.
    pub compacted: Option<(u64, u64)>,
    pub elapsed: Duration,
}

impl fmt::Display for BuildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} articles indexed ({} new, {} changed, {} removed), {} rejected; \
             feeds: {} written, {} unchanged, {} removed, {} on request, {} in all; {:.2} s",
            self.articles,
            self.new,
            self.changed,
            self.removed,
            self.rejected.len(),
            self.publish.written,
            self.publish.unchanged,
            self.publish.removed,
            self.publish.on_request,
            self.publish.feeds,
            self.elapsed.as_secs_f64()
        )?;
        if !self.publish.failed.is_empty() {
            write!(
                f,
                "; {} feeds could not be written",
                self.publish.failed.len()
            )?;
        }
        if let Some((before, after)) = self.compacted {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            write!(
                f,
                " (article log compacted: {:.1} MiB → {:.1} MiB)",
                mib(before),
                mib(after)
            )?;
        }
        Ok(())
    }
}

impl BuildReport {
    /// One line per problem, for standard error: each file rejected, each feed that could
    /// not be written.
    pub fn problem_lines(&self) -> Vec<String> {
        let rejected = self.rejected.iter().map(|r| format!("rejected: {r}"));
        let failed = (self.publish.failed.iter()).map(|f| format!("cannot publish: {f}"));
        rejected.chain(failed).collect()
    }

    /// `tidings build`'s exit code: 1 when a feed could not be written, or (with
    /// `--strict`) a file was rejected; else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        u8::from(!self.publish.failed.is_empty() || (strict && !self.rejected.is_empty()))
    }
}

/// The index's meta key that records which limits of one article its records were
/// checked against, and the version of those limits (raised when a limit is tightened, so
/// that an index built under looser limits is healed once).
const LIMITS_META: &str = "limits";
const LIMITS_VERSION: &[u8] = b"1";

/// The documents' archive links and pages (DESIGN §2 "Archives"), in the fingerprint
/// below: an index from before them has every feed published, and its pages closed, once.
const ARCHIVE_LAYOUT: &str = "archives-1";

/// Everything about rendering that, when it changes, changes every feed.
fn render_fingerprint(config: &Config) -> String {
    format!(
        "{}|{ARCHIVE_LAYOUT}|{}|{}|{}|{}|{:?}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        config.site.title,
        config.site.base_url,
        config.site.language,
        config.site.timezone,
        config.feeds.formats,
        config.feeds.items,
        config.feeds.websub_hub
    )
}

/// Reads and parses one store file.
pub fn load(file: &StoreFile, max_bytes: u64) -> Result<Article, String> {
    let bytes = store::read(file, max_bytes).map_err(|e| e.to_string())?;
    Article::parse(file.stem(), &bytes, file.layout).map_err(|e| e.to_string())
}

/// An article's own time in unix seconds (offset-less times are in the site's zone).
pub fn stamp_seconds(stamp: &Stamp, tz: &chrono_tz::Tz) -> Option<i64> {
    match stamp {
        Stamp::Zoned(t) => Some(t.timestamp()),
        Stamp::Local(naive) => tz
            .from_local_datetime(naive)
            .earliest()
            .map(|t| t.timestamp()),
    }
}

fn incoming(file: &StoreFile, article: Article, tz: &chrono_tz::Tz) -> Incoming {
    let stated_published = article
        .published
        .as_ref()
        .and_then(|s| stamp_seconds(s, tz));
    let stated_updated = article.updated.as_ref().and_then(|s| stamp_seconds(s, tz));
    Incoming::new(
        file.rel.clone(),
        file.stamp,
        article,
        stated_published,
        stated_updated,
        file.mtime(),
    )
}

/// `tidings build`: open the index, bring it in line with the store, publish.
/// `all_feeds`: write every feed's files (`--all-feeds`), not only the headline feeds'.
/// `wait_for_lock`: how long to wait while another process holds the index (the daemon
/// that has just let go of it to run this build as its child, `daemon::first_start`).
pub fn build(
    config: &Config,
    all_feeds: bool,
    wait_for_lock: Duration,
    progress: &ProgressBar,
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    // Opening the index (reading every record) and scanning the store (a stat per file)
    // take about as long as each other at 100,000 articles; neither needs the other.
    let (index, scanned) = rayon::join(
        || Index::open_waiting(&config.state.path, wait_for_lock),
        || store::scan(&config.store.path),
    );
    let index = index?;
    let mut indexer = Indexer::new(&index, config.clone());
    indexer.all_feeds = all_feeds;
    indexer.reconcile_scanned(started, scanned, progress)
}

/// A feed as the listings show it.
fn listed(site: &Site, facts: &FeedFacts, items_per_feed: usize) -> Listed {
    Listed {
        topic: facts.topic.clone(),
        title: feed::feed_title(site, &facts.topic, &facts.title),
        items: (facts.count as usize).min(items_per_feed),
        updated: site
            .tz
            .timestamp_opt(facts.updated, 0)
            .single()
            .map(|t| t.fixed_offset())
            .unwrap_or_default(),
    }
}

/// The headline feeds (`all` and the sections) and the most used keywords, as the
/// listings show them: what `index.html`, `/` and `opml.xml` list.
fn listed_feeds(index: &Index, site: &Site, items_per_feed: usize) -> (Vec<Listed>, Vec<Listed>) {
    let listed_all = |feeds: &[FeedFacts]| -> Vec<Listed> {
        feeds
            .iter()
            .map(|f| listed(site, f, items_per_feed))
            .collect()
    };
    (
        listed_all(&index.headline_feeds(items_per_feed)),
        listed_all(&index.top_keywords(TOP_KEYWORDS, items_per_feed)),
    )
}

/// The home page in `lang`, with the language switcher, from the index as it is: what the
/// daemon's `/` serves (DESIGN §5), the written `index.html` in another language.
pub fn home_page(index: &Index, site: &Site, items_per_feed: usize, lang: Lang) -> Vec<u8> {
    let (headline, top) = listed_feeds(index, site, items_per_feed);
    listing::index_html(
        site,
        &headline,
        &top,
        index.keyword_feed_count(),
        lang,
        true,
    )
}

/// Renders one feed document from the index as it is now: the bytes publishing would
/// write for it, for a feed whose files are not written (DESIGN §2: the long tail is
/// rendered on request). `None`: no such feed, or the format is not published.
pub fn render_on_request(
    index: &Index,
    site: &Site,
    items_per_feed: usize,
    topic: &Topic,
    format: Format,
) -> Result<Option<(Vec<u8>, FeedFacts)>, IndexError> {
    if !site.formats.contains(&format) {
        return Ok(None);
    }
    loop {
        let Some(facts) = index.feed_facts(topic, items_per_feed) else {
            return Ok(None);
        };
        let newest = index.archive_newest(topic);
        let mut items = Vec::new();
        for id in index.recent_ids(topic, items_per_feed) {
            match index.record(&id)? {
                Some(rec) => items.push(Item::from_record(site, &rec)),
                // Removed meanwhile: the version below has moved too.
                None => break,
            }
        }
        // Members and records read while the publisher changed the feed: read again,
        // so that the bytes are exactly some version's.
        if index.feed_facts(topic, items_per_feed).map(|f| f.version) != Some(facts.version) {
            continue;
        }
        let doc = FeedDoc {
            topic,
            title: feed::feed_title(site, topic, &facts.title),
            items: items.iter().collect(),
            own: None,
        };
        let history = newest.map(|newest| History::Current { newest });
        let bytes = feed::render_in_history(site, &doc, format, history);
        return Ok(Some((bytes, facts)));
    }
}

/// What publishing did with one dirty feed.
enum Fate {
    Written,
    Unchanged,
    Removed,
}

/// Publishes every dirty feed (rendering it from the index, writing only changed files,
/// removing feeds that lost their last article), then the listings: the small ones
/// whole, of the manifest's pages those the dirty feeds are on. Returns per-feed counts.
pub fn publish(
    index: &Index,
    site: &Site,
    items_per_feed: usize,
    output: &Path,
    mode: PublishMode,
) -> Result<PublishReport, BuildError> {
    let out_err = |source| BuildError::Output {
        path: output.to_owned(),
        source,
    };
    std::fs::create_dir_all(output).map_err(out_err)?;
    let mut report = PublishReport::default();
    let dirty: Vec<Topic> = index.dirty_topics()?.into_iter().collect();
    // Full archive pages are completed before anything is rendered (a batch does it
    // already once the index knows the page size; this covers a changed `feeds.items`
    // and an index from before archives): the documents link to the pages as they are.
    let archive_touched = index.close_archive_pages(&dirty, items_per_feed)?;
    let pages: BTreeSet<u16> = match mode.full {
        true => (0..MANIFEST_PAGES as u16).collect(),
        false => dirty.iter().filter_map(Topic::manifest_page).collect(),
    };
    report.keywords_changed = dirty.iter().any(|t| matches!(t, Topic::Keyword(_)));
    // Feeds rendered on request only need their dirty mark cleared: one batch for all.
    let (to_write, on_request): (Vec<&Topic>, Vec<&Topic>) = dirty.iter().partition(|t| {
        writes_files(output, t, mode) || index.feed_facts(t, items_per_feed).is_none()
    });
    if !on_request.is_empty() {
        let done: Vec<(Topic, Option<i64>)> =
            on_request.iter().map(|&t| (t.clone(), None)).collect();
        index.finish_publish(&done)?;
        report.on_request += on_request.len();
        report.changed.extend(on_request.into_iter().cloned());
    }
    for chunk in to_write.chunks(RENDER_CHUNK) {
        let docs: Vec<FeedToWrite> = chunk
            .iter()
            .map(|&topic| match index.feed_facts(topic, items_per_feed) {
                Some(facts) => FeedToWrite {
                    topic,
                    facts: Some(facts),
                    ids: index.recent_ids(topic, items_per_feed),
                    newest: index.archive_newest(topic),
                },
                None => FeedToWrite {
                    topic,
                    facts: None,
                    ids: Vec::new(),
                    newest: None,
                },
            })
            .collect();
        // Feeds share most of their newest articles ('all' holds every section's): each is
        // read from the index and made an item once, in parallel.
        let unique: HashSet<&str> = docs
            .iter()
            .flat_map(|doc| doc.ids.iter().map(String::as_str))
            .collect();
        let items: HashMap<&str, Item> = unique
            .into_par_iter()
            .map(|id| match index.record(id)? {
                Some(rec) => Ok((id, Item::from_record(site, &rec))),
                None => Err(IndexError::Corrupt {
                    key: id.to_string(),
                    reason: "feed member without a record".into(),
                }),
            })
            .collect::<Result<_, IndexError>>()?;
        let results: Vec<(&Topic, std::io::Result<Published>)> = docs
            .par_iter()
            .map(|doc| (doc.topic, publish_feed(output, site, &items, doc)))
            .collect();
        let mut done = Vec::with_capacity(results.len());
        for (topic, result) in results {
            let archived = result.and_then(|published| {
                match published.0.is_some() && archive::writes_archives(output, topic, mode) {
                    true => archive::write_archives(
                        index,
                        site,
                        output,
                        topic,
                        archive_touched.get(topic).map_or(&[], Vec::as_slice),
                        mode.every_archive_page,
                    )
                    .map(|_| published),
                    false => Ok(published),
                }
            });
            let (updated, fate) = match archived {
                Ok(published) => published,
                Err(e) => {
                    // One feed that cannot be written stays dirty, to be tried again by
                    // the next publish; the others go on (DESIGN §1, "Bad input").
                    report
                        .failed
                        .push(format!("{}: {e}", escaped_path(&output.join(topic.dir()))));
                    continue;
                }
            };
            match fate {
                Fate::Removed => report.removed += 1,
                Fate::Written => report.written += 1,
                Fate::Unchanged => report.unchanged += 1,
            }
            if !matches!(fate, Fate::Unchanged) {
                report.changed.push(topic.clone());
            }
            done.push((topic.clone(), updated));
        }
        index.finish_publish(&done)?;
    }

    let (headline, top) = listed_feeds(index, site, items_per_feed);
    let keywords = index.keyword_feed_count();
    report.feeds = headline.len() + keywords;
    let live_pages = index.manifest_pages();
    let mut short_list = headline.clone();
    short_list.extend(top.iter().cloned());
    for (name, bytes) in [
        (
            "index.json",
            listing::manifest(site, &headline, &live_pages),
        ),
        ("opml.xml", listing::opml(site, &short_list)),
        (
            "index.html",
            // The file in the site's default language; the daemon's `/` speaks the
            // reader's ([`home_page`]).
            listing::index_html(
                site,
                &headline,
                &top,
                keywords,
                Lang::site_default(&site.language),
                false,
            ),
        ),
    ] {
        write_if_changed(&output.join(name), &bytes).map_err(out_err)?;
    }
    // A page that lost its last feed loses its file.
    for page in pages {
        let path = output.join(manifest_page_file(page));
        let feeds: Vec<Listed> = index
            .manifest_page(page, items_per_feed)
            .iter()
            .map(|f| listed(site, f, items_per_feed))
            .collect();
        if feeds.is_empty() {
            remove_file(&path).map_err(out_err)?;
        } else {
            write_if_changed(&path, &listing::manifest_page(site, &feeds)).map_err(out_err)?;
        }
    }
    if mode.full {
        write_keyword_list(index, site, items_per_feed, output)?;
    }
    Ok(report)
}

/// Writes `opml-keywords.xml`: every keyword feed, most used first.
fn write_keyword_list(
    index: &Index,
    site: &Site,
    items_per_feed: usize,
    output: &Path,
) -> Result<(), BuildError> {
    let all: Vec<Listed> = index
        .all_keywords(items_per_feed)
        .iter()
        .map(|f| listed(site, f, items_per_feed))
        .collect();
    write_if_changed(
        &output.join("opml-keywords.xml"),
        &listing::opml(site, &all),
    )
    .map_err(|source| BuildError::Output {
        path: output.to_owned(),
        source,
    })?;
    Ok(())
}

/// Removes a feed's files, its archive pages and the folders left empty.
fn remove_feed(output: &Path, topic: &Topic) -> std::io::Result<()> {
    for format in Format::ALL {
        remove_file(&output.join(topic.file(format)))?;
    }
    archive::remove_archives(output, topic)?;
    prune_empty_dirs(&output.join(topic.dir()), output);
    Ok(())
}

/// A feed's publication: the `updated` time its documents carry (`None`: removed), and
/// what became of its files.
type Published = (Option<i64>, Fate);

/// A dirty feed about to be written: its facts, newest article ids and open archive
/// page (`None`: it has no article left).
struct FeedToWrite<'a> {
    topic: &'a Topic,
    facts: Option<FeedFacts>,
    ids: Vec<String>,
    newest: Option<u32>,
}

/// Writes one feed's files from its newest `ids` (or removes them, when it has none left):
/// the `updated` time its documents carry (`None`: removed) and what became of its files.
fn publish_feed(
    output: &Path,
    site: &Site,
    items: &HashMap<&str, Item>,
    feed_to_write: &FeedToWrite,
) -> std::io::Result<Published> {
    let FeedToWrite {
        topic,
        facts,
        ids,
        newest,
    } = feed_to_write;
    let topic = *topic;
    let Some(facts) = facts.as_ref().filter(|_| !ids.is_empty()) else {
        remove_feed(output, topic)?;
        return Ok((None, Fate::Removed));
    };
    let doc = FeedDoc {
        topic,
        title: feed::feed_title(site, topic, &facts.title),
        items: ids.iter().map(|id| &items[id.as_str()]).collect(),
        own: None,
    };
    let mut wrote = false;
    for format in Format::ALL {
        let path = output.join(topic.file(format));
        if site.formats.contains(&format) {
            let history = newest.map(|newest| History::Current { newest });
            let bytes = feed::render_in_history(site, &doc, format, history);
            wrote |= write_if_changed(&path, &bytes)?;
        } else {
            wrote |= remove_file(&path)?;
        }
    }
    let fate = if wrote {
        Fate::Written
    } else {
        Fate::Unchanged
    };
    Ok((Some(doc.updated(site).timestamp()), fate))
}

/// What `tidings check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub articles: usize,
    pub rejected: Vec<Rejection>,
}

/// `tidings check`: parse every article, report every problem, write nothing and leave
/// the index alone (so it works beside a running daemon).
pub fn check(config: &Config, progress: &ProgressBar) -> Result<CheckReport, BuildError> {
    let (files, problems) = store::scan(&config.store.path).map_err(BuildError::Store)?;
    let mut report = CheckReport::default();
    report
        .rejected
        .extend(problems.into_iter().map(|p| Rejection {
            path: PathBuf::new(),
            stamp: None,
            reason: p,
        }));
    progress.set_length(files.len() as u64);
    // Only the id of each article is kept: holding 100,000 whole articles took 500 MB.
    let parsed: Vec<(&StoreFile, Result<String, String>)> = files
        .par_iter()
        .map(|f| {
            let r = load(f, config.store.max_bytes).map(|a| a.id);
            progress.inc(1);
            (f, r)
        })
        .collect();
    progress.finish_and_clear();
    let mut seen: HashMap<String, &StoreFile> = HashMap::new();
    for (file, result) in parsed {
        match result {
            Ok(id) => match seen.get(&id) {
                Some(first) => report.rejected.push(Rejection {
                    path: file.abs.clone(),
                    stamp: Some(file.stamp),
                    reason: format!("id {id:?} is already used by {}", first.abs.display()),
                }),
                None => {
                    seen.insert(id, file);
                    report.articles += 1;
                }
            },
            Err(reason) => report.rejected.push(Rejection {
                path: file.abs.clone(),
                stamp: Some(file.stamp),
                reason,
            }),
        }
    }
    Ok(report)
}
