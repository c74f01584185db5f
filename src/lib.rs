//! tidings: turns a news site's article store into RSS, Atom and JSON feeds and email
//! digests. `main.rs` is a thin shell over [`cli::run`].
//!
//! The module map (DESIGN §7), one line per module (`layering.rs` checks that none is
//! missing, here and in the README). Imports run one way, top-down: cli → daemon →
//! preflight → digests → feeds → model → config/fold/i18n; `layering.rs` tests that too.
//! PURE modules take `now` and data and touch no file, clock or network.
//!
//! ```text
//! model                          shared data types, owned by no I/O module
//!   model::article         PURE  an article as parsed, its index record, file stamps
//!   model::topic           PURE  a feed's identity (all, section, keyword), its folder name
//!   model::subscriber      PURE  subscribers and deliveries as the index stores them
//!   model::control         PURE  the control socket's request and answer
//!   model::escape          PURE  untrusted text made safe for a one-line report or log line
//!   model::limits          PURE  the limits of one article (size, blocks, keywords, lengths)
//! config                   PURE  Config::parse(&str) and its checks; from_file reads the file
//! fold                     PURE  NFKC + Traditional→Simplified keys
//! i18n                     PURE  the reader's language (zh-Hant, zh-Hans, en): negotiation, names
//!                                in a script, the language switcher
//!   i18n::messages         PURE  the catalogue's shape: one field per message a page or mail shows
//!   i18n::zh_hant          PURE  the catalogue in Traditional Chinese
//!   i18n::zh_hans          PURE  the catalogue in Simplified Chinese
//!   i18n::en               PURE  the catalogue in English
//! preflight                I/O   can this configuration run: the keys config cannot judge
//!                                (cron, sender), the folders and secrets; writes nothing
//! feeds                          the feed side: store → article → index → feed → publish
//!   feeds::store           I/O   what counts as part of the store; scan it, read a file
//!   feeds::store::watch    I/O   inotify events debounced into batches of paths
//!   feeds::article         PURE  Article::parse and ArticleError
//!   feeds::article::decode PURE  bytes → text: BOM, UTF-8, GB18030 or Big5
//!   feeds::article::page   PURE  the page export layout (§1a)
//!   feeds::article::json   PURE  the structured layout (§1b)
//!   feeds::topic           PURE  which feeds an article belongs to
//!   feeds::index           I/O   sled: open, look up, dirty feeds, compaction
//!   feeds::index::catalog  PURE  the in-memory lookups by path, id and feed
//!   feeds::index::vocabulary PURE keyword feeds by use and by folded name, for listings and search
//!   feeds::index::archive  I/O   archive page ends per feed in the tree; pages for readers
//!   feeds::index::log      I/O   the append-only article log
//!   feeds::index::batch    I/O   one atomic batch of upserts and removals
//!   feeds::index::pages    I/O   records kept in pages; the catalog read back
//!   feeds::index::migrate  I/O   the first index layout turned into the current one
//!   feeds::index::subscribers I/O subscriber and delivery records
//!   feeds::feed            PURE  feed documents and items, escaping
//!   feeds::feed::rss       PURE  RSS 2.0
//!   feeds::feed::atom      PURE  Atom 1.0
//!   feeds::feed::json      PURE  JSON Feed 1.1
//!   feeds::feed::listing   PURE  index.json and its pages, opml.xml, opml-keywords.xml, index.html
//!   feeds::feed::tests     (tests only) the documents' snapshots and checks
//!   feeds::publish         I/O   publish: render what changed, write it, the listings
//!   feeds::publish::indexer I/O  the Indexer: the index kept in line with the store (build,
//!                                check, the daemon's updates)
//!   feeds::publish::archive I/O  archive pages (RFC 5005): on request, and `--all-feeds` files
//!   feeds::publish::write  I/O   atomic, change-only file writes
//!   feeds::search          I/O   the search index: build, keep current, save, find (DESIGN §5)
//!   feeds::search::text    PURE  the matching rule (fold, substring) and the index's keys
//!   feeds::search::query   PURE  /search parameters: checked, folded, one normal form
//!   feeds::search::postings PURE roaring bitmaps per key and per feed: saved and added since;
//!                                  candidates; the save (a merge) and compaction
//!   feeds::search::segment  PURE the saved file read in place (positioned reads of a Source):
//!                                  documents, key tables in blocks, bitmaps
//!   feeds::fixtures        (tests only) the seed article, a site, index records
//! digests                        the digest side: subscriber → schedule → compose → mail
//!   digests::subscriber    PURE  validation; new subscribers
//!   digests::subscriber::address  PURE  email addresses and subscriber keys
//!   digests::subscriber::topics   PURE  sections, keywords, terms; matching an article
//!   digests::subscriber::csv_form PURE  CSV import and export
//!   digests::subscriber::admin    I/O   `subscriber add|list|remove|import|export`
//!   digests::schedule      PURE  cron in a zone: next run, due runs
//!   digests::schedule::instant PURE @instant alerts: a minute's arrivals, its round, its name
//!   digests::compose       PURE  a digest mail from subscriber, records and now
//!   digests::compose::text PURE  the plan of groups, subject, plain-text part, wrapping
//!   digests::compose::html PURE  the HTML part
//!   digests::compose::headers PURE List-Id, List-Unsubscribe
//!   digests::token         PURE  signed links, the key file
//!   digests::personal      I/O   personal feeds: a subscriber's selection, who a feed token
//!                                belongs to
//!   digests::mail          I/O   Transport, Envelope, SendError
//!   digests::mail::outbox  I/O   one .eml file per message
//!   digests::mail::smtp    I/O   the SMTP pool (lettre)
//!   digests::mail::connection I/O one pooled connection, failures, pacing
//!   digests::round         I/O   a digest round: due → compose → record → send → mark sent
//!   digests::pages         I/O   the subscription pages: router and responses
//!   digests::pages::rate_limit PURE per-client limit of the form
//!   digests::pages::csrf   PURE  double-submit token, Origin checks
//!   digests::pages::form   PURE  reading, validating and rendering the form
//!   digests::pages::handlers I/O /subscribe, /confirm, /manage, /unsubscribe
//!   digests::pages::reader_lang PURE a request's language: ?lang=, the tidings_lang cookie,
//!                                Accept-Language; Vary and the cookie on the answer
//! daemon                   I/O   `tidings run`: wires both sides; signals, reload, shutdown
//!   daemon::publisher      I/O   the publisher thread, the index's one writer
//!   daemon::first_start    I/O   a first start's indexing, by a `tidings build` child
//!   daemon::retry          PURE  rejected files tried again, then left until they change
//!   daemon::http           I/O   axum: feeds and listings, /healthz, /metrics
//!   daemon::http::file_cache     I/O   published files in memory, ETags, gzip
//!   daemon::http::on_request     I/O   feeds and archive pages without files, rendered on request
//!   daemon::http::article_page   PURE  /articles/{id}
//!   daemon::http::personal       I/O   /me/{token}/…: personal feeds, rendered and cached
//!   daemon::http::search   I/O   /search and the search and combined feeds
//!   daemon::http::search_page    PURE  the /search page
//!   daemon::control        I/O   the control socket
//!   daemon::websub         I/O   hub pings with backoff
//!   daemon::metrics        PURE  Prometheus counters and their text
//!   daemon::systemd        I/O   sd_notify, the watchdog interval
//! cli                      I/O   the command line; main.rs calls cli::run
//!   cli::journal           I/O   journal priorities (`<3>`…); is stderr the journal's stream
//! layering                 (tests only) imports follow these layers, no cycle
//! ```
//!
//! The corpus generator for tests and benchmarks is the dev-only `tidings-corpus` crate
//! in `corpus/`.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod digests;
pub mod feeds;
pub mod fold;
pub mod i18n;
pub mod model;
pub mod preflight;

#[cfg(test)]
mod layering;
