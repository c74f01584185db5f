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
///
/// The tree is walked level by level with a list of folders still to read, never by
/// recursion: a chain of folders thousands deep costs memory in step with its length, not
/// the thread's stack (a folder too deep to name, past PATH_MAX, is one reported line).
pub fn scan(root: &Path) -> std::io::Result<(Vec<StoreFile>, Vec<String>)> {
    let mut found = walk(root, true)?;
    found.files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok((found.files, found.problems))
}

/// Every folder of the store below `root` (not `root` itself), as [`scan`] reads them —
/// hidden ones skipped, links followed, loops reported — with a line for each part that
/// could not be read: what the watcher watches.
pub fn folders(root: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<String>)> {
    let found = walk(root, false)?;
    Ok((found.folders, found.problems))
}

/// The walk of [`scan`] and [`folders`]: level by level, with the article files stamped
/// when `files` is set.
fn walk(root: &Path, files: bool) -> std::io::Result<Found> {
    use rayon::prelude::*;
    let meta = std::fs::metadata(root).map_err(|e| {
        std::io::Error::new(e.kind(), format!("store.path {}: {e}", root.display()))
    })?;
    let mut found = Found::default();
    let mut level = vec![Folder {
        path: root.to_owned(),
        rel: String::new(),
        ancestors: vec![identity(&meta)],
    }];
    while !level.is_empty() {
        // The folders of one level are read in parallel.
        let read: Vec<(Found, Vec<Folder>)> = level
            .into_par_iter()
            .map(|folder| read_folder(folder, files))
            .collect();
        level = Vec::new();
        for (part, below) in read {
            found.files.extend(part.files);
            found.problems.extend(part.problems);
            found.folders.extend(below.iter().map(|f| f.path.clone()));
            level.extend(below);
        }
    }
    Ok(found)
}

#[derive(Default)]
struct Found {
    files: Vec<StoreFile>,
    folders: Vec<PathBuf>,
    problems: Vec<String>,
}

/// A folder still to read, with the identities of the folders above it (to tell a link
/// back to one of them).
struct Folder {
    path: PathBuf,
    rel: String,
    ancestors: Vec<(u64, u64)>,
}

/// Device and inode: what tells a folder reached again through a link.
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// One folder: its article files stamped (when `stamp_files`), and its subfolders to read
/// next. Each file is
/// stat'ed relative to its folder's open descriptor (`DirEntry::metadata`), not by its
/// full path: on a 100,000-file store the path lookups were most of a scan's time.
fn read_folder(folder: Folder, stamp_files: bool) -> (Found, Vec<Folder>) {
    use rayon::prelude::*;
    let Folder {
        path: dir,
        rel,
        ancestors,
    } = folder;
    let mut found = Found::default();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.problems.push(format!("{}: {e}", dir.display()));
            return (found, Vec::new());
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
                Ok(meta) if meta.is_file() && stamp_files => {
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
        } else if ty.is_file() && stamp_files {
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
    let mut below = Vec::with_capacity(dirs.len());
    for (path, rel, followed) in dirs {
        let meta = match followed.map_or_else(|| std::fs::symlink_metadata(&path), Ok) {
            Ok(meta) => meta,
            Err(e) => {
                found.problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let id = identity(&meta);
        if ancestors.contains(&id) {
            found.problems.push(format!(
                "{}: links back to a folder above it; not followed",
                path.display()
            ));
            continue;
        }
        let mut chain = ancestors.clone();
        chain.push(id);
        below.push(Folder {
            path,
            rel,
            ancestors: chain,
        });
    }
    (found, below)
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

    /// Makes a chain of `depth` folders named `d` below `root`, by relative steps, so that
    /// no path handed to the kernel is longer than PATH_MAX.
    pub(crate) fn deep_chain(root: &Path, depth: usize) {
        let mut dir = std::fs::File::open(root).unwrap();
        for _ in 0..depth {
            use std::os::unix::io::AsRawFd;
            let name = c"d";
            // SAFETY: mkdirat/openat on a descriptor we own and a NUL-terminated name.
            unsafe {
                assert_eq!(libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o755), 0);
                let fd = libc::openat(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                );
                assert!(fd >= 0, "{}", std::io::Error::last_os_error());
                dir = std::os::unix::io::FromRawFd::from_raw_fd(fd);
            }
        }
    }

    #[test]
    fn a_chain_of_folders_thousands_deep_is_walked_without_recursion() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("top.txt"), "x").unwrap();
        // Near the limit of a path (4096 bytes): every level is read.
        let near = dir.path().join("near");
        std::fs::create_dir(&near).unwrap();
        let levels = (4000 - near.as_os_str().len()) / 2;
        deep_chain(&near, levels);
        let bottom: PathBuf = std::iter::once(near.clone())
            .chain(std::iter::repeat(PathBuf::from("d")).take(levels))
            .collect();
        std::fs::write(bottom.join("bottom.txt"), "x").unwrap();
        // Past it: 3,000 levels, reported in a line and the rest goes on.
        let far = dir.path().join("far");
        std::fs::create_dir(&far).unwrap();
        deep_chain(&far, 3000);
        // Small stacks: what a recursive walk overflowed.
        let (files, problems) = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn({
                let root = dir.path().to_owned();
                move || scan(&root).unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels.len(), 2, "{problems:?}");
        assert!(rels[0].ends_with("/d/bottom.txt"));
        assert_eq!(rels[1], "top.txt");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("File name too long"), "{problems:?}");
    }
}
