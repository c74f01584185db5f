//! `tidings run` as a test drives it: the real binary on its site folder, listening on
//! the loopback port it picked, its log lines collected, killed when the test is done
//! (with the log shown when the test failed).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use tempfile::TempDir;

use super::http::{self, Reply};
use super::{eventually, tidings_command, KillOnDrop};

pub struct Daemon {
    /// Always there but in [`Daemon::into_dir`].
    dir: Option<TempDir>,
    process: KillOnDrop,
    logs: Receiver<String>,
    /// The log lines received so far.
    seen: Vec<String>,
    base: String,
}

impl Daemon {
    /// Runs the daemon on the site in `dir` (its `config.toml` must listen on
    /// `127.0.0.1:0`) and waits until it serves.
    pub fn start_in(dir: TempDir) -> Daemon {
        let mut daemon = Daemon::spawn_in(dir, tidings_command);
        daemon.base = daemon.serving_at();
        daemon
    }

    /// Waits until the daemon serves; its `http://127.0.0.1:PORT`.
    fn serving_at(&mut self) -> String {
        let line = self.wait_log("listening on http://");
        let addr = line
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        format!("http://{addr}")
    }

    /// Runs `tidings run` from `command` (the binary on `dir`'s config, which the caller
    /// may add to), without waiting for anything.
    pub fn spawn_in(dir: TempDir, command: impl FnOnce(&Path) -> Command) -> Daemon {
        let mut child = command(dir.path())
            .arg("run")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, logs) = std::sync::mpsc::channel();
        // Read all the time, so that the daemon never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            dir: Some(dir),
            process: KillOnDrop(child),
            logs,
            seen: Vec::new(),
            base: String::new(),
        }
    }

    /// [`Daemon::start_in`] with the daemon's stderr a regular file, `log` (which a test
    /// can name as systemd names the journal's stream), read back as it grows.
    pub fn start_logging_to(
        dir: TempDir,
        log: &Path,
        command: impl FnOnce(&Path) -> Command,
    ) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let child = command(dir.path())
            .arg("run")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let (tx, logs) = std::sync::mpsc::channel::<String>();
        let mut reader = BufReader::new(std::fs::File::open(log).unwrap());
        std::thread::spawn(move || {
            let mut line = String::new();
            loop {
                match reader.read_line(&mut line) {
                    // Only whole lines: the daemon may be in the middle of one.
                    Ok(_) if line.ends_with('\n') => {
                        let whole = std::mem::take(&mut line);
                        if tx.send(whole.trim_end_matches('\n').to_string()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => std::thread::sleep(Duration::from_millis(25)),
                    Err(_) => break,
                }
            }
        });
        let mut daemon = Daemon {
            dir: Some(dir),
            process: KillOnDrop(child),
            logs,
            seen: Vec::new(),
            base: String::new(),
        };
        daemon.base = daemon.serving_at();
        daemon
    }

    /// The site folder.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("the site folder").path()
    }

    /// The site folder, for another daemon on it; this one is killed if still running.
    pub fn into_dir(mut self) -> TempDir {
        self.dir.take().expect("the site folder")
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("articles")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Reply {
        http::get(&self.url(path))
    }

    /// Polls `path` until it answers 200 with a body for which `pred` holds; the body.
    pub fn wait_for(&self, path: &str, pred: impl Fn(&str) -> bool) -> String {
        eventually(|| {
            let reply = self.get(path);
            match reply.status == 200 && pred(&reply.body) {
                true => Ok(reply.body),
                false => Err(format!("{path}: {} {:.300}", reply.status, reply.body)),
            }
        })
    }

    /// Waits for a log line containing `needle` (or finds it among those seen); the line.
    pub fn wait_log(&mut self, needle: &str) -> String {
        eventually(|| {
            self.receive(Duration::ZERO);
            match self.seen.iter().find(|l| l.contains(needle)) {
                Some(line) => Ok(line.clone()),
                None => Err(format!(
                    "no log line with {needle:?}; saw:\n{}",
                    self.seen.join("\n")
                )),
            }
        })
    }

    /// Every log line so far, once none has come for `quiet`.
    pub fn logs(&mut self, quiet: Duration) -> &[String] {
        self.receive(quiet);
        &self.seen
    }

    /// Forgets the log lines so far, so that a later [`Daemon::wait_log`] finds only new
    /// ones.
    pub fn forget_logs(&mut self) {
        self.receive(Duration::ZERO);
        self.seen.clear();
    }

    fn receive(&mut self, quiet: Duration) {
        loop {
            match self.logs.recv_timeout(quiet) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// Sends `signal` (`libc::SIGHUP`, …).
    pub fn signal(&self, signal: libc::c_int) {
        self.process.signal(signal);
    }

    /// SIGTERM, then its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    /// Its exit status, once it has exited (a hang fails after [`super::PATIENCE`]).
    pub fn wait(&mut self) -> ExitStatus {
        self.process.wait()
    }

    /// The binary on the daemon's configuration, beside it (the request goes over the
    /// control socket).
    pub fn tidings(&self, args: &[&str]) -> std::process::Output {
        super::tidings(self.path(), args)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        super::ok(self.path(), args)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.receive(Duration::ZERO);
            eprintln!("daemon log:\n{}", self.seen.join("\n"));
        }
    }
}
