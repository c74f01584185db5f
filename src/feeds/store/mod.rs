//! The article store on disk: finding article files, reading them within the size limit.
//! Never writes to the store.

pub mod watch;

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::model::article::FileStamp;
use crate::model::article::Layout;

/// An article file found in the store.
#[derive(Debug, Clone)]
pub struct StoreFile {
    /// Store-relative, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    pub stamp: FileStamp,
    pub layout: Layout,
}

impl StoreFile {
    /// The file stem: the article id of a page export.
    pub fn stem(&self) -> &str {
        let name = self.rel.rsplit('/').next().unwrap_or(&self.rel);
        name.rsplit_once('.').map_or(name, |(stem, _)| stem)
    }

    /// Modification time in unix seconds.
    pub fn mtime(&self) -> i64 {
        (self.stamp.mtime_ns.div_euclid(1_000_000_000)) as i64
    }
}

/// Why a file could not be read as an article.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{size} bytes is larger than store.max_bytes ({max})")]
    TooLarge { size: u64, max: u64 },
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

// What the store holds is decided here, once: the scan, the watcher and the indexer's
// updates all ask these functions (DESIGN §1).

/// A hidden file or folder (a leading dot): not part of the store, nor is anything in it.
pub fn is_hidden(name: &[u8]) -> bool {
    name.starts_with(b".")
}

/// A name that is never an article, whatever its extension: hidden files, and editors'
/// temporary (`#…`) and backup (`…~`) files.
pub fn is_ignored_name(name: &str) -> bool {
    is_hidden(name.as_bytes()) || name.starts_with('#') || name.ends_with('~')
}

/// The store-relative, `/`-separated path of `path`, or `None` when it is not part of the
/// store: outside `root`, not UTF-8, or inside a hidden folder (which [`scan`] skips).
pub fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?.to_str()?;
    let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
    if rel.split('/').any(|part| is_hidden(part.as_bytes())) {
        return None;
    }
    Some(rel)
}

/// The layout of a store path, or `None` for files that are not articles: other
/// extensions, hidden files, and editors' temporary and backup files.
pub fn layout_of(path: &Path) -> Option<Layout> {
    layout_of_name(path.file_name()?.to_str()?)
}

fn layout_of_name(name: &str) -> Option<Layout> {
    if is_ignored_name(name) {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    if ext.eq_ignore_ascii_case("txt") {
        Some(Layout::Text)
    } else if ext.eq_ignore_ascii_case("json") {
        Some(Layout::Json)
    } else {
        None
    }
}

pub fn stamp_of(meta: &std::fs::Metadata) -> FileStamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        })
        .unwrap_or(0);
    FileStamp {
        mtime_ns,
        size: meta.len(),
    }
}

/// Every article file below `root`, sorted by path, and one line for each part of the
/// tree that could not be read. Hidden entries are skipped; symbolic links are followed
/// (a link back to a folder above it is reported, not followed).
pub fn scan(root: &Path) -> std::io::Result<(Vec<StoreFile>, Vec<String>)> {
    let meta = std::fs::metadata(root).map_err(|e| {
        std::io::Error::new(e.kind(), format!("store.path {}: {e}", root.display()))
    })?;
    let Found {
        mut files,
        problems,
    } = walk(root, "", &[identity(&meta)]);
    files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, problems))
}

#[derive(Default)]
struct Found {
    files: Vec<StoreFile>,
    problems: Vec<String>,
}

impl Found {
    fn merge(mut self, other: Found) -> Found {
        self.files.extend(other.files);
        self.problems.extend(other.problems);
        self
    }
}

/// Device and inode: what tells a folder reached again through a link.
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// One folder: its files stamped and its subfolders walked, in parallel. Each file is
/// stat'ed relative to its folder's open descriptor (`DirEntry::metadata`), not by its
/// full path: on a 100,000-file store the path lookups were most of a scan's time.
fn walk(dir: &Path, rel: &str, ancestors: &[(u64, u64)]) -> Found {
    use rayon::prelude::*;
    let mut found = Found::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.problems.push(format!("{}: {e}", dir.display()));
            return found;
        }
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                found.problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let os_name = entry.file_name();
        if is_hidden(os_name.as_encoded_bytes()) {
            continue;
        }
        let ty = match entry.file_type() {
            Ok(ty) => ty,
            Err(e) => {
                found
                    .problems
                    .push(format!("{}: {e}", entry.path().display()));
                continue;
            }
        };
        let Some(name) = os_name.to_str() else {
            let lower = os_name.as_encoded_bytes().to_ascii_lowercase();
            if ty.is_dir() || lower.ends_with(b".txt") || lower.ends_with(b".json") {
                found.problems.push(format!(
                    "{}: file name is not UTF-8",
                    entry.path().display()
                ));
            }
            continue;
        };
        let child = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        if ty.is_symlink() {
            match std::fs::metadata(entry.path()) {
                Ok(meta) if meta.is_dir() => dirs.push((entry.path(), child, Some(meta))),
                Ok(meta) if meta.is_file() => {
                    if let Some(layout) = layout_of_name(name) {
                        files.push((entry, child, layout, Some(meta)));
                    }
                }
                Ok(_) => {}
                Err(e) => found
                    .problems
                    .push(format!("{}: {e}", entry.path().display())),
            }
        } else if ty.is_dir() {
            dirs.push((entry.path(), child, None));
        } else if ty.is_file() {
            if let Some(layout) = layout_of_name(name) {
                files.push((entry, child, layout, None));
            }
        }
    }
    let stamped: Vec<Result<StoreFile, String>> = files
        .into_par_iter()
        .map(|(entry, rel, layout, followed)| {
            let meta = match followed {
                Some(meta) => meta,
                None => entry
                    .metadata()
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?,
            };
            Ok(StoreFile {
                rel,
                abs: entry.path(),
                stamp: stamp_of(&meta),
                layout,
            })
        })
        .collect();
    for s in stamped {
        match s {
            Ok(f) => found.files.push(f),
            Err(p) => found.problems.push(p),
        }
    }
    let below = dirs
        .into_par_iter()
        .map(|(path, rel, followed)| {
            let meta = match followed.map_or_else(|| std::fs::symlink_metadata(&path), Ok) {
                Ok(meta) => meta,
                Err(e) => {
                    return Found {
                        problems: vec![format!("{}: {e}", path.display())],
                        ..Found::default()
                    }
                }
            };
            let id = identity(&meta);
            if ancestors.contains(&id) {
                return Found {
                    problems: vec![format!(
                        "{}: links back to a folder above it; not followed",
                        path.display()
                    )],
                    ..Found::default()
                };
            }
            let mut chain = ancestors.to_vec();
            chain.push(id);
            walk(&path, &rel, &chain)
        })
        .reduce(Found::default, Found::merge);
    found.merge(below)
}

/// Reads a file, refusing one over `max` bytes without reading it. The size the scan saw
/// sizes the buffer (no second `stat`); a file that grew since is still cut at `max + 1`
/// bytes and refused.
pub fn read(file: &StoreFile, max: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    if file.stamp.size > max {
        return Err(ReadError::TooLarge {
            size: file.stamp.size,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(file.stamp.size as usize + 1);
    std::fs::File::open(&file.abs)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        // Grown past the limit since the scan: name its size now.
        let size = std::fs::metadata(&file.abs).map_or(bytes.len() as u64, |m| m.len());
        return Err(ReadError::TooLarge { size, max });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_article_files_count() {
        assert_eq!(layout_of(Path::new("a/000_x.txt")), Some(Layout::Text));
        assert_eq!(layout_of(Path::new("a/x.JSON")), Some(Layout::Json));
        for skipped in [
            "a/.000_x.txt.swp",
            "a/000_x.txt~",
            "a/#x.txt#",
            "a/.hidden.txt",
            "a/x.md",
            "a/txt",
        ] {
            assert_eq!(layout_of(Path::new(skipped)), None, "{skipped}");
        }
    }

    #[test]
    fn scan_follows_links_skips_hidden_and_reports_loops() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let outside = dir.path().join("outside");
        for d in ["a/b", ".hidden"] {
            std::fs::create_dir_all(store.join(d)).unwrap();
        }
        std::fs::create_dir_all(&outside).unwrap();
        for f in [
            "a/1.txt",
            "a/b/2.json",
            "a/notes.md",
            ".hidden/3.txt",
            "a/.4.txt",
        ] {
            std::fs::write(store.join(f), "x").unwrap();
        }
        std::fs::write(outside.join("5.txt"), "xyz").unwrap();
        std::os::unix::fs::symlink(&outside, store.join("linked")).unwrap();
        std::os::unix::fs::symlink(&store, store.join("a/b/up")).unwrap();
        let (files, problems) = scan(&store).unwrap();
        let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["a/1.txt", "a/b/2.json", "linked/5.txt"]);
        assert_eq!(files[2].stamp.size, 3);
        assert_eq!(files[0].abs, store.join("a/1.txt"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("a/b/up: links back to a folder above it"));
    }
}
