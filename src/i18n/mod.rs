//! The reader's language and script (DESIGN §5): which of Traditional Chinese, Simplified
//! Chinese or English a page or mail is written in, the messages of each, and names
//! (sections, keywords) shown in the chosen script.
//!
//! Every piece of text a reader sees on a page or in a mail lives in one catalogue per
//! language ([`Messages`]: `zh_hant.rs`, `zh_hans.rs`, `en.rs`), a struct rather than a
//! table of strings so that a message missing in one language does not compile.
//!
//! [`language_switcher`] is the links every page starts with; `digests::pages::page_lang`
//! reads a request's choice (query, cookie, header) for [`negotiate`].
//!
//! Pure: no file, clock or network. The OpenCC tables are compiled into the binary.

mod en;
mod messages;
mod zh_hans;
mod zh_hant;

pub use messages::Messages;

use std::borrow::Cow;
use std::sync::LazyLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use maud::{html, Markup};

/// A language a page or mail can be written in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Lang {
    /// Traditional Chinese (`zh-Hant`): also what a plain `zh` gets unless `site.language`
    /// says `zh-Hans`, as the seed store is written in it.
    #[default]
    ZhHant,
    /// Simplified Chinese (`zh-Hans`).
    ZhHans,
    /// English (`en`).
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::ZhHant, Lang::ZhHans, Lang::En];

    /// The tag `?lang=` takes, the cookie holds and pages carry in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhHant => "zh-Hant",
            Lang::ZhHans => "zh-Hans",
            Lang::En => "en",
        }
    }

    /// One of our three tags exactly (case-insensitive, `_` as `-`): what a stored or typed
    /// choice (`subscriber add --lang`, the CSV `lang` column, the form's field) must be.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().replace('_', "-");
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(&tag))
    }

    /// The language a BCP 47 tag asks for, if it is one of ours: `zh-TW`, `zh-HK`,
    /// `zh-MO` and `zh-Hant…` are Traditional, `zh-CN`, `zh-SG`, `zh-MY` and `zh-Hans…`
    /// Simplified, `en…` English. Plain `zh` is `site_default`. Case-insensitive, `_` as `-`.
    pub fn from_tag(tag: &str, site_default: Lang) -> Option<Lang> {
        let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
        let mut parts = tag.split('-');
        match parts.next()? {
            "en" => Some(Lang::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                if rest.contains(&"hant") {
                    Some(Lang::ZhHant)
                } else if rest.contains(&"hans") {
                    Some(Lang::ZhHans)
                } else if rest.iter().any(|p| matches!(*p, "tw" | "hk" | "mo")) {
                    Some(Lang::ZhHant)
                } else if rest.iter().any(|p| matches!(*p, "cn" | "sg" | "my")) {
                    Some(Lang::ZhHans)
                } else {
                    Some(site_default.chinese())
                }
            }
            _ => None,
        }
    }

    /// The site's default from `site.language`: `zh-Hans…` (or a Simplified region) is
    /// Simplified, `en…` English, anything else Traditional.
    pub fn site_default(site_language: &str) -> Lang {
        Lang::from_tag(site_language, Lang::ZhHant).unwrap_or(Lang::ZhHant)
    }

    /// The Chinese script closest to this language (English readers of a plain `zh`
    /// request get Traditional).
    fn chinese(self) -> Lang {
        match self {
            Lang::ZhHans => Lang::ZhHans,
            Lang::ZhHant | Lang::En => Lang::ZhHant,
        }
    }

    /// This language's catalogue.
    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::ZhHant => &zh_hant::MESSAGES,
            Lang::ZhHans => &zh_hans::MESSAGES,
            Lang::En => &en::MESSAGES,
        }
    }

    /// A section or keyword name in this language's script: Simplified→Traditional for
    /// `zh-Hant`, Traditional→Simplified for `zh-Hans`; English pages show names as the
    /// store wrote them (they have no English form).
    pub fn script<'a>(self, name: &'a str) -> Cow<'a, str> {
        if name.is_ascii() {
            return Cow::Borrowed(name);
        }
        let converted = match self {
            Lang::ZhHant => S2T.convert(name),
            Lang::ZhHans => T2S.convert(name),
            Lang::En => return Cow::Borrowed(name),
        };
        if converted == name {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(converted)
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// The language a request gets (DESIGN §5): `?lang=` first, then the cookie that
/// remembers an earlier `?lang=`, then the first `Accept-Language` range we speak, by
/// quality (`q=0` ranges are refused, as RFC 9110 says), then the site's default.
pub fn negotiate(
    query_lang: Option<&str>,
    cookie_lang: Option<&str>,
    accept_language: Option<&str>,
    site_default: Lang,
) -> Lang {
    for explicit in [query_lang, cookie_lang].into_iter().flatten() {
        if let Some(lang) = Lang::from_tag(explicit, site_default) {
            return lang;
        }
    }
    accept_language
        .and_then(|header| from_accept_language(header, site_default))
        .unwrap_or(site_default)
}

/// The best of our languages in an `Accept-Language` header, or `None`.
fn from_accept_language(header: &str, site_default: Lang) -> Option<Lang> {
    let mut best: Option<(u16, usize, Lang)> = None;
    for (position, range) in header.split(',').enumerate() {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, parse_quality);
        if quality == 0 {
            continue;
        }
        let Some(lang) = Lang::from_tag(tag, site_default) else {
            continue;
        };
        // Highest quality wins; among equals, the first listed.
        let better = match best {
            None => true,
            Some((q, p, _)) => quality > q || (quality == q && position < p),
        };
        if better {
            best = Some((quality, position, lang));
        }
    }
    best.map(|(_, _, lang)| lang)
}

/// An RFC 9110 qvalue in thousandths; malformed is 0 (ignored).
fn parse_quality(q: &str) -> u16 {
    q.trim()
        .parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(0, |q| (q * 1000.0).round() as u16)
}

/// Links to this page in each language: `path` with the request's query, its `lang`
/// replaced (a manage page keeps its token, a pre-filled form its choices). The current
/// language is marked, not linked.
pub fn language_switcher(lang: Lang, path: &str, query: Option<&str>) -> Markup {
    let kept: Vec<(String, String)> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(n, _)| n != "lang")
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let href = |to: Lang| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (n, v) in &kept {
            q.append_pair(n, v);
        }
        q.append_pair("lang", to.tag());
        format!("{path}?{}", q.finish())
    };
    html! {
        nav.lang aria-label=(lang.messages().language_switcher) {
            @for (i, other) in Lang::ALL.into_iter().enumerate() {
                @if i > 0 { " · " }
                @if other == lang {
                    strong lang=(other.tag()) { (other.messages().language_name) }
                } @else {
                    a href=(href(other)) lang=(other.tag()) hreflang=(other.tag()) {
                        (other.messages().language_name)
                    }
                }
            }
        }
    }
}

static S2T: LazyLock<OpenCC> = LazyLock::new(|| {
    OpenCC::from_config(BuiltinConfig::S2t)
        .expect("ferrous-opencc's built-in s2t configuration and tables are compiled in")
});

static T2S: LazyLock<OpenCC> = LazyLock::new(|| {
    OpenCC::from_config(BuiltinConfig::T2s)
        .expect("ferrous-opencc's built-in t2s configuration and tables are compiled in")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_choose_the_script() {
        let d = Lang::ZhHant;
        for (tag, want) in [
            ("zh-TW", Lang::ZhHant),
            ("zh-HK", Lang::ZhHant),
            ("zh-Hant", Lang::ZhHant),
            ("zh-Hant-TW", Lang::ZhHant),
            ("zh_tw", Lang::ZhHant),
            ("zh-CN", Lang::ZhHans),
            ("zh-SG", Lang::ZhHans),
            ("zh-Hans", Lang::ZhHans),
            ("zh-Hans-HK", Lang::ZhHans),
            ("en", Lang::En),
            ("en-GB", Lang::En),
            ("zh", Lang::ZhHant),
        ] {
            assert_eq!(Lang::from_tag(tag, d), Some(want), "{tag}");
        }
        assert_eq!(Lang::from_tag("fr", d), None);
        assert_eq!(Lang::from_tag("zh", Lang::ZhHans), Some(Lang::ZhHans));
        assert_eq!(Lang::site_default("zh"), Lang::ZhHant);
        assert_eq!(Lang::site_default("zh-Hans"), Lang::ZhHans);
        assert_eq!(Lang::site_default("zh-CN"), Lang::ZhHans);
        assert_eq!(Lang::site_default("en"), Lang::En);
    }

    #[test]
    fn query_then_cookie_then_header_then_site() {
        let d = Lang::ZhHant;
        assert_eq!(
            negotiate(Some("en"), Some("zh-Hans"), Some("zh-TW"), d),
            Lang::En
        );
        assert_eq!(
            negotiate(None, Some("zh-Hans"), Some("zh-TW"), d),
            Lang::ZhHans
        );
        assert_eq!(negotiate(Some("xx"), None, Some("zh-CN"), d), Lang::ZhHans);
        assert_eq!(negotiate(None, None, None, Lang::En), Lang::En);
        assert_eq!(
            negotiate(None, None, Some("fr-FR, de;q=0.8, en;q=0.5"), d),
            Lang::En
        );
        assert_eq!(
            negotiate(None, None, Some("en;q=0.4, zh-CN;q=0.9"), d),
            Lang::ZhHans
        );
        assert_eq!(negotiate(None, None, Some("zh-TW, zh-CN"), d), Lang::ZhHant);
        assert_eq!(
            negotiate(None, None, Some("en;q=0, zh-HK"), d),
            Lang::ZhHant
        );
        assert_eq!(
            negotiate(None, None, Some("fr"), Lang::ZhHans),
            Lang::ZhHans
        );
        assert_eq!(negotiate(None, None, Some("*"), d), d);
    }

    #[test]
    fn names_in_the_chosen_script() {
        assert_eq!(Lang::ZhHant.script("重庆市"), "重慶市");
        assert_eq!(Lang::ZhHans.script("重慶市"), "重庆市");
        assert_eq!(Lang::En.script("重慶市"), "重慶市");
        assert_eq!(Lang::ZhHant.script("統一戰線"), "統一戰線");
        assert!(matches!(Lang::ZhHant.script("AI"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_switcher_keeps_the_query_and_marks_the_current_language() {
        let nav =
            language_switcher(Lang::En, "/manage", Some("token=a%2Bb&lang=zh-Hans")).into_string();
        assert!(
            nav.contains(r#"href="/manage?token=a%2Bb&amp;lang=zh-Hant""#),
            "{nav}"
        );
        assert!(
            nav.contains(r#"href="/manage?token=a%2Bb&amp;lang=zh-Hans""#),
            "{nav}"
        );
        assert!(
            nav.contains(r#"<strong lang="en">English</strong>"#),
            "{nav}"
        );
        assert!(!nav.contains("lang=en\""), "{nav}");
    }
}
