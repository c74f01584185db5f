//! Identity keys for section names, keywords and search terms.
//!
//! Articles arrive in Traditional and Simplified Chinese, in full-width and half-width
//! forms, from UTF-8, GB18030 and Big5 sources, so `重慶市`, `重庆市` and `重慶市 ` must all
//! land in one feed. [`fold`] maps each of them to one key: the form stored in the index,
//! written to `index.json` and compared against subscriptions. It is a key, not display
//! text — feed titles keep the form seen most often.
//!
//! Pure: no file, clock or network. The OpenCC tables are compiled into the binary by
//! `ferrous-opencc` (Apache-2.0; dictionaries from BYVoid/OpenCC, Apache-2.0).

use std::borrow::Cow;
use std::sync::LazyLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// The Traditional→Simplified converter, built once per process from the tables embedded
/// in the binary (a few milliseconds on first use). `OpenCC` is `Send + Sync` — a
/// `static` would not compile otherwise — so all threads share it without locking.
static T2S: LazyLock<OpenCC> = LazyLock::new(|| {
    OpenCC::from_config(BuiltinConfig::T2s)
        .expect("ferrous-opencc's built-in t2s configuration and tables are compiled in")
});

/// Upper bound on t2s passes; see [`t2s_fixpoint`]. With the OpenCC tables shipped in
/// ferrous-opencc 0.4 no input needs more than two changing passes.
const MAX_T2S_PASSES: usize = 4;

/// Identity key of a section name, keyword or free-text term: NFKC, then
/// Traditional→Simplified (OpenCC t2s), surrounding whitespace trimmed, inner runs of
/// whitespace collapsed to one ASCII space.
///
/// Further rules serve the same end — one key per visibly equal name — and keep keys
/// clean enough to embed in index keys and XML:
/// - Control characters (Unicode `Cc`, e.g. NUL, U+001F) count as whitespace, so a key
///   never holds one. Invisible format characters that only come from copy-and-paste —
///   BOM/ZWNBSP U+FEFF, zero-width space U+200B, word joiner U+2060 and soft hyphen
///   U+00AD — are removed. (ZWJ/ZWNJ are kept: they change emoji and some scripts.)
/// - Interpunct variants (`‧` U+2027 from Big5, `・` U+30FB, `•` U+2022, `∙` U+2219,
///   `⋅` U+22C5) become `·` U+00B7, the one GB sources use, so `黨派‧聲音` from a Big5
///   page and `党派·声音` from a GBK page are one section. NFKC leaves these distinct.
/// - t2s is repeated until the text stops changing, so that `fold(fold(x)) == fold(x)`.
///   A single pass is not idempotent for a few phrases (`蕭乾` → `萧乾`, but
///   `萧乾` → `萧干`), and a key read back from `index.json` or typed by a subscriber is
///   folded again.
///
/// Consequences to expect of a key: `乾`, `幹` and `干` all become `干`, `於` becomes `于`;
/// Latin letters keep their case (`AI` ≠ `ai`).
///
/// ```
/// use tidings::fold::fold;
/// assert_eq!(fold(" 重慶市 "), "重庆市");
/// assert_eq!(fold("重庆市"), "重庆市");
/// assert_eq!(fold("ＡＩ　２０２６"), "AI 2026");
/// ```
pub fn fold(s: &str) -> String {
    // Fast path: ASCII is already NFKC and the OpenCC tables hold only Han characters.
    if s.is_ascii() {
        return collapse_whitespace(s).0;
    }

    let nfkc: Cow<'_, str> = if is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfkc().collect())
    };

    // Whitespace is handled before t2s rather than after: the result is the same, because
    // no key or value in the t2s tables contains whitespace (checked against the 4,390
    // entries of TSCharacters + TSPhrases), so conversion never matches across, removes
    // or inserts whitespace. Doing it first gives the converter a shorter input, and lets
    // a phrase broken by an invisible character still match.
    let (mut collapsed, dropped) = collapse_whitespace(&nfkc);
    if dropped && is_nfkc_quick(collapsed.chars()) != IsNormalized::Yes {
        // Removing an invisible character can bring a base letter and a combining mark
        // together (`e`, U+200B, U+0301), which NFKC composes. Rare; renormalize then.
        collapsed = collapsed.nfkc().collect();
    }
    if collapsed.is_ascii() {
        // e.g. full-width `ＡＩ　２０２６`, which NFKC made ASCII.
        return collapsed;
    }

    // No second NFKC after t2s: every key and value in the t2s tables is already NFKC and
    // consists only of Han ideographs (URO, extensions A, B–G; no compatibility
    // ideographs). Han ideographs have combining class 0, no decomposition and take part
    // in no composition, so splicing them between NFKC-normal runs cannot produce a
    // non-normal string. The `debug_assert` below keeps that claim honest in tests.
    let folded = t2s_fixpoint(collapsed);
    debug_assert!(unicode_normalization::is_nfkc(&folded), "{folded:?}");
    folded
}

/// Trims `s` and collapses each inner run of whitespace and control characters to one
/// U+0020; drops the invisible characters and maps the interpunct variants to U+00B7 (see
/// [`fold`]). The flag tells whether an invisible character was dropped.
fn collapse_whitespace(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    let mut dropped = false;
    for c in s.chars() {
        let c = match c {
            c if c.is_whitespace() || c.is_control() => {
                gap = !out.is_empty();
                continue;
            }
            '\u{FEFF}' | '\u{200B}' | '\u{2060}' | '\u{AD}' => {
                dropped = true;
                continue;
            }
            '\u{2027}' | '\u{30FB}' | '\u{2022}' | '\u{2219}' | '\u{22C5}' => '\u{B7}',
            c => c,
        };
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
    }
    (out, dropped)
}

/// Applies t2s until the text is stable. Simplified input costs one pass, Traditional
/// input two (the second confirms), and only the rare phrases whose simplified form still
/// contains a convertible character (`乾`, `徵`, `於`, `麽`, `昇`… in names) a third.
fn t2s_fixpoint(mut s: String) -> String {
    for _ in 0..MAX_T2S_PASSES {
        let next = T2S.convert(&s);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::fold;

    /// (Traditional, Simplified) pairs from news vocabulary; the Simplified form is the key.
    const PAIRS: &[(&str, &str)] = &[
        ("後", "后"),
        ("並", "并"),
        ("幹部", "干部"),
        ("發展", "发展"),
        ("統戰", "统战"),
        ("重慶市", "重庆市"),
        ("黨派·聲音", "党派·声音"),
        ("中央統戰工作會議精神", "中央统战工作会议精神"),
        ("基層統戰工作", "基层统战工作"),
        ("統一戰線", "统一战线"),
        ("經濟", "经济"),
        ("國務院", "国务院"),
        ("習近平", "习近平"),
        ("會議", "会议"),
        ("選舉", "选举"),
        ("臺灣", "台湾"),
        ("台灣", "台湾"),
        ("鄉村振興", "乡村振兴"),
        ("聯誼會", "联谊会"),
        ("黨員幹部", "党员干部"),
        ("幹部隊伍", "干部队伍"),
        ("發揮", "发挥"),
        ("質量", "质量"),
        ("產業", "产业"),
        ("網絡", "网络"),
        ("衛生", "卫生"),
        ("醫療", "医疗"),
        ("環境保護", "环境保护"),
        ("區委書記", "区委书记"),
        ("關於", "关于"),
        ("實現", "实现"),
        ("開放", "开放"),
        ("體制改革", "体制改革"),
        ("長江", "长江"),
        ("廣東省", "广东省"),
        ("審議", "审议"),
        ("領導", "领导"),
        ("政協委員", "政协委员"),
        ("人大代表", "人大代表"),
        ("民主黨派", "民主党派"),
        ("對外開放", "对外开放"),
        ("脫貧攻堅", "脱贫攻坚"),
        ("一帶一路", "一带一路"),
        ("鬥爭", "斗争"),
        ("歷史", "历史"),
        ("頭髮", "头发"),
        ("以後", "以后"),
        ("麵條", "面条"),
        ("夥伴關係", "伙伴关系"),
        ("疫情防控", "疫情防控"),
        ("國際貿易", "国际贸易"),
        ("財政預算", "财政预算"),
        ("澳門特別行政區", "澳门特别行政区"),
        ("香港", "香港"),
        ("統一戰線 工作", "统一战线 工作"),
    ];

    #[test]
    fn traditional_and_simplified_fold_to_the_simplified_form() {
        assert!(PAIRS.len() >= 35);
        for &(trad, simp) in PAIRS {
            assert_eq!(fold(trad), simp, "fold({trad:?})");
            assert_eq!(fold(simp), simp, "fold({simp:?})");
        }
    }

    #[test]
    fn fold_is_idempotent() {
        for &(trad, simp) in PAIRS {
            for s in [trad, simp] {
                let once = fold(s);
                assert_eq!(fold(&once), once, "fold(fold({s:?}))");
            }
        }
    }

    #[test]
    fn phrases_whose_single_t2s_pass_is_not_stable_still_agree() {
        // One t2s pass gives 蕭乾 → 萧乾 but 萧乾 → 萧干; 變徵 → 变徵 but 变徵 → 变征.
        for (trad, simp, key) in [
            ("蕭乾", "萧乾", "萧干"),
            ("變徵之聲", "变徵之声", "变征之声"),
            ("畢昇", "毕昇", "毕升"),
        ] {
            assert_eq!(fold(trad), key, "fold({trad:?})");
            assert_eq!(fold(simp), key, "fold({simp:?})");
        }
    }

    /// Deterministic pseudo-random strings over characters that stress every step:
    /// Traditional/Simplified Han, compatibility ideographs, full-width forms, combining
    /// marks, Hangul jamo, whitespace, controls, invisible characters and interpuncts.
    #[test]
    fn keys_are_stable_and_clean_on_mixed_input() {
        const PALETTE: &[char] = &[
            '重', '慶', '庆', '市', '黨', '党', '乾', '萧', '蕭', '徵', '於', '後', '麼',
            '\u{F91D}', 'Ａ', '２', 'a', 'e', 'l', '\u{301}', '\u{308}', '\u{1100}', '\u{1161}',
            ' ', '\u{3000}', '\u{A0}', '\t', '\n', '\u{0}', '\u{1F}', '\u{85}', '\u{200B}',
            '\u{FEFF}', '\u{AD}', '·', '‧', '・', '･', '\u{140}', '´',
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let len = (next() % 12) as usize;
            let s: String = (0..len)
                .map(|_| PALETTE[(next() % PALETTE.len() as u64) as usize])
                .collect();
            let key = fold(&s);
            assert_eq!(fold(&key), key, "not idempotent for {s:?}");
            assert!(unicode_normalization::is_nfkc(&key), "{s:?} -> {key:?}");
            assert!(!key.chars().any(char::is_control), "{s:?} -> {key:?}");
            assert!(
                !key.starts_with(' ') && !key.ends_with(' '),
                "{s:?} -> {key:?}"
            );
            assert!(!key.contains("  "), "{s:?} -> {key:?}");
            assert!(
                key.chars().all(|c| c == ' ' || !c.is_whitespace()),
                "{s:?} -> {key:?}"
            );
        }
    }

    #[test]
    fn gan_ambiguity_is_accepted() {
        assert_eq!(fold("乾淨"), "干净");
        assert_eq!(fold("幹部"), fold("干部"));
        // A phrase the tables keep is kept.
        assert_eq!(fold("乾隆"), "乾隆");
    }

    #[test]
    fn full_width_ascii_and_ideographic_space() {
        assert_eq!(fold("ＡＩ　２０２６"), "AI 2026");
        assert_eq!(fold("５Ｇ網絡"), "5G网络");
        assert_eq!(fold("（重慶）"), "(重庆)");
    }

    #[test]
    fn compatibility_ideographs_are_unified_before_t2s() {
        // U+F91D CJK COMPATIBILITY IDEOGRAPH-F91D is 欄 (U+6B04), simplified 栏.
        assert_eq!(fold("\u{F91D}目"), "栏目");
    }

    #[test]
    fn whitespace_is_trimmed_and_collapsed() {
        assert_eq!(fold("  重慶市  "), "重庆市");
        assert_eq!(
            fold("\t黨派·聲音 \u{3000}\n 統一戰線\r\n"),
            "党派·声音 统一战线"
        );
        assert_eq!(fold("中央\u{00A0}\u{2003}統戰"), "中央 统战");
        assert_eq!(fold(" a \t b  "), "a b");
        assert_eq!(fold(" \u{3000}\t\n"), "");
    }

    #[test]
    fn control_and_invisible_characters() {
        assert_eq!(fold("重慶\u{1F}市"), "重庆 市");
        assert_eq!(fold("a\u{0}\u{7F}b\u{1F}"), "a b");
        assert_eq!(fold("\u{85}統戰\u{9F}"), "统战");
        assert_eq!(fold("\u{FEFF}重慶市\u{200B}"), "重庆市");
        // Removed before t2s, so the phrase still matches.
        assert_eq!(fold("統\u{AD}一\u{2060}戰\u{200B}線"), "统一战线");
        assert_eq!(fold("\u{FEFF} \u{200B} "), "");
        // Dropping U+200B lets `e` and U+0301 meet; NFKC composes them.
        assert_eq!(fold("e\u{200B}\u{301}"), "\u{E9}");
        for s in ["重慶\u{1F}市", "\u{1}\u{2}x\u{1E}", "黨\u{0}派"] {
            assert!(!fold(s).chars().any(char::is_control), "{s:?}");
        }
    }

    #[test]
    fn interpunct_variants_are_one() {
        for s in [
            "黨派·聲音",
            "黨派‧聲音",
            "黨派・聲音",
            "黨派･聲音",
            "党派•声音",
            "党派∙声音",
            "党派⋅声音",
        ] {
            assert_eq!(fold(s), "党派·声音", "fold({s:?})");
        }
    }

    #[test]
    fn simplified_text_is_unchanged() {
        for s in [
            "重庆市",
            "党派·声音 统一战线",
            "把握要求积极作为 推动基层统战工作创新发展",
            "中国共产党第二十次全国代表大会",
        ] {
            assert_eq!(fold(s), s);
        }
    }

    #[test]
    fn mixed_scripts_and_latin_text() {
        assert_eq!(fold("重慶市 Chongqing"), "重庆市 Chongqing");
        assert_eq!(fold("重庆市 重慶市"), "重庆市 重庆市");
        assert_eq!(fold("GDP增長"), "GDP增长");
    }

    #[test]
    fn empty_and_ascii() {
        assert_eq!(fold(""), "");
        assert_eq!(fold("Chongqing"), "Chongqing");
        assert_eq!(fold("COVID-19"), "COVID-19");
        assert_eq!(fold("a/b > c"), "a/b > c");
    }

    #[test]
    fn converter_is_shared_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| fold("中央統戰工作會議精神")))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "中央统战工作会议精神");
        }
    }
}
