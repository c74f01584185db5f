//! Archive pages (RFC 5005 §4, DESIGN §2 "Archives"): rendered on request for the daemon,
//! and written as files by `tidings build --all-feeds` (and kept current wherever such
//! files exist, as feed files are).
//!
//! What changes when: an arrival joins the open (newest) page only, so only that page's
//! bytes change — a back-dated article too, since pages go by arrival, not by date. A
//! page becomes complete with the arrival that fills it to `feeds.items` and is final
//! from then on, except that an edit re-renders the article where it is (its page's
//! bytes change) and a removal shrinks its own page; no other page moves.

use super::*;
use crate::feeds::feed::History;
use crate::feeds::index::ArchivePage;
use crate::model::topic::{parse_archive_name, ARCHIVE_DIR};

/// Archive pages rendered at once while writing files (bounds the records in memory).
const PAGE_CHUNK: usize = 64;

/// Renders one archive page from the index as it is now: the bytes `--all-feeds` would
/// write for it, with the page (its number, the newest, its version) and the newest
/// `updated` among its items. `None`: no such feed, page or format.
pub fn render_archive_on_request(
    index: &Index,
    site: &Site,
    topic: &Topic,
    page: u32,
    format: Format,
) -> Result<Option<(Vec<u8>, ArchivePage, i64)>, IndexError> {
    if !site.formats.contains(&format) {
        return Ok(None);
    }
    loop {
        let Some(found) = index.archive_page(topic, page) else {
            return Ok(None);
        };
        let Some(items) = items_of(index, site, &found.ids)? else {
            continue; // an article went meanwhile; the page is read again
        };
        // Read while the publisher changed the feed: read again, so that the bytes are
        // exactly some version's.
        if index.archive_page(topic, page).map(|p| p.version) != Some(found.version) {
            continue;
        }
        let (bytes, updated) = render_page(site, topic, &found, &items, format);
        return Ok(Some((bytes, found, updated)));
    }
}

/// The items of `ids`, in order; `None` if one of them is no longer in the index.
fn items_of(index: &Index, site: &Site, ids: &[String]) -> Result<Option<Vec<Item>>, IndexError> {
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        match index.record(id)? {
            Some(rec) => items.push(Item::from_record(site, &rec)),
            None => return Ok(None),
        }
    }
    Ok(Some(items))
}

/// One archive page's document and the newest `updated` among its items.
fn render_page(
    site: &Site,
    topic: &Topic,
    page: &ArchivePage,
    items: &[Item],
    format: Format,
) -> (Vec<u8>, i64) {
    let doc = FeedDoc {
        topic,
        title: feed::feed_title(site, topic, &page.title),
        items: items.iter().collect(),
        own: None,
    };
    let history = History::Archive {
        page: page.page,
        newest: page.newest,
    };
    let bytes = feed::render_in_history(site, &doc, format, Some(history));
    (bytes, doc.updated(site).timestamp())
}

/// Whether a feed's archive pages are written as files: with `--all-feeds`, or when an
/// earlier `--all-feeds` wrote them (files that exist are kept current, so that a plain
/// web server never serves a stale one).
pub(super) fn writes_archives(output: &Path, topic: &Topic, mode: PublishMode) -> bool {
    mode.all_feeds
        || Format::ALL
            .iter()
            .any(|&f| output.join(topic.archive_file(1, f)).is_file())
}

/// Writes the archive pages of one published feed that may have changed: all of them
/// when asked or when they were never written, else the open page and the complete pages
/// `touched` names (completed since the feed was last published, or with an article
/// edited or removed). Returns whether a file changed.
pub(super) fn write_archives(
    index: &Index,
    site: &Site,
    output: &Path,
    topic: &Topic,
    touched: &[u32],
    every_page: bool,
) -> std::io::Result<bool> {
    let first = site.formats.first().copied().unwrap_or(Format::Rss);
    let written = output.join(topic.archive_file(1, first)).is_file();
    let open = index.archive_newest(topic).unwrap_or(1);
    let wanted = |page: u32| every_page || !written || page >= open || touched.contains(&page);
    let pages = index.archive_pages(topic, wanted);
    let mut wrote = false;
    for chunk in pages.chunks(PAGE_CHUNK) {
        let results: Vec<std::io::Result<bool>> = chunk
            .par_iter()
            .map(|page| {
                let items = items_of(index, site, &page.ids)
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other("an archived article has no record"))?;
                let mut wrote = false;
                for format in Format::ALL {
                    let path = output.join(topic.archive_file(page.page, format));
                    if site.formats.contains(&format) {
                        let (bytes, _) = render_page(site, topic, page, &items, format);
                        wrote |= write_if_changed(&path, &bytes)?;
                    } else {
                        wrote |= remove_file(&path)?;
                    }
                }
                Ok(wrote)
            })
            .collect();
        for result in results {
            wrote |= result?;
        }
    }
    Ok(wrote)
}

/// Removes a feed's archive files (only they: a child section named `archive` keeps its
/// folder) and the folders left empty.
pub(super) fn remove_archives(output: &Path, topic: &Topic) -> std::io::Result<()> {
    let dir = output.join(topic.dir()).join(ARCHIVE_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let is_page = entry
            .file_name()
            .to_str()
            .and_then(parse_archive_name)
            .is_some();
        if is_page && entry.file_type()?.is_file() {
            remove_file(&entry.path())?;
        }
    }
    prune_empty_dirs(&dir, output);
    Ok(())
}
