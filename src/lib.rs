//! tidings: turns a news site's article store into RSS, Atom and JSON feeds and email
//! digests. `main.rs` is a thin shell over [`cli::run`].
//!
//! Pure modules (`config`, `article`, `fold`, `topic`, `feed`) take data and touch no file,
//! clock or network; I/O sits at the edges (`store`, `index`, `publish`, `build`, `cli`).

pub mod admin;
pub mod article;
pub mod build;
pub mod cli;
pub mod config;
pub mod control;
pub mod corpus;
pub mod daemon;
pub mod digest;
pub mod feed;
pub mod fold;
pub mod http;
pub mod index;
pub mod mail;
pub mod metrics;
pub mod publish;
pub mod round;
pub mod schedule;
pub mod store;
pub mod subscriber;
pub mod token;
pub mod topic;
pub mod web;
pub mod websub;
