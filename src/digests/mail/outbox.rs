//! The outbox transport: one `.eml` file per message, written atomically and named after
//! its Message-ID (DESIGN §6).

use super::*;

/// One `.eml` file per message in a folder, for running without a mail server and for
/// handing mail to another program (e.g. a pickup script that feeds `sendmail -t`).
///
/// The file is `{Message-ID}.eml` (the ID without angle brackets, made safe as a file
/// name), so a message sent again — same ID, by design — replaces its earlier copy. It
/// holds the message as given, preceded by two header fields that record the envelope,
/// `X-Tidings-Envelope-From` and `X-Tidings-Envelope-To`; header fields may come in any
/// order, so the file stays an RFC 5322 message. Files are written to a temporary name
/// (`.tmp-…`, hidden from `*.eml` globs) in the same folder, synced, renamed into place,
/// and the folder synced: a reader never sees half a message, and a message reported sent
/// survives a power cut. Files are created with mode 0600: they carry addresses and
/// personal unsubscribe links.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(super) dir: PathBuf,
}

impl Outbox {
    /// The outbox in `dir`, creating the folder (and its parents) if missing.
    pub async fn open(dir: impl Into<PathBuf>) -> anyhow::Result<Outbox> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating the outbox folder {}", dir.display()))?;
        Ok(Outbox { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the message with this Message-ID is (or would be) written.
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        self.dir.join(format!("{}.eml", file_stem(message_id)))
    }

    pub async fn send(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let from = parse_address(&envelope.from, "sender")?;
        let to = parse_address(&envelope.to, "recipient")?;
        // Match the message's own line endings so the prepended fields do not mix styles.
        let eol = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && bytes[i - 1] == b'\r' => "\r\n",
            Some(_) => "\n",
            None => "\r\n",
        };
        let head =
            format!("X-Tidings-Envelope-From: <{from}>{eol}X-Tidings-Envelope-To: <{to}>{eol}");
        let dir = self.dir.clone();
        let path = self.path_for(message_id);
        let body = bytes.to_vec();
        // File writes and fsync block; keep them off the async workers.
        let written = tokio::task::spawn_blocking(move || {
            write_atomically(&dir, &path, &[head.as_bytes(), &body]).map_err(|e| (path, e))
        })
        .await
        .map_err(|e| SendError::Temporary(format!("outbox writer: {e}")))?;
        written
            .map_err(|(path, e)| SendError::Temporary(format!("writing {}: {e}", path.display())))
    }
}

/// Temporary file in `dir`, all of `parts`, fsync, rename over `path`, fsync of `dir`.
pub(super) fn write_atomically(dir: &Path, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let temp = || {
        tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".eml.part")
            .tempfile_in(dir)
    };
    let mut file = match temp() {
        Ok(file) => file,
        // Someone removed the outbox under the running daemon: make it again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            temp()?
        }
        Err(e) => return Err(e),
    };
    for part in parts {
        file.write_all(part)?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the folder's entry is on disk.
    std::fs::File::open(dir)?.sync_all()
}

/// A file name (without `.eml`) for a Message-ID: the ID without its angle brackets, with
/// anything but `A-Z a-z 0-9 . _ - + = @` replaced by `_` and no leading dot. When that
/// changed the ID (or it is very long), a hash of the original is appended so two IDs
/// cannot share a file.
pub fn file_stem(message_id: &str) -> String {
    let id = message_id.trim();
    let id = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    const MAX: usize = 150;
    let mut stem: String = id
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' | '+' | '=' | '@' => c,
            _ => '_',
        })
        .take(MAX)
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    if stem != id || stem.is_empty() {
        let hash = xxhash_rust::xxh3::xxh3_64(message_id.trim().as_bytes());
        stem.push_str(&format!("-{hash:016x}"));
    }
    stem
}
