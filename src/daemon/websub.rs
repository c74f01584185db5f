//! WebSub publishing: tells the hub of `feeds.websub_hub` that feeds changed, so that it
//! fetches them and pushes the news to subscribers (W3C WebSub §7).
//!
//! The ping is the de-facto one Google's and Superfeedr's hubs take: a POST of
//! `application/x-www-form-urlencoded` `hub.mode=publish&hub.url=<topic URL>`. Many hubs
//! accept several `hub.url` in one POST, but not all, so each URL gets its own POST.
//!
//! [`Publisher::notify`] only queues and returns; a dispatcher task on the runtime given to
//! [`Publisher::new`] sends the pings, a few at a time, each retried with exponential
//! backoff while the failure may pass (5xx, 408, 429, timeout, connection error). A URL
//! already waiting for its ping is not queued twice: the hub fetches the feed when the
//! ping arrives, so one ping covers every change made before it is sent.
//!
//! Every ping ends in one count in [`Metrics::add_websub`]: delivered, refused, given up
//! after the last attempt, or dropped from an overfull queue. (A retry that a newer
//! notify of the same URL overtakes leaves the count to that one.)

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::runtime::Handle;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::daemon::metrics::Metrics;

/// How pings are sent and retried. [`Default`] is the production policy; tests shorten
/// the times.
#[derive(Debug, Clone)]
pub struct Options {
    /// The wait before the second attempt; each later wait doubles it.
    pub backoff_base: Duration,
    /// No wait between attempts is longer, whatever the doubling or a `Retry-After` says.
    pub max_backoff: Duration,
    /// Attempts per ping, the first included.
    pub attempts: u32,
    /// Limit on one attempt: connecting, sending and reading the answer.
    pub attempt_timeout: Duration,
    /// URLs waiting to be sent at most; past it the oldest is dropped. A ping is small,
    /// but a hub down for hours must not make the daemon's memory grow without end.
    pub queue_limit: usize,
    /// Pings in flight at once: enough to keep up with a build that changes thousands of
    /// keyword feeds, few enough not to look like a flood to the hub.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backoff_base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            attempts: 5,
            attempt_timeout: Duration::from_secs(10),
            queue_limit: 10_000,
            concurrency: 4,
        }
    }
}

/// Sends WebSub `hub.mode=publish` notifications for changed feed URLs. Cheap to clone;
/// clones share one queue.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    hub: String,
    handle: Handle,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    options: Options,
    /// One permit per ping in flight. A ping waiting out its backoff holds none, so that a
    /// few failing URLs cannot stall the rest of the queue.
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    /// Woken when `State::outstanding` reaches zero.
    idle: Notify,
}

#[derive(Default)]
struct State {
    /// URLs to ping, oldest first, not yet handed to a sender.
    queue: VecDeque<String>,
    /// URLs whose next attempt has not started: each is either in `queue` or waiting out
    /// a backoff, never both. A URL whose attempt is in flight is not here, so a change
    /// made while the hub may already be fetching gets a ping of its own.
    pending: HashSet<String>,
    /// Entries of `queue` plus living sender tasks: zero when all is done.
    outstanding: usize,
    /// Whether a dispatcher task is running (or about to).
    dispatching: bool,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("hub", &self.inner.hub)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher to `hub` (`feeds.websub_hub`) running on `handle`'s runtime; the
    /// caller may be a plain thread outside it.
    pub fn new(hub: String, handle: Handle, metrics: Arc<Metrics>) -> Publisher {
        Publisher::with_options(hub, handle, metrics, Options::default())
    }

    /// As [`Publisher::new`], with `base` as the first backoff (tests use milliseconds).
    pub fn with_backoff(
        hub: String,
        handle: Handle,
        metrics: Arc<Metrics>,
        base: Duration,
    ) -> Publisher {
        let options = Options {
            backoff_base: base,
            ..Options::default()
        };
        Publisher::with_options(hub, handle, metrics, options)
    }

    pub fn with_options(
        hub: String,
        handle: Handle,
        metrics: Arc<Metrics>,
        options: Options,
    ) -> Publisher {
        let client = reqwest::Client::builder()
            .user_agent(concat!("tidings/", env!("CARGO_PKG_VERSION"), " (WebSub)"))
            .timeout(options.attempt_timeout)
            .connect_timeout(options.attempt_timeout)
            // A redirected POST is replayed as a GET without its body by most clients,
            // and a hub's "success" for that GET would be a false one. A hub that moved
            // is a configuration fix, reported as such.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Fails only if the TLS backend cannot start; rustls with bundled roots
            // needs nothing from the system, so this is a bug, not a condition.
            .expect("building the WebSub HTTP client");
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Publisher {
            inner: Arc::new(Inner {
                hub,
                handle,
                client,
                metrics,
                options,
                permits,
                state: Mutex::new(State::default()),
                idle: Notify::new(),
            }),
        }
    }

    /// Queues pings for these absolute feed URLs and returns at once. A URL already
    /// waiting for its ping is skipped. Never blocks beyond a short lock.
    pub fn notify(&self, urls: Vec<String>) {
        let inner = &self.inner;
        let limit = inner.options.queue_limit.max(1);
        let mut dropped = Vec::new();
        let start = {
            let mut st = inner.state();
            for url in urls {
                if st.pending.contains(&url) {
                    continue;
                }
                if st.queue.len() >= limit {
                    if let Some(old) = st.queue.pop_front() {
                        st.pending.remove(&old);
                        st.outstanding -= 1;
                        dropped.push(old);
                    }
                }
                st.pending.insert(url.clone());
                st.queue.push_back(url);
                st.outstanding += 1;
            }
            let start = !st.queue.is_empty() && !st.dispatching;
            if start {
                st.dispatching = true;
            }
            start
        };
        if !dropped.is_empty() {
            // One line per call, not per URL: an overfull queue means thousands of them.
            tracing::warn!(
                "WebSub queue for hub {} is full ({limit} feeds): dropped the {} oldest \
                 pings, first {}",
                inner.hub,
                dropped.len(),
                dropped[0]
            );
            for _ in &dropped {
                inner.metrics.add_websub(false);
            }
        }
        if start {
            inner.handle.spawn(dispatch(inner.clone()));
        }
    }

    /// Waits until every queued ping has been delivered or given up, or `deadline` has
    /// passed, whichever comes first; used at shutdown. `true` if nothing is left.
    pub async fn drain(&self, deadline: Duration) -> bool {
        let inner = &self.inner;
        let idle = async {
            loop {
                // Registered before the check, so a wake between the two is not lost.
                let woken = inner.idle.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if inner.state().outstanding == 0 {
                    return;
                }
                woken.await;
            }
        };
        if tokio::time::timeout(deadline, idle).await.is_ok() {
            return true;
        }
        tracing::warn!(
            "WebSub: {} pings to hub {} still unsent after waiting {deadline:?}",
            inner.state().outstanding,
            inner.hub
        );
        false
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // Each update of the state is a few plain assignments that cannot panic midway,
        // so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wait after failed attempt number `attempt` (1-based): base, 2×base, 4×base…,
    /// at least what the hub asked for in `Retry-After`, at most `max_backoff`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
        let delay = self.options.backoff_base.saturating_mul(doubling);
        delay
            .max(retry_after.unwrap_or(Duration::ZERO))
            .min(self.options.max_backoff)
    }

    /// Pings `url` until it is delivered, refused or out of attempts. Holds `permit` for
    /// the first attempt and takes one for each later one. `alive` is this task's count
    /// in `outstanding`, taken by the caller so that a task dropped before it ever runs
    /// still gives it back.
    async fn deliver(self: Arc<Self>, url: String, permit: OwnedSemaphorePermit, alive: Alive) {
        let _alive = alive;
        let attempts = self.options.attempts.max(1);
        let mut permit = Some(permit);
        let mut attempt = 1;
        loop {
            let result = self.send(&url).await;
            drop(permit.take());
            let (why, retry_after) = match result {
                Ok(()) => {
                    tracing::debug!("WebSub: hub {} took the ping for {url}", self.hub);
                    self.metrics.add_websub(true);
                    return;
                }
                Err(Failure::Permanent(why)) => {
                    tracing::warn!(
                        "WebSub: hub {} refused the ping for {url}, not retrying: {why}",
                        self.hub
                    );
                    self.metrics.add_websub(false);
                    return;
                }
                Err(Failure::Transient { why, retry_after }) if attempt < attempts => {
                    (why, retry_after)
                }
                Err(Failure::Transient { why, .. }) => {
                    tracing::warn!(
                        "WebSub: ping for {url} to hub {} failed (attempt {attempt} of \
                         {attempts}), giving up: {why}",
                        self.hub
                    );
                    self.metrics.add_websub(false);
                    return;
                }
            };
            let delay = self.backoff(attempt, retry_after);
            tracing::warn!(
                "WebSub: ping for {url} to hub {} failed (attempt {attempt} of {attempts}), \
                 retrying in {delay:?}: {why}",
                self.hub
            );
            // Waiting again counts as pending, so notifies meanwhile coalesce into this
            // retry. If the URL was queued afresh while this attempt was in flight, that
            // entry will send the ping (and report it); this one steps aside.
            if !self.state().pending.insert(url.clone()) {
                return;
            }
            tokio::time::sleep(delay).await;
            let Ok(next) = self.permits.clone().acquire_owned().await else {
                return; // never closed; nothing sensible to do if it were
            };
            // Only once a permit is held does the attempt "start": a notify up to here is
            // still coalesced into it.
            self.state().pending.remove(&url);
            permit = Some(next);
            attempt += 1;
        }
    }

    /// One attempt.
    async fn send(&self, url: &str) -> Result<(), Failure> {
        let body = format!("hub.mode=publish&hub.url={}", form_encode(url));
        let res = self
            .client
            .post(&self.hub)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::Transient {
                why: describe(&e, self.options.attempt_timeout),
                retry_after: None,
            })?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(res.headers());
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut why = format!("the hub answered {status}");
        if let Some(location) = location.filter(|_| status.is_redirection()) {
            why.push_str(&format!(
                " to {location}; set feeds.websub_hub to where the hub is now"
            ));
        }
        why.push_str(&body_excerpt(res).await);
        if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            Err(Failure::Transient { why, retry_after })
        } else {
            Err(Failure::Permanent(why))
        }
    }
}

/// Why an attempt failed, and whether another might succeed.
enum Failure {
    Permanent(String),
    Transient {
        why: String,
        retry_after: Option<Duration>,
    },
}

/// Counts a sender task in `State::outstanding` for as long as it lives, however it ends
/// (returned, panicked, or dropped with its runtime).
struct Alive(Arc<Inner>);

impl Drop for Alive {
    fn drop(&mut self) {
        let mut st = self.0.state();
        st.outstanding -= 1;
        if st.outstanding == 0 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Hands queued URLs to sender tasks as permits free up; ends when the queue is empty
/// (the next `notify` starts another).
async fn dispatch(inner: Arc<Inner>) {
    loop {
        // The permit first, then the URL: a URL stays in the queue, where notifies
        // coalesce into it, until it can actually be sent.
        let Ok(permit) = inner.permits.clone().acquire_owned().await else {
            return;
        };
        let url = {
            let mut st = inner.state();
            match st.queue.pop_front() {
                Some(url) => {
                    st.pending.remove(&url);
                    url
                }
                None => {
                    st.dispatching = false;
                    return;
                }
            }
        };
        // The queue entry becomes a task: `outstanding` is unchanged.
        let alive = Alive(inner.clone());
        inner
            .handle
            .spawn(inner.clone().deliver(url, permit, alive));
    }
}

/// Bytes left as they are in `application/x-www-form-urlencoded` (WHATWG URL §5.2):
/// ASCII alphanumerics and `*-._`. Everything else is percent-encoded, so `&`, `=`, `+`,
/// `%` and `#` in a feed URL reach the hub intact.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM).to_string()
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is rare from hubs and
/// would need a clock; the backoff stands in for it.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of an error answer's body for the log (hubs often say why there), on one
/// line, or nothing.
async fn body_excerpt(mut res: reqwest::Response) -> String {
    const MAX: usize = 200;
    let mut bytes = Vec::new();
    while bytes.len() < MAX {
        match res.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

/// A transport error with its causes (reqwest's own message names only the request).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(
            form_encode("https://n.example/feeds/keyword/%E9%87%8D/rss.xml?a=1&b=2+3#x"),
            "https%3A%2F%2Fn.example%2Ffeeds%2Fkeyword%2F%25E9%2587%258D%2Frss.xml\
             %3Fa%3D1%26b%3D2%2B3%23x"
        );
        assert_eq!(form_encode("重庆 a*-._~"), "%E9%87%8D%E5%BA%86%20a*-._%7E");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let p = Publisher::new(
            "http://hub.invalid/".into(),
            rt.handle().clone(),
            Arc::new(Metrics::default()),
        );
        let b = |attempt, after| p.inner.backoff(attempt, after);
        let secs = Duration::from_secs;
        assert_eq!(b(1, None), secs(1));
        assert_eq!(b(2, None), secs(2));
        assert_eq!(b(3, None), secs(4));
        assert_eq!(b(7, None), secs(60));
        assert_eq!(b(40, None), secs(60));
        assert_eq!(b(1, Some(secs(30))), secs(30));
        assert_eq!(b(1, Some(secs(3600))), secs(60));
    }

    #[test]
    fn retry_after_takes_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
