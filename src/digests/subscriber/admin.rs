//! Operator commands on subscribers (DESIGN §3: `subscriber add|list|remove|import|export`).
//! Each runs against an open index and returns what the command prints, so the same code
//! serves the CLI (with no daemon running, on an index it opened itself) and the daemon
//! (for a request that arrived over the control socket).

use chrono::Utc;

use crate::config::Config;
use crate::digests::subscriber::{self, Defaults};
use crate::feeds::index::Index;
use crate::model::control::Response;
use crate::model::control::SubscriberCommand;
use crate::model::subscriber::{Status, Subscriber, Topics};

fn fail(message: String) -> Response {
    Response::error(1, message)
}

fn fatal(message: String) -> Response {
    Response::error(2, message)
}

pub fn run(index: &Index, config: &Config, command: SubscriberCommand) -> Response {
    let now = Utc::now().timestamp();
    match command {
        SubscriberCommand::Add {
            email,
            sections,
            keywords,
            terms,
            schedule,
            tz,
            lang,
        } => {
            let lang = match lang.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                None => None,
                Some(l) => match crate::i18n::Lang::parse(l) {
                    Some(lang) => Some(lang),
                    None => return fail(format!("--lang {l:?}: not one of zh-Hant, zh-Hans, en")),
                },
            };
            let topics = match Topics::from_input(&sections, &keywords, &terms) {
                Ok(t) => t,
                Err(e) => return fail(e.to_string()),
            };
            let schedule = schedule.unwrap_or_else(|| config.digest.schedule.clone());
            let tz = tz.unwrap_or_else(|| config.digest.timezone.clone());
            let mut sub = match Subscriber::new(&email, topics, &schedule, &tz, now) {
                Ok(s) => s,
                Err(e) => return fail(e.to_string()),
            };
            // An operator vouches for the address: no confirmation round.
            sub.status = Status::Active;
            sub.lang = lang;
            let existing = match index.subscriber(&sub.key()) {
                Ok(e) => e,
                Err(e) => return fatal(e.to_string()),
            };
            let verb = if existing.is_some() {
                "updated"
            } else {
                "added"
            };
            match existing {
                // Changing topics, schedule or zone keeps what was already delivered.
                Some(old) => {
                    sub.created = old.created;
                    sub.watermark = old.watermark;
                    sub.last_run = old.last_run;
                    sub.lang = lang.or(old.lang);
                }
                None => match index.last_seq() {
                    Ok(seq) => sub.watermark = seq,
                    Err(e) => return fatal(e.to_string()),
                },
            }
            if let Err(e) = index.put_subscribers(std::slice::from_ref(&sub)) {
                return fatal(e.to_string());
            }
            Response::output(format!(
                "{verb} {} ({}; {} {}): {}",
                sub.email,
                sub.status.as_str(),
                sub.schedule,
                sub.tz,
                sub.topics.labels().join("、")
            ))
        }
        SubscriberCommand::List => match index.subscribers() {
            Ok(subs) => {
                let mut out = String::new();
                for s in &subs {
                    out.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\n",
                        s.email,
                        s.status.as_str(),
                        s.schedule,
                        s.tz,
                        s.topics.labels().join("、")
                    ));
                }
                out.push_str(&format!("{} subscribers", subs.len()));
                Response::output(out)
            }
            Err(e) => fatal(e.to_string()),
        },
        SubscriberCommand::Remove { email } => {
            let key = match subscriber::normalize_email(&email) {
                Ok(e) => subscriber::email_key(&e),
                Err(_) => subscriber::email_key(email.trim()),
            };
            match index.remove_subscriber(&key) {
                Ok(true) => Response::output(format!("removed {}", email.trim())),
                Ok(false) => fail(format!("{}: no such subscriber", email.trim())),
                Err(e) => fatal(e.to_string()),
            }
        }
        SubscriberCommand::Import { name, csv } => {
            let watermark = match index.last_seq() {
                Ok(s) => s,
                Err(e) => return fatal(e.to_string()),
            };
            let defaults = Defaults {
                schedule: config.digest.schedule.clone(),
                timezone: config.digest.timezone.clone(),
                status: Status::Active,
                watermark,
            };
            let (rows, bad) = subscriber::import_csv(&csv, &defaults, now);
            let mut fresh = Vec::with_capacity(rows.len());
            let mut existing = 0usize;
            for row in rows {
                match index.subscriber(&row.key()) {
                    Ok(Some(_)) => existing += 1,
                    Ok(None) => fresh.push(row),
                    Err(e) => return fatal(e.to_string()),
                }
            }
            if let Err(e) = index.put_subscribers(&fresh) {
                return fatal(e.to_string());
            }
            Response {
                stdout: format!(
                    "{name}: {} imported, {existing} already subscribed (left as they are), {} bad rows",
                    fresh.len(),
                    bad.len()
                ),
                stderr: bad
                    .iter()
                    .map(|(line, msg)| format!("{name}:{line}: {msg}"))
                    .collect(),
                code: u8::from(!bad.is_empty()),
            }
        }
        SubscriberCommand::Export => match index.subscribers() {
            Ok(subs) => Response::output(subscriber::export_csv(&subs).trim_end().to_string()),
            Err(e) => fatal(e.to_string()),
        },
    }
}
