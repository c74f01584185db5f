//! The publisher thread: the one writer of the index. Store events, reloads and control
//! requests arrive as [`Command`]s; each round indexes what changed and publishes the
//! affected feeds (DESIGN §7: watcher event → index → render → publish). Its loop is what
//! proves liveness, so it is the one that pings the watchdog.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use sd_notify::NotifyState;

use crate::config::{Config, Format};
use crate::daemon::first_start::{self, ChildBuild, ChildFailure};
use crate::daemon::metrics::Metrics;
use crate::daemon::retry::{Retries, Source};
use crate::daemon::systemd::{notify, watchdog_interval};
use crate::daemon::websub;
use crate::feeds::feed::Site;
use crate::feeds::index::Index;
use crate::feeds::publish::{BuildReport, Detached, Indexer};
use crate::feeds::search::Search;
use crate::feeds::store::watch::StoreEvent;

/// Requests to the publisher thread.
pub enum Command {
    /// Bring these store paths up to date.
    Paths(Vec<PathBuf>),
    /// Scan the whole store (start-up, lost events, `tidings build` via the control socket).
    Rescan(Option<tokio::sync::oneshot::Sender<Result<BuildReport, String>>>),
    /// A rescan that writes every feed's files (`tidings build --all-feeds`).
    WriteAllFeeds(tokio::sync::oneshot::Sender<Result<BuildReport, String>>),
    /// Adopt a new configuration and publish with it.
    Reload(Box<Config>, tokio::sync::oneshot::Sender<()>),
    Stop,
}

/// The watcher sends its events straight to the publisher: no thread in between.
impl From<StoreEvent> for Command {
    fn from(event: StoreEvent) -> Command {
        match event {
            StoreEvent::Changed(paths) => Command::Paths(paths),
            StoreEvent::Rescan => Command::Rescan(None),
        }
    }
}

/// How often the publisher loop wakes when idle: often enough for the watchdog (three
/// pings per interval), and whether to ping.
fn tick() -> (Duration, bool) {
    match watchdog_interval() {
        Some(interval) => ((interval / 3).min(Duration::from_secs(1)), true),
        None => (Duration::from_secs(1), false),
    }
}

/// The index's arrival numbers as they grow, each with the moment it was seen after the
/// commit: what `@instant` alerts batch by (DESIGN §4, `digests::schedule::instant`).
pub type ArrivalSender = tokio::sync::mpsc::UnboundedSender<(u64, chrono::DateTime<chrono::Utc>)>;

/// What the start-up sends the daemon: the reconciliation's report and the index, which
/// the publisher thread owned until then (it may have opened it again).
pub type Started = Result<(BuildReport, Arc<Index>), StartFailure>;

/// Why the publisher thread could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartFailure {
    /// The start-up reconciliation or the index failed.
    #[error("{0}")]
    Failed(String),
    /// The first indexing's child process was stopped by a signal: the daemon stops.
    #[error("{0}")]
    Stopped(String),
}

#[allow(clippy::too_many_arguments)]
pub fn publisher_loop(
    index: Index,
    config: Config,
    first_start: Option<ChildBuild>,
    inbox: Receiver<Command>,
    commands: Sender<Command>,
    metrics: &Metrics,
    hub: Option<websub::Publisher>,
    search: &Search,
    ready: tokio::sync::oneshot::Sender<Started>,
    arrivals: ArrivalSender,
) {
    let (report, index, detached) = match start_up(index, config, first_start.as_ref()) {
        Ok(started) => started,
        Err(failure) => {
            if let StartFailure::Failed(e) = &failure {
                tracing::error!("start-up: {e}");
            }
            let _ = ready.send(Err(failure));
            return;
        }
    };
    let index = Arc::new(index);
    let index_handle = index.clone();
    let index = &*index;
    let mut indexer = detached.attach(index);
    let mut retries = Retries::default();
    report_rejections(&mut retries, &report, &[], Source::Scan, metrics);
    record(metrics, &indexer, &report, hub.as_ref());
    let _ = ready.send(Ok((report, index_handle)));

    // What the start-up reconciliation brought in counts as arrived before the start.
    let mut arrived = index.last_seq().unwrap_or(0);
    let (tick, watchdog) = tick();
    loop {
        let command = inbox.recv_timeout(tick);
        if watchdog {
            notify(&[NotifyState::Watchdog]);
        }
        // Whether the round may have changed articles, which search then catches up on.
        let changed = !matches!(command, Err(RecvTimeoutError::Timeout));
        match command {
            Ok(Command::Paths(mut paths)) => {
                // Every batch already queued goes into the same round.
                let mut deferred = None;
                while let Ok(next) = inbox.try_recv() {
                    match next {
                        Command::Paths(more) => paths.extend(more),
                        other => {
                            deferred = Some(other);
                            break;
                        }
                    }
                }
                if let Some(other) = deferred {
                    // Back of the queue: handled on the next turn, after this round.
                    let _ = commands.send(other);
                }
                paths.sort();
                paths.dedup();
                for path in &paths {
                    retries.changed(path);
                }
                run_update(
                    &mut indexer,
                    &paths,
                    metrics,
                    hub.as_ref(),
                    &mut retries,
                    Source::Change,
                );
            }
            Ok(Command::WriteAllFeeds(reply)) => {
                indexer.all_feeds = true;
                let result = indexer.reconcile(&ProgressBar::hidden());
                indexer.all_feeds = false;
                match &result {
                    Ok(report) => record(metrics, &indexer, report, hub.as_ref()),
                    Err(e) => tracing::error!("rescan: {e}"),
                }
                let _ = reply.send(result.map_err(|e| e.to_string()));
            }
            Ok(Command::Rescan(reply)) => {
                let result = indexer.reconcile(&ProgressBar::hidden());
                match &result {
                    Ok(report) => {
                        tracing::info!("rescan: {report}");
                        report_rejections(&mut retries, report, &[], Source::Scan, metrics);
                        record(metrics, &indexer, report, hub.as_ref());
                    }
                    Err(e) => tracing::error!("rescan: {e}"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
            }
            Ok(Command::Reload(config, done)) => {
                // A new store is scanned; a new output folder is filled (a full pass
                // republishes feeds whose files are missing there).
                let moved = config.store.path != indexer.config().store.path
                    || config.feeds.output != indexer.config().feeds.output;
                indexer.set_config(*config);
                let result = if moved {
                    indexer.reconcile(&ProgressBar::hidden())
                } else {
                    indexer.update(&[])
                };
                match &result {
                    Ok(report) => {
                        report_rejections(&mut retries, report, &[], Source::Scan, metrics);
                        record(metrics, &indexer, report, hub.as_ref());
                    }
                    Err(e) => tracing::error!("publishing after reload: {e}"),
                }
                let _ = done.send(());
            }
            Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                // Idle: the listing as large as the vocabulary catches up.
                if let Err(e) = indexer.refresh_keyword_list(Instant::now()) {
                    tracing::error!("writing opml-keywords.xml: {e}");
                }
            }
        }
        // Files that failed to parse, perhaps caught mid-write, are tried again.
        let due = retries.take_due(Instant::now());
        let changed = changed || !due.is_empty();
        for (path, attempt) in due {
            run_update(
                &mut indexer,
                &[path],
                metrics,
                hub.as_ref(),
                &mut retries,
                Source::Retry(attempt),
            );
        }
        // Stamped after the commit, so an arrival stamped in a minute is in the index once
        // that minute is over.
        if let Ok(last) = index.last_seq() {
            if last > arrived {
                arrived = last;
                let _ = arrivals.send((last, chrono::Utc::now()));
            }
        }
        // After the feeds are out: search never delays their publication.
        if changed {
            if let Err(e) = search.sync(index) {
                tracing::error!("search index: {e}");
            }
        }
    }
    if let Err(e) = index.flush() {
        tracing::error!("flushing the index: {e}");
    }
}

/// The start-up reconciliation: by a child process when the index is empty and the
/// daemon knows how to run one (`first_start`), else here. Returns its report, the index
/// to serve from, and the indexer's state.
fn start_up(
    index: Index,
    config: Config,
    first_start: Option<&ChildBuild>,
) -> Result<(BuildReport, Index, Detached), StartFailure> {
    let index = match first_start {
        Some(child) if index.article_count() == 0 => {
            let dir = config.state.path.clone();
            index
                .flush()
                .map_err(|e| StartFailure::Failed(format!("flushing the index: {e}")))?;
            drop(index);
            notify(&[NotifyState::Status(
                "indexing the store (first start, in a child process)",
            )]);
            let outcome = first_start::build_in_child(child);
            if let Err(stopped @ ChildFailure::Stopped(_)) = outcome {
                return Err(StartFailure::Stopped(stopped.to_string()));
            }
            let index = Index::open_waiting(&dir, first_start::LOCK_PATIENCE).map_err(|e| {
                StartFailure::Failed(format!("opening the index after the first indexing: {e}"))
            })?;
            match outcome {
                // The child read the configuration file again: had it changed meanwhile,
                // the report would be of another index.
                Ok(report) if report.articles == index.article_count() => {
                    tracing::info!("first start: the store was indexed by a child process");
                    return Ok((report, index, Detached::new(config)));
                }
                Ok(report) => {
                    tracing::warn!(
                        "the first indexing in a child process reported {} articles, the \
                         index holds {}; indexing in the daemon's own process",
                        report.articles,
                        index.article_count()
                    );
                    index
                }
                Err(e) => {
                    tracing::warn!("{e}; indexing in the daemon's own process instead");
                    index
                }
            }
        }
        _ => index,
    };
    let mut indexer = Indexer::new(&index, config);
    let report = indexer
        .reconcile(&ProgressBar::hidden())
        .map_err(|e| StartFailure::Failed(format!("reconciling the index with the store: {e}")))?;
    let detached = indexer.detach();
    let index = if reopen_after(&report) {
        index
            .reopen()
            .map_err(|e| StartFailure::Failed(format!("opening the index again: {e}")))?
    } else {
        index
    };
    release_freed_memory();
    Ok((report, index, detached))
}

/// Whether the start-up reconciliation changed so much of the index (a quarter of it, as
/// on a first start) that the index is worth opening again: sled keeps the tree nodes
/// the reconciliation wrote in its cache, more than the cache's capacity, for the life of
/// the process, and the catalog grown article by article holds more than one read whole
/// (BENCHMARKS.md, "the daemon's memory with the search index"). The read costs about a
/// second per 100,000 articles.
fn reopen_after(report: &BuildReport) -> bool {
    let changes = report.new + report.changed + report.removed;
    changes > 0 && changes * 4 >= report.articles
}

/// Hands memory freed after a large reconciliation back to the system. Allocators keep
/// freed heap for reuse, so a daemon that indexed 100,000 articles at start-up would idle
/// at twice the memory of one that started on a built index. The binary allocates with
/// mimalloc (src/main.rs); glibc's malloc still serves C code and the library's tests.
fn release_freed_memory() {
    // The reconcile ran on rayon's threads too: each forgets the names it folded, and
    // gives back its own pages, as mimalloc keeps a heap per thread (~5 MB of the idle
    // RSS after a cold start on 100,000 articles).
    let collect = || {
        crate::feeds::topic::forget_folded_names();
        // SAFETY: mi_collect only walks mimalloc's own heaps (empty when it is not the
        // global allocator); it has no preconditions and is safe to call from any thread.
        unsafe { libmimalloc_sys::mi_collect(true) }
    };
    rayon::broadcast(|_| collect());
    collect();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no
    // preconditions and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn run_update(
    indexer: &mut Indexer,
    paths: &[PathBuf],
    metrics: &Metrics,
    hub: Option<&websub::Publisher>,
    retries: &mut Retries,
    source: Source,
) {
    match indexer.update(paths) {
        Ok(report) => {
            report_rejections(retries, &report, paths, source, metrics);
            if report.new + report.changed + report.removed > 0 || report.publish.written > 0 {
                tracing::info!("{report}");
            }
            record(metrics, indexer, &report, hub);
        }
        Err(e) => tracing::error!("updating {} paths: {e}", paths.len()),
    }
}

/// Logs (a warning) and counts each rejected file version once, schedules its next
/// tries, and forgets the `paths` of this round that were not rejected; logs each feed
/// that could not be written.
fn report_rejections(
    retries: &mut Retries,
    report: &BuildReport,
    paths: &[PathBuf],
    source: Source,
    metrics: &Metrics,
) {
    let now = Instant::now();
    let mut counted = 0;
    for r in &report.rejected {
        let verdict = retries.rejected(r, source, now);
        if let Some(line) = verdict.warn {
            tracing::warn!("{line}");
        }
        counted += u64::from(verdict.count);
    }
    metrics.add_rejects(counted);
    for path in paths {
        if !report.rejected.iter().any(|r| r.path == *path) {
            retries.settled(path);
        }
    }
    for failed in &report.publish.failed {
        tracing::warn!("cannot publish: {failed}");
    }
}

/// Metrics and hub pings after a round.
fn record(
    metrics: &Metrics,
    indexer: &Indexer,
    report: &BuildReport,
    hub: Option<&websub::Publisher>,
) {
    metrics.set_articles(report.articles as u64);
    metrics.set_feeds(indexer.feed_count() as u64);
    metrics.observe_publish(report.elapsed.as_secs_f64());
    if let Some(hub) = hub {
        let site = Site::from_config(indexer.config());
        let urls: Vec<String> = report
            .publish
            .changed
            .iter()
            .flat_map(|t| {
                indexer
                    .config()
                    .feeds
                    .formats
                    .iter()
                    .map(|f: &Format| site.feed_url(&t.file(*f)))
                    .collect::<Vec<_>>()
            })
            .collect();
        if !urls.is_empty() {
            hub.notify(urls);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemdDirs;
    use crate::daemon::first_start::tests::child;
    use crate::feeds::fixtures::{SEED, SEED_ID};

    /// A site in `dir` whose store holds the seed article and one file that is rejected.
    fn site(dir: &std::path::Path) -> Config {
        std::fs::create_dir_all(dir.join("articles")).unwrap();
        std::fs::write(dir.join(format!("articles/{SEED_ID}.txt")), SEED).unwrap();
        std::fs::write(dir.join("articles/one-line.txt"), "only a title\n").unwrap();
        let text = "[store]\npath = \"articles\"\n[state]\npath = \"state\"\n\
                    [feeds]\noutput = \"feeds\"\n";
        Config::parse(text)
            .unwrap()
            .resolve(dir, &SystemdDirs::default())
    }

    #[test]
    fn a_first_start_whose_child_fails_indexes_in_the_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path());
        let index = Index::open(&config.state.path).unwrap();
        let failing = child(dir.path(), "echo 'tidings: no' >&2; exit 2");
        let (report, index, _) = start_up(index, config, Some(&failing)).unwrap();
        assert_eq!((report.articles, report.new), (1, 1), "{report}");
        assert_eq!(report.rejected.len(), 1, "{report}");
        assert_eq!(index.article_count(), 1);
    }

    #[test]
    fn a_first_start_whose_child_is_stopped_stops() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path());
        let state = config.state.path.clone();
        let index = Index::open(&state).unwrap();
        let stopped = child(dir.path(), "kill -TERM $$");
        match start_up(index, config, Some(&stopped)) {
            Err(StartFailure::Stopped(why)) => assert!(why.contains("SIGTERM"), "{why}"),
            Err(StartFailure::Failed(e)) => panic!("{e}"),
            Ok((report, ..)) => panic!("started: {report}"),
        }
        // Nothing was indexed, and the index is free for the next start.
        assert_eq!(
            Index::open_waiting(&state, first_start::LOCK_PATIENCE)
                .unwrap()
                .article_count(),
            0
        );
    }

    #[test]
    fn a_start_on_a_built_index_runs_no_child() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path());
        let index = Index::open(&config.state.path).unwrap();
        Indexer::new(&index, config.clone())
            .reconcile(&ProgressBar::hidden())
            .unwrap();
        // A child would stop the start.
        let stopped = child(dir.path(), "kill -TERM $$");
        let (report, ..) = start_up(index, config, Some(&stopped)).unwrap();
        assert_eq!((report.articles, report.new), (1, 0), "{report}");
        // The rejected file is read again, and reported again.
        assert_eq!(report.rejected.len(), 1, "{report}");
    }
}
