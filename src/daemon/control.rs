//! The control socket (DESIGN §3): while `tidings run` owns the index, other commands hand
//! their request to it over a Unix socket beside the state (mode 0600, only the daemon's
//! own user and root may talk to it) and print its answer. One JSON line each way.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use std::sync::Arc;

use crate::config::Config;
use crate::daemon::publisher::Command;
use crate::feeds::index::Index;
use crate::model::control::{Request, Response};

/// A request to re-read the configuration (SIGHUP, or `tidings reload` over the socket);
/// the outcome goes back on `reply` when someone waits for it: what was done, or why the
/// file was refused.
pub struct Reload {
    pub reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
}

pub fn socket_path(state: &Path) -> PathBuf {
    state.join("control.sock")
}

/// Binds the socket and answers requests until the task is aborted.
pub fn listen(
    state: &Path,
    commands: Sender<Command>,
    reload: tokio::sync::mpsc::Sender<Reload>,
    index: Arc<Index>,
    config: Arc<std::sync::RwLock<Config>>,
    rounds: Arc<tokio::sync::Mutex<()>>,
) -> anyhow::Result<(PathBuf, tokio::task::JoinHandle<()>)> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(state);
    // The index lock is ours, so a socket file left here is a dead daemon's.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .map_err(|e| anyhow::anyhow!("control socket {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let own_uid = rustix_uid();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let allowed = stream
                .peer_cred()
                .map(|c| c.uid() == 0 || c.uid() == own_uid)
                .unwrap_or(false);
            if !allowed {
                continue;
            }
            let commands = commands.clone();
            let reload = reload.clone();
            let index = index.clone();
            // The configuration as of this request (reloads replace it).
            let config = config.read().unwrap_or_else(|e| e.into_inner()).clone();
            let rounds = rounds.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, commands, reload, index, config, rounds).await {
                    tracing::warn!("control socket: {e}");
                }
            });
        }
    });
    Ok((path, task))
}

fn rustix_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The daemon's own uid, without libc: the owner of a file it just created.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

async fn serve(
    stream: tokio::net::UnixStream,
    commands: Sender<Command>,
    reload: tokio::sync::mpsc::Sender<Reload>,
    index: Arc<Index>,
    config: Config,
    rounds: Arc<tokio::sync::Mutex<()>>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read).read_line(&mut line).await?;
    let request = serde_json::from_str::<Request>(&line);
    let asked = request.as_ref().ok().map(describe);
    let response = match request {
        Ok(Request::Build { strict, all_feeds }) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let command = match all_feeds {
                true => Command::WriteAllFeeds(tx),
                false => Command::Rescan(Some(tx)),
            };
            commands
                .send(command)
                .map_err(|_| anyhow::anyhow!("the daemon is stopping"))?;
            match rx.await {
                Ok(Ok(report)) => Response {
                    stdout: report.to_string(),
                    code: report.exit_code(strict),
                    stderr: report.problem_lines(),
                },
                Ok(Err(e)) => Response::error(2, e),
                Err(_) => anyhow::bail!("the daemon is stopping"),
            }
        }
        Ok(Request::Preview { email, html }) => {
            tokio::task::spawn_blocking(move || {
                crate::digests::round::preview_command(&index, &config, &email, html)
            })
            .await?
        }
        Ok(Request::Send { all }) => {
            let _one_at_a_time = rounds.lock().await;
            crate::digests::round::send_command(index, &config, all).await
        }
        Ok(Request::Subscriber { request }) => {
            // sled calls block; keep them off the async workers.
            tokio::task::spawn_blocking(move || {
                crate::digests::subscriber::admin::run(&index, &config, request)
            })
            .await?
        }
        Ok(Request::Reload) => {
            let (reply, outcome) = tokio::sync::oneshot::channel();
            let stopping = || anyhow::anyhow!("the daemon is stopping");
            reload
                .send(Reload { reply: Some(reply) })
                .await
                .map_err(|_| stopping())?;
            match outcome.await.map_err(|_| stopping())? {
                Ok(done) => Response::output(done),
                // Exit 1: the file was read and refused; the daemon runs on.
                Err(why) => Response::error(
                    1,
                    format!("reload refused, keeping the running configuration: {why}"),
                ),
            }
        }
        Err(e) => Response::error(2, format!("bad control request: {e}")),
    };
    if let Some(asked) = asked {
        // DESIGN §6b: one INFO line per command handed over; `build` and `digest send`
        // with their report (counts only), the others with their exit code.
        let outcome = match (&response.code, response.stdout.lines().next()) {
            (0, Some(report)) if asked.starts_with("build") || asked.starts_with("digest send") => {
                report.to_string()
            }
            (0, _) => "done".to_string(),
            (code, _) => format!("exit {code}"),
        };
        tracing::info!("control socket: {asked}: {outcome}");
    }
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
}

/// A request as the INFO line shows it: the command, addresses masked.
fn describe(request: &Request) -> String {
    use crate::digests::subscriber::masked;
    use crate::model::control::SubscriberCommand;
    match request {
        Request::Build { strict, all_feeds } => format!(
            "build{}{}",
            if *strict { " --strict" } else { "" },
            if *all_feeds { " --all-feeds" } else { "" }
        ),
        Request::Subscriber { request } => match request {
            SubscriberCommand::Add { email, .. } => format!("subscriber add {}", masked(email)),
            SubscriberCommand::List => "subscriber list".into(),
            SubscriberCommand::Remove { email } => format!("subscriber remove {}", masked(email)),
            SubscriberCommand::Import { name, csv } => {
                format!("subscriber import {name} ({} lines)", csv.lines().count())
            }
            SubscriberCommand::Export => "subscriber export".into(),
        },
        Request::Preview { email, html } => format!(
            "digest preview {}{}",
            masked(email),
            if *html { " --html" } else { "" }
        ),
        Request::Send { all: false } => "digest send".into(),
        Request::Send { all: true } => "digest send --now".into(),
        Request::Reload => "reload".into(),
    }
}

/// Sends a request to a running daemon. `None` when none is listening (the caller then
/// opens the index itself).
pub fn request(state: &Path, request: &Request) -> Option<std::io::Result<Response>> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket_path(state)).ok()?;
    let result = (|| {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        stream.write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer)?;
        serde_json::from_str(&answer).map_err(std::io::Error::from)
    })();
    Some(result)
}
