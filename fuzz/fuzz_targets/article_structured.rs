//! Page exports (DESIGN §1a) built from parts, so that small inputs reach the shapes that
//! cost: breadcrumbs of thousands of crumbs, names tens of kilobytes long, thousands of
//! keywords, every encoding of §1a, BOMs and CRLF. Files stay within the default
//! `store.max_bytes`, so whatever is slow or large here is slow or large in a real store;
//! run with `-timeout` and `-rss_limit_mb` to see it.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tidings_fuzz::{check_article, Article, Layout};

/// `store.max_bytes` by default (DESIGN §4): larger files are rejected before parsing.
const MAX_BYTES: usize = 5_000_000;

#[derive(Arbitrary, Debug)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    Utf16BeBom,
    Gb18030,
    Big5,
}

/// One run of characters of a name.
#[derive(Arbitrary, Debug)]
enum Piece {
    /// Han characters, Traditional and Simplified, some that fold together.
    Han(u8),
    Ascii(u8),
    /// Whitespace and the invisible characters copy-and-paste brings.
    Blank(u8),
    /// Punctuation that means something to the parser.
    Punct(u8),
    Digits(u16),
    Any(char),
}

const HAN: &[char] = &[
    '重', '慶', '庆', '市', '黨', '党', '派', '聲', '声', '音', '統', '统', '一', '戰', '战', '線',
    '线', '首', '頁', '页', '乾', '幹', '干', '蕭', '萧', '關', '鍵', '詞', '编', '輯',
];
const BLANK: &[char] = &[
    ' ', '\t', '\u{3000}', '\u{a0}', '\u{200b}', '\u{feff}', '\u{2028}',
];
const PUNCT: &[char] = &[
    '>', '＞', '。', '，', '、', ',', ':', '：', ';', '；', '.', '!', '？', '”', '）', '（', '【',
    '·', '‧', '/', '\\', '*', '?', '"', '<', '|', '-',
];

#[derive(Arbitrary, Debug)]
struct Name {
    pieces: Vec<Piece>,
    /// The pieces written `repeat²` times: most names short, some tens of kilobytes.
    repeat: u8,
}

impl Name {
    fn write(&self, out: &mut String) {
        let mut once = String::new();
        for piece in &self.pieces {
            match *piece {
                Piece::Han(i) => once.push(HAN[usize::from(i) % HAN.len()]),
                Piece::Ascii(b) => once.push(char::from(b' ' + b % 95)),
                Piece::Blank(i) => once.push(BLANK[usize::from(i) % BLANK.len()]),
                Piece::Punct(i) => once.push(PUNCT[usize::from(i) % PUNCT.len()]),
                Piece::Digits(n) => once.push_str(&n.to_string()),
                Piece::Any(c) => once.push(c),
            }
        }
        for _ in 0..=usize::from(self.repeat).pow(2) {
            out.push_str(&once);
            if out.len() > MAX_BYTES {
                return;
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Doc {
    encoding: Encoding,
    crlf: bool,
    home: Option<u8>,
    crumb_sep: u8,
    crumbs: Vec<Name>,
    /// The crumbs written this many times over, numbered so that they differ. (u8: at
    /// tens of thousands every input is a known finding, slow, and little else is seen;
    /// `scripts/fuzz.sh scale` measures the growth with the count.)
    crumb_copies: u8,
    repeat_heading: bool,
    date: Option<(u16, u8, u8, u8, u8)>,
    title: Name,
    subtitle: Option<Name>,
    original_title: Option<Name>,
    paragraphs: Vec<Name>,
    paragraph_copies: u8,
    editor: Option<Name>,
    keyword_label: u8,
    keyword_sep: u8,
    keywords: Vec<Name>,
    /// The keywords written this many times over, numbered so that they differ (u8, as
    /// for crumbs).
    keyword_copies: u8,
}

impl Doc {
    fn text(&self) -> String {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut t = String::new();
        let crumb_sep = [">", "＞", " > ", " ＞ ", ">>"][usize::from(self.crumb_sep) % 5];
        if let Some(h) = self.home {
            t.push_str(["首頁", "首页", "Home", "人民網首頁", "主页"][usize::from(h) % 5]);
        }
        let mut last = String::new();
        for copy in 0..=usize::from(self.crumb_copies) {
            for crumb in &self.crumbs {
                t.push_str(crumb_sep);
                last.clear();
                crumb.write(&mut last);
                if copy > 0 {
                    last.push_str(&copy.to_string());
                }
                t.push_str(&last);
                if t.len() > MAX_BYTES {
                    return t;
                }
            }
        }
        if self.repeat_heading {
            t.push(' ');
            t.push_str(&last);
        }
        t.push_str(nl);
        if let Some((y, mo, d, h, mi)) = self.date {
            t.push_str(&format!("{y:04}年{mo:02}月{d:02}日{h:02}:{mi:02}{nl}"));
        }
        self.title.write(&mut t);
        t.push_str(nl);
        if let Some(s) = &self.subtitle {
            s.write(&mut t);
            t.push_str(nl);
        }
        if let Some(o) = &self.original_title {
            t.push_str("原標題：");
            o.write(&mut t);
            t.push_str(nl);
        }
        for _ in 0..=self.paragraph_copies {
            for p in &self.paragraphs {
                p.write(&mut t);
                t.push_str(nl);
                if t.len() > MAX_BYTES {
                    return t;
                }
            }
        }
        if let Some(e) = &self.editor {
            t.push_str("責任編輯：");
            e.write(&mut t);
            t.push_str(nl);
        }
        t.push_str(
            ["關鍵詞：", "关键词:", "關鍵字 ： ", "关键字："][usize::from(self.keyword_label) % 4],
        );
        let keyword_sep =
            [" ", "、", "，", ",", "\u{3000}", ";"][usize::from(self.keyword_sep) % 6];
        for copy in 0..=usize::from(self.keyword_copies) {
            for k in &self.keywords {
                k.write(&mut t);
                if copy > 0 {
                    t.push_str(&copy.to_string());
                }
                t.push_str(keyword_sep);
                if t.len() > MAX_BYTES {
                    return t;
                }
            }
        }
        t.push_str(nl);
        t
    }

    fn bytes(&self) -> Vec<u8> {
        let text = self.text();
        let utf16 = |bom: [u8; 2], unit: fn(u16) -> [u8; 2]| {
            let mut out = bom.to_vec();
            out.extend(text.encode_utf16().flat_map(unit));
            out
        };
        // encoding_rs writes unmappable characters as `&#NNNN;` one encoder call each:
        // megabytes of them cost the harness seconds. Tidings' decoding of such files is
        // covered by the smaller ones.
        let legacy_ok = text.len() <= 1_000_000;
        match self.encoding {
            Encoding::Gb18030 | Encoding::Big5 if !legacy_ok => text.into_bytes(),
            Encoding::Utf8 => text.into_bytes(),
            Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
            Encoding::Utf16LeBom => utf16([0xFF, 0xFE], u16::to_le_bytes),
            Encoding::Utf16BeBom => utf16([0xFE, 0xFF], u16::to_be_bytes),
            // Characters these cannot hold come out as `&#NNNN;`, as a careless
            // exporter would write them.
            Encoding::Gb18030 => encoding_rs::GB18030.encode(&text).0.into_owned(),
            Encoding::Big5 => encoding_rs::BIG5.encode(&text).0.into_owned(),
        }
    }
}

fuzz_target!(|doc: Doc| {
    let bytes = doc.bytes();
    if bytes.len() > MAX_BYTES {
        return;
    }
    if let Ok(article) = Article::parse("000_fuzz", &bytes, Layout::Text) {
        check_article(&article);
    }
});
