//! tidings: turns a news site's article store into RSS, Atom and JSON feeds and email
//! digests. `main.rs` is a thin shell over [`cli::run`].

pub mod cli;
pub mod config;
pub mod daemon;
pub mod digests;
pub mod feeds;
pub mod fold;
pub mod model;
pub mod preflight;

#[cfg(test)]
mod layering;
