//! Can this configuration run? One check, used before `tidings run` starts, before `build`
//! opens the index, at every reload and by `tidings check` (DESIGN §6b: a configuration
//! that cannot work is refused whole and the running one kept).
//!
//! [`keys`] is pure: the values that `config` cannot judge from its own layer (cron
//! schedules, the sender's mailbox). [`problems`] adds the file system: the store is a
//! readable folder, the state, output and outbox folders exist writable or can be
//! created, the digest key and the SMTP secrets can be read. It only looks — nothing is
//! created or written, so a refused start leaves no empty `state/` behind.

use std::io::ErrorKind;
use std::path::Path;
use std::str::FromStr;

use rustix::fs::Access;

use crate::config::{Config, ConfigError, Problem, Transport};

/// What the configuration is about to be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `tidings build`: the store, the state and the output.
    Build,
    /// `tidings run`, a reload, `tidings check`: all of it, mail included.
    Run,
}

/// Every problem that keeps `config` from working for `purpose`; empty when it can.
pub fn problems(config: &Config, purpose: Purpose) -> Vec<Problem> {
    let mut found = keys(config);
    let mut bad = |key: &str, reason: Result<(), String>| {
        if let Err(reason) = reason {
            found.push(config.problem(key, reason));
        }
    };
    bad("store.path", readable_folder(&config.store.path));
    bad("state.path", writable_folder(&config.state.path));
    bad("feeds.output", writable_folder(&config.feeds.output));
    if purpose == Purpose::Build {
        return found;
    }
    bad("digest.secret_file", key_file(&config.digest.secret_file));
    match config.mail.transport {
        Transport::Outbox => bad("mail.outbox", writable_folder(&config.mail.outbox)),
        Transport::Smtp => {
            let smtp = &config.mail.smtp;
            if !smtp.username.is_empty() {
                bad(
                    "mail.smtp.password_file",
                    readable_file(&smtp.password_file),
                );
            }
            if !smtp.ca_file.as_os_str().is_empty() {
                bad("mail.smtp.ca_file", readable_file(&smtp.ca_file));
            }
        }
    }
    found
}

/// [`problems`] as a result: the configuration, or all that is wrong with it.
pub fn ensure(config: &Config, purpose: Purpose) -> Result<(), ConfigError> {
    let found = problems(config, purpose);
    match found.is_empty() {
        true => Ok(()),
        false => Err(ConfigError::Invalid(found)),
    }
}

/// The keys whose check needs the digest side: `digest.schedule` must be a schedule
/// `subscriber add` accepts (it is every new subscriber's default), `mail.from` a mailbox.
pub fn keys(config: &Config) -> Vec<Problem> {
    let mut found = Vec::new();
    if let Err(e) = crate::digests::subscriber::validate_schedule(&config.digest.schedule) {
        found.push(config.problem("digest.schedule", e.to_string()));
    }
    if let Err(e) = lettre::message::Mailbox::from_str(config.mail.from.trim()) {
        let reason = format!(
            "{:?} is not a mailbox such as \"tidings <news@example.org>\": {e}",
            config.mail.from
        );
        found.push(config.problem("mail.from", reason));
    }
    found
}

fn readable_folder(path: &Path) -> Result<(), String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            rustix::fs::access(path, Access::READ_OK | Access::EXEC_OK)
                .map_err(|e| format!("{shown}: cannot read the folder: {e}"))?;
            std::fs::read_dir(path)
                .map(drop)
                .map_err(|e| format!("{shown}: cannot read the folder: {e}"))
        }
        Ok(_) => Err(format!("{shown} is not a folder")),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            Err(format!("{shown}: no such folder"))
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// A folder that is there and writable, or that could be created: its nearest existing
/// ancestor is a writable folder.
fn writable_folder(path: &Path) -> Result<(), String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => rustix::fs::access(path, Access::WRITE_OK | Access::EXEC_OK)
            .map_err(|e| format!("{shown}: cannot write in the folder: {e}")),
        Ok(_) => Err(format!("{shown} is not a folder")),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            creatable(path)
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// Whether `path`, which does not exist, could be created (with its missing parents).
fn creatable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    for ancestor in path.ancestors().skip(1) {
        let ancestor = if ancestor.as_os_str().is_empty() {
            Path::new(".")
        } else {
            ancestor
        };
        match std::fs::metadata(ancestor) {
            Ok(meta) if meta.is_dir() => {
                return rustix::fs::access(ancestor, Access::WRITE_OK | Access::EXEC_OK).map_err(
                    |e| format!("{shown} cannot be created: {}: {e}", ancestor.display()),
                );
            }
            Ok(_) => {
                return Err(format!(
                    "{shown} cannot be created: {} is not a folder",
                    ancestor.display()
                ))
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {}
            Err(e) => return Err(format!("{shown} cannot be created: {e}")),
        }
    }
    Err(format!("{shown} cannot be created"))
}

fn readable_file(path: &Path) -> Result<(), String> {
    std::fs::File::open(path)
        .and_then(|f| f.metadata())
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|meta| match meta.is_file() {
            true => Ok(()),
            false => Err(format!("{} is not a file", path.display())),
        })
}

/// The digest key: a valid key file, or none yet in a folder where the first start can
/// create it.
fn key_file(path: &Path) -> Result<(), String> {
    match std::fs::read_to_string(path) {
        Ok(text) => crate::digests::token::parse_key_file(&text)
            .map(drop)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == ErrorKind::NotFound => match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => writable_folder(dir)
                .map_err(|why| format!("{} cannot be created: {why}", path.display())),
            _ => Ok(()),
        },
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemdDirs;

    fn config_in(dir: &Path, text: &str) -> Config {
        Config::parse(text)
            .unwrap()
            .resolve(dir, &SystemdDirs::default())
    }

    fn reasons(config: &Config, purpose: Purpose) -> Vec<String> {
        problems(config, purpose)
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    #[test]
    fn schedules_that_subscriber_add_refuses_are_refused() {
        for schedule in ["61 25 * * *", "0 8 * *", "@fortnightly"] {
            let text = format!("[digest]\nschedule = \"{schedule}\"\n");
            let found = keys(&Config::parse(&text).unwrap());
            assert_eq!(found.len(), 1, "{schedule}: {found:?}");
            let line = found[0].to_string();
            assert!(line.starts_with("line 2: digest.schedule: "), "{line}");
        }
        // `@instant` as the site default: new subscribers get alerts (DESIGN §4).
        for schedule in ["0 8 * * 1", "@hourly", "*/15 6-22 * * 1-5", "@instant"] {
            let text = format!("[digest]\nschedule = \"{schedule}\"\n");
            assert!(
                keys(&Config::parse(&text).unwrap()).is_empty(),
                "{schedule}"
            );
        }
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        let found = keys(&Config::parse("[mail]\nfrom = \"not an address\"\n").unwrap());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().starts_with("line 2: mail.from: "));
    }

    #[test]
    fn a_site_that_can_run_has_no_problem_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("articles")).unwrap();
        let config = config_in(dir.path(), "");
        assert_eq!(reasons(&config, Purpose::Run), Vec::<String>::new());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "preflight created something: {left:?}");
    }

    #[test]
    fn a_missing_store_and_an_output_under_a_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain"), "").unwrap();
        let config = config_in(dir.path(), "[feeds]\noutput = \"plain/feeds\"\n");
        let found = reasons(&config, Purpose::Build);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("store.path: "), "{found:?}");
        assert!(found[0].ends_with("articles: no such folder"), "{found:?}");
        assert!(found[1].starts_with("line 2: feeds.output: "), "{found:?}");
        assert!(found[1].ends_with("plain is not a folder"), "{found:?}");
    }

    #[test]
    fn a_store_that_is_a_file_and_a_bad_key_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("articles"), "").unwrap();
        std::fs::write(dir.path().join("digest.key"), "short\n").unwrap();
        let config = config_in(dir.path(), "");
        let found = reasons(&config, Purpose::Run);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].ends_with("articles is not a folder"), "{found:?}");
        assert!(found[1].starts_with("digest.secret_file: "), "{found:?}");
        // `build` sends no mail: the key is not its business.
        assert_eq!(reasons(&config, Purpose::Build).len(), 1);
    }

    #[test]
    fn smtp_secrets_must_be_readable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("articles")).unwrap();
        let text = "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nusername = \"u\"\n\
                    password_file = \"/nonexistent/password\"\nca_file = \"/nonexistent/ca.pem\"\n";
        let found = reasons(&config_in(dir.path(), text), Purpose::Run);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("line 5: mail.smtp.password_file: "),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("line 6: mail.smtp.ca_file: "),
            "{found:?}"
        );
    }
}
