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

pub fn socket_path(state: &Path) -> PathBuf {
    state.join("control.sock")
}

/// Binds the socket and answers requests until the task is aborted.
pub fn listen(
    state: &Path,
    commands: Sender<Command>,
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
            let index = index.clone();
            // The configuration as of this request (reloads replace it).
            let config = config.read().unwrap_or_else(|e| e.into_inner()).clone();
            let rounds = rounds.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, commands, index, config, rounds).await {
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
    index: Arc<Index>,
    config: Config,
    rounds: Arc<tokio::sync::Mutex<()>>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read).read_line(&mut line).await?;
    let response = match serde_json::from_str::<Request>(&line) {
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
                    code: u8::from(strict && !report.rejected.is_empty()),
                    stderr: report
                        .rejected
                        .iter()
                        .map(|r| format!("rejected: {r}"))
                        .collect(),
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
        Err(e) => Response::error(2, format!("bad control request: {e}")),
    };
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
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
