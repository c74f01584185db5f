//! A feed's identity (DESIGN §2): all, a section path or a keyword, named by folded keys,
//! and the stable, filesystem-safe folder each feed is written to. Which topics an
//! article belongs to is `feeds::topic`.

use serde::{Deserialize, Serialize};

use crate::config::Format;
use crate::model::limits::MAX_SECTION_DEPTH;

/// A feed's identity. Section segments and keywords are folded (NFKC + T→S).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Topic {
    All,
    Section(Vec<String>),
    Keyword(String),
}

/// The longest folder name [`safe_name`] makes, in bytes (long names are cut and hashed).
pub const MAX_NAME_BYTES: usize = 120;

/// Separates a topic key's parts; folded names never hold control characters.
const SEP: char = '\u{1f}';

/// Pages the keyword feeds of the manifest are spread over (DESIGN §2: `index.json` may be
/// split into pages linked from its first). A keyword's page is a hash of its folded key,
/// so it never moves, and a change to one feed rewrites one page of about
/// vocabulary / 1024 feeds (some 60 at 60,000 keywords) instead of the whole manifest.
pub const MANIFEST_PAGES: usize = 1024;

/// The file of one manifest page below `feeds.output`.
pub fn manifest_page_file(page: u16) -> String {
    format!("index/keywords-{page:03x}.json")
}
impl Topic {
    /// `"all"`, `"section"` or `"keyword"`, as in `index.json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Topic::All => "all",
            Topic::Section(_) => "section",
            Topic::Keyword(_) => "keyword",
        }
    }

    /// The manifest's `key`: the folded section path joined by `/`, or the folded keyword.
    pub fn manifest_key(&self) -> String {
        match self {
            Topic::All => String::new(),
            Topic::Section(path) => path.join("/"),
            Topic::Keyword(k) => k.clone(),
        }
    }

    /// The manifest page that lists a keyword feed (`None`: `all` and sections, which
    /// the first page lists).
    pub fn manifest_page(&self) -> Option<u16> {
        match self {
            Topic::Keyword(k) => {
                Some((xxhash_rust::xxh3::xxh3_64(k.as_bytes()) % MANIFEST_PAGES as u64) as u16)
            }
            _ => None,
        }
    }

    /// The topic whose folder [`Topic::dir`] would be `dir` if no name in it had to
    /// change; the caller checks that its `dir()` is `dir` indeed.
    pub fn from_dir(dir: &str) -> Option<Topic> {
        let mut parts = dir.split('/');
        let topic = match parts.next()? {
            "all" => Topic::All,
            "section" => Topic::Section(parts.by_ref().map(str::to_string).collect()),
            "keyword" => Topic::Keyword(parts.next()?.to_string()),
            _ => return None,
        };
        match &topic {
            Topic::Section(path) if path.is_empty() || path.iter().any(String::is_empty) => None,
            _ if parts.next().is_some() => None,
            _ => Some(topic),
        }
    }

    /// Compact, order-preserving byte key for the index.
    pub fn index_key(&self) -> Vec<u8> {
        let s = match self {
            Topic::All => "a".to_string(),
            Topic::Section(path) => {
                let mut s = String::from("s");
                for seg in path {
                    s.push(SEP);
                    s.push_str(seg);
                }
                s
            }
            Topic::Keyword(k) => format!("k{SEP}{k}"),
        };
        s.into_bytes()
    }

    pub fn from_index_key(key: &[u8]) -> Option<Topic> {
        let s = std::str::from_utf8(key).ok()?;
        let mut parts = s.split(SEP);
        match parts.next()? {
            "a" => Some(Topic::All),
            "s" => Some(Topic::Section(parts.map(str::to_string).collect())),
            "k" => parts.next().map(|k| Topic::Keyword(k.to_string())),
            _ => None,
        }
    }

    /// The feed's folder below `feeds.output`, `/`-separated: `all`,
    /// `section/党派·声音/统一战线`, `keyword/重庆市`. A parent section's folder holds its
    /// children's folders beside its own files. Every name is at most [`MAX_NAME_BYTES`]
    /// and a path at most [`MAX_SECTION_DEPTH`] of them, so a folder is valid within
    /// NAME_MAX (255 bytes) and PATH_MAX (4096) on any filesystem, whatever the names.
    pub fn dir(&self) -> String {
        match self {
            Topic::All => "all".to_string(),
            // Deeper than an article may be (an index written before the limits of one
            // article existed): one hashed folder, so the path stays short at any depth.
            Topic::Section(path) if path.len() > MAX_SECTION_DEPTH => {
                let hash = xxhash_rust::xxh3::xxh3_64(&self.index_key());
                format!("section/_deep~{hash:016x}")
            }
            Topic::Section(path) => {
                let mut dir = String::from("section");
                for seg in path {
                    dir.push('/');
                    dir.push_str(&safe_name(seg));
                }
                dir
            }
            Topic::Keyword(k) => format!("keyword/{}", safe_name(k)),
        }
    }

    /// Relative path of one format's file, e.g. `keyword/重庆市/rss.xml`.
    pub fn file(&self, format: Format) -> String {
        format!("{}/{}", self.dir(), format.file_name())
    }

    /// Relative path of one archive page (DESIGN §2 "Archives"), numbered from 1, oldest
    /// first: `keyword/重庆市/archive/3.atom.xml`.
    pub fn archive_file(&self, page: u32, format: Format) -> String {
        format!(
            "{}/{ARCHIVE_DIR}/{}",
            self.dir(),
            archive_name(page, format)
        )
    }
}

/// The folder below a feed's folder that holds its archive pages.
pub const ARCHIVE_DIR: &str = "archive";

/// The file name of one archive page: `3.xml` (RSS), `3.atom.xml`, `3.json`.
pub fn archive_name(page: u32, format: Format) -> String {
    let ext = match format {
        Format::Rss => "xml",
        Format::Atom => "atom.xml",
        Format::Json => "json",
    };
    format!("{page}.{ext}")
}

/// The page and format an archive file name stands for (`3.atom.xml` → 3, Atom); `None`
/// for any other name. Page numbers start at 1 and are written without leading zeros,
/// so each page has one name.
pub fn parse_archive_name(name: &str) -> Option<(u32, Format)> {
    let (digits, ext) = name.split_once('.')?;
    let format = match ext {
        "xml" => Format::Rss,
        "atom.xml" => Format::Atom,
        "json" => Format::Json,
        _ => return None,
    };
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    let page = digits.parse().ok().filter(|_| canonical)?;
    Some((page, format))
}

/// A folder name that is valid on Linux, macOS and Windows filesystems. Names that need
/// no change stay readable as they are; any name that had to change gets a short hash of
/// the original appended, so two different names never share a folder.
pub fn safe_name(name: &str) -> String {
    const MAX_BYTES: usize = MAX_NAME_BYTES;
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    while out.ends_with(['.', ' ']) {
        out.pop();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    // A feed's own files, and the names of archive pages: a section folder named like
    // them would collide with its parent's `archive/` files.
    let ours =
        Format::ALL.iter().any(|f| f.file_name() == out) || parse_archive_name(&out).is_some();
    if out.is_empty() || out.starts_with(['.', ' ', '-']) || reserved || ours {
        out.insert(0, '_');
    }
    if out.len() > MAX_BYTES {
        let mut cut = MAX_BYTES - 10;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    if out != name {
        let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        out = format!("{out}~{:08x}", hash as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(safe_name("重庆市"), "重庆市");
        assert_eq!(safe_name("党派·声音"), "党派·声音");
        assert_eq!(safe_name("AI 2026"), "AI 2026");
    }

    #[test]
    fn unsafe_names_are_changed_and_never_collide() {
        for bad in [
            "a/b", "a:b", "CON", "com1.txt", "..", "", ".hidden", "rss.xml", "x. ",
        ] {
            let safe = safe_name(bad);
            assert_ne!(safe, bad);
            assert!(!safe.contains(['/', ':', '\\']), "{safe}");
            assert!(!safe.starts_with('.'), "{safe}");
        }
        assert_ne!(safe_name("a:b"), safe_name("a_b"));
        assert_ne!(safe_name("a/b"), safe_name("a:b"));
        let long = "長".repeat(100);
        let safe = safe_name(&long);
        assert!(safe.len() <= 120, "{}", safe.len());
        assert_ne!(safe_name(&"長".repeat(101)), safe);
    }

    #[test]
    fn folders_stay_short_at_any_length_and_depth() {
        let long = "長".repeat(5000);
        for topic in [
            Topic::Keyword(long.clone()),
            Topic::Section(vec![long.clone(); MAX_SECTION_DEPTH]),
            Topic::Section(vec!["欄目".to_string(); 700]),
            Topic::Section(vec![long.clone(); 4000]),
        ] {
            let dir = topic.dir();
            assert!(
                dir.len() <= 8 + MAX_SECTION_DEPTH * (MAX_NAME_BYTES + 1),
                "{}",
                dir.len()
            );
            assert!(
                dir.split('/').all(|name| name.len() <= MAX_NAME_BYTES),
                "{dir}"
            );
        }
        let deep = |n| Topic::Section(vec!["欄目".to_string(); n]).dir();
        assert_ne!(deep(700), deep(701));
        assert_eq!(deep(2), "section/欄目/欄目");
    }

    #[test]
    fn index_keys_round_trip_and_keep_kind_order() {
        let topics = [
            Topic::All,
            Topic::Section(vec!["党派·声音".into()]),
            Topic::Section(vec!["党派·声音".into(), "统一战线".into()]),
            Topic::Keyword("重庆市".into()),
        ];
        for t in &topics {
            assert_eq!(Topic::from_index_key(&t.index_key()).as_ref(), Some(t));
        }
        assert_eq!(topics[2].manifest_key(), "党派·声音/统一战线");
        assert_eq!(topics[2].dir(), "section/党派·声音/统一战线");
        assert_eq!(topics[3].file(Format::Json), "keyword/重庆市/feed.json");
        for t in &topics {
            assert_eq!(Topic::from_dir(&t.dir()).as_ref(), Some(t));
        }
        assert_eq!(Topic::from_dir("keyword/a/b"), None);
        assert_eq!(Topic::from_dir("section"), None);
        assert_eq!(Topic::from_dir("nothing"), None);
        let renamed = Topic::Keyword("a/b".into());
        assert_ne!(Topic::from_dir(&renamed.dir()).as_ref(), Some(&renamed));
    }

    #[test]
    fn archive_names_round_trip_and_never_collide_with_section_folders() {
        for format in Format::ALL {
            for page in [1, 9, 10, 4321] {
                let name = archive_name(page, format);
                assert_eq!(parse_archive_name(&name), Some((page, format)), "{name}");
            }
        }
        assert_eq!(
            Topic::All.archive_file(2, Format::Atom),
            "all/archive/2.atom.xml"
        );
        for bad in [
            "0.xml",
            "01.xml",
            "x.xml",
            ".xml",
            "1.rss",
            "1",
            "1.feed.json",
        ] {
            assert_eq!(parse_archive_name(bad), None, "{bad}");
        }
        // A section named like an archive page gets another folder name.
        assert_ne!(safe_name("1.xml"), "1.xml");
        assert_eq!(safe_name("archive"), "archive");
    }
}
