//! newsboat (Debian's package), the terminal feed reader, run once per call with
//! `-x reload` in a home of its own; what it stored is read back from its SQLite cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{program, python, INSTALL_NEWSBOAT};

/// An item as newsboat stored it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
pub struct Item {
    /// The URL of the feed it was read from, as listed.
    pub feed: String,
    pub guid: String,
    pub title: String,
}

/// A newsboat home (its URL list, configuration and cache) in a folder of its own.
pub struct Newsboat {
    program: PathBuf,
    home: PathBuf,
}

impl Newsboat {
    /// Panics with the install line when newsboat is missing.
    pub fn new(home: &Path) -> Newsboat {
        let program = program("newsboat", INSTALL_NEWSBOAT);
        std::fs::create_dir_all(home).unwrap();
        std::fs::write(home.join("config"), "").unwrap();
        Newsboat {
            program,
            home: home.to_path_buf(),
        }
    }

    /// Reloads `urls` (asserting that newsboat succeeds) and returns every item in its
    /// cache, of these feeds and of earlier reloads.
    pub fn reload(&self, urls: &[String]) -> Vec<Item> {
        let home = &self.home;
        let list: String = urls.iter().map(|u| format!("{u}\n")).collect();
        std::fs::write(home.join("urls"), list).unwrap();
        let out = Command::new(&self.program)
            .arg("-u")
            .arg(home.join("urls"))
            .arg("-C")
            .arg(home.join("config"))
            .arg("-c")
            .arg(home.join("cache.db"))
            .arg("-x")
            .arg("reload")
            .env("HOME", home)
            .output()
            .unwrap();
        assert!(out.status.success(), "newsboat: {out:?}");
        let read = python(
            "import sqlite3, sys, json\n\
             rows = sqlite3.connect(sys.argv[1]).execute(\
                 'select feedurl, guid, title from rss_item order by id')\n\
             print(json.dumps([dict(feed=f, guid=g, title=t) for f, g, t in rows]))",
            [home.join("cache.db")],
        );
        serde_json::from_str(&read).unwrap()
    }

    /// The titles of [`reload`](Self::reload)'s items.
    pub fn reload_titles(&self, urls: &[String]) -> Vec<String> {
        self.reload(urls).into_iter().map(|i| i.title).collect()
    }
}
