//! WebSub publishing end to end: `tidings::daemon::websub::Publisher` pinging a recording hub on
//! 127.0.0.1 over real HTTP. The hub is an axum app that records every POST's content
//! type and form fields, then answers as each test scripts it (by URL and by how often
//! that URL has been pinged).
//!
//! Backoffs are milliseconds here; the production policy is the same code with seconds.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::sync::Notify;

use tidings::daemon::metrics::Metrics;
use tidings::daemon::websub::{Options, Publisher};

use crate::support::PATIENCE;

/// The hub's answer to one ping: given the pinged URL and how many pings for it came
/// before this one.
type Script = Arc<dyn Fn(&str, usize) -> Answer + Send + Sync>;
type Answer = Pin<Box<dyn Future<Output = Response> + Send>>;

fn status(code: u16) -> Answer {
    let code = StatusCode::from_u16(code).unwrap();
    Box::pin(async move { code.into_response() })
}

/// One POST as the hub saw it.
#[derive(Debug, Clone)]
struct Ping {
    content_type: Option<String>,
    /// The form fields, decoded, in order.
    fields: Vec<(String, String)>,
    at: Instant,
}

impl Ping {
    fn url(&self) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == "hub.url")
            .map_or("", |(_, v)| v)
    }
}

#[derive(Default)]
struct Log {
    pings: Vec<Ping>,
    /// Requests to anything but `POST /hub` (a followed redirect would land here).
    strays: Vec<String>,
}

#[derive(Clone)]
struct HubState {
    log: Arc<Mutex<Log>>,
    script: Script,
    /// Woken on every ping, as it arrives (before it is answered).
    arrived: Arc<Notify>,
}

struct Hub {
    addr: SocketAddr,
    state: HubState,
}

impl Hub {
    async fn start(script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Hub {
        let state = HubState {
            log: Arc::default(),
            script: Arc::new(script),
            arrived: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/hub", post(receive))
            .fallback(stray)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hub { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hub", self.addr)
    }

    fn pings(&self) -> Vec<Ping> {
        self.state.log.lock().unwrap().pings.clone()
    }

    fn pings_for(&self, url: &str) -> Vec<Ping> {
        self.pings()
            .into_iter()
            .filter(|p| p.url() == url)
            .collect()
    }

    fn strays(&self) -> Vec<String> {
        self.state.log.lock().unwrap().strays.clone()
    }

    /// Waits until the hub has received `n` pings in all.
    async fn wait_for(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let woken = self.state.arrived.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if self.pings().len() >= n {
                    return;
                }
                woken.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} pings within 10 s; got {:?}", self.pings()));
    }
}

async fn receive(State(hub): State<HubState>, headers: HeaderMap, body: String) -> Response {
    let ping = Ping {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string()),
        fields: parse_form(&body),
        at: Instant::now(),
    };
    let url = ping.url().to_string();
    let nth = {
        let mut log = hub.log.lock().unwrap();
        let nth = log.pings.iter().filter(|p| p.url() == url).count();
        log.pings.push(ping);
        nth
    };
    hub.arrived.notify_waiters();
    (hub.script)(&url, nth).await
}

async fn stray(State(hub): State<HubState>, uri: Uri) -> StatusCode {
    hub.log.lock().unwrap().strays.push(uri.to_string());
    StatusCode::NOT_FOUND
}

/// `application/x-www-form-urlencoded` decoding, written out rather than borrowed from a
/// library so that the test checks the wire format itself.
fn parse_form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn fast(attempts: u32) -> Options {
    Options {
        backoff_base: Duration::from_millis(20),
        max_backoff: Duration::from_secs(1),
        attempts,
        attempt_timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

fn publisher(hub: &Hub, metrics: &Arc<Metrics>, options: Options) -> Publisher {
    Publisher::with_options(
        hub.url(),
        tokio::runtime::Handle::current(),
        metrics.clone(),
        options,
    )
}

/// `(ok, error)` as `/metrics` shows them.
fn websub_counts(metrics: &Metrics) -> (u64, u64) {
    let text = metrics.render();
    let count = |result: &str| {
        let prefix = format!("tidings_websub_pings_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap()
            .parse()
            .unwrap()
    };
    (count("ok"), count("error"))
}

/// Feed URLs with everything a form body must escape: `%`, `&`, `=`, `+`, `#`.
fn feed_urls() -> Vec<String> {
    vec![
        "https://news.example/feeds/all/rss.xml".to_string(),
        "https://news.example/feeds/keyword/%E9%87%8D%E5%BA%86%E5%B8%82/atom.xml".to_string(),
        "https://news.example/feeds/x/feed.json?a=1&b=2+3#frag".to_string(),
    ]
}

fn assert_well_formed(ping: &Ping, url: &str) {
    assert_eq!(
        ping.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        ping.fields,
        vec![
            ("hub.mode".to_string(), "publish".to_string()),
            ("hub.url".to_string(), url.to_string()),
        ]
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_the_hub_takes_each_ping() {
    let hub = Hub::start(|_, nth| status(if nth == 0 { 500 } else { 204 })).await;
    let metrics = Arc::new(Metrics::default());
    let p = Publisher::with_backoff(
        hub.url(),
        tokio::runtime::Handle::current(),
        metrics.clone(),
        Duration::from_millis(20),
    );
    p.notify(feed_urls());
    assert!(p.drain(Duration::from_secs(10)).await);

    for url in feed_urls() {
        let pings = hub.pings_for(&url);
        assert_eq!(pings.len(), 2, "{url}: one failure, one retry");
        for ping in &pings {
            assert_well_formed(ping, &url);
        }
        assert!(
            pings[1].at - pings[0].at >= Duration::from_millis(20),
            "{url}: the retry waited out the backoff"
        );
    }
    assert_eq!(hub.pings().len(), 6);
    assert_eq!(websub_counts(&metrics), (3, 0));
}

#[tokio::test]
async fn timeouts_408_429_and_503_are_retried_too() {
    let hub = Hub::start(|url, nth| {
        if nth > 0 {
            return status(204);
        }
        match url.rsplit('/').next().unwrap() {
            "408" => status(408),
            "429" => status(429),
            "503" => status(503),
            // Answers only after the publisher has stopped waiting.
            _ => Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                StatusCode::NO_CONTENT.into_response()
            }),
        }
    })
    .await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(
        &hub,
        &metrics,
        Options {
            attempt_timeout: Duration::from_millis(300),
            ..fast(5)
        },
    );
    let urls: Vec<String> = ["408", "429", "503", "slow"]
        .iter()
        .map(|s| format!("https://news.example/{s}"))
        .collect();
    p.notify(urls.clone());
    assert!(p.drain(Duration::from_secs(10)).await);
    for url in &urls {
        assert_eq!(hub.pings_for(url).len(), 2, "{url}");
    }
    assert_eq!(websub_counts(&metrics), (4, 0));
}

#[tokio::test]
async fn refusals_and_redirects_are_not_retried() {
    let hub = Hub::start(|url, _| match url.rsplit('/').next().unwrap() {
        "moved" => Box::pin(async {
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, "/elsewhere")],
            )
                .into_response()
        }),
        "bad" => status(400),
        _ => status(404),
    })
    .await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(&hub, &metrics, fast(5));
    let urls: Vec<String> = ["gone", "bad", "moved"]
        .iter()
        .map(|s| format!("https://news.example/{s}"))
        .collect();
    p.notify(urls.clone());
    assert!(p.drain(Duration::from_secs(10)).await);
    // Long enough for a retry that should not happen to have happened.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for url in &urls {
        let pings = hub.pings_for(url);
        assert_eq!(pings.len(), 1, "{url}");
        assert_well_formed(&pings[0], url);
    }
    assert!(hub.strays().is_empty(), "followed: {:?}", hub.strays());
    assert_eq!(websub_counts(&metrics), (0, 3));
}

#[tokio::test]
async fn a_ping_is_given_up_after_its_last_attempt() {
    let hub = Hub::start(|_, _| status(502)).await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(&hub, &metrics, fast(3));
    p.notify(vec!["https://news.example/feeds/all/rss.xml".to_string()]);
    assert!(p.drain(Duration::from_secs(10)).await);
    let pings = hub.pings();
    assert_eq!(pings.len(), 3);
    // 20 ms, then 40 ms.
    assert!(pings[2].at - pings[1].at >= Duration::from_millis(40));
    assert_eq!(websub_counts(&metrics), (0, 1));
}

#[tokio::test]
async fn an_unreachable_hub_is_retried_then_given_up() {
    // A port that was just free: nothing listens there.
    let addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let metrics = Arc::new(Metrics::default());
    let p = Publisher::with_options(
        format!("http://{addr}/hub"),
        tokio::runtime::Handle::current(),
        metrics.clone(),
        fast(3),
    );
    let started = Instant::now();
    p.notify(vec!["https://news.example/feeds/all/rss.xml".to_string()]);
    assert!(p.drain(Duration::from_secs(10)).await);
    // Three attempts, so two backoffs: 20 ms + 40 ms.
    assert!(started.elapsed() >= Duration::from_millis(60));
    assert_eq!(websub_counts(&metrics), (0, 1));
}

// The default test runtime has one thread, and the publisher's tasks run only when the
// test awaits: every notify below lands before any ping is sent.
#[tokio::test]
async fn a_url_waiting_for_its_ping_is_not_queued_twice() {
    let hub = Hub::start(|_, _| status(204)).await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(&hub, &metrics, fast(5));
    let [a, b, c] = ["a", "b", "c"].map(|s| format!("https://news.example/{s}"));
    p.notify(vec![a.clone(), a.clone(), b.clone()]);
    p.notify(vec![b.clone(), a.clone(), c.clone()]);
    p.clone().notify(vec![c.clone()]);
    assert!(p.drain(Duration::from_secs(10)).await);
    for url in [&a, &b, &c] {
        assert_eq!(hub.pings_for(url).len(), 1, "{url}");
    }
    assert_eq!(websub_counts(&metrics), (3, 0));
}

#[tokio::test]
async fn a_change_while_the_ping_is_in_flight_gets_a_ping_of_its_own() {
    // The first ping is held until the test has notified again: the hub may already have
    // fetched the feed, so that change needs a second ping.
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let hub = Hub::start(move |_, nth| {
        let gate = gate.clone();
        Box::pin(async move {
            if nth == 0 {
                gate.notified().await;
            }
            StatusCode::NO_CONTENT.into_response()
        })
    })
    .await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(&hub, &metrics, fast(5));
    let url = "https://news.example/feeds/all/rss.xml".to_string();
    p.notify(vec![url.clone()]);
    hub.wait_for(1).await;
    // Two changes during the flight: one more ping between them.
    p.notify(vec![url.clone()]);
    p.notify(vec![url.clone()]);
    release.notify_one();
    assert!(p.drain(Duration::from_secs(10)).await);
    assert_eq!(hub.pings_for(&url).len(), 2);
    assert_eq!(websub_counts(&metrics), (2, 0));
}

#[tokio::test]
async fn a_change_during_a_backoff_joins_the_retry() {
    let hub = Hub::start(|_, nth| status(if nth == 0 { 503 } else { 204 })).await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(
        &hub,
        &metrics,
        Options {
            backoff_base: Duration::from_millis(500),
            ..fast(5)
        },
    );
    let url = "https://news.example/feeds/all/rss.xml".to_string();
    p.notify(vec![url.clone()]);
    hub.wait_for(1).await;
    // Well inside the 500 ms backoff. (Should the 503 still be on its way, the notify
    // is queued instead and the retry steps aside for it: one more ping either way.)
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.notify(vec![url.clone()]);
    p.notify(vec![url.clone()]);
    assert!(p.drain(Duration::from_secs(10)).await);
    assert_eq!(hub.pings_for(&url).len(), 2);
    assert_eq!(websub_counts(&metrics), (1, 0));
}

#[tokio::test]
async fn past_its_limit_the_queue_drops_the_oldest() {
    let hub = Hub::start(|_, _| status(204)).await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(
        &hub,
        &metrics,
        Options {
            queue_limit: 3,
            ..fast(5)
        },
    );
    let urls: Vec<String> = (0..5)
        .map(|i| format!("https://news.example/{i}"))
        .collect();
    // One thread, no await: nothing is sent before all five are queued.
    p.notify(urls[..2].to_vec());
    p.notify(urls[2..].to_vec());
    assert!(p.drain(Duration::from_secs(10)).await);
    let mut sent: Vec<String> = hub.pings().iter().map(|p| p.url().to_string()).collect();
    sent.sort();
    assert_eq!(sent, urls[2..].to_vec());
    assert_eq!(websub_counts(&metrics), (3, 2));
}

#[tokio::test]
async fn drain_waits_for_backoffs_and_stops_at_its_deadline() {
    let hub = Hub::start(|_, nth| status(if nth == 0 { 500 } else { 204 })).await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(
        &hub,
        &metrics,
        Options {
            backoff_base: Duration::from_millis(300),
            ..fast(5)
        },
    );
    let url = "https://news.example/feeds/all/rss.xml".to_string();
    let started = Instant::now();
    p.notify(vec![url.clone()]);
    // Too short for the backoff: not done, and says so.
    assert!(!p.drain(Duration::from_millis(100)).await);
    assert!(hub.pings_for(&url).len() <= 1);
    // Long enough: returns once the retry is through, not at the deadline.
    let deadline = Duration::from_secs(10);
    let draining = Instant::now();
    assert!(p.drain(deadline).await);
    assert!(draining.elapsed() < deadline, "returned at its deadline");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(hub.pings_for(&url).len(), 2);
    assert_eq!(websub_counts(&metrics), (1, 0));
    // Nothing queued: at once.
    assert!(p.drain(Duration::ZERO).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_from_a_plain_thread_returns_at_once() {
    // A hub that holds every ping until released: notify must not wait for it.
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let hub = Hub::start(move |_, _| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.notified().await;
            StatusCode::NO_CONTENT.into_response()
        })
    })
    .await;
    let metrics = Arc::new(Metrics::default());
    let p = publisher(&hub, &metrics, fast(5));
    let urls: Vec<String> = (0..200)
        .map(|i| format!("https://news.example/feeds/{i}/rss.xml"))
        .collect();
    let sender = p.clone();
    let batch = urls.clone();
    let (returned, notified) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        sender.notify(batch);
        returned.send(()).unwrap();
    });
    // The hub answers nothing until released below: a notify that waited for it would
    // never return.
    notified
        .recv_timeout(PATIENCE)
        .expect("notify waits for the hub");

    // Sends a few at a time (4 by default), never all 200 at once.
    hub.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hub.pings().len(), 4);

    // Let them through as they come.
    let opener = tokio::spawn(async move {
        loop {
            release.notify_waiters();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    assert!(p.drain(Duration::from_secs(20)).await);
    opener.abort();
    let mut sent: Vec<String> = hub.pings().iter().map(|p| p.url().to_string()).collect();
    sent.sort();
    let mut expected = urls;
    expected.sort();
    assert_eq!(sent, expected);
    assert_eq!(websub_counts(&metrics), (200, 0));
}
