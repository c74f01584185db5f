//! The command line (DESIGN §3): parses arguments, loads the configuration and runs a
//! command, turning results into output lines and exit codes (0 ok, 1 problems found,
//! 2 fatal).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{self, Config, SystemdDirs};
use crate::feeds::publish;
use crate::model::control::SubscriberCommand;

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
        /// 5-field cron or @hourly/@daily/@weekly [default: digest.schedule]
        #[arg(long, value_name = "CRON")]
        schedule: Option<String>,
        /// IANA time zone [default: digest.timezone]
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
    },
    /// List subscribers (tab-separated: email, status, schedule, zone, topics)
    List,
    /// Remove a subscriber
    Remove { email: String },
    /// Import subscribers from CSV (email,sections,keywords,terms,schedule,timezone,status)
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

/// Prints what a command answered and turns its code into the exit code.
fn print_response(answer: &crate::model::control::Response) -> ExitCode {
    for line in &answer.stderr {
        eprintln!("{line}");
    }
    if !answer.stdout.is_empty() {
        println!("{}", answer.stdout);
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
            eprintln!("tidings: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs for the daemon: plain lines on stderr — no colours off a terminal, and no
/// timestamps under systemd, whose journal adds its own.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    if journald {
        builder.without_time().init();
    } else {
        builder.init();
    }
}

fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    match args.command {
        Command::Run => {
            init_logging();
            let options = crate::daemon::Options {
                config_path: config_file(args.config.as_deref()),
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
                } => SubscriberCommand::Add {
                    email,
                    sections,
                    keywords,
                    terms,
                    schedule,
                    tz,
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
        Command::Build { strict, all_feeds } => {
            // A running daemon owns the index: hand it the request.
            let request = crate::model::control::Request::Build { strict, all_feeds };
            if let Some(answer) = crate::daemon::control::request(&config.state.path, &request) {
                return Ok(print_response(&answer.context("control socket")?));
            }
            let report = publish::build(&config, all_feeds, &progress_bar())?;
            for r in &report.rejected {
                eprintln!("rejected: {r}");
            }
            println!("{report}");
            Ok(if strict && !report.rejected.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Check => {
            let report = publish::check(&config, &progress_bar())?;
            for r in &report.rejected {
                eprintln!("rejected: {r}");
            }
            println!(
                "config ok; {} articles ok, {} rejected",
                report.articles,
                report.rejected.len()
            );
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
