//! Mail servers on loopback for the tests: postfix's `smtp-sink` (counting, capturing and
//! fault injection) and aiosmtpd (STARTTLS, implicit TLS and AUTH, the bytes captured as
//! delivered), with a throwaway CA for the TLS ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{
    eventually, free_port, is_root, poll, program, python_with, KillOnDrop, INSTALL_AIOSMTPD,
    INSTALL_OPENSSL, INSTALL_POSTFIX, PATIENCE,
};

/// A running `smtp-sink` on a free loopback port, killed on drop.
pub struct SmtpSink {
    _process: KillOnDrop,
    pub port: u16,
    /// Where `-d` writes one file per message (when asked for).
    dump: Option<tempfile::TempDir>,
}

impl SmtpSink {
    /// `smtp-sink` with `args` (fault injection: `-r RCPT`, `-w 1`, …) and, if `dump`, a
    /// capture folder; returns once it accepts connections.
    pub fn start(args: &[&str], dump: bool) -> SmtpSink {
        let port = free_port();
        let mut cmd = Command::new(program("smtp-sink", INSTALL_POSTFIX));
        if is_root() {
            // smtp-sink refuses to run as root without dropping privileges.
            cmd.args(["-u", "nobody"]);
        }
        let dump = dump.then(|| {
            let dir = tempfile::tempdir().unwrap();
            // Written by `nobody` when we are root.
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
            dir
        });
        if let Some(dir) = &dump {
            cmd.arg("-d").arg(format!("{}/", dir.path().display()));
        }
        cmd.args(args)
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut process = KillOnDrop(cmd.spawn().expect("starting smtp-sink"));
        eventually(|| {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = process.0.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = process.0.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("smtp-sink exited ({status}): {err}");
            }
            Err("smtp-sink does not listen".to_string())
        });
        SmtpSink {
            _process: process,
            port,
            dump,
        }
    }

    /// The capture folder.
    pub fn dump_dir(&self) -> &Path {
        self.dump
            .as_ref()
            .expect("started with a dump folder")
            .path()
    }

    /// Every captured file, once `expected` of them are complete (a test that sees fewer
    /// gets what there is after [`PATIENCE`]).
    pub fn dumped(&self, expected: usize) -> Vec<String> {
        let read = || -> Vec<String> {
            std::fs::read_dir(self.dump_dir())
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect()
        };
        // smtp-sink ends a dump with the empty line after the message.
        let complete = |files: &[String]| files.iter().filter(|f| f.ends_with("\n\n")).count();
        poll(PATIENCE, || {
            let files = read();
            match complete(&files) {
                n if n >= expected => Ok(files),
                n => Err(format!("{n} of {expected} messages captured")),
            }
        })
        .unwrap_or_else(|_| read())
    }
}

/// The value of the first `name:` header line in a captured message, or "?".
pub fn header(message: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    message
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or("?")
        .trim()
        .to_string()
}

pub const USER: &str = "digest";
pub const PASSWORD: &str = "s3cret pass";

/// aiosmtpd (`support/aiosmtpd_server.py`) with TLS — `mode` "starttls" or "tls" —
/// requiring AUTH as [`USER`]/[`PASSWORD`], capturing into `dir/out`. Killed on drop.
pub struct Aiosmtpd {
    _process: KillOnDrop,
    pub port: u16,
    pub out: PathBuf,
    /// The test CA that signed the server's certificate, PEM.
    pub ca: Vec<u8>,
}

impl Aiosmtpd {
    pub fn start(dir: &Path, mode: &str) -> Aiosmtpd {
        let python = python_with("aiosmtpd", INSTALL_AIOSMTPD);
        let (ca, cert, key) = certificates(dir);
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/aiosmtpd_server.py"
        );
        let port = free_port();
        let mut process = KillOnDrop(
            Command::new(python)
                .arg(script)
                .args([mode, &port.to_string()])
                .args([&cert, &key])
                .args([USER, PASSWORD])
                .arg(&out)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("starting aiosmtpd"),
        );
        // Controller.start() returns once the server answers.
        let mut line = String::new();
        use std::io::BufRead as _;
        std::io::BufReader::new(process.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "aiosmtpd did not start");
        Aiosmtpd {
            _process: process,
            port,
            out,
            ca,
        }
    }

    /// The file holding the `n`th message (from 1) as it arrived.
    pub fn message_path(&self, n: usize) -> PathBuf {
        self.out.join(format!("{n}.eml"))
    }

    /// The `n`th message (from 1) as it arrived, and what the server knew of its session.
    pub fn captured(&self, n: usize) -> (Vec<u8>, Value) {
        let bytes = std::fs::read(self.message_path(n)).unwrap();
        let meta = std::fs::read_to_string(self.out.join(format!("{n}.json"))).unwrap();
        (bytes, serde_json::from_str(&meta).unwrap())
    }

    /// How many messages arrived.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    }

    /// One entry per AUTH attempt: mechanism, whether it succeeded, whether under TLS.
    pub fn auth_log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.out.join("auth.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A throwaway CA and a certificate for 127.0.0.1/localhost signed by it, made with the
/// `openssl` command line. Returns (CA PEM, leaf cert path, leaf key path).
pub fn certificates(dir: &Path) -> (Vec<u8>, PathBuf, PathBuf) {
    let openssl = program("openssl", INSTALL_OPENSSL);
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    run(&[
        &[
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=tidings test CA",
        ][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
    ]
    .concat());
    run(&[
        &["req", "-nodes", "-subj", "/CN=localhost"][..],
        &ec,
        &["-keyout", "leaf.key", "-out", "leaf.csr"],
    ]
    .concat());
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    (
        std::fs::read(dir.join("ca.pem")).unwrap(),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}
