//! Writes a synthetic article store for benchmarks and manual testing:
//! `cargo run --release --example gencorpus -- --articles 100000 --out /tmp/corpus [--seed 7] [--utf8-only] [--newsroom]`.
//! Prints how many files and bytes were written, how long it took, and the vocabulary:
//! distinct keywords (as written and folded, i.e. keyword feeds) and section nodes.
//!
//! `--newsroom` draws keywords and sections as a real newsroom's archive does (DESIGN §2
//! "A real newsroom's vocabulary"); without it, the toy vocabulary of the older benchmarks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use tidings::fold::fold;
use tidings_corpus::{generate, CorpusMode, CorpusSpec};

const USAGE: &str =
    "usage: gencorpus --articles N --out DIR [--seed S] [--utf8-only] [--json-permille P] [--date-line-permille P] [--newsroom]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gencorpus: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut spec = CorpusSpec::new(1000, 7);
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--articles" => spec.articles = number(&value("--articles")?)? as usize,
            "--seed" => spec.seed = number(&value("--seed")?)?,
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--json-permille" => spec.json_permille = number(&value("--json-permille")?)? as u32,
            "--date-line-permille" => {
                spec.date_line_permille = number(&value("--date-line-permille")?)? as u32
            }
            "--utf8-only" => spec.utf8_only = true,
            "--newsroom" => spec.mode = CorpusMode::Newsroom,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let out = out.ok_or("--out is required")?;

    let started = Instant::now();
    let articles = generate(&out, &spec).map_err(|e| format!("{}: {e}", out.display()))?;
    let secs = started.elapsed().as_secs_f64();

    let bytes: u64 = articles.iter().map(|a| a.size).sum();
    let mut encodings: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &articles {
        *encodings.entry(a.encoding).or_default() += 1;
    }
    let count =
        |f: fn(&tidings_corpus::GeneratedArticle) -> bool| articles.iter().filter(|a| f(a)).count();
    println!(
        "{} files, {} bytes ({:.1} MB) in {:.2} s -> {}",
        articles.len(),
        bytes,
        bytes as f64 / 1e6,
        secs,
        out.display()
    );
    println!(
        "traditional {}, json {}, crlf {}, big5 fallbacks {}",
        count(|a| a.traditional),
        count(|a| a.json),
        count(|a| a.crlf),
        count(|a| a.encoding_fallback)
    );
    let mix: Vec<String> = encodings.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("encodings: {}", mix.join(", "));

    let written: HashSet<&str> = articles
        .iter()
        .flat_map(|a| a.keywords.iter().map(String::as_str))
        .collect();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for keyword in &written {
        uses.entry(fold(keyword)).or_default();
    }
    for a in &articles {
        for keyword in &a.keywords {
            *uses.get_mut(&fold(keyword)).expect("folded above") += 1;
        }
    }
    let rare = uses.values().filter(|&&n| n <= 3).count();
    let top = uses.values().copied().max().unwrap_or(0);
    let sections: HashSet<String> = articles
        .iter()
        .flat_map(|a| (1..=a.sections.len()).map(|d| fold(&a.sections[..d].join("/"))))
        .collect();
    println!(
        "keywords: {} written forms, {} after folding ({} on 1-3 articles, the most used on {}); {} section nodes",
        written.len(),
        uses.len(),
        rare,
        top,
        sections.len()
    );
    Ok(())
}

fn number(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))
}
