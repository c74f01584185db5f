//! The command line (DESIGN §3): parses arguments, loads the configuration and runs a
//! command, turning results into output lines and exit codes (0 ok, 1 problems found,
//! 2 fatal).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod journal;

use crate::config::{self, Config, SystemdDirs};
use crate::feeds::publish;
use crate::model::control::SubscriberCommand;
use crate::preflight;

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "Feeds and email digests from a news article store"
)]
pub struct Args {
    /// Configuration file [default: $TIDINGS_CONFIG, then ./config.toml, then built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index the store, write every feed, exit
    Build {
        /// Exit 1 when any article was rejected
        #[arg(long)]
        strict: bool,
        /// Write the files of every feed, the long tail of keywords included (for a site
        /// served by a plain web server; `tidings run` renders those on request)
        #[arg(long)]
        all_feeds: bool,
        /// The report as one line of JSON on stdout, problems included, and exit 0 once it
        /// is made: how `tidings run` has its first indexing done in a child process
        /// (daemon::first_start). Not for operators: its form may change.
        #[arg(long, hide = true)]
        json_report: bool,
    },
    /// Validate the configuration and every article; exit 1 on problems
    Check,
    /// The daemon: watch the store, publish, serve
    Run,
    /// Manage digest subscribers
    #[command(subcommand)]
    Subscriber(SubscriberArgs),
    /// Preview or send digests
    #[command(subcommand)]
    Digest(DigestArgs),
    /// Have the running daemon re-read its configuration; exit 0 adopted, 1 refused, 2 no
    /// daemon running
    Reload,
}

#[derive(Debug, Subcommand)]
pub enum DigestArgs {
    /// Print the digest EMAIL would get now (the text part)
    Preview {
        email: String,
        /// The HTML part instead
        #[arg(long)]
        html: bool,
    },
    /// Send every digest that is due
    Send {
        /// Every active subscriber's, due or not
        #[arg(long)]
        now: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriberArgs {
    /// Add a subscriber (active at once: an operator vouches for the address), or change one
    Add {
        email: String,
        /// A section path, e.g. "黨派·聲音 > 統一戰線" (repeatable)
        #[arg(long = "section", value_name = "PATH")]
        sections: Vec<String>,
        /// A keyword (repeatable)
        #[arg(long = "keyword", value_name = "K")]
        keywords: Vec<String>,
        /// A free-text term matched in titles and bodies (repeatable)
        #[arg(long = "term", value_name = "T")]
        terms: Vec<String>,
        /// 5-field cron, @hourly/@daily/@weekly, or @instant (alerts) [default: digest.schedule]
        #[arg(long, value_name = "CRON")]
        schedule: Option<String>,
        /// IANA time zone [default: digest.timezone]
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// The language of the subscriber's mails: zh-Hant, zh-Hans or en [default: the
        /// subscriber's so far, else site.language's]
        #[arg(long, value_name = "LANG")]
        lang: Option<String>,
    },
    /// List subscribers (tab-separated: email, status, schedule, zone, topics)
    List,
    /// Remove a subscriber
    Remove { email: String },
    /// Import subscribers from CSV (email,sections,keywords,terms,schedule,timezone,status,lang)
    Import { file: PathBuf },
    /// Export subscribers as CSV
    Export,
}

/// Loads the configuration the flags and environment point at.
pub fn load_config(flag: Option<&std::path::Path>) -> anyhow::Result<Config> {
    match config_file(flag) {
        Some(path) => Ok(Config::from_file(&path)?),
        None => {
            let cwd = std::env::current_dir().context("current directory")?;
            Ok(Config::parse(config::EMBEDDED_DEFAULTS)?.resolve(&cwd, &SystemdDirs::from_env()))
        }
    }
}

/// Writes `text` and a line break to standard output. A reader that has gone (`tidings
/// … | head`) ends the command quietly with exit 0: it took what it wanted, as a closed
/// pipe quietly ends Unix tools. Any other failure to write ends it with exit 2.
fn out(text: &str) {
    if let Err(e) = write_line(&mut std::io::stdout().lock(), text) {
        std::process::exit(match e.kind() {
            std::io::ErrorKind::BrokenPipe => 0,
            _ => 2,
        });
    }
}

/// [`out`] for standard error, except that a closed stderr is no reason to stop: the
/// command carries on to its own exit code, which then is all that tells its outcome.
fn err(text: &str) {
    let _ = write_line(&mut std::io::stderr().lock(), text);
}

fn write_line(stream: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    writeln!(stream, "{text}")?;
    stream.flush()
}

/// Prints what a command answered and turns its code into the exit code.
fn print_response(answer: &crate::model::control::Response) -> ExitCode {
    for line in &answer.stderr {
        err(line);
    }
    if !answer.stdout.is_empty() {
        out(&answer.stdout);
    }
    ExitCode::from(answer.code)
}

/// The config file in use (for reloads), if any.
fn config_file(flag: Option<&std::path::Path>) -> Option<PathBuf> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let cwd_has = std::path::Path::new("config.toml").is_file();
    config::locate(flag, &env, cwd_has)
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} articles {per_sec} eta {eta}")
            .expect("static template"),
    );
    bar
}

pub fn run(args: Args) -> ExitCode {
    match execute(args) {
        Ok(code) => code,
        Err(e) => {
            // A configuration's problems, one line each (DESIGN §3: each names the file,
            // line and key).
            match e.downcast_ref::<config::ConfigError>() {
                Some(problems) => {
                    for line in problems.lines() {
                        err(&format!("tidings: {line}"));
                    }
                }
                None => err(&format!("tidings: {e:#}")),
            }
            ExitCode::from(2)
        }
    }
}

/// Logs for the daemon: plain lines on stderr — no colours off a terminal. Under systemd,
/// when stderr is the journal's stream, no timestamps (the journal adds its own) and each
/// line carries its priority (DESIGN §6b).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let plain = tracing_subscriber::fmt::format().with_target(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if journal::stderr_is_journal() {
        let format = plain.without_time().with_ansi(false);
        builder.event_format(journal::WithPriority(format)).init();
    } else {
        let terminal = std::io::stderr().is_terminal();
        builder
            .event_format(plain.with_ansi(terminal))
            .with_ansi(terminal)
            .init();
    }
}

/// `tidings reload` (DESIGN §6b): the daemon reads the file and judges it; this only has
/// to find the daemon's control socket, also when the file no longer parses.
fn reload(flag: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let state = match config_file(flag) {
        Some(path) => Config::state_path_of(&path),
        None => load_config(None)?.state.path,
    };
    match crate::daemon::control::request(&state, &crate::model::control::Request::Reload) {
        Some(answer) => Ok(print_response(&answer.context("control socket")?)),
        None => {
            err(&format!(
                "tidings: no daemon is running on {} (no control socket answers at {})",
                state.display(),
                crate::daemon::control::socket_path(&state).display()
            ));
            Ok(ExitCode::from(2))
        }
    }
}

fn execute(args: Args) -> anyhow::Result<ExitCode> {
    if let Command::Reload = args.command {
        return reload(args.config.as_deref());
    }
    let config = load_config(args.config.as_deref())?;
    match args.command {
        Command::Reload => unreachable!("handled before the configuration is loaded"),
        Command::Run => {
            init_logging();
            let config_path = config_file(args.config.as_deref());
            let options = crate::daemon::Options {
                first_start: Some(crate::daemon::first_start::ChildBuild::of_this_binary(
                    config_path.clone(),
                )),
                config_path,
                ..Default::default()
            };
            crate::daemon::main(options, config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Subscriber(args) => {
            let command = match args {
                SubscriberArgs::Add {
                    email,
                    sections,
                    keywords,
                    terms,
                    schedule,
                    tz,
                    lang,
                } => SubscriberCommand::Add {
                    email,
                    sections,
                    keywords,
                    terms,
                    schedule,
                    tz,
                    lang,
                },
                SubscriberArgs::List => SubscriberCommand::List,
                SubscriberArgs::Remove { email } => SubscriberCommand::Remove { email },
                SubscriberArgs::Import { file } => SubscriberCommand::Import {
                    name: file.display().to_string(),
                    csv: std::fs::read_to_string(&file)
                        .with_context(|| format!("{}", file.display()))?,
                },
                SubscriberArgs::Export => SubscriberCommand::Export,
            };
            let request = crate::model::control::Request::Subscriber {
                request: command.clone(),
            };
            let answer = match crate::daemon::control::request(&config.state.path, &request) {
                Some(answer) => answer.context("control socket")?,
                None => {
                    let index = crate::feeds::index::Index::open(&config.state.path)?;
                    crate::digests::subscriber::admin::run(&index, &config, command)
                }
            };
            Ok(print_response(&answer))
        }
        Command::Digest(args) => {
            let request = match &args {
                DigestArgs::Preview { email, html } => crate::model::control::Request::Preview {
                    email: email.clone(),
                    html: *html,
                },
                DigestArgs::Send { now } => crate::model::control::Request::Send { all: *now },
            };
            if let Some(answer) = crate::daemon::control::request(&config.state.path, &request) {
                return Ok(print_response(&answer.context("control socket")?));
            }
            let index = std::sync::Arc::new(crate::feeds::index::Index::open(&config.state.path)?);
            let answer = match args {
                DigestArgs::Preview { email, html } => {
                    crate::digests::round::preview_command(&index, &config, &email, html)
                }
                DigestArgs::Send { now } => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting the async runtime")?
                    .block_on(crate::digests::round::send_command(index, &config, now)),
            };
            Ok(print_response(&answer))
        }
        Command::Build {
            strict,
            all_feeds,
            json_report,
        } => {
            // Before anything is opened: a refused build writes nothing.
            preflight::ensure(&config, preflight::Purpose::Build)?;
            if json_report {
                // Its stderr is the daemon's: what the indexing warns of is logged as the
                // daemon's own lines are (under systemd, with journal priorities). The
                // daemon let go of the index a moment ago; no control socket is asked,
                // since the daemon that would answer is the one waiting for this.
                init_logging();
                let patience = crate::daemon::first_start::LOCK_PATIENCE;
                let report = publish::build(&config, all_feeds, patience, &ProgressBar::hidden())?;
                out(&serde_json::to_string(&report).context("the build report")?);
                return Ok(ExitCode::SUCCESS);
            }
            // A running daemon owns the index: hand it the request.
            let request = crate::model::control::Request::Build { strict, all_feeds };
            if let Some(answer) = crate::daemon::control::request(&config.state.path, &request) {
                return Ok(print_response(&answer.context("control socket")?));
            }
            let report = publish::build(
                &config,
                all_feeds,
                std::time::Duration::ZERO,
                &progress_bar(),
            )?;
            for line in report.problem_lines() {
                err(&line);
            }
            out(&report.to_string());
            Ok(ExitCode::from(report.exit_code(strict)))
        }
        Command::Check => {
            preflight::ensure(&config, preflight::Purpose::Run)?;
            let report = publish::check(&config, &progress_bar())?;
            for r in &report.rejected {
                err(&format!("rejected: {r}"));
            }
            out(&format!(
                "config ok; {} articles ok, {} rejected",
                report.articles,
                report.rejected.len()
            ));
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
