//! Log lines with journal priorities (DESIGN §6b). Under systemd, stderr is a stream to
//! journald, which reads a leading `<N>` on a line as its syslog priority (sd-daemon(3));
//! without one every line is `info` and `journalctl -p warning` shows nothing.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The syslog priority of a level: ERROR → err (3), WARN → warning (4), INFO → info (6),
/// DEBUG and TRACE → debug (7).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Whether stderr is the journal stream systemd connected: `JOURNAL_STREAM` holds its
/// `device:inode` (systemd.exec(5)), and a service whose stderr was sent elsewhere
/// (a file, a pipe, a terminal) still inherits the variable, so the two must match.
pub fn is_journal_stream(journal_stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let Some((dev, ino)) = journal_stream.and_then(|v| v.trim().split_once(':')) else {
        return false;
    };
    match (dev.parse::<u64>(), ino.parse::<u64>(), stderr) {
        (Ok(dev), Ok(ino), Some(ours)) => (dev, ino) == ours,
        _ => false,
    }
}

/// [`is_journal_stream`] for this process: `$JOURNAL_STREAM` and fstat(2) of fd 2.
pub fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let variable = std::env::var("JOURNAL_STREAM").ok();
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|fd| std::fs::File::from(fd).metadata())
        .ok()
        .map(|meta| (meta.dev(), meta.ino()));
    is_journal_stream(variable.as_deref(), stderr)
}

/// An event format that puts the priority prefix before what `inner` writes.
pub struct WithPriority<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_level_gets_its_journal_priority() {
        let lines = Lines::default();
        let sink = lines.clone();
        let format = tracing_subscriber::fmt::format()
            .without_time()
            .with_target(false)
            .with_ansi(false);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .event_format(WithPriority(format))
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("reload refused");
            tracing::warn!("rejected: a.txt");
            tracing::info!("configuration reloaded");
            tracing::debug!("sd_notify");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "<3>ERROR reload refused\n\
             <4> WARN rejected: a.txt\n\
             <6> INFO configuration reloaded\n\
             <7>DEBUG sd_notify\n"
        );
    }

    #[test]
    fn only_the_stream_systemd_named_is_the_journal() {
        assert!(is_journal_stream(Some("8:1234"), Some((8, 1234))));
        assert!(is_journal_stream(Some("8:1234\n"), Some((8, 1234))));
        // Inherited, but stderr now goes elsewhere.
        assert!(!is_journal_stream(Some("8:1234"), Some((8, 999))));
        assert!(!is_journal_stream(Some("9:1234"), Some((8, 1234))));
        assert!(!is_journal_stream(None, Some((8, 1234))));
        assert!(!is_journal_stream(Some("8:1234"), None));
        for junk in ["", "8", "8:", ":1234", "x:y", "8:1234:5"] {
            assert!(!is_journal_stream(Some(junk), Some((8, 1234))), "{junk:?}");
        }
    }
}
