//! Prometheus metrics of the daemon, rendered in the text exposition format 0.0.4 for
//! `GET /metrics` (DESIGN §5). No metrics crate: a handful of atomics does.
//!
//! Recording is lock-free for the gauges, counters and the histogram. Labelled counters
//! (`tidings_http_requests_total{route,status}`) take a read lock to find their cell and
//! a write lock only the first time a label set is seen; label values are `&'static str`
//! route patterns and status codes, so their number stays small.
//!
//! Adding a metric (the mail counters, say) takes a field of one of the building blocks
//! below ([`Gauge`], [`Counter`], [`LabelledCounter`], [`Histogram`]), a recording method,
//! and one `write_*` line in [`Metrics::render`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// Upper bounds (seconds) of the publish-duration histogram: Prometheus' usual buckets,
/// from 5 ms to 10 s.
const PUBLISH_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric the daemon exposes. Shared as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    articles: Gauge,
    feeds: Gauge,
    rejected_files: Counter,
    publish_seconds: Histogram,
    http_requests: LabelledCounter<(&'static str, u16)>,
    websub_ok: Counter,
    websub_error: Counter,
    /// Digest outcomes, in the order of [`DIGEST_RESULTS`].
    digests: [Counter; DIGEST_RESULTS.len()],
}

/// Labels of `tidings_digests_total`, in the order of [`Metrics::add_digests`]' counts.
const DIGEST_RESULTS: [&str; 7] = [
    "sent",
    "deferred",
    "refused",
    "bounced",
    "empty",
    "too_late",
    "paused_round",
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            articles: Gauge::default(),
            feeds: Gauge::default(),
            rejected_files: Counter::default(),
            publish_seconds: Histogram::new(&PUBLISH_BUCKETS),
            http_requests: LabelledCounter::default(),
            websub_ok: Counter::default(),
            websub_error: Counter::default(),
            digests: Default::default(),
        }
    }
}

impl Metrics {
    /// Articles in the index.
    pub fn set_articles(&self, n: u64) {
        self.articles.set(n);
    }

    /// Feeds published.
    pub fn set_feeds(&self, n: u64) {
        self.feeds.set(n);
    }

    /// Store files rejected (undecodable, unparsable, too large, colliding).
    pub fn add_rejects(&self, n: u64) {
        self.rejected_files.add(n);
    }

    /// Duration of one publish round (render and write the changed feeds).
    pub fn observe_publish(&self, seconds: f64) {
        self.publish_seconds.observe(seconds);
    }

    /// One HTTP response. `route` is the route pattern (`/feeds`), never the raw path: a
    /// label value per URL would grow without bound.
    pub fn observe_http(&self, route: &'static str, status: u16) {
        self.http_requests.inc((route, status));
    }

    /// One WebSub hub ping, successful or not.
    /// A digest round's outcome: sent, deferred, refused, bounced, empty, too late, and 1
    /// if the round was paused because the relay refused everything.
    pub fn add_digests(&self, counts: [u64; DIGEST_RESULTS.len()]) {
        for (counter, n) in self.digests.iter().zip(counts) {
            counter.add(n);
        }
    }

    pub fn add_websub(&self, ok: bool) {
        if ok {
            self.websub_ok.add(1);
        } else {
            self.websub_error.add(1);
        }
    }

    /// The text exposition format, metrics in a fixed order and label sets sorted, so two
    /// renderings of the same values are byte-identical.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        write_single(
            &mut out,
            "tidings_articles",
            "gauge",
            "Articles in the index.",
            self.articles.get(),
        );
        write_single(
            &mut out,
            "tidings_feeds",
            "gauge",
            "Feeds published.",
            self.feeds.get(),
        );
        write_single(
            &mut out,
            "tidings_rejected_files_total",
            "counter",
            "Store files rejected since start.",
            self.rejected_files.get(),
        );
        self.publish_seconds.write(
            &mut out,
            "tidings_publish_seconds",
            "Duration of a publish round in seconds.",
        );
        write_header(
            &mut out,
            "tidings_http_requests_total",
            "counter",
            "HTTP responses by route pattern and status code.",
        );
        for ((route, status), n) in self.http_requests.snapshot() {
            let _ = writeln!(
                out,
                "tidings_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape_label(route)
            );
        }
        write_header(
            &mut out,
            "tidings_websub_pings_total",
            "counter",
            "WebSub hub pings by result.",
        );
        let _ = writeln!(
            out,
            "tidings_websub_pings_total{{result=\"ok\"}} {}",
            self.websub_ok.get()
        );
        let _ = writeln!(
            out,
            "tidings_websub_pings_total{{result=\"error\"}} {}",
            self.websub_error.get()
        );
        write_header(
            &mut out,
            "tidings_digests_total",
            "counter",
            "Digest outcomes by result (paused_round counts rounds stopped by a relay refusing everything).",
        );
        for (label, counter) in DIGEST_RESULTS.iter().zip(&self.digests) {
            let _ = writeln!(
                out,
                "tidings_digests_total{{result=\"{label}\"}} {}",
                counter.get()
            );
        }
        out
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters keyed by a small, bounded set of label values.
#[derive(Debug)]
pub struct LabelledCounter<K> {
    cells: RwLock<BTreeMap<K, AtomicU64>>,
}

impl<K> Default for LabelledCounter<K> {
    fn default() -> Self {
        LabelledCounter {
            cells: RwLock::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord + Copy> LabelledCounter<K> {
    pub fn inc(&self, key: K) {
        // A poisoned lock only means a panic elsewhere while holding it; the counts are
        // still valid numbers, so keep counting.
        if let Some(cell) = self
            .cells
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            cell.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.cells
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Every label set with its count, in key order.
    pub fn snapshot(&self) -> Vec<(K, u64)> {
        self.cells
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (*k, v.load(Ordering::Relaxed)))
            .collect()
    }
}

/// A cumulative histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative; summed when rendered), then one for `+Inf`.
    buckets: Box<[AtomicU64]>,
    /// The sum of observations, as `f64` bits (there is no atomic float).
    sum_bits: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        write_header(out, name, "histogram", help);
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = match self.bounds.get(i) {
                Some(b) => b.to_string(),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = f64::from_bits(self.sum_bits.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}_sum {sum}");
        // `_count` equals the `+Inf` bucket by definition; reading it from the buckets
        // keeps the two consistent even while observations race with rendering.
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

fn write_header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn write_single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    write_header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value as the format requires (backslash, double quote, newline).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_exposition_format_exactly() {
        let m = Metrics::default();
        m.set_articles(12);
        m.set_feeds(7);
        m.add_rejects(2);
        m.add_rejects(1);
        m.observe_publish(0.003);
        m.observe_publish(0.2);
        m.observe_publish(30.0);
        m.observe_http("/feeds", 304);
        m.observe_http("/feeds", 200);
        m.observe_http("/feeds", 200);
        m.observe_http("/articles", 404);
        m.add_websub(true);
        m.add_websub(false);
        m.add_websub(true);
        let expected = r#"# HELP tidings_articles Articles in the index.
# TYPE tidings_articles gauge
tidings_articles 12
# HELP tidings_feeds Feeds published.
# TYPE tidings_feeds gauge
tidings_feeds 7
# HELP tidings_rejected_files_total Store files rejected since start.
# TYPE tidings_rejected_files_total counter
tidings_rejected_files_total 3
# HELP tidings_publish_seconds Duration of a publish round in seconds.
# TYPE tidings_publish_seconds histogram
tidings_publish_seconds_bucket{le="0.005"} 1
tidings_publish_seconds_bucket{le="0.01"} 1
tidings_publish_seconds_bucket{le="0.025"} 1
tidings_publish_seconds_bucket{le="0.05"} 1
tidings_publish_seconds_bucket{le="0.1"} 1
tidings_publish_seconds_bucket{le="0.25"} 2
tidings_publish_seconds_bucket{le="0.5"} 2
tidings_publish_seconds_bucket{le="1"} 2
tidings_publish_seconds_bucket{le="2.5"} 2
tidings_publish_seconds_bucket{le="5"} 2
tidings_publish_seconds_bucket{le="10"} 2
tidings_publish_seconds_bucket{le="+Inf"} 3
tidings_publish_seconds_sum 30.203
tidings_publish_seconds_count 3
# HELP tidings_http_requests_total HTTP responses by route pattern and status code.
# TYPE tidings_http_requests_total counter
tidings_http_requests_total{route="/articles",status="404"} 1
tidings_http_requests_total{route="/feeds",status="200"} 2
tidings_http_requests_total{route="/feeds",status="304"} 1
# HELP tidings_websub_pings_total WebSub hub pings by result.
# TYPE tidings_websub_pings_total counter
tidings_websub_pings_total{result="ok"} 2
tidings_websub_pings_total{result="error"} 1
# HELP tidings_digests_total Digest outcomes by result (paused_round counts rounds stopped by a relay refusing everything).
# TYPE tidings_digests_total counter
tidings_digests_total{result="sent"} 5
tidings_digests_total{result="deferred"} 1
tidings_digests_total{result="refused"} 0
tidings_digests_total{result="bounced"} 0
tidings_digests_total{result="empty"} 2
tidings_digests_total{result="too_late"} 0
tidings_digests_total{result="paused_round"} 1
"#;
        m.add_digests([3, 1, 0, 0, 2, 0, 1]);
        m.add_digests([2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(m.render(), expected);
    }

    #[test]
    fn an_idle_daemon_still_declares_every_metric() {
        let text = Metrics::default().render();
        for name in [
            "tidings_articles",
            "tidings_feeds",
            "tidings_rejected_files_total",
            "tidings_publish_seconds",
            "tidings_http_requests_total",
            "tidings_websub_pings_total",
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains("tidings_publish_seconds_count 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let m = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.observe_http("/feeds", 200);
                        m.observe_publish(0.01);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.http_requests.snapshot(), vec![(("/feeds", 200), 4000)]);
        assert!(m.render().contains("tidings_publish_seconds_count 4000\n"));
    }
}
