//! The article store on disk: finding article files, reading them within the size limit.
//! Never writes to the store.

pub mod watch;

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::article::Layout;
use crate::index::FileStamp;

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

/// The layout of a store path, or `None` for files that are not articles: other
/// extensions, hidden files, and editors' temporary and backup files.
pub fn layout_of(path: &Path) -> Option<Layout> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') || name.starts_with('#') || name.ends_with('~') {
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
/// tree that could not be read.
pub fn scan(root: &Path) -> std::io::Result<(Vec<StoreFile>, Vec<String>)> {
    std::fs::metadata(root).map_err(|e| {
        std::io::Error::new(e.kind(), format!("store.path {}: {e}", root.display()))
    })?;
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                problems.push(format!("{path}: {e}"));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(layout) = layout_of(entry.path()) else {
            continue;
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else {
            problems.push(format!(
                "{}: file name is not UTF-8",
                entry.path().display()
            ));
            continue;
        };
        found.push((
            rel.replace(std::path::MAIN_SEPARATOR, "/"),
            entry.into_path(),
            layout,
        ));
    }
    // One stat per file: the reading of directories is sequential, the stats need not be.
    use rayon::prelude::*;
    let stamped: Vec<Result<StoreFile, String>> = found
        .into_par_iter()
        .map(|(rel, abs, layout)| match std::fs::metadata(&abs) {
            Ok(meta) => Ok(StoreFile {
                rel,
                stamp: stamp_of(&meta),
                abs,
                layout,
            }),
            Err(e) => Err(format!("{}: {e}", abs.display())),
        })
        .collect();
    let mut files = Vec::with_capacity(stamped.len());
    for s in stamped {
        match s {
            Ok(f) => files.push(f),
            Err(p) => problems.push(p),
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, problems))
}

/// Reads a file, refusing one over `max` bytes without reading it.
pub fn read(file: &StoreFile, max: u64) -> Result<Vec<u8>, ReadError> {
    if file.stamp.size > max {
        return Err(ReadError::TooLarge {
            size: file.stamp.size,
            max,
        });
    }
    let bytes = std::fs::read(&file.abs)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            max,
        });
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
}
