//! How fast the HTML templates render: the article page (`/articles/{id}`) of the seed
//! article, and a whole digest of 20 articles in three groups (text and HTML parts,
//! headers, base64 — what one subscriber's mail costs), each `--runs` times (default
//! 10,000) in one thread.
//!
//! ```text
//! cargo run --release --example bench_pages [-- --runs 10000]
//! ```
//!
//! Prints one JSON line: runs, and the microseconds per article page and per digest, both
//! in wall-clock time and in the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: on a
//! machine shared with other work, the figure that waiting for a core does not inflate).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use tidings::config::Format;
use tidings::daemon::http::article_page;
use tidings::digests::compose::{compose, DigestInput, Group};
use tidings::feeds::feed::Site;
use tidings::feeds::topic::record_at;
use tidings::model::article::{Article, Layout, Record};

const SEED: &[u8] = include_bytes!("../articles/000_8c7ef1c8e8c43d29.txt");

/// The index record of the `seq`-th arrival, ten minutes after the one before.
fn record(article: Article, seq: u64) -> Record {
    record_at(article, seq, 1_433_463_360 + seq as i64 * 600)
}

/// The calling thread's CPU time, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own and nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn main() {
    let mut runs = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--runs", Some(n)) => runs = n.replace('_', "").parse().expect("--runs N"),
            _ => {
                eprintln!("usage: bench_pages [--runs N]");
                std::process::exit(2);
            }
        }
    }
    let site = Site {
        title: "新聞站".into(),
        base_url: "https://news.example".into(),
        language: "zh".into(),
        tz: chrono_tz::Asia::Shanghai,
        hub: None,
        formats: Format::ALL.to_vec(),
    };
    let seed = record(
        Article::parse("000_8c7ef1c8e8c43d29", SEED, Layout::Text).expect("the seed parses"),
        1,
    );
    let others: Vec<Record> = (2..=20)
        .map(|i| {
            let text = format!(
                "首頁>經濟>產業 產業\n第{i}篇：產業政策與地方實踐\n\
                 第一段文字，說明第{i}篇的背景與進展，涉及多個地方的做法。\n\
                 第二段文字，補充細節。\n關鍵詞:經濟 重慶市 產業\n"
            );
            record(
                Article::parse(&format!("bench_{i:03}"), text.as_bytes(), Layout::Text)
                    .expect("a bench article parses"),
                i,
            )
        })
        .collect();
    let refs: Vec<&Record> = others.iter().collect();
    let groups = vec![
        Group {
            label: "黨派·聲音 > 統一戰線".into(),
            records: vec![&seed],
        },
        Group {
            label: "經濟".into(),
            records: refs.clone(),
        },
        Group {
            label: "重慶市".into(),
            records: refs.iter().copied().chain([&seed]).collect(),
        },
    ];
    let input = DigestInput {
        to: "reader@example.org",
        subscriber_key: "5f2c0e",
        period: "2026-11-24",
        groups,
        site: &site,
        from: "新聞站 <digest@news.example>",
        list_id: "tidings.news.example",
        manage_url: "https://news.example/manage?token=abc",
        unsubscribe_url: "https://news.example/unsubscribe?token=abc",
        unsubscribe_mailto: "mailto:unsubscribe@news.example?subject=unsubscribe%20abc",
        schedule_name: "每日",
        alert: false,
        lang: tidings::i18n::Lang::ZhHant,
        now: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(),
        feed_url: "https://news.example/me/abc/rss.xml",
    };

    let per_run = |seconds: f64| seconds * 1e6 / runs as f64;
    let mut bytes = 0usize;
    let (start, cpu) = (Instant::now(), thread_cpu_seconds());
    for _ in 0..runs {
        bytes += std::hint::black_box(article_page(
            &site,
            std::hint::black_box(&seed),
            tidings::i18n::Lang::ZhHant,
        ))
        .len();
    }
    let page_us = per_run(start.elapsed().as_secs_f64());
    let page_cpu_us = per_run(thread_cpu_seconds() - cpu);

    let (start, cpu) = (Instant::now(), thread_cpu_seconds());
    for _ in 0..runs {
        let digest = compose(std::hint::black_box(&input)).expect("the digest has articles");
        bytes += digest.bytes.len();
    }
    let digest_us = per_run(start.elapsed().as_secs_f64());
    let digest_cpu_us = per_run(thread_cpu_seconds() - cpu);
    println!(
        "{{\"runs\": {runs}, \"article_page_us\": {page_us:.2}, \"article_page_cpu_us\": {page_cpu_us:.2}, \
         \"digest_us\": {digest_us:.2}, \"digest_cpu_us\": {digest_cpu_us:.2}, \"bytes\": {bytes}}}"
    );
}
