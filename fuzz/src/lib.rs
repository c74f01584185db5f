//! The few tidings paths the fuzz targets use, in one place: when a module moves (say
//! `tidings::article` to `tidings::feeds::article`), only this file changes.

pub use tidings::model::article::{Article, Layout};
pub use tidings::config::{Config, Format};
pub use tidings::preflight::keys as config_keys;
pub use tidings::digests::schedule::{due, Cron, Due, ScheduleError};
pub use tidings::digests::token::{sign, verify, Purpose};
pub use tidings::feeds::topic::topics_of;
pub use tidings::model::topic::Topic;

/// Longest file name component Linux filesystems take (ext4, XFS, btrfs: `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest path the kernel takes in one system call (`PATH_MAX`, with its NUL).
pub const PATH_MAX: usize = 4096;

/// Checks what a parsed article promises every later stage, and that the feed files it
/// leads to can exist: each folder name within `NAME_MAX`, each path (below a short
/// `feeds.output` such as `/var/cache/tidings/`) within `PATH_MAX`. DESIGN §2: "names
/// safe on any filesystem".
pub fn check_article(article: &Article) {
    assert!(!article.title.trim().is_empty(), "empty title");
    assert!(!article.title.contains('\n'), "title spans lines");
    assert!(!article.sections.is_empty(), "no section");
    for s in &article.sections {
        assert!(!s.trim().is_empty(), "empty section name");
    }
    let mut seen = std::collections::HashSet::new();
    for k in &article.keywords {
        assert!(!k.is_empty(), "empty keyword");
        assert!(seen.insert(k), "duplicate keyword {k:?}");
    }
    const OUTPUT: &str = "/var/cache/tidings/";
    for (topic, _) in topics_of(article) {
        let file = topic.file(Format::Atom);
        for part in file.split('/') {
            assert!(
                part.len() <= NAME_MAX,
                "folder name of {} bytes (NAME_MAX {NAME_MAX})",
                part.len()
            );
        }
        // Known (a breadcrumb of ~700 crumbs): asserted only with FUZZ_KNOWN set, so that
        // a plain run looks for new findings instead of meeting this one again and again.
        assert!(
            !known_findings() || OUTPUT.len() + file.len() < PATH_MAX,
            "feed path of {} bytes (PATH_MAX {PATH_MAX}), {} sections deep",
            OUTPUT.len() + file.len(),
            article.sections.len()
        );
    }
}

/// Whether to assert findings already reported and not yet fixed (`FUZZ_KNOWN=1`, as
/// scripts/fuzz.sh sets when it replays fuzz/regressions/).
pub fn known_findings() -> bool {
    static KNOWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KNOWN.get_or_init(|| std::env::var_os("FUZZ_KNOWN").is_some_and(|v| v == "1"))
}
