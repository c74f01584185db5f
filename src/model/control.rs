//! The control socket's request and answer (DESIGN §3): one JSON line each way between a
//! command and the running daemon (`daemon::control`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "lowercase")]
pub enum Request {
    /// Scan the store and publish, as `tidings build` would (`all_feeds`: `--all-feeds`).
    Build {
        strict: bool,
        #[serde(default)]
        all_feeds: bool,
    },
    /// `tidings subscriber …`.
    Subscriber { request: SubscriberCommand },
    /// `tidings digest preview EMAIL [--html]`.
    Preview { email: String, html: bool },
    /// `tidings digest send [--now]`.
    Send { all: bool },
    /// `tidings reload`: re-read the configuration; the answer says whether it was adopted.
    Reload,
}

/// What the command prints and its exit code.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Response {
    pub stdout: String,
    pub stderr: Vec<String>,
    pub code: u8,
}

impl Response {
    /// A command that failed: one `tidings: …` line on stderr and the exit code (1 for a
    /// problem with the input, 2 for a fatal one).
    pub fn error(code: u8, message: impl std::fmt::Display) -> Response {
        Response {
            stderr: vec![format!("tidings: {message}")],
            code,
            ..Response::default()
        }
    }

    /// A command that succeeded with what it prints.
    pub fn output(stdout: String) -> Response {
        Response {
            stdout,
            ..Response::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum SubscriberCommand {
    Add {
        email: String,
        sections: Vec<String>,
        keywords: Vec<String>,
        terms: Vec<String>,
        schedule: Option<String>,
        tz: Option<String>,
        /// `zh-Hant`, `zh-Hans` or `en`; absent in requests from before it existed.
        #[serde(default)]
        lang: Option<String>,
    },
    List,
    Remove {
        email: String,
    },
    /// The CSV text itself (the file is read by the client, which may not be the daemon's
    /// user and so may read files the daemon cannot).
    Import {
        name: String,
        csv: String,
    },
    Export,
}
