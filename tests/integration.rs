//! The integration tests, one module per part of tidings, in one test binary (the
//! ripgrep layout; `autotests = false` in Cargo.toml). Each test binary links the whole
//! crate and its dependencies: one binary instead of twelve is one link instead of
//! twelve and one ~200 MB debug executable instead of twelve, which on 2 cores is a
//! fifth less CPU for `cargo test --no-run`. One part: `cargo test --test integration
//! daemon::`; the shared helpers are in `support`.

mod support;

mod archive;
mod build;
mod cli;
mod daemon;
mod daemon_store;
mod digest_mail;
mod digest_send;
mod hostile_store;
mod http;
mod instant;
mod journal;
mod lang;
mod mail;
mod newsroom;
mod personal_feed;
mod reload;
mod round;
mod schedule_round;
mod search;
mod subscribers;
mod systemd;
mod web;
mod websub;
