//! The `tidings` binary: all the work is in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tidings::cli::run(tidings::cli::Args::parse())
}
