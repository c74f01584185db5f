//! Decoding the store's bytes (DESIGN §1): a byte-order mark wins, then strict UTF-8, then
//! whichever of GB18030 and Big5 reads as Chinese text.

use super::*;

/// Very common Chinese characters, in Simplified and in Traditional form: about 500 of the
/// most frequent characters of running text, plus the Traditional forms of those that
/// differ (684 distinct in all). In real text they make up most of the Han characters; in
/// text decoded with the wrong one of GB18030/Big5 (mojibake spread over thousands of code
/// points) about a tenth or less.
pub(super) const COMMON_HAN: &str = concat!(
    // Simplified
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工",
    "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小",
    "物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形",
    "相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建",
    "月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长",
    "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战",
    "先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受",
    "联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议",
    "声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且",
    "究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支",
    "般史感劳便团往历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按",
    "格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞",
    // Traditional forms that differ
    "這為個國們來時說對會發動過於產種後學經進著電裡裏現實兩體機當點從業應開還義間樣與關線",
    "數麼質氣變條沒結問無軍題黨員總設長頭資邊級圖統較將組見計別論運農幾區強決幹戰則據處隊",
    "給門規熱領東導壓爭濟階術極聯認權證採轉單風帶場車務萬達積議聲報鬥類離華確張馬節話況溫",
    "傳許廣記觀織裝眾書復兒須際驗連斷難礦備辦習響約勞團歷構稱準號維劃選標寫親養層卻專狀廠",
    "識適屬圓調滿縣參紅細聽該鐵價嚴龍飛",
);

/// Strings that the page export itself carries, in both scripts.
pub(super) const LAYOUT_MARKERS: &[&str] = &[
    "首頁",
    "首页",
    "關鍵詞",
    "关键词",
    "編輯",
    "编辑",
    "原標題",
    "原标题",
    "＞",
];

/// Below this share (in percent) of `COMMON_HAN` characters among the Han characters of a
/// GB18030/Big5 decoding, the bytes are taken for something else (damaged UTF-8, another
/// encoding, binary). The seed scores 80 % in GB18030 and in Big5; its Big5 bytes read as
/// GB18030 score 12 %, Simplified GB18030 text read as Big5 1 %, Korean EUC-KR read as
/// GB18030 12 %, Japanese Shift_JIS 0 %.
pub(super) const MIN_COMMON_PERCENT: usize = 20;
/// The share test is only meaningful with enough Han characters to count.
pub(super) const MIN_HAN_FOR_RATIO: usize = 20;
/// Scoring looks at this many characters from the start; plenty to tell the encodings apart.
pub(super) const SCORE_SAMPLE_CHARS: usize = 65_536;

/// One byte of flags for every character of the BMP, as `flags` gives them (64 KiB, built
/// once). Every character of every file is looked up in such a table: one load, where
/// computing the flags takes branches that mixed text mispredicts and, in
/// `char::is_alphanumeric` outside ASCII (CJK punctuation such as `，。「」` included), a
/// search of the standard library's tables.
pub(super) fn bmp_table(flags: impl Fn(char) -> u8) -> Box<[u8]> {
    (0..=0xFFFF)
        .map(|cp| char::from_u32(cp).map_or(0, &flags))
        .collect()
}

/// `c`'s flags: from `table` (see [`bmp_table`]) in the BMP, from `flags` outside it.
pub(super) fn lookup(table: &[u8], c: char, flags: fn(char) -> u8) -> u8 {
    match table.get(c as usize) {
        Some(&f) => f,
        None => flags(c),
    }
}

// What `legacy_score` needs to know of a character.
pub(super) const HAN: u8 = 1;
/// One of `COMMON_HAN` (and `HAN`).
pub(super) const COMMON_HAN_CHAR: u8 = 2;
pub(super) const SUSPICIOUS: u8 = 4;
/// The first character of one of `LAYOUT_MARKERS`.
pub(super) const MARKER_START: u8 = 8;

pub(super) fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Characters that real Chinese news text almost never holds but a wrong legacy decoding
/// produces in bulk: private use, kana and bopomofo (GB18030's and Big5's symbol rows), and
/// anything outside the BMP (Big5-HKSCS extensions).
pub(super) fn is_suspicious(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{3040}'..='\u{31BF}') || c > '\u{FFFF}'
}

/// `c`'s flags for `legacy_score`, except `COMMON_HAN_CHAR`, which `score_table` adds.
pub(super) fn score_flags(c: char) -> u8 {
    let mut flags = 0;
    if is_han(c) {
        flags |= HAN;
    }
    if is_suspicious(c) {
        flags |= SUSPICIOUS;
    }
    if LAYOUT_MARKERS.iter().any(|m| m.starts_with(c)) {
        flags |= MARKER_START;
    }
    flags
}

/// [`score_flags`] with `COMMON_HAN_CHAR`, for the BMP (where every Han character is).
pub(super) fn score_table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = bmp_table(score_flags);
        for c in COMMON_HAN.chars().filter(|&c| is_han(c)) {
            table[c as usize] |= COMMON_HAN_CHAR;
        }
        table
    })
}

/// How a candidate decoding reads: (score, common Han characters, all Han characters).
/// One pass over the sample. Markers are counted where they start, if they end inside the
/// sample; as no marker overlaps itself, that is the count `str::matches` gives for each.
pub(super) fn legacy_score(text: &str) -> (i64, usize, usize) {
    let table = score_table();
    let (mut hits, mut han, mut bad, mut markers) = (0usize, 0usize, 0usize, 0usize);
    for (n, (i, c)) in text.char_indices().take(SCORE_SAMPLE_CHARS).enumerate() {
        let flags = lookup(table, c, score_flags);
        han += usize::from(flags & HAN != 0);
        hits += usize::from(flags & COMMON_HAN_CHAR != 0);
        bad += usize::from(flags & SUSPICIOUS != 0);
        if flags & MARKER_START != 0 {
            let chars_left = SCORE_SAMPLE_CHARS - n;
            markers += LAYOUT_MARKERS
                .iter()
                .filter(|m| text[i..].starts_with(**m) && m.chars().count() <= chars_left)
                .count();
        }
    }
    let score = hits as i64 + 5 * markers as i64 - bad as i64;
    (score, hits, han)
}

/// Bytes → text.
///
/// 1. A byte-order mark (UTF-8, UTF-16LE, UTF-16BE) decides the encoding; the bytes after
///    it must then be valid in it.
/// 2. Otherwise strict UTF-8.
/// 3. Otherwise GB18030 and Big5 are both tried without replacement. Big5's byte ranges are
///    valid GBK, so both often succeed; the winner is the one with the higher score:
///    occurrences of `COMMON_HAN` characters, plus 5 per layout marker (首頁, 關鍵詞,
///    編輯, `＞` … in both scripts), minus 1 per private-use, kana, bopomofo or non-BMP
///    character. A tie goes to GB18030. The winner must still have at least
///    `MIN_COMMON_PERCENT` % common characters among its Han characters (when it has at
///    least `MIN_HAN_FOR_RATIO`), else the bytes are rejected: that is how damaged UTF-8
///    or a third encoding shows.
///
/// Whatever the encoding, the text is then rejected when it decodes to nothing sensible:
/// any NUL, more than 1 % control characters or U+FFFD replacement characters, or fewer
/// than one letter or digit in five non-space characters. Line ends become `\n`; the few
/// control characters left (other than `\n` and `\t`) are removed.
pub fn decode(bytes: &[u8]) -> Result<String> {
    decode_cow(bytes).map(Cow::into_owned)
}

/// [`decode`], borrowing `bytes` when they already are the text: valid UTF-8 without a
/// `\r` or a control character to remove, as most of a store is.
pub(super) fn decode_cow(bytes: &[u8]) -> Result<Cow<'_, str>> {
    if bytes.is_empty() {
        return Err(ArticleError::Empty);
    }
    let text = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom_len..])
            .ok_or_else(|| {
                ArticleError::Undecodable(format!(
                    "invalid {} after its byte-order mark",
                    encoding.name()
                ))
            })?,
        // encoding_rs validates UTF-8 several times faster than `std::str::from_utf8` on
        // Chinese text, and borrows when it is valid.
        None => match UTF_8.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(text) => text,
            None => Cow::Owned(decode_legacy(bytes, Encoding::utf8_valid_up_to(bytes))?),
        },
    };
    sensible(text)
}

/// `text` if it passes the sensible-text test of [`decode`], with `\n` line ends and
/// without stray control characters.
pub(super) fn sensible(text: Cow<'_, str>) -> Result<Cow<'_, str>> {
    let seen = check_sensible(&text)?;
    if seen & (CR | STRAY) == 0 {
        return Ok(text);
    }
    let mut text = if seen & CR != 0 {
        lf_line_ends(&text)
    } else {
        text.into_owned()
    };
    if seen & STRAY != 0 {
        text.retain(|c| !is_stray_control(c));
    }
    Ok(Cow::Owned(text))
}

pub(super) fn is_stray_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// `\r\n` and lone `\r` as `\n`. Splitting at `\r` finds them with `memchr`.
pub(super) fn lf_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pieces = text.split('\r');
    out.extend(pieces.next());
    for piece in pieces {
        if !piece.starts_with('\n') {
            out.push('\n');
        }
        out.push_str(piece);
    }
    out
}

pub(super) fn decode_legacy(bytes: &[u8], utf8_error_at: usize) -> Result<String> {
    let gb = GB18030.decode_without_bom_handling_and_without_replacement(bytes);
    let big5 = BIG5.decode_without_bom_handling_and_without_replacement(bytes);
    let (text, (_, common, han)) = match (gb, big5) {
        (Some(gb), Some(big5)) => {
            let (gs, bs) = (legacy_score(&gb), legacy_score(&big5));
            if bs.0 > gs.0 {
                (big5, bs)
            } else {
                (gb, gs)
            }
        }
        (Some(gb), None) => {
            let s = legacy_score(&gb);
            (gb, s)
        }
        (None, Some(big5)) => {
            let s = legacy_score(&big5);
            (big5, s)
        }
        (None, None) => {
            return Err(ArticleError::Undecodable(format!(
                "neither UTF-8 (bad byte at offset {utf8_error_at}) nor GB18030 nor Big5"
            )))
        }
    };
    if han >= MIN_HAN_FOR_RATIO && common * 100 < han * MIN_COMMON_PERCENT {
        return Err(ArticleError::Undecodable(format!(
            "not UTF-8 (bad byte at offset {utf8_error_at}), and it reads as neither \
             GB18030 nor Big5 text"
        )));
    }
    Ok(text.into_owned())
}

// What `check_sensible` needs to know of a character.
/// Neither whitespace nor U+FEFF.
pub(super) const VISIBLE: u8 = 1;
/// A visible letter or digit; the whole of U+4E00–U+9FFF counts, assigned or not.
pub(super) const LETTER: u8 = 2;
/// A visible control character.
pub(super) const CONTROL: u8 = 4;
/// U+FFFD.
pub(super) const REPLACEMENT: u8 = 8;
pub(super) const NUL: u8 = 16;
/// `\r`, which becomes `\n` (or goes, before one).
pub(super) const CR: u8 = 32;
/// A control character other than `\n`, `\t` and `\r`: removed.
pub(super) const STRAY: u8 = 64;

/// `c`'s flags for `check_sensible`, from the standard library's character properties.
pub(super) fn sensible_flags(c: char) -> u8 {
    let mut flags = 0;
    if c == '\0' {
        flags |= NUL;
    }
    if c == '\r' {
        flags |= CR;
    } else if is_stray_control(c) {
        flags |= STRAY;
    }
    if !c.is_whitespace() && c != '\u{FEFF}' {
        flags |= VISIBLE;
        if c.is_control() {
            flags |= CONTROL;
        } else if c == '\u{FFFD}' {
            flags |= REPLACEMENT;
        } else if c.is_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            flags |= LETTER;
        }
    }
    flags
}

pub(super) fn sensible_table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| bmp_table(sensible_flags))
}

/// The sensible-text test of [`decode`], in one pass over `text`; `Ok` holds the flags of
/// all its characters together. Counting before `\r\n` becomes `\n` gives the same
/// figures as after: `\r` is whitespace, so not counted.
pub(super) fn check_sensible(text: &str) -> Result<u8> {
    if text.is_empty() {
        return Err(ArticleError::Empty);
    }
    let table = sensible_table();
    let (mut visible, mut letters, mut controls, mut replacements) = (0usize, 0, 0, 0);
    let mut seen = 0;
    for c in text.chars() {
        let flags = lookup(table, c, sensible_flags);
        seen |= flags;
        visible += usize::from(flags & VISIBLE != 0);
        letters += usize::from(flags & LETTER != 0);
        controls += usize::from(flags & CONTROL != 0);
        replacements += usize::from(flags & REPLACEMENT != 0);
    }
    // A NUL outranks the other reasons, wherever it is.
    if seen & NUL != 0 {
        return Err(ArticleError::Undecodable("binary data (NUL bytes)".into()));
    }
    if visible == 0 {
        return Err(ArticleError::Blank);
    }
    if controls * 100 > visible {
        return Err(ArticleError::Undecodable(
            "binary data (control characters)".into(),
        ));
    }
    if replacements * 100 > visible {
        return Err(ArticleError::Undecodable(
            "damaged text (U+FFFD replacement characters)".into(),
        ));
    }
    if letters * 5 < visible {
        return Err(ArticleError::Undecodable("almost no letters".into()));
    }
    Ok(seen)
}
