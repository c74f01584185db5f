//! The indexer: keeps an open index in line with the store (a full reconcile, or the
//! paths the watcher reports) and hands what changed to the publishing step (DESIGN §7:
//! store event → index → render → publish).

use super::*;

/// Keeps an open index in line with the store and publishes what changed. `build` uses
/// it once; the daemon keeps one for its whole life, feeding it the paths the watcher
/// reports.
pub struct Indexer<'a> {
    index: &'a Index,
    config: Config,
    site: Site,
    /// Write every feed's files (see [`PublishMode::all_feeds`]).
    pub all_feeds: bool,
    /// When `opml-keywords.xml` is to be rewritten (keyword feeds changed since).
    keyword_list_due: Option<Instant>,
}

/// An [`Indexer`] between two handles of its index.
pub struct Detached {
    config: Config,
    site: Site,
    all_feeds: bool,
    keyword_list_due: Option<Instant>,
}

impl Detached {
    /// A fresh indexer's state, with nothing yet to do, for an index to come.
    pub fn new(config: Config) -> Detached {
        Detached {
            site: Site::from_config(&config),
            config,
            all_feeds: false,
            keyword_list_due: None,
        }
    }

    pub fn attach(self, index: &Index) -> Indexer<'_> {
        index.set_archive_page_size(self.config.feeds.items);
        Indexer {
            index,
            config: self.config,
            site: self.site,
            all_feeds: self.all_feeds,
            keyword_list_due: self.keyword_list_due,
        }
    }
}

impl<'a> Indexer<'a> {
    pub fn new(index: &'a Index, config: Config) -> Indexer<'a> {
        Detached::new(config).attach(index)
    }

    /// The indexer without its index, so that the index can be opened again
    /// ([`Index::reopen`]); [`Detached::attach`] gives it the new handle, and what it has
    /// yet to do (the keyword list's rewrite) comes along.
    pub fn detach(self) -> Detached {
        Detached {
            config: self.config,
            site: self.site,
            all_feeds: self.all_feeds,
            keyword_list_due: self.keyword_list_due,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds in the index now.
    pub fn feed_count(&self) -> usize {
        self.index.feed_count()
    }

    /// Adopts a new configuration; feeds are re-rendered on the next publish if their
    /// settings changed.
    pub fn set_config(&mut self, config: Config) {
        self.index.set_archive_page_size(config.feeds.items);
        self.site = Site::from_config(&config);
        self.config = config;
    }

    /// Rewrites `opml-keywords.xml` if keyword feeds changed at least
    /// [`KEYWORD_LIST_DELAY`] ago (the daemon calls this when idle). Returns whether it
    /// was due.
    pub fn refresh_keyword_list(&mut self, now: Instant) -> Result<bool, BuildError> {
        match self.keyword_list_due {
            Some(due) if due <= now => {
                self.keyword_list_due = None;
                write_keyword_list(
                    self.index,
                    &self.site,
                    self.config.feeds.items,
                    &self.config.feeds.output,
                )?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Scans the whole store: parses files added or changed since they were recorded,
    /// forgets files that are gone, then publishes.
    pub fn reconcile(&mut self, progress: &ProgressBar) -> Result<BuildReport, BuildError> {
        let started = Instant::now();
        let scanned = store::scan(&self.config.store.path);
        self.reconcile_scanned(started, scanned, progress)
    }

    /// [`Indexer::reconcile`] with the store already scanned (so that a caller can scan
    /// while the index opens).
    pub(super) fn reconcile_scanned(
        &mut self,
        started: Instant,
        scanned: std::io::Result<(Vec<StoreFile>, Vec<String>)>,
        progress: &ProgressBar,
    ) -> Result<BuildReport, BuildError> {
        let mut report = BuildReport::default();
        let (files, problems) = scanned.map_err(BuildError::Store)?;
        self.heal_beyond_limits()?;
        report
            .rejected
            .extend(problems.into_iter().map(|p| Rejection {
                path: PathBuf::new(),
                stamp: None,
                reason: p,
            }));
        let (changed, removed) = self
            .index
            .compare(files.iter().map(|f| (f.rel.as_str(), f.stamp)));
        let changed: Vec<&StoreFile> = changed.into_iter().map(|n| &files[n]).collect();
        progress.set_length(changed.len() as u64);
        self.ingest(
            &changed,
            &removed,
            // `scan` sorts by path.
            &|rel| files.binary_search_by(|f| f.rel.as_str().cmp(rel)).is_ok(),
            &mut report,
            progress,
        )?;
        progress.finish_and_clear();
        self.finish(started, report, true)
    }

    /// Forgets, once per index, the articles recorded before the limits of one article
    /// existed that are past them (a breadcrumb of 700 crumbs made 700 nested feed
    /// folders): their files are then read again like new ones and rejected with the
    /// limit's line, and their feeds are removed.
    fn heal_beyond_limits(&self) -> Result<(), BuildError> {
        if self.index.meta(LIMITS_META)?.as_deref() == Some(LIMITS_VERSION) {
            return Ok(());
        }
        let beyond = self.index.paths_of_articles(|a| {
            beyond_limits(
                a.sections.iter().map(String::as_str),
                a.keywords.iter().map(String::as_str),
            )
            .is_some()
        })?;
        if !beyond.is_empty() {
            self.index.apply(&[], &beyond, &|_| false)?;
        }
        self.index.set_meta(LIMITS_META, LIMITS_VERSION)?;
        Ok(())
    }

    /// Brings the given store paths (files or folders, absolute) up to date — added,
    /// changed or gone — then publishes the feeds that changed.
    pub fn update(&mut self, paths: &[PathBuf]) -> Result<BuildReport, BuildError> {
        let started = Instant::now();
        let mut report = BuildReport::default();
        let root = self.config.store.path.clone();
        let mut files = Vec::new();
        let mut removed = Vec::new();
        let mut gone_dirs = Vec::new();
        for path in paths {
            let Some(rel) = store::relative_path(&root, path) else {
                continue;
            };
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    // A folder created or moved in: everything in it is new to us.
                    let (found, problems) = store::scan(path).map_err(BuildError::Store)?;
                    report
                        .rejected
                        .extend(problems.into_iter().map(|p| Rejection {
                            path: path.clone(),
                            stamp: None,
                            reason: p,
                        }));
                    for mut f in found {
                        f.rel = if rel.is_empty() {
                            f.rel
                        } else {
                            format!("{rel}/{}", f.rel)
                        };
                        files.push(f);
                    }
                }
                Ok(meta) if meta.is_file() => {
                    if let Some(layout) = store::layout_of(path) {
                        files.push(StoreFile {
                            rel,
                            abs: path.clone(),
                            stamp: store::stamp_of(&meta),
                            layout,
                        });
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    // Gone: the file, or a whole folder moved out or deleted.
                    removed.push(rel.clone());
                    gone_dirs.push(format!("{rel}/"));
                }
            }
        }
        if !gone_dirs.is_empty() {
            self.index.for_each_path(|known| {
                if gone_dirs.iter().any(|d| known.starts_with(d.as_str())) {
                    removed.push(known.to_string());
                }
            });
        }
        let changed: Vec<&StoreFile> = files
            .iter()
            .filter(|f| self.index.stamp(&f.rel) != Some(f.stamp))
            .collect();
        let root = self.config.store.path.clone();
        let exists = move |rel: &str| root.join(rel).is_file();
        self.ingest(
            &changed,
            &removed,
            &exists,
            &mut report,
            &ProgressBar::hidden(),
        )?;
        self.finish(started, report, false)
    }

    /// Parses `changed` in parallel and records it, with `removed`, chunk by chunk: while
    /// one chunk is being recorded, the next is parsed.
    fn ingest(
        &mut self,
        changed: &[&StoreFile],
        removed: &[String],
        exists: &(dyn Fn(&str) -> bool + Sync),
        report: &mut BuildReport,
        progress: &ProgressBar,
    ) -> Result<(), BuildError> {
        let tz = self.config.tz();
        let max_bytes = self.config.store.max_bytes;
        let parse = |chunk: &[&StoreFile]| -> Vec<Parsed> {
            chunk
                .par_iter()
                .map(|f| {
                    (
                        f.abs.clone(),
                        f.stamp,
                        load(f, max_bytes).map(|a| incoming(f, a, &tz)),
                    )
                })
                .collect()
        };
        let chunks: Vec<&[&StoreFile]> = changed.chunks(CHUNK).collect();
        let mut parsed = chunks.first().map(|c| parse(c)).unwrap_or_default();
        for n in 0..chunks.len().max(1) {
            // Removals go last, so that a file moved within the store keeps its record.
            let gone: &[String] = if n + 1 >= chunks.len() { removed } else { &[] };
            let next = chunks.get(n + 1);
            let (next, recorded) = rayon::join(
                || next.map(|c| parse(c)).unwrap_or_default(),
                || self.record(std::mem::take(&mut parsed), gone, exists, report),
            );
            recorded?;
            progress.inc(chunks.get(n).map_or(0, |c| c.len() as u64));
            parsed = next;
        }
        Ok(())
    }

    /// Records one chunk of parsed files (rejecting those that failed) and `gone`.
    fn record(
        &self,
        parsed: Vec<Parsed>,
        gone: &[String],
        exists: &(dyn Fn(&str) -> bool + Sync),
        report: &mut BuildReport,
    ) -> Result<(), BuildError> {
        let mut batch = Vec::with_capacity(parsed.len());
        for (path, stamp, result) in parsed {
            match result {
                Ok(incoming) => batch.push(incoming),
                Err(reason) => report.rejected.push(Rejection {
                    path,
                    stamp: Some(stamp),
                    reason,
                }),
            }
        }
        if batch.is_empty() && gone.is_empty() {
            return Ok(());
        }
        let applied = self.index.apply(&batch, gone, exists)?;
        report.removed += applied.removed;
        for (inc, outcome) in batch.iter().zip(applied.outcomes) {
            match outcome {
                Outcome::New => report.new += 1,
                Outcome::Changed => report.changed += 1,
                Outcome::Unchanged => {}
                Outcome::Collision { other } => report.rejected.push(Rejection {
                    path: self.config.store.path.join(&inc.path),
                    stamp: Some(inc.stamp),
                    reason: format!(
                        "id {:?} is already used by {}",
                        inc.id,
                        self.config.store.path.join(other).display()
                    ),
                }),
            }
        }
        Ok(())
    }

    /// Publishes, after marking for re-rendering the feeds rendered with other settings
    /// and (on a full pass) those whose files went missing.
    fn finish(
        &mut self,
        started: Instant,
        mut report: BuildReport,
        full: bool,
    ) -> Result<BuildReport, BuildError> {
        let fingerprint = render_fingerprint(&self.config);
        let stale_settings = self.index.meta("render")?.as_deref() != Some(fingerprint.as_bytes());
        let output = &self.config.feeds.output;
        let formats = &self.config.feeds.formats;
        let mode = PublishMode {
            all_feeds: self.all_feeds,
            full,
            every_archive_page: stale_settings,
        };
        if stale_settings || full {
            // A full pass looks at every feed once; an update never does.
            let missing: Vec<Topic> = self
                .index
                .topics()
                .into_iter()
                .filter(|t| {
                    stale_settings
                        || (writes_files(output, t, mode)
                            && formats.iter().any(|f| !output.join(t.file(*f)).exists()))
                        || (archive::writes_archives(output, t, mode)
                            && self.index.archive_newest(t).is_some_and(|newest| {
                                let page = |f: &Format| output.join(t.archive_file(newest, *f));
                                formats.iter().any(|f| !page(f).exists())
                            }))
                })
                .collect();
            if !missing.is_empty() {
                self.index.mark_dirty(&missing)?;
            }
        }
        report.publish = publish(
            self.index,
            &self.site,
            self.config.feeds.items,
            output,
            mode,
        )?;
        if full {
            self.keyword_list_due = None;
        } else if report.publish.keywords_changed && self.keyword_list_due.is_none() {
            self.keyword_list_due = Some(Instant::now() + KEYWORD_LIST_DELAY);
        }
        if stale_settings {
            self.index.set_meta("render", fingerprint.as_bytes())?;
        }
        report.articles = self.index.article_count();
        report.compacted = self.index.compact_log(LOG_GARBAGE_MIN)?;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}
