//! Headless Chromium (Debian's `chromium` package) driven through the DevTools protocol
//! over a pipe (`--remote-debugging-pipe`: no port, no websocket crate, no Node), and the
//! CJK fonts its screenshots need. Chromium is required, not optional: without it a
//! browser test fails and names the install line.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::{program, KillOnDrop, INSTALL_CHROMIUM, INSTALL_CJK_FONTS};

/// A headless Chromium driven over `--remote-debugging-pipe`: commands go to its fd 3,
/// NUL-terminated JSON; answers and events come from its fd 4.
pub struct Browser {
    _process: KillOnDrop,
    to: File,
    from: Receiver<Value>,
    next: u64,
    session: Option<String>,
    _profile: TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let chromium = program("chromium", INSTALL_CHROMIUM);
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe();
        let (ev_read, ev_write) = pipe();
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            let (r, w) = (cmd_read, ev_write);
            // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    // Move both out of the way first: either may already sit on 3 or 4.
                    let r2 = libc::fcntl(r, libc::F_DUPFD, 10);
                    let w2 = libc::fcntl(w, libc::F_DUPFD, 10);
                    if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let process = KillOnDrop(command.spawn().unwrap());
        use std::os::unix::io::FromRawFd;
        // SAFETY: fresh descriptors from pipe2, each owned once.
        let (to, from, theirs) = unsafe {
            (
                File::from_raw_fd(cmd_write),
                File::from_raw_fd(ev_read),
                [File::from_raw_fd(cmd_read), File::from_raw_fd(ev_write)],
            )
        };
        // Our copies of Chromium's ends must close, or EOF never comes.
        drop(theirs);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(from);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if tx.send(v).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            _process: process,
            to,
            from: rx,
            next: 0,
            session: None,
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target.unwrap()["targetId"].as_str().unwrap().to_string();
        let session = b
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .unwrap();
        b.session = Some(session["sessionId"].as_str().unwrap().to_string());
        b.call("Page.enable", json!({})).unwrap();
        b
    }

    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|e| format!("{method}: no answer from Chromium ({e})"))?;
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, js: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{js}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Every request from now on asks for `value` (`Accept-Language`), as a browser set
    /// to that language would.
    pub fn accept_language(&mut self, value: &str) {
        self.call("Network.enable", json!({})).unwrap();
        self.call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"Accept-Language": value}}),
        )
        .unwrap();
    }

    /// A PNG of the viewport, once the page's fonts are loaded.
    pub fn screenshot(&mut self) -> Vec<u8> {
        self.eval("document.fonts.ready.then(() => true)").unwrap();
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .unwrap();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }

    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).unwrap();
    }

    /// Waits until `js` is true in the loaded page (errors while a page is replaced
    /// count as not yet).
    pub fn wait(&mut self, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let full = format!("document.readyState === 'complete' && ({js})");
        loop {
            if self.eval(&full).ok() == Some(Value::Bool(true)) {
                return;
            }
            if Instant::now() > deadline {
                let text = self.eval("document.documentElement.outerHTML");
                panic!("timed out waiting for {js}; page: {text:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A pipe, both ends close-on-exec (the child gets its ends by `dup2`).
fn pipe() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

/// Debian's Noto CJK fonts, without which Chromium draws every Han character as a box.
pub fn require_cjk_fonts() {
    let fc_list = program("fc-list", INSTALL_CJK_FONTS);
    let out = Command::new(fc_list).arg(":lang=zh").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Noto Sans CJK"),
        "no CJK font; install it with: {INSTALL_CJK_FONTS}"
    );
}

/// The page drawn in each language (in [`Lang::ALL`]'s order): one screenshot each, at
/// least 300×300, written to `folder` as `{name}-{tag}.png` for a person to look at; they
/// must all differ. Traditional and Simplified differ only in their glyphs, so those two
/// differ only if the CJK characters were drawn, not boxes.
///
/// [`Lang::ALL`]: tidings::i18n::Lang::ALL
pub struct Renders {
    folder: std::path::PathBuf,
    name: &'static str,
    pngs: Vec<Vec<u8>>,
}

impl Renders {
    pub fn new(folder: &Path, name: &'static str) -> Renders {
        std::fs::create_dir_all(folder).unwrap();
        Renders {
            folder: folder.to_path_buf(),
            name,
            pngs: Vec::new(),
        }
    }

    /// The page `b` shows now, as language `tag` renders it.
    pub fn take(&mut self, b: &mut Browser, tag: &str) {
        let png = b.screenshot();
        let (w, h) = png_size(&png);
        assert!(w >= 300 && h >= 300, "{tag}: {w}×{h}");
        let file = self.folder.join(format!("{}-{tag}.png", self.name));
        std::fs::write(file, &png).unwrap();
        self.pngs.push(png);
    }

    pub fn assert_all_differ(&self) {
        for (i, a) in self.pngs.iter().enumerate() {
            for (j, b) in self.pngs.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{}: renders {i} and {j} are the same", self.name);
            }
        }
    }
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}
