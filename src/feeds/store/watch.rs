//! Watching the store: inotify events (through `notify`) debounced into batches of paths
//! to bring up to date. A path is handed on once it has been quiet for a moment and is
//! not open for writing (a file still being copied in waits for its close, so it is never
//! read half-written); a burst of events is coalesced into one batch, so 1,000 files
//! copied in at once are published in a few rounds, not 1,000.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::{is_ignored_name, layout_of};
use crate::model::escape::{escaped, escaped_path};

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// These paths (files or folders) may have been added, changed or removed.
    Changed(Vec<PathBuf>),
    /// Events were lost (the kernel queue overflowed): scan the whole store.
    Rescan,
}

/// Debounce settings.
#[derive(Debug, Clone, Copy)]
pub struct Debounce {
    /// A path is ready once no event touched it for this long.
    pub quiet: Duration,
    /// A batch is sent at the latest this long after its first event, even while
    /// events keep coming (a long copy still shows progress).
    pub max_delay: Duration,
    /// A file left open for writing longer than this is read anyway.
    pub max_write: Duration,
}

impl Default for Debounce {
    fn default() -> Self {
        Debounce {
            quiet: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_write: Duration::from_secs(10),
        }
    }
}

/// Keeps the watch alive; dropping it stops watching.
pub struct StoreWatcher {
    _watcher: Arc<Mutex<RecommendedWatcher>>,
}

/// Watches `root` and every folder below it, and sends debounced batches to `out` until
/// dropped. `out` takes anything a [`StoreEvent`] converts into, so a consumer receives
/// its own messages on its own channel.
///
/// Every folder gets its own watch, registered here by the store's own walk (no
/// recursion, hidden folders skipped, links followed as the scan follows them) and, for
/// folders that appear later, by the debouncer before it hands them on. A folder that
/// cannot be watched (gone meanwhile, too deep to name) is one warning, not the end of the
/// watch: notify's recursive mode gave up on the whole store at the first such folder.
/// Events start queueing as soon as this returns, so a caller that scans the store after
/// it misses nothing that changes during the scan (DESIGN §7).
pub fn watch<M: From<StoreEvent> + Send + 'static>(
    root: &Path,
    debounce: Debounce,
    out: Sender<M>,
) -> notify::Result<StoreWatcher> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })?;
    watcher.watch(root, RecursiveMode::NonRecursive)?;
    let watcher = Arc::new(Mutex::new(watcher));
    let mut folders = Folders {
        watcher: watcher.clone(),
        root: root.to_owned(),
        watched: BTreeSet::new(),
        unwatchable: BTreeSet::new(),
    };
    folders.add_tree(root);
    std::thread::Builder::new()
        .name("store-watch".into())
        .spawn(move || debounce_loop(rx, debounce, out, &mut folders))
        .map_err(notify::Error::io)?;
    Ok(StoreWatcher { _watcher: watcher })
}

/// The folders being watched, each with a watch of its own.
struct Folders {
    watcher: Arc<Mutex<RecommendedWatcher>>,
    root: PathBuf,
    watched: BTreeSet<PathBuf>,
    /// Folders whose watch failed (reported once, not tried again by every listing).
    unwatchable: BTreeSet<PathBuf>,
}

impl Folders {
    /// Watches `dir` (unless it is the root, always watched) and every folder below it.
    ///
    /// A folder made in one that was listed but not yet watched would be missed by both
    /// the listing and the events, so the tree is listed again until a listing finds no
    /// folder that is not watched: from the last listing on, every folder's watch was
    /// there before it was listed.
    fn add_tree(&mut self, dir: &Path) {
        let mut reported = false;
        loop {
            let (below, problems) = match super::folders(dir) {
                Ok(found) => found,
                // Gone again already: its removal is an event of its own.
                Err(_) => return,
            };
            if !reported {
                for problem in problems {
                    tracing::warn!("store watch: {}; not watched", escaped(&problem));
                }
                reported = true;
            }
            let own = (dir != self.root).then(|| dir.to_owned());
            let new: Vec<PathBuf> = own
                .into_iter()
                .chain(below)
                .filter(|f| !self.watched.contains(f) && !self.unwatchable.contains(f))
                .collect();
            if new.is_empty() {
                return;
            }
            let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
            for folder in new {
                match watcher.watch(&folder, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watched.insert(folder);
                    }
                    Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => {}
                    Err(e) => {
                        tracing::warn!(
                            "store watch: {}: {}; changes in it are seen at the next rescan",
                            escaped_path(&folder),
                            escaped(&e.to_string())
                        );
                        if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                            // Every further folder would fail alike
                            // (fs.inotify.max_user_watches).
                            return;
                        }
                        self.unwatchable.insert(folder);
                    }
                }
            }
        }
    }

    /// Stops watching `dir` and every folder below it (moved out or removed).
    fn remove_tree(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .watched
            .range(dir.to_owned()..)
            .take_while(|p| p.starts_with(dir))
            .cloned()
            .collect();
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        for folder in below {
            // The kernel drops the watch of a removed folder by itself.
            let _ = watcher.unwatch(&folder);
            self.watched.remove(&folder);
        }
        let gone: Vec<PathBuf> = (self.unwatchable.range(dir.to_owned()..))
            .take_while(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for folder in gone {
            self.unwatchable.remove(&folder);
        }
    }

    /// Keeps the watches in step with an event: folders that appear are watched before
    /// their path is handed on (so that what is written in them after the scan that
    /// follows is seen), folders that go are let go of.
    fn follow(&mut self, event: &Event) {
        match event.kind {
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                for path in &event.paths {
                    if path.is_dir() && super::relative_path(&self.root, path).is_some() {
                        self.add_tree(path);
                    }
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                for path in &event.paths {
                    self.remove_tree(path);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice() {
                    self.remove_tree(from);
                    if to.is_dir() && super::relative_path(&self.root, to).is_some() {
                        self.add_tree(to);
                    }
                }
            }
            _ => {}
        }
    }
}

/// What is known about one path waiting to be handed on.
#[derive(Debug, Clone, Copy)]
struct Pending {
    last: Instant,
    /// Opened for writing and not closed yet.
    writing_since: Option<Instant>,
}

fn debounce_loop<M: From<StoreEvent>>(
    rx: Receiver<notify::Result<Event>>,
    debounce: Debounce,
    out: Sender<M>,
    folders: &mut Folders,
) {
    let mut pending: HashMap<PathBuf, Pending> = HashMap::new();
    let mut batch_started: Option<Instant> = None;
    let mut last_event = Instant::now();
    loop {
        let wait = if pending.is_empty() {
            Duration::from_secs(3600)
        } else {
            debounce.quiet / 2
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(event)) => {
                let now = Instant::now();
                if event.need_rescan() {
                    if out.send(StoreEvent::Rescan.into()).is_err() {
                        return;
                    }
                    continue;
                }
                folders.follow(&event);
                if record(&mut pending, &event, now) {
                    last_event = now;
                    batch_started.get_or_insert(now);
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(
                    "store watch: {}; rescanning the store",
                    escaped(&e.to_string())
                );
                if out.send(StoreEvent::Rescan.into()).is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        let Some(started) = batch_started else {
            continue;
        };
        let all_quiet = now.duration_since(last_event) >= debounce.quiet;
        let overdue = now.duration_since(started) >= debounce.max_delay;
        if !(all_quiet || overdue) {
            continue;
        }
        let ready: Vec<PathBuf> = pending
            .iter()
            .filter(|(_, p)| {
                now.duration_since(p.last) >= debounce.quiet
                    && p.writing_since.map_or(true, |since| {
                        now.duration_since(since) >= debounce.max_write
                    })
            })
            .map(|(path, _)| path.clone())
            .collect();
        if ready.is_empty() {
            continue;
        }
        for path in &ready {
            pending.remove(path);
        }
        batch_started = (!pending.is_empty()).then_some(now);
        let mut ready = ready;
        ready.sort();
        if out.send(StoreEvent::Changed(ready).into()).is_err() {
            return;
        }
    }
}

/// Whether a path can matter to the store: an article file, or a folder (which may hold
/// articles). Editors' swap and backup files, hidden files and other extensions are not.
fn relevant(path: &Path, kind: &EventKind) -> bool {
    // Opening and reading a file changes nothing: tidings' own reads of a file it is
    // about to parse (or try again) would otherwise come back as a change of it, and a
    // file that fails to parse would be tried again forever.
    if matches!(kind, EventKind::Access(access) if *access != AccessKind::Close(AccessMode::Write))
    {
        return false;
    }
    if layout_of(path).is_some() {
        return true;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if is_ignored_name(name) {
        return false;
    }
    // A folder matters when it appears (created, moved in) or disappears (removed,
    // moved out) — not when its own metadata changes, which happens on every entry
    // written in it (treating that as "rescan the folder" would rescan the whole store
    // for each article).
    match kind {
        EventKind::Create(CreateKind::Folder) => true,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => {
            path.is_dir() || (!path.exists() && path.extension().is_none())
        }
        _ => false,
    }
}

/// Notes an event's paths; returns whether any was relevant.
fn record(pending: &mut HashMap<PathBuf, Pending>, event: &Event, now: Instant) -> bool {
    let mut any = false;
    for path in &event.paths {
        if !relevant(path, &event.kind) {
            continue;
        }
        any = true;
        let entry = pending.entry(path.clone()).or_insert(Pending {
            last: now,
            writing_since: None,
        });
        entry.last = now;
        match event.kind {
            // Content is being written: wait for the close.
            EventKind::Create(CreateKind::File) | EventKind::Modify(ModifyKind::Data(_)) => {
                entry.writing_since.get_or_insert(now);
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => entry.writing_since = None,
            // Renamed in or out, removed: complete as it is.
            EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_) => {
                entry.writing_since = None
            }
            _ => {}
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn next_batch(rx: &Receiver<StoreEvent>) -> Vec<PathBuf> {
        match rx.recv_timeout(Duration::from_secs(5)).expect("a batch") {
            StoreEvent::Changed(p) => p,
            StoreEvent::Rescan => panic!("unexpected rescan"),
        }
    }

    #[test]
    fn a_file_open_for_writing_waits_for_its_close() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), Debounce::default(), tx).unwrap();
        let path = dir.path().join("a.txt");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"first half").unwrap();
        f.flush().unwrap();
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "nothing is reported while the file is open for writing"
        );
        f.write_all(b" second half").unwrap();
        drop(f);
        assert_eq!(next_batch(&rx), vec![path]);
    }

    #[test]
    fn a_burst_is_coalesced_and_temporary_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), Debounce::default(), tx).unwrap();
        for i in 0..200 {
            std::fs::write(dir.path().join(format!("{i}.txt")), "x").unwrap();
            std::fs::write(dir.path().join(format!(".{i}.txt.swp")), "x").unwrap();
        }
        let mut seen = 0;
        let mut batches = 0;
        while seen < 200 {
            let batch = next_batch(&rx);
            assert!(batch.iter().all(|p| layout_of(p).is_some()));
            seen += batch.len();
            batches += 1;
        }
        assert_eq!(seen, 200);
        assert!(batches <= 5, "{batches} batches for one burst");
    }

    #[test]
    fn renames_in_and_out_and_new_folders_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let _w = watch(&store, Debounce::default(), tx).unwrap();

        let src = outside.path().join("in.txt");
        std::fs::write(&src, "x").unwrap();
        std::fs::rename(&src, store.join("in.txt")).unwrap();
        assert_eq!(next_batch(&rx), vec![store.join("in.txt")]);

        std::fs::rename(store.join("in.txt"), outside.path().join("out.txt")).unwrap();
        assert_eq!(next_batch(&rx), vec![store.join("in.txt")]);

        std::fs::create_dir(store.join("sub")).unwrap();
        let batch = next_batch(&rx);
        assert!(batch.contains(&store.join("sub")), "{batch:?}");
    }

    #[test]
    fn a_chain_of_folders_thousands_deep_is_watched_and_the_watch_goes_on_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let near = dir.path().join("near");
        std::fs::create_dir(&near).unwrap();
        let levels = (4000 - near.as_os_str().len()) / 2;
        super::super::tests::deep_chain(&near, levels);
        let far = dir.path().join("far");
        std::fs::create_dir(&far).unwrap();
        super::super::tests::deep_chain(&far, 3000);
        let (tx, rx) = std::sync::mpsc::channel();
        // Small stacks: what a recursive registration would overflow.
        let w = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn({
                let root = dir.path().to_owned();
                move || watch(&root, Debounce::default(), tx).map_err(|e| e.to_string())
            })
            .unwrap()
            .join()
            .unwrap()
            .expect("the watch starts whatever the depth");
        let bottom: PathBuf = std::iter::once(near)
            .chain(std::iter::repeat(PathBuf::from("d")).take(levels))
            .collect();
        std::fs::write(bottom.join("bottom.txt"), "x").unwrap();
        assert_eq!(next_batch(&rx), vec![bottom.join("bottom.txt")]);
        std::fs::write(dir.path().join("top.txt"), "x").unwrap();
        assert_eq!(next_batch(&rx), vec![dir.path().join("top.txt")]);
        drop(w);
    }

    #[test]
    fn reading_a_file_is_no_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "x").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), Debounce::default(), tx).unwrap();
        for _ in 0..3 {
            let _ = std::fs::read(&path).unwrap();
        }
        // A change after the reads is the first thing reported.
        std::fs::write(dir.path().join("b.txt"), "y").unwrap();
        assert_eq!(next_batch(&rx), vec![dir.path().join("b.txt")]);
    }

    #[test]
    fn folders_made_or_moved_in_later_are_watched_too() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(dir.path(), Debounce::default(), tx).unwrap();
        std::fs::create_dir_all(dir.path().join("new/inner")).unwrap();
        let batch = next_batch(&rx);
        assert!(batch.contains(&dir.path().join("new")), "{batch:?}");
        // Whatever arrives in the next batches, a file written now in the new folder's
        // own folder is reported.
        std::fs::write(dir.path().join("new/inner/a.txt"), "x").unwrap();
        let wanted = dir.path().join("new/inner/a.txt");
        while !next_batch(&rx).contains(&wanted) {}

        std::fs::create_dir_all(outside.path().join("moved/deep")).unwrap();
        std::fs::rename(outside.path().join("moved"), dir.path().join("moved")).unwrap();
        while !next_batch(&rx).contains(&dir.path().join("moved")) {}
        std::fs::write(dir.path().join("moved/deep/b.txt"), "x").unwrap();
        let wanted = dir.path().join("moved/deep/b.txt");
        while !next_batch(&rx).contains(&wanted) {}
    }
}
