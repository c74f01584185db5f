//! Helpers shared by the integration tests that drive real programs (smtp-sink, openssl,
//! python3): finding a program or failing with its install line, a free loopback port,
//! and a throwaway CA with a localhost certificate.

// Each test crate includes this module and uses its own part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const INSTALL_POSTFIX: &str =
    "echo 'postfix postfix/main_mailer_type select No configuration' \
    | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends postfix";
pub const INSTALL_OPENSSL: &str = "apt-get install -y openssl";
pub const INSTALL_PYTHON: &str = "apt-get install -y python3";

/// `name` on PATH or in the sbin folders (smtp-sink lives in /usr/sbin, which a non-root
/// PATH often lacks); panics with the install line otherwise.
pub fn program(name: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed; install it with: {install}"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
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
