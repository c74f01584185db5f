//! `tidings run`: the one place that wires the daemon — index, start-up reconciliation,
//! the store watcher, the publisher thread, HTTP, WebSub, the control socket, signals,
//! sd_notify and the watchdog.
//!
//! Shape (after mini-redis): [`run`] takes a bound listener, a shutdown future and a
//! reload channel, so tests drive it without signals; [`main`] adds the real signals.
//! All index writes happen on one publisher thread ([`publisher`]), which owns the
//! indexer: the watcher, reloads and control requests send it commands.

pub mod control;
pub mod first_start;
pub mod http;
pub mod metrics;
pub mod publisher;
pub mod retry;
pub mod systemd;
pub mod websub;

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sd_notify::NotifyState;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::daemon::control::Reload;
use crate::daemon::http::HttpState;
use crate::daemon::metrics::Metrics;
use crate::daemon::publisher::{publisher_loop, Command, StartFailure, Started};
use crate::daemon::systemd::notify;
use crate::feeds::feed::Site;
use crate::feeds::index::Index;
use crate::feeds::search::Search;
use crate::feeds::store::watch::{self, Debounce};
use crate::preflight;

/// How the daemon was started, for reloads.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The file to read again on reload; `None`: built-in defaults, nothing to reload.
    pub config_path: Option<PathBuf>,
    pub debounce: Debounce,
    /// How to have a child process do the first indexing of an empty index
    /// ([`first_start`]); `None`: the daemon does it itself (for a caller whose process
    /// is not the tidings binary, which could not run `build`).
    pub first_start: Option<first_start::ChildBuild>,
}

/// The daemon with real signals: SIGTERM/SIGINT stop it, SIGHUP reloads.
pub fn main(options: Options, config: Config) -> anyhow::Result<()> {
    // Before anything is bound, opened or created: a refused start leaves nothing behind.
    preflight::ensure(&config, preflight::Purpose::Run)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let listener = TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("server.listen {}: cannot bind", config.server.listen))?;
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if reload_tx.send(Reload { reply: None }).await.is_err() {
                    break;
                }
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: stopping"),
                _ = int.recv() => tracing::info!("SIGINT: stopping"),
            }
        };
        run(options, config, listener, shutdown, reload_rx).await
    })
}

/// Runs until `shutdown` resolves; each message on `reload` (and each `tidings reload`
/// over the control socket) re-reads the configuration.
pub async fn run(
    options: Options,
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
    mut reload: tokio::sync::mpsc::Receiver<Reload>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    notify(&[NotifyState::Status("opening the index")]);
    // Owned by the publisher thread until its start-up reconciliation is done, which
    // hands it back shared (see `publisher::Started`).
    let index = Index::open(&config.state.path)?;
    let search = Arc::new(Search::new(&config.state.path));
    let metrics = Arc::new(Metrics::default());
    let hub = (!config.feeds.websub_hub.trim().is_empty()).then(|| {
        websub::Publisher::new(
            config.feeds.websub_hub.trim().to_string(),
            tokio::runtime::Handle::current(),
            metrics.clone(),
        )
    });

    // The publisher thread reconciles the index with the store before anything is served.
    // The watch starts first: what changes while the reconciliation scans is queued and
    // applied after it, so nothing that changes after launch is missed (DESIGN §7).
    let (commands, inbox) = std::sync::mpsc::channel::<Command>();
    notify(&[NotifyState::Status("watching the store")]);
    let mut watcher = start_watch(&config, options.debounce, &commands)?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (arrivals_tx, arrivals_rx) = tokio::sync::mpsc::unbounded_channel();
    // Before the publisher starts: a first start's own status comes after this one.
    notify(&[NotifyState::Status("reconciling the index with the store")]);
    let publisher = {
        let config = config.clone();
        let metrics = metrics.clone();
        let hub = hub.clone();
        let commands = commands.clone();
        let search = search.clone();
        let first_start = options.first_start.clone();
        std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || {
                publisher_loop(
                    index,
                    config,
                    first_start,
                    inbox,
                    commands,
                    &metrics,
                    hub,
                    &search,
                    ready_tx,
                    arrivals_tx,
                )
            })
            .context("starting the publisher thread")?
    };
    let gone = |_| Err(StartFailure::Failed("the publisher thread stopped".into()));
    tokio::pin!(shutdown);
    let mut ready_rx = ready_rx;
    // A stop asked for during the start-up (a signal to the daemon alone): a first
    // start's child is told to stop; a reconciliation in this process runs to its end.
    let (startup, stop_asked): (Started, bool) = tokio::select! {
        started = &mut ready_rx => (started.unwrap_or_else(gone), false),
        _ = &mut shutdown => {
            if let Some(child) = &options.first_start {
                child.stop();
            }
            (ready_rx.await.unwrap_or_else(gone), true)
        }
    };
    let (report, index) = match startup {
        Err(StartFailure::Failed(e)) => {
            let _ = publisher.join();
            anyhow::bail!(e);
        }
        // Nothing was served yet: a stop asked for during the first indexing (the
        // publisher has returned), or during a start-up that ran to its end here.
        Err(StartFailure::Stopped(why)) => {
            let _ = publisher.join();
            tracing::info!("{why}: stopping");
            return stop_before_serving(watcher);
        }
        Ok((_, index)) if stop_asked => {
            let _ = commands.send(Command::Stop);
            let _ = tokio::task::spawn_blocking(move || publisher.join()).await;
            index.flush()?;
            return stop_before_serving(watcher);
        }
        Ok(started) => started,
    };
    tracing::info!("start-up: {report}");

    // Digest rounds, one at a time: the scheduler's and those asked for over the socket.
    let rounds = Arc::new(tokio::sync::Mutex::new(()));
    let shared_config = Arc::new(std::sync::RwLock::new(config.clone()));
    let (asked_tx, mut asked) = tokio::sync::mpsc::channel::<Reload>(4);
    let (control_path, control) = crate::daemon::control::listen(
        &config.state.path,
        commands.clone(),
        asked_tx,
        index.clone(),
        shared_config.clone(),
        rounds.clone(),
    )?;
    // Checked now, so that a broken [mail] section stops the start with its reason.
    let transport = crate::digests::mail::Transport::from_config(&config.mail)
        .await
        .context("[mail]")?;
    crate::digests::round::load_or_create_key(&config.digest.secret_file)?;
    let (stop_rounds, rounds_stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(scheduler_loop(
        index.clone(),
        shared_config.clone(),
        transport,
        rounds.clone(),
        metrics.clone(),
        rounds_stopped,
        arrivals_rx,
    ));

    let current = Arc::new(std::sync::RwLock::new(http::router(http_state(
        &config, &index, &metrics, &search,
    ))));
    let app = swappable(current.clone());
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let address = listener.local_addr()?;
    let server = tokio::spawn(http::serve(listener, app, async {
        let _ = http_stopped.await;
    }));
    tracing::info!(
        "listening on http://{address}; {} articles, {} feeds; ready in {:.2} s",
        index.article_count(),
        report.publish.feeds,
        started.elapsed().as_secs_f64()
    );
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&format!("serving http://{address}")),
    ]);
    // The search index is built after READY, in the background; `/search` answers 503
    // until it is done (docs/http.md).
    let search_builder = {
        let index = index.clone();
        let search = search.clone();
        std::thread::Builder::new()
            .name("search-index".into())
            .spawn(move || {
                if let Err(e) = search.build(&index) {
                    tracing::error!("building the search index: {e}");
                }
            })
            .context("starting the search index thread")?
    };

    let mut config = config;
    loop {
        let request = tokio::select! {
            _ = &mut shutdown => break,
            Some(request) = reload.recv() => request,
            Some(request) = asked.recv() => request,
        };
        notify(&[NotifyState::Reloading]);
        // DESIGN §6b: a configuration that cannot work is refused whole, before any of it
        // is adopted, and the running one kept.
        let outcome: Result<String, String> = 'reload: {
            let Some(path) = &options.config_path else {
                break 'reload Ok("running on built-in defaults: nothing to reload".into());
            };
            let mut new = match Config::from_file(path) {
                Ok(new) => new,
                Err(e) => break 'reload Err(e.to_string()),
            };
            if new.state.path != config.state.path {
                // The index and the control socket stay where they are open.
                tracing::warn!(
                    "state.path changed to {}: takes effect at the next restart",
                    new.state.path.display()
                );
                new.state.path = config.state.path.clone();
            }
            if let Err(e) = preflight::ensure(&new, preflight::Purpose::Run) {
                break 'reload Err(e.to_string());
            }
            if new.store.path != config.store.path {
                match start_watch(&new, options.debounce, &commands) {
                    Ok(new_watcher) => watcher = new_watcher,
                    Err(e) => break 'reload Err(format!("{e:#}")),
                }
            }
            if new.server.listen != config.server.listen {
                tracing::warn!(
                    "server.listen changed to {}: takes effect at the next restart",
                    new.server.listen
                );
            }
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            if commands
                .send(Command::Reload(Box::new(new.clone()), done_tx))
                .is_ok()
            {
                let _ = done_rx.await;
            }
            let state = http_state(&new, &index, &metrics, &search);
            *current.write().unwrap_or_else(|e| e.into_inner()) = http::router(state);
            *shared_config.write().unwrap_or_else(|e| e.into_inner()) = new.clone();
            config = new;
            Ok(format!("configuration reloaded from {}", path.display()))
        };
        match &outcome {
            Ok(done) => tracing::info!("{done}"),
            Err(why) => {
                tracing::error!("reload refused, keeping the running configuration: {why}")
            }
        }
        if let Some(reply) = request.reply {
            let _ = reply.send(outcome);
        }
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(&format!("serving http://{address}")),
        ]);
    }

    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    // A round in progress gets a few seconds; a digest cut off stays pending and goes out,
    // with the same Message-ID, after the next start.
    let _ = stop_rounds.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(4), scheduler).await;
    drop(watcher);
    control.abort();
    let _ = std::fs::remove_file(&control_path);
    let _ = stop_http.send(());
    // In-flight requests get a moment; a stuck client does not hold the stop.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let _ = commands.send(Command::Stop);
    tokio::task::spawn_blocking(move || publisher.join())
        .await
        .ok();
    search.stop();
    tokio::task::spawn_blocking(move || search_builder.join())
        .await
        .ok();
    if search.is_ready() {
        if let Err(e) = search.save() {
            tracing::warn!("saving the search index: {e}");
        }
    }
    if let Some(hub) = &hub {
        hub.drain(Duration::from_secs(2)).await;
    }
    index.flush()?;
    tracing::info!("stopped");
    Ok(())
}

/// The end of a start-up stopped before anything was served: a clean stop, exit 0.
fn stop_before_serving(watcher: watch::StoreWatcher) -> anyhow::Result<()> {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    drop(watcher);
    tracing::info!("stopped before serving");
    Ok(())
}

/// Runs a digest round at start-up (a run missed while stopped is sent once, or skipped
/// if too old; alerts left unsent go out) and then just after every minute, the
/// resolution of cron and the batch of `@instant` alerts, which hold the arrivals the
/// publisher reported for the minutes that have ended (DESIGN §4). Subscribers and their
/// schedules are read afresh each round, so changes need no restart, and a reloaded
/// `[mail]` section gets a new transport.
async fn scheduler_loop(
    index: Arc<Index>,
    config: Arc<std::sync::RwLock<Config>>,
    mut transport: crate::digests::mail::Transport,
    rounds: Arc<tokio::sync::Mutex<()>>,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut arrived: tokio::sync::mpsc::UnboundedReceiver<(u64, chrono::DateTime<chrono::Utc>)>,
) {
    use crate::digests::schedule::instant::{self, Arrivals};
    // Unsent alerts of what came before the start go out in the first round.
    let mut arrivals = Arrivals::starting_at(index.last_seq().unwrap_or(0));
    let mut mail = config
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .mail
        .clone();
    loop {
        let config = config.read().unwrap_or_else(|e| e.into_inner()).clone();
        if config.mail != mail {
            match crate::digests::mail::Transport::from_config(&config.mail).await {
                Ok(new) => {
                    transport.close().await;
                    transport = new;
                    mail = config.mail.clone();
                }
                Err(e) => {
                    tracing::error!("[mail] after reload: {e:#}; keeping the previous transport")
                }
            }
        }
        while let Ok((seq, at)) = arrived.try_recv() {
            arrivals.arrived(seq, at);
        }
        {
            let _one_at_a_time = rounds.lock().await;
            let now = chrono::Utc::now();
            let round = crate::digests::round::run_with_arrivals(
                index.clone(),
                &config,
                &transport,
                now,
                false,
                &arrivals,
            )
            .await;
            arrivals.forget_settled(now);
            match round {
                Ok(report) => {
                    // A minute with nothing due is no round to speak of.
                    if report.due + report.resumed + report.too_late > 0 {
                        tracing::info!("digest round: {report}");
                    }
                    metrics.add_digests(report.counts());
                }
                Err(e) => tracing::error!("digest round: {e:#}"),
            }
        }
        // Just after the next minute starts.
        let now = chrono::Utc::now();
        let wait = (instant::next_round(now) - now)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
    transport.close().await;
}

fn http_state(
    config: &Config,
    index: &Arc<Index>,
    metrics: &Arc<Metrics>,
    search: &Arc<Search>,
) -> Arc<HttpState> {
    Arc::new(HttpState {
        search: Some(search.clone()),
        output: config.feeds.output.clone(),
        index: index.clone(),
        site: Site::from_config(config),
        items_per_feed: config.feeds.items,
        cache_max_age: config.server.cache_max_age,
        metrics: metrics.clone(),
        // Feeds are served even when the link key cannot be read; the pages are not.
        web: crate::digests::pages::Web::new(config, index.clone())
            .map_err(|e| tracing::error!("subscription pages disabled: {e:#}"))
            .ok()
            .map(Arc::new),
    })
}

/// A router whose inner router can be replaced while serving (reloads).
fn swappable(current: Arc<std::sync::RwLock<axum::Router>>) -> axum::Router {
    use tower::ServiceExt;
    axum::Router::new().fallback_service(tower::service_fn(move |req: axum::extract::Request| {
        let router = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        async move { router.oneshot(req).await }
    }))
}

fn start_watch(
    config: &Config,
    debounce: Debounce,
    commands: &Sender<Command>,
) -> anyhow::Result<watch::StoreWatcher> {
    watch::watch(&config.store.path, debounce, commands.clone())
        .with_context(|| format!("store.path {}: cannot watch", config.store.path.display()))
}

/// For callers outside the daemon: the control socket's path for a state directory.
pub fn control_socket(state: &Path) -> PathBuf {
    crate::daemon::control::socket_path(state)
}
