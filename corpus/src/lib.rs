//! Deterministic generator of a synthetic article store (DESIGN §1), for integration
//! tests and benchmarks: page exports in the seed layout (§1a) written in Traditional
//! or Simplified Chinese, in UTF-8/UTF-16/GB18030/Big5 with LF or CRLF, plus a few
//! structured JSON files (§1b). The same [`CorpusSpec`] always yields the same bytes
//! and modification times. No `rand`: a splitmix64 generator lives in this module.
//!
//! Two vocabularies ([`CorpusMode`]): the toy one (300-odd hand-written keywords, two-level
//! sections) and a newsroom's (DESIGN §2 "A real newsroom's vocabulary": tens of thousands
//! of keywords growing with the archive, a three-level section tree).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Timelike};
use rayon::prelude::*;

/// Which keyword vocabulary and section tree the articles draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CorpusMode {
    /// 300-odd hand-written keywords (Zipf over a fixed list, 0–5 per article, each in the
    /// article's script) and 41 section nodes two levels deep.
    #[default]
    Toy,
    /// A real newsroom's archive (DESIGN §2 "A real newsroom's vocabulary"): the vocabulary
    /// grows with the archive by Heaps' law — about 60,000 distinct keywords (after
    /// folding) at 100,000 articles, 160,000 at 500,000 — with 3–6 keywords per article,
    /// a Zipf-like spread (a few keywords on thousands of articles, most on 1–3), 15 % of
    /// keyword occurrences typed in Simplified whatever the article's script, and 151
    /// section nodes three levels deep. Titles, bodies, encodings and times are drawn
    /// exactly as in [`CorpusMode::Toy`], so article sizes match it.
    Newsroom,
}

/// What to generate. Build with [`CorpusSpec::new`], [`CorpusSpec::newsroom`] or struct
/// update over `Default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    /// Number of files.
    pub articles: usize,
    /// Keyword vocabulary and section tree (default [`CorpusMode::Toy`]).
    pub mode: CorpusMode,
    /// Everything derives from this.
    pub seed: u64,
    /// Share of articles written in Traditional script, per mille (default 500).
    pub traditional_permille: u32,
    /// Share of JSON-layout files (§1b), per mille (default 20).
    pub json_permille: u32,
    /// Share of page exports with CRLF line ends, per mille (default 150).
    pub crlf_permille: u32,
    /// Share of page exports carrying a `2015年06月05日08:16` date line after the title
    /// block, per mille (default 0: publication time then comes from the mtime).
    pub date_line_permille: u32,
    /// Write every file as plain UTF-8 (default false: mixed encodings).
    pub utf8_only: bool,
    /// Earliest modification time (default 2023-06-01T00:00:00Z).
    pub start: SystemTime,
    /// Modification times spread over `start .. start + span` (default 730 days).
    pub span: Duration,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            articles: 300,
            mode: CorpusMode::Toy,
            seed: 7,
            traditional_permille: 500,
            json_permille: 20,
            crlf_permille: 150,
            date_line_permille: 0,
            utf8_only: false,
            start: UNIX_EPOCH + Duration::from_secs(1_685_577_600),
            span: Duration::from_secs(730 * 86_400),
        }
    }
}

impl CorpusSpec {
    /// Default knobs with the given size and seed.
    pub fn new(articles: usize, seed: u64) -> Self {
        CorpusSpec {
            articles,
            seed,
            ..Self::default()
        }
    }

    /// Default knobs with the newsroom vocabulary ([`CorpusMode::Newsroom`]).
    pub fn newsroom(articles: usize, seed: u64) -> Self {
        CorpusSpec {
            mode: CorpusMode::Newsroom,
            ..Self::new(articles, seed)
        }
    }
}

/// Formatting choices of one page export (§1a); public so tests can vary them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// First crumb: `首頁` or `首页`.
    pub home: &'static str,
    /// Between crumbs: `>`, `＞`, ` > ` or ` ＞ `.
    pub crumb_sep: &'static str,
    /// `：` instead of `:` after labels.
    pub full_width_colon: bool,
    /// `原標題` / `原标题`.
    pub original_label: &'static str,
    /// `編輯`, `编辑`, `責任編輯` or `责任编辑`.
    pub editor_label: &'static str,
    /// `關鍵詞`, `关键词`, `關鍵字` or `关键字`.
    pub keyword_label: &'static str,
    /// Between keywords: ` `, `、`, `，` or `,`.
    pub keyword_sep: &'static str,
    /// The file ends with a line break (the seed does not).
    pub final_newline: bool,
}

impl TextStyle {
    /// The seed's own style in the given script: `>`, ASCII colons, space-separated keywords.
    pub fn plain(traditional: bool) -> Self {
        TextStyle {
            home: t(("首頁", "首页"), traditional),
            crumb_sep: ">",
            full_width_colon: false,
            original_label: t(("原標題", "原标题"), traditional),
            editor_label: t(("編輯", "编辑"), traditional),
            keyword_label: t(("關鍵詞", "关键词"), traditional),
            keyword_sep: " ",
            final_newline: false,
        }
    }
}

/// One generated file and what a parser should read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedArticle {
    /// File stem, unique.
    pub id: String,
    /// Relative to the store root.
    pub rel_path: PathBuf,
    /// Unique per article (carries a serial `(第N期)`).
    pub title: String,
    pub subtitle: Option<String>,
    /// The `原標題` line's value; present exactly when `subtitle` is.
    pub original_title: Option<String>,
    /// Section path, home crumb and repeated heading dropped; 1 or 2 levels (toy mode),
    /// 1 to 3 (newsroom mode).
    pub sections: Vec<String>,
    /// As written, distinct after folding, in order; may be empty (then there is no keyword
    /// line). In newsroom mode each one's script is drawn on its own, not the article's.
    pub keywords: Vec<String>,
    pub editor: Option<String>,
    /// Modification time set on the file; distinct seconds across the corpus.
    pub mtime: SystemTime,
    /// Publication time written in the file itself (JSON `published`, or the date line),
    /// at +08:00; `None` when the reader must fall back to the mtime.
    pub published: Option<DateTime<FixedOffset>>,
    /// Traditional (true) or Simplified script for everything in the file.
    pub traditional: bool,
    /// Actual bytes: "utf-8", "utf-8-bom", "utf-16le-bom", "utf-16be-bom", "gb18030", "big5".
    pub encoding: &'static str,
    /// Big5 was chosen but the text had unmappable characters, so it went out as UTF-8.
    pub encoding_fallback: bool,
    pub crlf: bool,
    /// JSON layout (§1b) instead of the page export.
    pub json: bool,
    pub style: TextStyle,
    /// Seed of [`GeneratedArticle::body`]; bodies are not kept in memory.
    pub body_seed: u64,
    /// File size in bytes.
    pub size: u64,
}

impl GeneratedArticle {
    /// The body lines (paragraphs and 1–3 short sub-headings), regenerated from `body_seed`.
    pub fn body(&self) -> Vec<String> {
        gen_body(&mut Rng::new(self.body_seed), self.traditional)
    }

    /// The file's text before encoding ([`render`] over [`GeneratedArticle::body`]).
    pub fn text(&self) -> String {
        render(self, &self.body())
    }

    /// The file's bytes, in `self.encoding`.
    pub fn bytes(&self) -> Vec<u8> {
        encode(&self.text(), self.encoding).expect("encoding checked at generation")
    }
}

/// The file text of `a` with the given body: [`render_json`] or [`render_text`].
pub fn render(a: &GeneratedArticle, body: &[String]) -> String {
    if a.json {
        render_json(a, body)
    } else {
        render_text(a, body)
    }
}

/// A page export (§1a) for `a` with the given body lines, line ends per `a.crlf`.
pub fn render_text(a: &GeneratedArticle, body: &[String]) -> String {
    let s = &a.style;
    let nl = if a.crlf { "\r\n" } else { "\n" };
    let colon = if s.full_width_colon { "：" } else { ":" };
    let mut out = String::with_capacity(256 + body.iter().map(|l| l.len() + 2).sum::<usize>());
    out.push_str(s.home);
    for sec in &a.sections {
        out.push_str(s.crumb_sep);
        out.push_str(sec);
    }
    if let Some(last) = a.sections.last() {
        out.push(' ');
        out.push_str(last);
    }
    out.push_str(nl);
    out.push_str(&a.title);
    if let Some(sub) = &a.subtitle {
        out.push_str(nl);
        out.push_str(sub);
    }
    if let Some(orig) = &a.original_title {
        out.push_str(nl);
        out.push_str(s.original_label);
        out.push_str(colon);
        out.push_str(orig);
    }
    if let (Some(p), false) = (a.published, a.json) {
        out.push_str(nl);
        out.push_str(&format!(
            "{}年{:02}月{:02}日{:02}:{:02}",
            p.year(),
            p.month(),
            p.day(),
            p.hour(),
            p.minute()
        ));
    }
    for line in body {
        out.push_str(nl);
        out.push_str(line);
    }
    if let Some(ed) = &a.editor {
        out.push_str(nl);
        out.push_str(s.editor_label);
        out.push_str(colon);
        out.push_str(ed);
    }
    if !a.keywords.is_empty() {
        out.push_str(nl);
        out.push_str(s.keyword_label);
        out.push_str(colon);
        out.push_str(&a.keywords.join(s.keyword_sep));
    }
    if s.final_newline {
        out.push_str(nl);
    }
    out
}

/// A structured file (§1b) for `a`: `id`, `title`, `sections`, `keywords`, `body`,
/// and `subtitle`, `editor`, `published` when set.
pub fn render_json(a: &GeneratedArticle, body: &[String]) -> String {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), a.id.clone().into());
    m.insert("title".into(), a.title.clone().into());
    if let Some(sub) = &a.subtitle {
        m.insert("subtitle".into(), sub.clone().into());
    }
    m.insert("sections".into(), a.sections.clone().into());
    m.insert("keywords".into(), a.keywords.clone().into());
    if let Some(ed) = &a.editor {
        m.insert("editor".into(), ed.clone().into());
    }
    if let Some(p) = a.published {
        m.insert(
            "published".into(),
            p.to_rfc3339_opts(SecondsFormat::Secs, false).into(),
        );
    }
    m.insert("body".into(), body.to_vec().into());
    let mut s = serde_json::to_string_pretty(&serde_json::Value::Object(m)).expect("json");
    s.push('\n');
    s
}

/// `text` in one of the encodings named in [`GeneratedArticle::encoding`]; `None` for an
/// unknown name or when a legacy encoding cannot represent every character.
pub fn encode(text: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding {
        "utf-8" => Some(text.as_bytes().to_vec()),
        "utf-8-bom" => {
            let mut v = Vec::with_capacity(text.len() + 3);
            v.extend_from_slice(b"\xEF\xBB\xBF");
            v.extend_from_slice(text.as_bytes());
            Some(v)
        }
        "utf-16le-bom" | "utf-16be-bom" => {
            let le = encoding == "utf-16le-bom";
            let mut v = Vec::with_capacity(text.len() * 2 / 3 * 2 + 2);
            v.extend_from_slice(if le { b"\xFF\xFE" } else { b"\xFE\xFF" });
            for u in text.encode_utf16() {
                v.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            Some(v)
        }
        "gb18030" | "big5" => {
            let enc = if encoding == "big5" {
                encoding_rs::BIG5
            } else {
                encoding_rs::GB18030
            };
            let (bytes, _, unmappable) = enc.encode(text);
            (!unmappable).then(|| bytes.into_owned())
        }
        _ => None,
    }
}

/// Writes `spec.articles` files under `root` (creating folders as needed, overwriting
/// files of the same name) and returns them in generation order.
pub fn generate(root: &Path, spec: &CorpusSpec) -> io::Result<Vec<GeneratedArticle>> {
    let plan = Plan::new(spec);
    (0..spec.articles)
        .into_par_iter()
        .map(|i| {
            let (mut a, bytes) = plan.article(i);
            a.size = bytes.len() as u64;
            write_file(&root.join(&a.rel_path), &bytes, a.mtime)?;
            Ok(a)
        })
        .collect()
}

fn write_file(path: &Path, bytes: &[u8], mtime: SystemTime) -> io::Result<()> {
    let mut f = match File::create(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            File::create(path)?
        }
        Err(e) => return Err(e),
    };
    f.write_all(bytes)?;
    f.set_modified(mtime)
}

// ---------------------------------------------------------------------------------------
// Planning one article.

const CST: i32 = 8 * 3600;
/// Crumb separators, `>` most often.
const CRUMB_SEPS: &[&str] = &[">", ">", ">", "＞", " > ", " ＞ "];
/// Keyword separators, a space most often.
const KEYWORD_SEPS: &[&str] = &[" ", " ", " ", "、", "，", ","];

struct Plan<'a> {
    spec: &'a CorpusSpec,
    start: i64,
    step: u64,
    perm_a: u64,
    perm_b: u64,
    /// Newsroom mode only: which keyword each article carries.
    newsroom: Option<KeywordPlan>,
}

impl<'a> Plan<'a> {
    fn new(spec: &'a CorpusSpec) -> Self {
        let n = spec.articles.max(1) as u64;
        let start = match spec.start.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let step = (spec.span.as_secs() / n).max(1);
        let mut rng = Rng::new(mix(spec.seed, u64::MAX));
        let mut perm_a = rng.below(n) | 1;
        while gcd(perm_a, n) != 1 {
            perm_a += 1;
        }
        let perm_b = rng.below(n);
        let newsroom =
            (spec.mode == CorpusMode::Newsroom).then(|| KeywordPlan::new(spec.articles, spec.seed));
        Plan {
            spec,
            start,
            step,
            perm_a: perm_a % n,
            perm_b,
            newsroom,
        }
    }

    /// Metadata and bytes of article `i`; everything derives from (seed, i).
    fn article(&self, i: usize) -> (GeneratedArticle, Vec<u8>) {
        let spec = self.spec;
        let n = spec.articles.max(1) as u64;
        let mut rng = Rng::new(mix(spec.seed, i as u64));
        let hash = rng.next_u64();
        let id = format!("{i:06}_{hash:016x}");

        // A distinct second per article, in an order unrelated to the id.
        let slot = ((self.perm_a as u128 * i as u128 + self.perm_b as u128) % n as u128) as u64;
        let secs = self.start + (slot * self.step + rng.below(self.step)) as i64;
        let mtime = if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        };
        let offset = FixedOffset::east_opt(CST).expect("offset");
        let local = DateTime::from_timestamp(secs, 0)
            .expect("timestamp in range")
            .with_timezone(&offset);

        let trad = rng.chance(spec.traditional_permille);
        let json = rng.chance(spec.json_permille);
        let crlf = !json && rng.chance(spec.crlf_permille);
        let date_line = !json && rng.chance(spec.date_line_permille);

        let top = &SECTIONS[rng.below(SECTIONS.len() as u64) as usize];
        let mut sections = vec![t(top.name, trad).to_string()];
        if rng.chance(800) {
            sections.push(t(rng.pick(top.children), trad).to_string());
        }

        let base = gen_title(&mut rng, trad);
        let title = format!("{base}(第{}期)", i + 1);
        let (subtitle, original_title) = if rng.chance(300) {
            let sub = gen_subtitle(&mut rng, trad);
            let orig = format!("{base} {sub}");
            (Some(sub), Some(orig))
        } else {
            (None, None)
        };

        let kw_count = if rng.chance(30) { 0 } else { rng.range(1, 5) };
        let vocab = vocabulary();
        let mut picked: Vec<usize> = Vec::with_capacity(kw_count);
        let mut tries = 0;
        while picked.len() < kw_count && tries < 64 {
            let k = vocab.sample(&mut rng);
            if !picked.contains(&k) {
                picked.push(k);
            }
            tries += 1;
        }
        let keywords: Vec<String> = picked
            .iter()
            .map(|&k| t(vocab.words[k], trad).to_string())
            .collect();
        // Newsroom mode replaces the toy choices above from a stream of its own, so every
        // other draw — title, body, encoding — stays the toy corpus's.
        let (sections, keywords) = match &self.newsroom {
            Some(plan) => {
                let mut own = Rng::new(mix(spec.seed ^ NEWSROOM_STREAM, i as u64));
                (
                    newsroom_sections(&mut own, trad),
                    plan.keywords(i, &mut own),
                )
            }
            None => (sections, keywords),
        };
        let editor = rng
            .chance(850)
            .then(|| t(rng.pick(EDITORS), trad).to_string());

        let style = TextStyle {
            home: t(("首頁", "首页"), trad),
            crumb_sep: rng.pick(CRUMB_SEPS),
            full_width_colon: rng.chance(400),
            original_label: t(("原標題", "原标题"), trad),
            editor_label: match (trad, rng.chance(250)) {
                (true, false) => "編輯",
                (true, true) => "責任編輯",
                (false, false) => "编辑",
                (false, true) => "责任编辑",
            },
            keyword_label: match (trad, rng.chance(200)) {
                (true, false) => "關鍵詞",
                (true, true) => "關鍵字",
                (false, false) => "关键词",
                (false, true) => "关键字",
            },
            keyword_sep: rng.pick(KEYWORD_SEPS),
            final_newline: rng.chance(500),
        };

        let wanted = if json || spec.utf8_only {
            "utf-8"
        } else {
            match rng.below(1000) {
                0..=649 => "utf-8",
                650..=719 => "utf-8-bom",
                720..=769 => "utf-16le-bom",
                770..=799 => "utf-16be-bom",
                800..=899 => "gb18030",
                _ if trad => "big5",
                _ => "gb18030",
            }
        };

        let published = if json {
            Some(local)
        } else if date_line {
            Some(local - chrono::Duration::seconds(local.second() as i64))
        } else {
            None
        };

        let body_seed = rng.next_u64();
        let rel_path = if json {
            PathBuf::from(format!("cms/{id}.json"))
        } else {
            PathBuf::from(format!("{}/{}/{id}.txt", top.slug, local.year()))
        };

        let mut a = GeneratedArticle {
            id,
            rel_path,
            title,
            subtitle,
            original_title,
            sections,
            keywords,
            editor,
            mtime,
            published,
            traditional: trad,
            encoding: wanted,
            encoding_fallback: false,
            crlf,
            json,
            style,
            body_seed,
            size: 0,
        };
        let text = a.text();
        let bytes = match encode(&text, wanted) {
            Some(b) => b,
            None => {
                a.encoding = "utf-8";
                a.encoding_fallback = true;
                text.into_bytes()
            }
        };
        (a, bytes)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------
// Text.

fn push_num(out: &mut String, tpl: &str, n: u64) -> usize {
    let (a, b) = tpl.split_once("{}").expect("template");
    out.push_str(a);
    let num = n.to_string();
    out.push_str(&num);
    out.push_str(b);
    a.chars().count() + num.len() + b.chars().count()
}

fn push(out: &mut String, s: &str) -> usize {
    out.push_str(s);
    s.chars().count()
}

fn place(rng: &mut Rng, trad: bool) -> &'static str {
    t(rng.pick(PLACES), trad)
}

fn gen_title(rng: &mut Rng, trad: bool) -> String {
    let mut s = String::new();
    match rng.below(4) {
        0 => {
            s.push_str(place(rng, trad));
            s.push_str(t(rng.pick(ADVS), trad));
            s.push_str(t(rng.pick(VERBS), trad));
            s.push_str(t(rng.pick(OBJS), trad));
        }
        1 => {
            s.push_str(t(rng.pick(VERBS), trad));
            s.push_str(t(rng.pick(OBJS), trad));
            s.push(' ');
            s.push_str(t(rng.pick(VERBS), trad));
            s.push_str(t(rng.pick(OBJS), trad));
        }
        2 => {
            s.push_str(place(rng, trad));
            s.push_str(t(rng.pick(OBJS), trad));
            s.push_str(t(rng.pick(TITLE_ENDS), trad));
        }
        _ => {
            s.push_str(t(rng.pick(ADVS), trad));
            s.push_str(t(rng.pick(VERBS), trad));
            s.push_str(t(rng.pick(OBJS), trad));
            s.push(' ');
            s.push_str(place(rng, trad));
            s.push_str(t(rng.pick(TITLE_ENDS), trad));
        }
    }
    s
}

fn gen_subtitle(rng: &mut Rng, trad: bool) -> String {
    let mut s = String::new();
    s.push_str(place(rng, trad));
    s.push_str(t(rng.pick(UNITS), trad));
    s.push_str(t(rng.pick(ADVS), trad));
    s.push_str(t(rng.pick(VERBS), trad));
    s.push_str(t(rng.pick(OBJS), trad));
    s
}

/// 5–12 paragraphs with 1–3 sub-headings between them.
fn gen_body(rng: &mut Rng, trad: bool) -> Vec<String> {
    let paras = rng.range(5, 12);
    let heads = rng.range(1, 3);
    let numbered = rng.chance(300);
    // Paragraphs after the first are spread over the headings, each getting at least one.
    let mut per_head = vec![1usize; heads];
    for _ in 0..(paras - 1 - heads) {
        per_head[rng.below(heads as u64) as usize] += 1;
    }
    let mut lines = Vec::with_capacity(paras + heads);
    lines.push(gen_paragraph(rng, trad));
    for (h, &count) in per_head.iter().enumerate() {
        lines.push(gen_heading(rng, trad, numbered.then_some(h)));
        for _ in 0..count {
            lines.push(gen_paragraph(rng, trad));
        }
    }
    lines
}

/// Under 30 characters, ends in a CJK character (no closing punctuation).
fn gen_heading(rng: &mut Rng, trad: bool, number: Option<usize>) -> String {
    loop {
        let mut s = String::new();
        if let Some(n) = number {
            s.push_str(["一、", "二、", "三、"][n]);
        }
        match rng.below(3) {
            0 => {
                s.push_str(t(rng.pick(UNITS), trad));
                s.push_str(t(rng.pick(ADVS), trad));
                s.push_str(t(rng.pick(VERBS), trad));
                s.push_str(t(rng.pick(OBJS), trad));
            }
            1 => {
                s.push_str(t(rng.pick(VERBS), trad));
                s.push_str(t(rng.pick(OBJS), trad));
                s.push('，');
                s.push_str(t(rng.pick(HEAD_TAILS), trad));
            }
            _ => {
                s.push_str(t(rng.pick(ADVS), trad));
                s.push_str(t(rng.pick(VERBS), trad));
                s.push_str(t(rng.pick(OBJS), trad));
            }
        }
        if s.chars().count() < 30 {
            return s;
        }
    }
}

/// 40–200 characters, ends in 。 or ！.
fn gen_paragraph(rng: &mut Rng, trad: bool) -> String {
    let target = rng.range(40, 190);
    let mut out = String::with_capacity(target * 3 + 16);
    let mut len = 0;
    let mut sentence = String::with_capacity(300);
    loop {
        sentence.clear();
        let slen = gen_sentence(rng, trad, &mut sentence);
        if len >= 40 && len + slen > 200 {
            break;
        }
        out.push_str(&sentence);
        len += slen;
        if len >= target {
            break;
        }
    }
    if rng.chance(60) {
        out.pop();
        out.push('！');
    }
    out
}

/// One sentence ending in 。; returns its length in characters.
fn gen_sentence(rng: &mut Rng, trad: bool, out: &mut String) -> usize {
    let mut n = 0;
    if rng.chance(350) {
        if rng.chance(300) {
            n += push(out, t(("記者從", "记者从"), trad));
            n += push(out, place(rng, trad));
            n += push(out, t(("獲悉", "获悉"), trad));
        } else {
            n += push(out, t(rng.pick(OPENERS), trad));
        }
        n += push(out, "，");
    }
    // Main clause: who does what.
    if rng.chance(500) {
        n += push(out, place(rng, trad));
    }
    n += push(out, t(rng.pick(UNITS), trad));
    n += push(out, t(rng.pick(ADVS), trad));
    match rng.below(4) {
        0 => {
            n += push(out, t(("學習", "学习"), trad));
            n += push(out, "《");
            n += push(out, t(rng.pick(DOCS), trad));
            n += push(out, "》");
        }
        1 => {
            n += push(out, t(rng.pick(VERBS), trad));
            n += push(out, t(rng.pick(OBJS), trad));
            n += push(out, t(("，提出“", "，提出“"), trad));
            n += push(out, t(rng.pick(SLOGANS), trad));
            n += push(out, t(("”的工作要求", "”的工作要求"), trad));
        }
        _ => {
            n += push(out, t(rng.pick(VERBS), trad));
            n += push(out, t(rng.pick(OBJS), trad));
        }
    }
    // One or two different follow-up clauses: a figure or an outcome.
    let mut prev = usize::MAX;
    for _ in 0..rng.range(1, 2) {
        n += push(out, "，");
        let k = loop {
            let k = rng.below((NUMS.len() + TAILS.len()) as u64) as usize;
            if k != prev {
                break k;
            }
        };
        prev = k;
        if k < NUMS.len() {
            let num = 2 + rng.below(298);
            n += push_num(out, t(NUMS[k], trad), num);
        } else {
            n += push(out, t(TAILS[k - NUMS.len()], trad));
        }
    }
    n += push(out, "。");
    n
}

// ---------------------------------------------------------------------------------------
// Newsroom mode (DESIGN §2 "A real newsroom's vocabulary").

/// Salt of the per-article stream that picks newsroom sections and keyword scripts.
const NEWSROOM_STREAM: u64 = 0x6E65_7773_726F_6F6D;
/// Distinct keywords (after folding) at 100,000 articles.
const HEAPS_AT_100K: f64 = 60_000.0;
/// Distinct keywords at 500,000 articles; with [`HEAPS_AT_100K`] this fixes the exponent.
const HEAPS_AT_500K: f64 = 160_000.0;
/// Keywords per article, drawn uniformly.
const NEWSROOM_KEYWORDS: (usize, usize) = (3, 6);
/// Share of keyword occurrences drawn from the toy vocabulary's Zipf head, per mille.
const NEWSROOM_HEAD_PERMILLE: u32 = 25;
/// Share of keyword occurrences typed in Simplified, per mille.
const NEWSROOM_SIMPLIFIED_PERMILLE: u32 = 150;

/// Heaps' law over keyword occurrences: the expected number of distinct keywords among
/// the first `occurrences`, `V = K · (N / 100,000)^β` with `N` counted in articles.
fn heaps(occurrences: f64) -> f64 {
    let beta = (HEAPS_AT_500K / HEAPS_AT_100K).ln() / 5f64.ln();
    let mean = (NEWSROOM_KEYWORDS.0 + NEWSROOM_KEYWORDS.1) as f64 / 2.0;
    HEAPS_AT_100K * (occurrences / (100_000.0 * mean)).powf(beta)
}

/// The keyword concepts of every article, drawn in one sequential pass (Simon's model with
/// a Heaps-law innovation rate, plus a Zipf head): occurrence `j` is a new keyword with
/// probability `heaps(j + 1) − heaps(j)`; else, with [`NEWSROOM_HEAD_PERMILLE`], one of the
/// toy vocabulary's real words drawn by its Zipf weights (重慶市 most often), so the head is
/// steep as in a real archive; else it repeats a uniformly chosen earlier occurrence, which
/// picks a keyword in proportion to its use so far — rich get richer, hence the long tail
/// with most keywords used once or twice. Concepts below the toy vocabulary's length are
/// its words, the rest are numbered in order of appearance; the text of concept `c` is
/// [`newsroom_keyword`]. Article `i`'s plan does not depend on how many articles follow.
struct KeywordPlan {
    /// Article `i` holds `concepts[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    concepts: Vec<u32>,
    /// Distinct concepts in the whole plan.
    #[cfg_attr(not(test), allow(dead_code))] // read by the statistics tests
    distinct: u32,
}

impl KeywordPlan {
    fn new(articles: usize, seed: u64) -> Self {
        let vocab = vocabulary();
        let mut rng = Rng::new(mix(seed, u64::MAX - 1));
        let mut starts = Vec::with_capacity(articles + 1);
        let mut concepts: Vec<u32> = Vec::with_capacity(articles * 9 / 2);
        let mut head_used = vec![false; vocab.words.len()];
        let mut next_new = vocab.words.len() as u32;
        for _ in 0..articles {
            let first = concepts.len();
            starts.push(first as u32);
            for _ in 0..rng.range(NEWSROOM_KEYWORDS.0, NEWSROOM_KEYWORDS.1) {
                let j = concepts.len();
                let fresh = heaps(j as f64 + 1.0) - heaps(j as f64);
                let mut pick = None;
                if rng.unit() >= fresh {
                    // An article names a keyword once: redraw one it already holds.
                    for _ in 0..8 {
                        let c = if rng.chance(NEWSROOM_HEAD_PERMILLE) {
                            vocab.sample(&mut rng) as u32
                        } else {
                            concepts[rng.below(j as u64) as usize]
                        };
                        if !concepts[first..].contains(&c) {
                            pick = Some(c);
                            break;
                        }
                    }
                }
                let c = pick.unwrap_or_else(|| {
                    next_new += 1;
                    next_new - 1
                });
                if let Some(used) = head_used.get_mut(c as usize) {
                    *used = true;
                }
                concepts.push(c);
            }
        }
        starts.push(concepts.len() as u32);
        let head = head_used.iter().filter(|&&u| u).count() as u32;
        KeywordPlan {
            starts,
            concepts,
            distinct: head + next_new - vocab.words.len() as u32,
        }
    }

    fn concepts_of(&self, article: usize) -> &[u32] {
        &self.concepts[self.starts[article] as usize..self.starts[article + 1] as usize]
    }

    /// Article `i`'s keywords as written, each Simplified with
    /// [`NEWSROOM_SIMPLIFIED_PERMILLE`], else Traditional.
    fn keywords(&self, article: usize, rng: &mut Rng) -> Vec<String> {
        self.concepts_of(article)
            .iter()
            .map(|&c| {
                let (trad, simp) = newsroom_keyword(c);
                if rng.chance(NEWSROOM_SIMPLIFIED_PERMILLE) {
                    simp
                } else {
                    trad
                }
            })
            .collect()
    }
}

/// The (Traditional, Simplified) text of keyword concept `c`, distinct for every `c` even
/// after folding. The first few hundred are the toy vocabulary's real words (the head of
/// [`KeywordPlan`]); after them come synthetic names of the kinds a newsroom tags:
/// people (40 %), places and organisations (30 %), and numbered events (30 %), each kind
/// walked in a scrambled order so neighbours do not share a prefix.
fn newsroom_keyword(c: u32) -> (String, String) {
    let words = &vocabulary().words;
    if let Some(&(trad, simp)) = words.get(c as usize) {
        return (trad.to_string(), simp.to_string());
    }
    let s = c as u64 - words.len() as u64;
    let (round, bucket) = (s / 10, s % 10);
    let (trad, simp) = match bucket {
        0..=3 => person_name(round * 4 + bucket),
        4..=6 => organisation_name(round * 3 + bucket - 4),
        _ => event_name(round * 3 + bucket - 7),
    };
    // A few synthetic names are real words of the toy list (江北區): mark them apart. No
    // synthetic name starts with 新, so the marked one is new too.
    static REAL: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let real = REAL.get_or_init(|| words.iter().map(|p| p.1).collect());
    if real.contains(simp.as_str()) {
        (format!("新{trad}"), format!("新{simp}"))
    } else {
        (trad, simp)
    }
}

/// `k`-th of `universe` names in a scrambled order, and how many times the universe was
/// exhausted before it (then the name carries that count, to stay distinct).
fn scramble(k: u64, universe: u64) -> (u64, u64) {
    let mut a = (universe as f64 * 0.618_033_988_7) as u64 | 1;
    while gcd(a, universe) != 1 {
        a += 2;
    }
    (
        ((k % universe) as u128 * a as u128 % universe as u128) as u64,
        k / universe,
    )
}

fn with_lap(mut name: (String, String), lap: u64) -> (String, String) {
    if lap > 0 {
        name.0.push_str(&lap.to_string());
        name.1.push_str(&lap.to_string());
    }
    name
}

/// Surname and a two-character given name: 王國華 / 王国华.
fn person_name(k: u64) -> (String, String) {
    let (s, g) = (SURNAMES.len() as u64, GIVEN_NAMES.len() as u64);
    let (k, lap) = scramble(k, s * g * g);
    let parts = [
        SURNAMES[(k % s) as usize],
        GIVEN_NAMES[(k / s % g) as usize],
        GIVEN_NAMES[(k / s / g) as usize],
    ];
    with_lap(join(&parts), lap)
}

/// Two place syllables and a kind: 東安縣, 興華開發區, 寶泉集團.
fn organisation_name(k: u64) -> (String, String) {
    let (p, o) = (
        PLACE_SYLLABLES.len() as u64,
        ORGANISATION_KINDS.len() as u64,
    );
    let (k, lap) = scramble(k, p * p * o);
    let parts = [
        PLACE_SYLLABLES[(k % p) as usize],
        PLACE_SYLLABLES[(k / p % p) as usize],
        ORGANISATION_KINDS[(k / p / p) as usize],
    ];
    with_lap(join(&parts), lap)
}

/// A numbered event: 第十二屆長寧論壇 / 第十二届长宁论坛.
fn event_name(k: u64) -> (String, String) {
    const EDITIONS: u64 = 30;
    let (p, e) = (PLACE_SYLLABLES.len() as u64, EVENT_KINDS.len() as u64);
    let (k, lap) = scramble(k, EDITIONS * p * p * e);
    let edition = chinese_number(k % EDITIONS + 1);
    let k = k / EDITIONS;
    let (trad, simp) = join(&[
        PLACE_SYLLABLES[(k % p) as usize],
        PLACE_SYLLABLES[(k / p % p) as usize],
        EVENT_KINDS[(k / p / p) as usize],
    ]);
    with_lap(
        (
            format!("第{edition}屆{trad}"),
            format!("第{edition}届{simp}"),
        ),
        lap,
    )
}

fn join(parts: &[Pair]) -> (String, String) {
    (
        parts.iter().map(|p| p.0).collect(),
        parts.iter().map(|p| p.1).collect(),
    )
}

/// 1 → 一, 12 → 十二, 30 → 三十 (the same in both scripts).
fn chinese_number(n: u64) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (tens, ones) = ((n / 10) as usize, (n % 10) as usize);
    match tens {
        0 => DIGITS[ones].to_string(),
        1 => format!("十{}", DIGITS[ones]),
        _ => format!("{}十{}", DIGITS[tens], DIGITS[ones]),
    }
}

/// A newsroom section path: one of [`SECTIONS`], then (90 %) one of its children, then
/// (70 % of all) one of that child's [`newsroom_leaves`].
fn newsroom_sections(rng: &mut Rng, trad: bool) -> Vec<String> {
    let top = rng.below(SECTIONS.len() as u64) as usize;
    let section = &SECTIONS[top];
    let mut path = vec![t(section.name, trad).to_string()];
    if rng.chance(100) {
        return path;
    }
    let child = rng.below(section.children.len() as u64) as usize;
    path.push(t(section.children[child], trad).to_string());
    if rng.chance(222) {
        return path;
    }
    let leaves = newsroom_leaves(top, child);
    path.push(t(rng.pick(&leaves), trad).to_string());
    path
}

/// The third level under child `child` of top section `top`: three or four of
/// [`SECTION_LEAVES`], a different run for each child, so the tree has
/// 8 + 33 + 110 = 151 nodes.
fn newsroom_leaves(top: usize, child: usize) -> Vec<Pair> {
    let serial: usize = SECTIONS[..top]
        .iter()
        .map(|s| s.children.len())
        .sum::<usize>()
        + child;
    let count = if serial.is_multiple_of(3) { 4 } else { 3 };
    (0..count)
        .map(|k| SECTION_LEAVES[(serial + k) % SECTION_LEAVES.len()])
        .collect()
}

/// Third-level section names, reused under every second-level section.
const SECTION_LEAVES: &[Pair] = &[
    ("要聞", "要闻"),
    ("動態", "动态"),
    ("評論", "评论"),
    ("專題", "专题"),
    ("圖片", "图片"),
    ("訪談", "访谈"),
    ("綜述", "综述"),
    ("數據", "数据"),
];

/// One character each; none of them ends an organisation or event kind.
const SURNAMES: &[Pair] = &[
    ("王", "王"),
    ("李", "李"),
    ("張", "张"),
    ("劉", "刘"),
    ("陳", "陈"),
    ("楊", "杨"),
    ("趙", "赵"),
    ("黃", "黄"),
    ("周", "周"),
    ("吳", "吴"),
    ("徐", "徐"),
    ("孫", "孙"),
    ("胡", "胡"),
    ("朱", "朱"),
    ("高", "高"),
    ("林", "林"),
    ("何", "何"),
    ("郭", "郭"),
    ("馬", "马"),
    ("羅", "罗"),
    ("梁", "梁"),
    ("宋", "宋"),
    ("鄭", "郑"),
    ("謝", "谢"),
    ("韓", "韩"),
    ("唐", "唐"),
    ("馮", "冯"),
    ("董", "董"),
    ("程", "程"),
    ("曹", "曹"),
    ("袁", "袁"),
    ("鄧", "邓"),
    ("許", "许"),
    ("傅", "傅"),
    ("沈", "沈"),
    ("曾", "曾"),
    ("彭", "彭"),
    ("呂", "吕"),
    ("蘇", "苏"),
    ("盧", "卢"),
    ("蔣", "蒋"),
    ("蔡", "蔡"),
    ("賈", "贾"),
    ("丁", "丁"),
    ("魏", "魏"),
    ("薛", "薛"),
    ("閻", "阎"),
    ("潘", "潘"),
    ("杜", "杜"),
    ("戴", "戴"),
    ("夏", "夏"),
    ("汪", "汪"),
    ("田", "田"),
    ("任", "任"),
    ("姜", "姜"),
    ("方", "方"),
    ("石", "石"),
    ("姚", "姚"),
    ("譚", "谭"),
    ("廖", "廖"),
    ("鄒", "邹"),
    ("熊", "熊"),
    ("陸", "陆"),
    ("郝", "郝"),
    ("孔", "孔"),
    ("白", "白"),
    ("崔", "崔"),
    ("康", "康"),
    ("邱", "邱"),
    ("秦", "秦"),
    ("史", "史"),
    ("顧", "顾"),
    ("侯", "侯"),
    ("邵", "邵"),
    ("孟", "孟"),
    ("段", "段"),
    ("雷", "雷"),
    ("錢", "钱"),
    ("湯", "汤"),
    ("尹", "尹"),
    ("黎", "黎"),
    ("易", "易"),
    ("常", "常"),
    ("武", "武"),
    ("喬", "乔"),
    ("賀", "贺"),
    ("賴", "赖"),
    ("龔", "龚"),
];

/// One character each; none of them ends an organisation or event kind.
const GIVEN_NAMES: &[Pair] = &[
    ("偉", "伟"),
    ("華", "华"),
    ("國", "国"),
    ("強", "强"),
    ("軍", "军"),
    ("麗", "丽"),
    ("靜", "静"),
    ("敏", "敏"),
    ("傑", "杰"),
    ("濤", "涛"),
    ("鵬", "鹏"),
    ("輝", "辉"),
    ("龍", "龙"),
    ("鳳", "凤"),
    ("燕", "燕"),
    ("紅", "红"),
    ("明", "明"),
    ("平", "平"),
    ("寧", "宁"),
    ("興", "兴"),
    ("榮", "荣"),
    ("順", "顺"),
    ("慶", "庆"),
    ("德", "德"),
    ("成", "成"),
    ("志", "志"),
    ("勇", "勇"),
    ("斌", "斌"),
    ("琳", "琳"),
    ("婷", "婷"),
    ("雪", "雪"),
    ("梅", "梅"),
    ("蘭", "兰"),
    ("芳", "芳"),
    ("玲", "玲"),
    ("娟", "娟"),
    ("霞", "霞"),
    ("穎", "颖"),
    ("嬌", "娇"),
    ("樂", "乐"),
    ("歡", "欢"),
    ("曉", "晓"),
    ("東", "东"),
    ("亮", "亮"),
    ("嘉", "嘉"),
    ("銘", "铭"),
    ("鑫", "鑫"),
    ("磊", "磊"),
    ("超", "超"),
    ("飛", "飞"),
    ("帆", "帆"),
    ("航", "航"),
    ("瑞", "瑞"),
    ("祥", "祥"),
    ("賢", "贤"),
    ("聰", "聪"),
    ("慧", "慧"),
    ("潔", "洁"),
    ("夢", "梦"),
    ("晨", "晨"),
    ("陽", "阳"),
    ("春", "春"),
    ("秋", "秋"),
    ("峰", "峰"),
    ("鋒", "锋"),
    ("濱", "滨"),
    ("楠", "楠"),
    ("萍", "萍"),
    ("蓉", "蓉"),
    ("維", "维"),
];

/// One character each, for place-like names.
const PLACE_SYLLABLES: &[Pair] = &[
    ("東", "东"),
    ("西", "西"),
    ("南", "南"),
    ("北", "北"),
    ("安", "安"),
    ("平", "平"),
    ("興", "兴"),
    ("華", "华"),
    ("陽", "阳"),
    ("山", "山"),
    ("河", "河"),
    ("江", "江"),
    ("湖", "湖"),
    ("海", "海"),
    ("川", "川"),
    ("嶺", "岭"),
    ("峰", "峰"),
    ("溪", "溪"),
    ("泉", "泉"),
    ("石", "石"),
    ("林", "林"),
    ("松", "松"),
    ("柏", "柏"),
    ("桃", "桃"),
    ("雲", "云"),
    ("龍", "龙"),
    ("鳳", "凤"),
    ("鶴", "鹤"),
    ("金", "金"),
    ("銀", "银"),
    ("寶", "宝"),
    ("泰", "泰"),
    ("康", "康"),
    ("壽", "寿"),
    ("福", "福"),
    ("祥", "祥"),
    ("瑞", "瑞"),
    ("饒", "饶"),
    ("清", "清"),
    ("明", "明"),
    ("永", "永"),
    ("長", "长"),
    ("昌", "昌"),
    ("盛", "盛"),
    ("順", "顺"),
    ("寧", "宁"),
    ("定", "定"),
    ("遠", "远"),
    ("德", "德"),
    ("仁", "仁"),
    ("義", "义"),
    ("信", "信"),
    ("橋", "桥"),
    ("灣", "湾"),
    ("港", "港"),
    ("嘉", "嘉"),
    ("豐", "丰"),
    ("錦", "锦"),
    ("綠", "绿"),
    ("紅", "红"),
    ("藍", "蓝"),
    ("黃", "黄"),
    ("雙", "双"),
    ("鳴", "鸣"),
];

/// What follows two place syllables in an organisation or place name.
const ORGANISATION_KINDS: &[Pair] = &[
    ("縣", "县"),
    ("鎮", "镇"),
    ("鄉", "乡"),
    ("村", "村"),
    ("區", "区"),
    ("街道", "街道"),
    ("社區", "社区"),
    ("開發區", "开发区"),
    ("工業園", "工业园"),
    ("高新區", "高新区"),
    ("行動", "行动"),
    ("工程", "工程"),
    ("計劃", "计划"),
    ("專項行動", "专项行动"),
    ("示範區", "示范区"),
    ("項目", "项目"),
    ("基金", "基金"),
    ("聯盟", "联盟"),
    ("協會", "协会"),
    ("商會", "商会"),
    ("集團", "集团"),
    ("公司", "公司"),
    ("大橋", "大桥"),
    ("機場", "机场"),
    ("高鐵", "高铁"),
    ("地鐵", "地铁"),
    ("水庫", "水库"),
    ("醫院", "医院"),
    ("中學", "中学"),
    ("大學", "大学"),
];

/// What follows `第N屆` and two place syllables.
const EVENT_KINDS: &[Pair] = &[
    ("論壇", "论坛"),
    ("博覽會", "博览会"),
    ("研討會", "研讨会"),
    ("峰會", "峰会"),
    ("交易會", "交易会"),
    ("運動會", "运动会"),
    ("藝術節", "艺术节"),
    ("文化節", "文化节"),
    ("旅遊節", "旅游节"),
    ("招商會", "招商会"),
];

// ---------------------------------------------------------------------------------------
// Randomness.

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < permille as u64
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn mix(seed: u64, i: u64) -> u64 {
    let mut r = Rng::new(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    r.next_u64() ^ Rng::new(i).next_u64()
}

// ---------------------------------------------------------------------------------------
// Vocabulary: (Traditional, Simplified) pairs, written by hand.

type Pair = (&'static str, &'static str);

fn t(p: Pair, trad: bool) -> &'static str {
    if trad {
        p.0
    } else {
        p.1
    }
}

/// Keywords in Zipf rank order (s = 1.1) and their cumulative weights.
struct Vocabulary {
    words: Vec<Pair>,
    cdf: Vec<f64>,
}

impl Vocabulary {
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit() * self.cdf[self.cdf.len() - 1];
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }
}

/// The keyword vocabulary, places, policy terms and international terms interleaved
/// so that every kind has frequent and rare members; 重慶市 is the most frequent.
fn vocabulary() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    V.get_or_init(|| {
        let lists: [&[Pair]; 3] = [PLACES, POLICY, WORLD];
        let mut words = Vec::new();
        let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
        for k in 0..longest {
            for l in lists {
                if let Some(&p) = l.get(k) {
                    words.push(p);
                }
            }
        }
        let mut acc = 0.0;
        let cdf = (1..=words.len())
            .map(|r| {
                acc += (r as f64).powf(-1.1);
                acc
            })
            .collect();
        Vocabulary { words, cdf }
    })
}

/// The section tree: top level, folder name, children.
struct Section {
    name: Pair,
    slug: &'static str,
    children: &'static [Pair],
}

const SECTIONS: &[Section] = &[
    Section {
        name: ("黨派·聲音", "党派·声音"),
        slug: "dangpai",
        children: &[
            ("統一戰線", "统一战线"),
            ("民主黨派", "民主党派"),
            ("參政議政", "参政议政"),
            ("黨建", "党建"),
        ],
    },
    Section {
        name: ("時政", "时政"),
        slug: "shizheng",
        children: &[
            ("高層動態", "高层动态"),
            ("人事任免", "人事任免"),
            ("反腐倡廉", "反腐倡廉"),
            ("港澳臺", "港澳台"),
        ],
    },
    Section {
        name: ("經濟", "经济"),
        slug: "jingji",
        children: &[
            ("產業", "产业"),
            ("金融", "金融"),
            ("宏觀", "宏观"),
            ("三農", "三农"),
            ("區域經濟", "区域经济"),
        ],
    },
    Section {
        name: ("社會", "社会"),
        slug: "shehui",
        children: &[
            ("民生", "民生"),
            ("法治", "法治"),
            ("教育", "教育"),
            ("醫療衛生", "医疗卫生"),
        ],
    },
    Section {
        name: ("文化", "文化"),
        slug: "wenhua",
        children: &[("文藝", "文艺"), ("文物考古", "文物考古"), ("出版", "出版")],
    },
    Section {
        name: ("國際", "国际"),
        slug: "guoji",
        children: &[
            ("亞太", "亚太"),
            ("歐洲", "欧洲"),
            ("美洲", "美洲"),
            ("中東", "中东"),
            ("非洲", "非洲"),
        ],
    },
    Section {
        name: ("科技", "科技"),
        slug: "keji",
        children: &[
            ("航天", "航天"),
            ("信息技術", "信息技术"),
            ("新能源", "新能源"),
        ],
    },
    Section {
        name: ("地方", "地方"),
        slug: "difang",
        children: &[
            ("重慶", "重庆"),
            ("廣東", "广东"),
            ("四川", "四川"),
            ("浙江", "浙江"),
            ("上海", "上海"),
        ],
    },
];

const PLACES: &[Pair] = &[
    ("重慶市", "重庆市"),
    ("北京市", "北京市"),
    ("廣東省", "广东省"),
    ("上海市", "上海市"),
    ("四川省", "四川省"),
    ("浙江省", "浙江省"),
    ("江蘇省", "江苏省"),
    ("天津市", "天津市"),
    ("山東省", "山东省"),
    ("湖北省", "湖北省"),
    ("河南省", "河南省"),
    ("湖南省", "湖南省"),
    ("福建省", "福建省"),
    ("河北省", "河北省"),
    ("山西省", "山西省"),
    ("遼寧省", "辽宁省"),
    ("吉林省", "吉林省"),
    ("黑龍江省", "黑龙江省"),
    ("安徽省", "安徽省"),
    ("江西省", "江西省"),
    ("海南省", "海南省"),
    ("貴州省", "贵州省"),
    ("雲南省", "云南省"),
    ("陝西省", "陕西省"),
    ("甘肅省", "甘肃省"),
    ("青海省", "青海省"),
    ("內蒙古自治區", "内蒙古自治区"),
    ("廣西壯族自治區", "广西壮族自治区"),
    ("西藏自治區", "西藏自治区"),
    ("寧夏回族自治區", "宁夏回族自治区"),
    ("新疆維吾爾自治區", "新疆维吾尔自治区"),
    ("香港特別行政區", "香港特别行政区"),
    ("澳門特別行政區", "澳门特别行政区"),
    ("廣州市", "广州市"),
    ("深圳市", "深圳市"),
    ("成都市", "成都市"),
    ("武漢市", "武汉市"),
    ("杭州市", "杭州市"),
    ("南京市", "南京市"),
    ("西安市", "西安市"),
    ("長沙市", "长沙市"),
    ("鄭州市", "郑州市"),
    ("濟南市", "济南市"),
    ("青島市", "青岛市"),
    ("大連市", "大连市"),
    ("廈門市", "厦门市"),
    ("蘇州市", "苏州市"),
    ("寧波市", "宁波市"),
    ("合肥市", "合肥市"),
    ("福州市", "福州市"),
    ("南昌市", "南昌市"),
    ("昆明市", "昆明市"),
    ("貴陽市", "贵阳市"),
    ("南寧市", "南宁市"),
    ("蘭州市", "兰州市"),
    ("西寧市", "西宁市"),
    ("銀川市", "银川市"),
    ("烏魯木齊市", "乌鲁木齐市"),
    ("拉薩市", "拉萨市"),
    ("呼和浩特市", "呼和浩特市"),
    ("哈爾濱市", "哈尔滨市"),
    ("長春市", "长春市"),
    ("瀋陽市", "沈阳市"),
    ("石家莊市", "石家庄市"),
    ("太原市", "太原市"),
    ("海口市", "海口市"),
    ("三亞市", "三亚市"),
    ("珠海市", "珠海市"),
    ("東莞市", "东莞市"),
    ("佛山市", "佛山市"),
    ("無錫市", "无锡市"),
    ("溫州市", "温州市"),
    ("煙臺市", "烟台市"),
    ("洛陽市", "洛阳市"),
    ("宜昌市", "宜昌市"),
    ("綿陽市", "绵阳市"),
    ("遵義市", "遵义市"),
    ("渝中區", "渝中区"),
    ("沙坪壩區", "沙坪坝区"),
    ("九龍坡區", "九龙坡区"),
    ("南岸區", "南岸区"),
    ("渝北區", "渝北区"),
    ("北碚區", "北碚区"),
    ("巴南區", "巴南区"),
    ("江北區", "江北区"),
    ("大渡口區", "大渡口区"),
    ("浦東新區", "浦东新区"),
    ("雄安新區", "雄安新区"),
    ("兩江新區", "两江新区"),
    ("天府新區", "天府新区"),
    ("粵港澳大灣區", "粤港澳大湾区"),
    ("長三角", "长三角"),
    ("京津冀", "京津冀"),
    ("成渝地區雙城經濟圈", "成渝地区双城经济圈"),
];

const POLICY: &[Pair] = &[
    ("鄉村振興", "乡村振兴"),
    ("中央統戰工作會議精神", "中央统战工作会议精神"),
    ("高質量發展", "高质量发展"),
    ("基層統戰工作", "基层统战工作"),
    ("一帶一路", "一带一路"),
    ("營商環境", "营商环境"),
    ("統一戰線", "统一战线"),
    ("科技創新", "科技创新"),
    ("民營企業", "民营企业"),
    ("共同富裕", "共同富裕"),
    ("政黨協商", "政党协商"),
    ("多黨合作", "多党合作"),
    ("黨外代表人士", "党外代表人士"),
    ("新的社會階層", "新的社会阶层"),
    ("非公有制經濟", "非公有制经济"),
    ("工商聯", "工商联"),
    ("民主黨派", "民主党派"),
    ("脫貧攻堅", "脱贫攻坚"),
    ("新發展理念", "新发展理念"),
    ("新型城鎮化", "新型城镇化"),
    ("供給側結構性改革", "供给侧结构性改革"),
    ("放管服改革", "放管服改革"),
    ("國有企業改革", "国有企业改革"),
    ("財稅體制改革", "财税体制改革"),
    ("金融監管", "金融监管"),
    ("房地產市場", "房地产市场"),
    ("保障性住房", "保障性住房"),
    ("養老保險", "养老保险"),
    ("醫療保險", "医疗保险"),
    ("分級診療", "分级诊疗"),
    ("義務教育", "义务教育"),
    ("職業教育", "职业教育"),
    ("高等教育", "高等教育"),
    ("穩就業", "稳就业"),
    ("最低工資", "最低工资"),
    ("擴大內需", "扩大内需"),
    ("對外貿易", "对外贸易"),
    ("自由貿易試驗區", "自由贸易试验区"),
    ("跨境電商", "跨境电商"),
    ("數字經濟", "数字经济"),
    ("人工智能", "人工智能"),
    ("5G網絡", "5G网络"),
    ("大數據", "大数据"),
    ("雲計算", "云计算"),
    ("集成電路", "集成电路"),
    ("新能源汽車", "新能源汽车"),
    ("光伏產業", "光伏产业"),
    ("碳達峰", "碳达峰"),
    ("碳中和", "碳中和"),
    ("生態文明", "生态文明"),
    ("長江經濟帶", "长江经济带"),
    ("黃河流域生態保護", "黄河流域生态保护"),
    ("河長制", "河长制"),
    ("大氣污染防治", "大气污染防治"),
    ("垃圾分類", "垃圾分类"),
    ("耕地保護", "耕地保护"),
    ("糧食安全", "粮食安全"),
    ("種業振興", "种业振兴"),
    ("農村改革", "农村改革"),
    ("土地流轉", "土地流转"),
    ("基層治理", "基层治理"),
    ("社區服務", "社区服务"),
    ("平安建設", "平安建设"),
    ("掃黑除惡", "扫黑除恶"),
    ("全面依法治國", "全面依法治国"),
    ("司法改革", "司法改革"),
    ("反腐敗", "反腐败"),
    ("巡視工作", "巡视工作"),
    ("中央八項規定", "中央八项规定"),
    ("作風建設", "作风建设"),
    ("黨史學習教育", "党史学习教育"),
    ("主題教育", "主题教育"),
    ("幹部隊伍建設", "干部队伍建设"),
    ("人才引進", "人才引进"),
    ("知識產權", "知识产权"),
    ("航天工程", "航天工程"),
    ("探月工程", "探月工程"),
    ("載人航天", "载人航天"),
    ("北斗導航", "北斗导航"),
    ("高鐵", "高铁"),
    ("城市軌道交通", "城市轨道交通"),
    ("物流樞紐", "物流枢纽"),
    ("防汛救災", "防汛救灾"),
    ("安全生產", "安全生产"),
    ("食品安全", "食品安全"),
    ("疫情防控", "疫情防控"),
    ("公共衛生", "公共卫生"),
    ("中醫藥", "中医药"),
    ("文化遺產", "文化遗产"),
    ("非物質文化遺產", "非物质文化遗产"),
    ("文旅融合", "文旅融合"),
    ("全民閱讀", "全民阅读"),
    ("體育強國", "体育强国"),
    ("全民健身", "全民健身"),
    ("冬奧會", "冬奥会"),
    ("亞運會", "亚运会"),
    ("兩岸關係", "两岸关系"),
    ("僑務工作", "侨务工作"),
    ("民族團結", "民族团结"),
    ("宗教工作", "宗教工作"),
    ("對口支援", "对口支援"),
    ("東西部協作", "东西部协作"),
    ("西部大開發", "西部大开发"),
    ("東北振興", "东北振兴"),
    ("中部崛起", "中部崛起"),
    ("海洋經濟", "海洋经济"),
    ("外商投資", "外商投资"),
    ("進博會", "进博会"),
    ("廣交會", "广交会"),
    ("服貿會", "服贸会"),
    ("中歐班列", "中欧班列"),
    ("西部陸海新通道", "西部陆海新通道"),
    ("人民幣國際化", "人民币国际化"),
    ("資本市場", "资本市场"),
    ("註冊制", "注册制"),
    ("普惠金融", "普惠金融"),
    ("小微企業", "小微企业"),
    ("減稅降費", "减税降费"),
    ("專項債券", "专项债券"),
    ("政府工作報告", "政府工作报告"),
    ("全國兩會", "全国两会"),
    ("人大代表", "人大代表"),
    ("政協委員", "政协委员"),
    ("提案辦理", "提案办理"),
    ("協商民主", "协商民主"),
    ("基層民主", "基层民主"),
    ("社會組織", "社会组织"),
    ("志願服務", "志愿服务"),
    ("慈善事業", "慈善事业"),
    ("人口老齡化", "人口老龄化"),
    ("托育服務", "托育服务"),
    ("住房公積金", "住房公积金"),
    ("城市更新", "城市更新"),
    ("老舊小區改造", "老旧小区改造"),
    ("智慧城市", "智慧城市"),
    ("數字政府", "数字政府"),
    ("網絡安全", "网络安全"),
    ("數據安全", "数据安全"),
    ("個人信息保護", "个人信息保护"),
    ("電信詐騙", "电信诈骗"),
    ("消費者權益", "消费者权益"),
    ("市場監管", "市场监管"),
    ("製造強國", "制造强国"),
    ("工業互聯網", "工业互联网"),
    ("專精特新", "专精特新"),
    ("綠色低碳", "绿色低碳"),
    ("能源安全", "能源安全"),
    ("電力保供", "电力保供"),
    ("天然氣", "天然气"),
    ("水利工程", "水利工程"),
    ("南水北調", "南水北调"),
    ("三峽工程", "三峡工程"),
    ("鄉村旅遊", "乡村旅游"),
    ("國家公園", "国家公园"),
    ("生物多樣性", "生物多样性"),
    ("氣候變化", "气候变化"),
    ("留學人員", "留学人员"),
    ("新媒體", "新媒体"),
    ("網絡文明", "网络文明"),
    ("媒體融合", "媒体融合"),
    ("新聞發布會", "新闻发布会"),
    ("統計公報", "统计公报"),
    ("國內生產總值", "国内生产总值"),
    ("居民消費價格指數", "居民消费价格指数"),
    ("固定資產投資", "固定资产投资"),
    ("社會消費品零售總額", "社会消费品零售总额"),
    ("外匯儲備", "外汇储备"),
    ("財政收入", "财政收入"),
];

const WORLD: &[Pair] = &[
    ("美國", "美国"),
    ("東盟", "东盟"),
    ("俄羅斯", "俄罗斯"),
    ("歐盟", "欧盟"),
    ("日本", "日本"),
    ("聯合國", "联合国"),
    ("韓國", "韩国"),
    ("上海合作組織", "上海合作组织"),
    ("英國", "英国"),
    ("金磚國家", "金砖国家"),
    ("法國", "法国"),
    ("二十國集團", "二十国集团"),
    ("德國", "德国"),
    ("亞太經合組織", "亚太经合组织"),
    ("印度", "印度"),
    ("世界衛生組織", "世界卫生组织"),
    ("巴西", "巴西"),
    ("世界貿易組織", "世界贸易组织"),
    ("南非", "南非"),
    ("澳大利亞", "澳大利亚"),
    ("加拿大", "加拿大"),
    ("新加坡", "新加坡"),
    ("越南", "越南"),
    ("泰國", "泰国"),
    ("印度尼西亞", "印度尼西亚"),
    ("巴基斯坦", "巴基斯坦"),
    ("哈薩克斯坦", "哈萨克斯坦"),
    ("埃及", "埃及"),
    ("沙特阿拉伯", "沙特阿拉伯"),
    ("伊朗", "伊朗"),
    ("烏克蘭", "乌克兰"),
    ("意大利", "意大利"),
    ("西班牙", "西班牙"),
    ("人類命運共同體", "人类命运共同体"),
    ("全球發展倡議", "全球发展倡议"),
    ("中美關係", "中美关系"),
    ("中俄關係", "中俄关系"),
    ("中歐關係", "中欧关系"),
    ("周邊外交", "周边外交"),
    ("多邊主義", "多边主义"),
    ("海外僑胞", "海外侨胞"),
];

const EDITORS: &[Pair] = &[
    ("孫莉姍", "孙莉姗"),
    ("王曉東", "王晓东"),
    ("李紅梅", "李红梅"),
    ("張偉", "张伟"),
    ("劉洋", "刘洋"),
    ("陳靜", "陈静"),
    ("楊帆", "杨帆"),
    ("趙敏", "赵敏"),
    ("黃磊", "黄磊"),
    ("周婷", "周婷"),
    ("吳昊", "吴昊"),
    ("徐麗", "徐丽"),
    ("孫強", "孙强"),
    ("馬琳", "马琳"),
    ("朱曉明", "朱晓明"),
    ("胡斌", "胡斌"),
    ("郭靜怡", "郭静怡"),
    ("何欣", "何欣"),
    ("高翔", "高翔"),
    ("林雪", "林雪"),
    ("羅軍", "罗军"),
    ("鄭爽", "郑爽"),
    ("梁晨", "梁晨"),
    ("謝濤", "谢涛"),
    ("宋佳", "宋佳"),
    ("唐穎", "唐颖"),
    ("許諾", "许诺"),
    ("韓冰", "韩冰"),
    ("馮雷", "冯雷"),
    ("鄧潔", "邓洁"),
    ("曹陽", "曹阳"),
    ("彭飛", "彭飞"),
    ("曾憲文", "曾宪文"),
    ("田甜", "田甜"),
    ("董麗華", "董丽华"),
    ("潘越", "潘越"),
    ("袁野", "袁野"),
    ("蔣文", "蒋文"),
    ("蔡明", "蔡明"),
    ("杜鵑", "杜鹃"),
    ("葉青", "叶青"),
    ("程志遠", "程志远"),
    ("魏巍", "魏巍"),
    ("蘇菲", "苏菲"),
    ("沈浩", "沈浩"),
    ("姜楠", "姜楠"),
];

const UNITS: &[Pair] = &[
    ("各級黨委和政府", "各级党委和政府"),
    ("區委統戰部", "区委统战部"),
    ("市政府有關部門", "市政府有关部门"),
    ("發展改革委", "发展改革委"),
    ("教育部門", "教育部门"),
    ("工商聯", "工商联"),
    ("各民主黨派", "各民主党派"),
    ("基層幹部", "基层干部"),
    ("相關負責人", "相关负责人"),
    ("專家學者", "专家学者"),
    ("社區工作者", "社区工作者"),
    ("各區縣", "各区县"),
    ("市場監管部門", "市场监管部门"),
    ("財政部門", "财政部门"),
    ("企業代表", "企业代表"),
    ("黨外代表人士", "党外代表人士"),
    ("志願者", "志愿者"),
    ("人大代表和政協委員", "人大代表和政协委员"),
];

const ADVS: &[Pair] = &[
    ("認真", "认真"),
    ("積極", "积极"),
    ("深入", "深入"),
    ("切實", "切实"),
    ("進一步", "进一步"),
    ("全面", "全面"),
    ("持續", "持续"),
    ("扎實", "扎实"),
    ("主動", "主动"),
    ("迅速", "迅速"),
    ("大力", "大力"),
    ("穩步", "稳步"),
];

const VERBS: &[Pair] = &[
    ("學習貫徹", "学习贯彻"),
    ("推進", "推进"),
    ("落實", "落实"),
    ("加強", "加强"),
    ("完善", "完善"),
    ("部署", "部署"),
    ("開展", "开展"),
    ("推動", "推动"),
    ("探索", "探索"),
    ("深化", "深化"),
    ("優化", "优化"),
    ("研究", "研究"),
    ("組織", "组织"),
    ("健全", "健全"),
    ("宣傳", "宣传"),
    ("統籌", "统筹"),
];

const OBJS: &[Pair] = &[
    ("會議精神", "会议精神"),
    ("統戰工作", "统战工作"),
    ("改革任務", "改革任务"),
    ("民生保障", "民生保障"),
    ("基層治理", "基层治理"),
    ("營商環境", "营商环境"),
    ("鄉村振興", "乡村振兴"),
    ("生態環境保護", "生态环境保护"),
    ("科技創新", "科技创新"),
    ("產業結構調整", "产业结构调整"),
    ("公共服務體系", "公共服务体系"),
    ("人才隊伍建設", "人才队伍建设"),
    ("對外開放", "对外开放"),
    ("安全生產", "安全生产"),
    ("文化事業", "文化事业"),
    ("就業創業", "就业创业"),
    ("社會保障", "社会保障"),
    ("城市更新", "城市更新"),
    ("數字經濟", "数字经济"),
    ("綠色發展", "绿色发展"),
    ("協商民主", "协商民主"),
    ("依法治理", "依法治理"),
    ("防汛抗旱", "防汛抗旱"),
    ("教育公平", "教育公平"),
    ("醫藥衛生體制改革", "医药卫生体制改革"),
    ("政務服務", "政务服务"),
    ("黨外人士建言獻策", "党外人士建言献策"),
    ("非公經濟發展", "非公经济发展"),
];

const TAILS: &[Pair] = &[
    ("取得了明顯成效", "取得了明显成效"),
    ("形成了良好氛圍", "形成了良好氛围"),
    ("為下一步工作打下堅實基礎", "为下一步工作打下坚实基础"),
    ("群眾滿意度不斷提升", "群众满意度不断提升"),
    ("有效解決了一批難題", "有效解决了一批难题"),
    ("工作機制更加健全", "工作机制更加健全"),
    ("推動各項任務落地見效", "推动各项任务落地见效"),
    ("確保政策措施落到實處", "确保政策措施落到实处"),
    ("努力開創工作新局面", "努力开创工作新局面"),
    ("切實增強責任感和使命感", "切实增强责任感和使命感"),
    ("不斷提高工作水平", "不断提高工作水平"),
    ("進一步凝聚發展共識", "进一步凝聚发展共识"),
    ("受到社會各界廣泛好評", "受到社会各界广泛好评"),
    ("為經濟社會發展提供有力支撐", "为经济社会发展提供有力支撑"),
];

const NUMS: &[Pair] = &[
    ("全年共舉辦培訓班{}期", "全年共举办培训班{}期"),
    ("惠及群眾{}萬人次", "惠及群众{}万人次"),
    ("累計投入資金{}億元", "累计投入资金{}亿元"),
    ("同比增長{}%", "同比增长{}%"),
    ("新增就業崗位{}個", "新增就业岗位{}个"),
    ("收集意見建議{}條", "收集意见建议{}条"),
    ("簽約項目{}個", "签约项目{}个"),
];

const OPENERS: &[Pair] = &[
    ("近日", "近日"),
    ("日前", "日前"),
    ("今年以來", "今年以来"),
    ("據介紹", "据介绍"),
    ("會議指出", "会议指出"),
    ("與此同時", "与此同时"),
    ("下一步", "下一步"),
];

const DOCS: &[Pair] = &[
    ("中國共產黨統一戰線工作條例", "中国共产党统一战线工作条例"),
    ("政府工作報告", "政府工作报告"),
    ("國民經濟和社會發展統計公報", "国民经济和社会发展统计公报"),
    ("優化營商環境條例", "优化营商环境条例"),
    ("鄉村振興促進法", "乡村振兴促进法"),
];

const SLOGANS: &[Pair] = &[
    ("一把手抓統戰", "一把手抓统战"),
    ("建言直通車", "建言直通车"),
    ("最多跑一次", "最多跑一次"),
    ("同心·實踐", "同心·实践"),
    ("雙向評價", "双向评价"),
    ("一網通辦", "一网通办"),
];

const HEAD_TAILS: &[Pair] = &[
    ("切實把各項任務落到實處", "切实把各项任务落到实处"),
    ("不斷開創工作新局面", "不断开创工作新局面"),
    ("推動工作創新發展", "推动工作创新发展"),
    ("切實履行第一責任人職責", "切实履行第一责任人职责"),
    ("營造良好社會氛圍", "营造良好社会氛围"),
    ("增強群眾獲得感", "增强群众获得感"),
];

const TITLE_ENDS: &[Pair] = &[
    ("取得新進展", "取得新进展"),
    ("邁上新臺階", "迈上新台阶"),
    ("見實效", "见实效"),
    ("再上新水平", "再上新水平"),
    ("開創新局面", "开创新局面"),
    ("跑出加速度", "跑出加速度"),
    ("按下快進鍵", "按下快进键"),
    ("交出亮眼成績單", "交出亮眼成绩单"),
    ("結出豐碩成果", "结出丰硕成果"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pairs() -> Vec<Pair> {
        let mut v: Vec<Pair> = Vec::new();
        for s in SECTIONS {
            v.push(s.name);
            v.extend_from_slice(s.children);
        }
        for l in [
            PLACES,
            POLICY,
            WORLD,
            EDITORS,
            UNITS,
            ADVS,
            VERBS,
            OBJS,
            TAILS,
            NUMS,
            OPENERS,
            DOCS,
            SLOGANS,
            HEAD_TAILS,
            TITLE_ENDS,
            SECTION_LEAVES,
            SURNAMES,
            GIVEN_NAMES,
            PLACE_SYLLABLES,
            ORGANISATION_KINDS,
            EVENT_KINDS,
        ] {
            v.extend_from_slice(l);
        }
        v
    }

    fn decode(bytes: &[u8], encoding: &str) -> String {
        let enc = match encoding {
            "gb18030" => encoding_rs::GB18030,
            "big5" => encoding_rs::BIG5,
            // BOM sniffing picks UTF-8 or UTF-16LE/BE.
            _ => encoding_rs::UTF_8,
        };
        let (text, _, errors) = enc.decode(bytes);
        assert!(!errors, "malformed {encoding}");
        text.into_owned()
    }

    #[test]
    fn same_seed_same_bytes_and_times() {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = CorpusSpec::new(150, 42);
        let a = generate(d1.path(), &spec).unwrap();
        let b = generate(d2.path(), &spec).unwrap();
        assert_eq!(a, b);
        for x in &a {
            let (p1, p2) = (d1.path().join(&x.rel_path), d2.path().join(&x.rel_path));
            assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
            let m = std::fs::metadata(&p1).unwrap();
            assert_eq!(m.modified().unwrap(), x.mtime);
            assert_eq!(m.len(), x.size);
        }
        let other = generate(d2.path(), &CorpusSpec::new(150, 43)).unwrap();
        assert_ne!(a[0].title, other[0].title);
    }

    #[test]
    fn files_decode_back_to_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let spec = CorpusSpec {
            date_line_permille: 100,
            ..CorpusSpec::new(600, 1)
        };
        let arts = generate(dir.path(), &spec).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for a in &arts {
            seen.insert(a.encoding);
            let bytes = std::fs::read(dir.path().join(&a.rel_path)).unwrap();
            assert_eq!(bytes, a.bytes());
            let text = decode(&bytes, a.encoding);
            assert_eq!(text, a.text(), "{}", a.id);
            assert_eq!(text.contains('\r'), a.crlf);
            if a.json {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["title"], a.title.as_str());
                assert!(v["published"].as_str().unwrap().ends_with("+08:00"));
            } else {
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines[1], a.title);
                assert!(lines[0].ends_with(&format!(" {}", a.sections.last().unwrap())));
            }
        }
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert!(arts.iter().all(|a| !a.encoding_fallback));
    }

    #[test]
    fn corpus_invariants() {
        let dir = tempfile::tempdir().unwrap();
        let arts = generate(dir.path(), &CorpusSpec::new(1000, 9)).unwrap();
        let uniq = |f: &dyn Fn(&GeneratedArticle) -> String| {
            arts.iter()
                .map(f)
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert_eq!(uniq(&|a| a.id.clone()), arts.len());
        assert_eq!(uniq(&|a| a.title.clone()), arts.len());
        assert_eq!(uniq(&|a| format!("{:?}", a.mtime)), arts.len());
        let trad = arts.iter().filter(|a| a.traditional).count();
        assert!((400..600).contains(&trad), "{trad}");
        assert!(arts.iter().any(|a| a.json) && arts.iter().any(|a| a.crlf));
        for a in &arts {
            let body = a.body();
            assert!((6..=15).contains(&body.len()));
            for line in &body {
                let n = line.chars().count();
                let closed = line.ends_with('。') || line.ends_with('！');
                assert!(
                    closed && (40..=200).contains(&n) || !closed && n < 30,
                    "{line}"
                );
            }
            assert!(!a.sections.is_empty() && a.sections.len() <= 2);
            assert!(a.keywords.len() <= 5);
        }
    }

    #[test]
    fn vocabulary_tables_are_sound() {
        let vocab = vocabulary();
        assert!(vocab.words.len() >= 300, "{}", vocab.words.len());
        let trad: std::collections::HashSet<_> = vocab.words.iter().map(|p| p.0).collect();
        let simp: std::collections::HashSet<_> = vocab.words.iter().map(|p| p.1).collect();
        assert_eq!(trad.len(), vocab.words.len());
        assert_eq!(simp.len(), vocab.words.len());
        for (tr, si) in &vocab.words {
            for sep in [" ", "、", "，", ","] {
                assert!(!tr.contains(sep) && !si.contains(sep));
            }
        }
        for (tr, _) in all_pairs() {
            assert!(encode(tr, "big5").is_some(), "not in Big5: {tr}");
        }
    }

    fn t2s() -> ferrous_opencc::OpenCC {
        use ferrous_opencc::{config::BuiltinConfig, OpenCC};
        OpenCC::from_config(BuiltinConfig::T2s).unwrap()
    }

    #[test]
    fn toy_mode_is_the_default() {
        assert_eq!(CorpusSpec::default().mode, CorpusMode::Toy);
        assert_eq!(CorpusSpec::new(10, 1).mode, CorpusMode::Toy);
        let newsroom = CorpusSpec::newsroom(10, 1);
        assert_eq!(newsroom.mode, CorpusMode::Newsroom);
        assert_eq!(
            CorpusSpec {
                mode: CorpusMode::Toy,
                ..newsroom
            },
            CorpusSpec::new(10, 1)
        );
    }

    #[test]
    fn newsroom_vocabulary_grows_by_heaps_law() {
        // The plan alone (no files), so the issue's own sizes fit a debug test.
        for (articles, target) in [(100_000, 60_000.0), (500_000, 160_000.0)] {
            let plan = KeywordPlan::new(articles, 7);
            let distinct = plan.distinct as f64;
            assert!(
                (distinct / target - 1.0).abs() < 0.05,
                "{articles} articles: {distinct} distinct keywords, want ≈ {target}"
            );
            // Zipf-like: a few keywords on thousands of articles, most on 1–3.
            let mut uses = vec![0u32; *plan.concepts.iter().max().unwrap() as usize + 1];
            for &c in &plan.concepts {
                uses[c as usize] += 1;
            }
            uses.retain(|&n| n > 0);
            assert_eq!(uses.len(), plan.distinct as usize);
            let rare = uses.iter().filter(|&&n| n <= 3).count() as f64;
            assert!(
                rare / distinct > 0.6,
                "{rare} of {distinct} on 1–3 articles"
            );
            let once = uses.iter().filter(|&&n| n == 1).count() as f64;
            assert!(
                once / distinct > 0.35,
                "{once} of {distinct} on one article"
            );
            let top = *uses.iter().max().unwrap() as f64;
            assert!(top > articles as f64 / 100.0, "most used on {top} articles");
            for i in [0, articles / 2, articles - 1] {
                let kws = plan.concepts_of(i);
                assert!((3..=6).contains(&kws.len()), "{}", kws.len());
            }
        }
        // A small store follows the same curve, and a prefix of a plan is the smaller plan.
        let small = KeywordPlan::new(2_000, 7);
        let want = heaps(small.concepts.len() as f64);
        assert!(
            (small.distinct as f64 / want - 1.0).abs() < 0.1,
            "{}",
            small.distinct
        );
        let large = KeywordPlan::new(4_000, 7);
        assert_eq!(small.concepts[..], large.concepts[..small.concepts.len()]);
        assert_ne!(KeywordPlan::new(2_000, 8).concepts, small.concepts);
    }

    #[test]
    fn newsroom_keywords_are_distinct_and_fold_to_their_simplified_form() {
        let cc = t2s();
        let n = 200_000u32;
        let mut trad_seen = std::collections::HashSet::new();
        let mut simp_seen = std::collections::HashSet::new();
        for c in 0..n {
            let (tr, si) = newsroom_keyword(c);
            assert!(trad_seen.insert(tr.clone()), "{c}: {tr} twice");
            assert!(simp_seen.insert(si.clone()), "{c}: {si} twice");
            for sep in [" ", "、", "，", ","] {
                assert!(!tr.contains(sep) && !si.contains(sep), "{tr}");
            }
            // OpenCC over every name would take minutes in a debug build; every 7th
            // covers each table entry in every position many times over.
            if c < 400 || c % 7 == 0 {
                assert_eq!(cc.convert(&tr), si, "t2s({tr})");
                assert_eq!(cc.convert(&si), si, "t2s({si})");
                assert!(encode(&tr, "big5").is_some(), "not in Big5: {tr}");
            }
        }
        let names = [
            newsroom_keyword(400),
            newsroom_keyword(404),
            newsroom_keyword(407),
        ];
        assert!(
            names.iter().all(|(tr, _)| tr.chars().count() >= 3),
            "{names:?}"
        );
        assert_eq!(chinese_number(1), "一");
        assert_eq!(chinese_number(12), "十二");
        assert_eq!(chinese_number(20), "二十");
        assert_eq!(chinese_number(30), "三十");
    }

    #[test]
    fn newsroom_section_tree_has_151_nodes_three_levels_deep() {
        let cc = t2s();
        let mut nodes = std::collections::HashSet::new();
        for (top, s) in SECTIONS.iter().enumerate() {
            nodes.insert(vec![s.name.1]);
            for (child, c) in s.children.iter().enumerate() {
                nodes.insert(vec![s.name.1, c.1]);
                for leaf in newsroom_leaves(top, child) {
                    nodes.insert(vec![s.name.1, c.1, leaf.1]);
                }
            }
        }
        assert_eq!(nodes.len(), 151);
        for (tr, si) in SECTION_LEAVES {
            assert_eq!(cc.convert(tr), *si);
            assert!(encode(tr, "big5").is_some());
        }
    }

    #[test]
    fn newsroom_corpus_statistics() {
        let cc = t2s();
        let dir = tempfile::tempdir().unwrap();
        let spec = CorpusSpec::newsroom(2_000, 5);
        let arts = generate(dir.path(), &spec).unwrap();
        let plan = KeywordPlan::new(spec.articles, spec.seed);

        let mut folded = std::collections::HashSet::new();
        let mut sections = std::collections::HashSet::new();
        let mut depths = [0usize; 4];
        let (mut differing, mut simplified) = (0usize, 0usize);
        for (i, a) in arts.iter().enumerate() {
            assert!((3..=6).contains(&a.keywords.len()), "{}", a.keywords.len());
            let mine: std::collections::HashSet<String> =
                a.keywords.iter().map(|k| cc.convert(k)).collect();
            assert_eq!(mine.len(), a.keywords.len(), "{:?}", a.keywords);
            folded.extend(mine);
            for (k, &c) in a.keywords.iter().zip(plan.concepts_of(i)) {
                let (tr, si) = newsroom_keyword(c);
                assert!(*k == tr || *k == si);
                if tr != si {
                    differing += 1;
                    simplified += usize::from(*k == si);
                }
            }
            assert!((1..=3).contains(&a.sections.len()), "{:?}", a.sections);
            depths[a.sections.len()] += 1;
            for d in 1..=a.sections.len() {
                sections.insert(cc.convert(&a.sections[..d].join("/")));
            }
            if i % 50 == 0 {
                let bytes = std::fs::read(dir.path().join(&a.rel_path)).unwrap();
                assert_eq!(bytes, a.bytes());
            }
        }
        // Distinct keywords after folding: the Heaps curve at this size.
        let want = heaps(plan.concepts.len() as f64);
        let got = folded.len() as f64;
        assert!(
            (got / want - 1.0).abs() < 0.1,
            "{got} distinct, want ≈ {want}"
        );
        assert_eq!(folded.len(), plan.distinct as usize);
        // ~15 % of the occurrences that could be told apart were typed in Simplified.
        let share = simplified as f64 / differing as f64;
        assert!((0.12..0.18).contains(&share), "Simplified share {share}");
        // Every node of the 151-node tree holds articles; most articles sit three deep.
        assert_eq!(sections.len(), 151);
        assert!(depths[3] > arts.len() * 6 / 10, "{depths:?}");
        assert!(depths[1] > 0 && depths[2] > 0, "{depths:?}");
    }

    #[test]
    fn newsroom_mode_changes_only_sections_and_keywords() {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let toy = generate(d1.path(), &CorpusSpec::new(200, 3)).unwrap();
        let news = generate(d2.path(), &CorpusSpec::newsroom(200, 3)).unwrap();
        for (a, b) in toy.iter().zip(&news) {
            assert_eq!(
                (&a.id, &a.title, a.mtime, a.body_seed),
                (&b.id, &b.title, b.mtime, b.body_seed)
            );
            assert_eq!(
                (a.traditional, a.json, a.crlf),
                (b.traditional, b.json, b.crlf)
            );
        }
        let again = generate(d1.path(), &CorpusSpec::newsroom(200, 3)).unwrap();
        assert_eq!(again, news);
    }

    #[test]
    fn simplified_tables_agree_with_opencc() {
        use ferrous_opencc::{config::BuiltinConfig, OpenCC};
        let cc = OpenCC::from_config(BuiltinConfig::T2s).unwrap();
        for (tr, si) in all_pairs() {
            assert_eq!(cc.convert(tr), si, "t2s({tr})");
            assert_eq!(cc.convert(si), si, "t2s({si})");
        }
    }
}
