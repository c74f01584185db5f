//! The reader's language on a page (DESIGN §5), from a request: `?lang=`, then the
//! `tidings_lang` cookie that remembers it, then `Accept-Language`, then the site's
//! default ([`crate::i18n::negotiate`]). Every page calls [`page_lang`] and finishes its
//! response with [`PageLang::finish`]; [`crate::i18n::language_switcher`] is the links between them.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::i18n::{negotiate, Lang};

/// The cookie that remembers a `?lang=` choice.
pub const LANG_COOKIE: &str = "tidings_lang";
/// 400 days, the longest a browser keeps a cookie (RFC 6265bis).
const LANG_COOKIE_MAX_AGE_SECS: u32 = 400 * 86_400;
/// Every page's response depends on these request headers.
const VARY: &str = "Accept-Language, Cookie";

/// A page's language, and whether the response must remember it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLang {
    pub lang: Lang,
    /// `?lang=` named one of ours: the response sets the cookie.
    remember: bool,
}

impl PageLang {
    /// A language chosen otherwise (a form's field): nothing to remember.
    pub fn fixed(lang: Lang) -> PageLang {
        PageLang {
            lang,
            remember: false,
        }
    }

    /// `Vary` on every page, and the cookie when `?lang=` chose. A response that sets a
    /// cookie is `private`: a shared cache must not hand it to others.
    pub fn finish(&self, res: &mut Response) {
        let h = res.headers_mut();
        // Added to what the response varies on already (`Accept-Encoding` of a file).
        let vary = match h.get(header::VARY).and_then(|v| v.to_str().ok()) {
            Some(before) if !before.is_empty() => {
                HeaderValue::from_str(&format!("{before}, {VARY}")).expect("header text")
            }
            _ => HeaderValue::from_static(VARY),
        };
        h.insert(header::VARY, vary);
        if self.remember {
            let cookie = format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE_SECS}; SameSite=Lax",
                self.lang.tag()
            );
            h.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("ASCII tag and digits"),
            );
            if h.get(header::CACHE_CONTROL)
                .is_some_and(|v| v.as_bytes().starts_with(b"public"))
            {
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            }
        }
    }
}

/// The language of a page for a request: `query` is the raw query string (its `lang`
/// parameter), `headers` the request's (the cookie and `Accept-Language`).
pub fn page_lang(headers: &HeaderMap, query: Option<&str>, site_default: Lang) -> PageLang {
    let query_lang = query.and_then(|q| query_param(q, "lang"));
    let cookie_lang = super::csrf::cookie_value(headers, LANG_COOKIE);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = negotiate(query_lang.as_deref(), cookie_lang, accept, site_default);
    PageLang {
        lang,
        remember: query_lang.is_some_and(|q| Lang::from_tag(&q, site_default).is_some()),
    }
}

/// The first value of `name` in a query string, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn query_then_cookie_then_header_then_site() {
        let d = Lang::ZhHant;
        let both = headers(&[
            ("cookie", "a=1; tidings_lang=zh-Hans"),
            ("accept-language", "en"),
        ]);
        assert_eq!(page_lang(&both, Some("x=1&lang=en"), d).lang, Lang::En);
        assert_eq!(page_lang(&both, None, d).lang, Lang::ZhHans);
        let header_only = headers(&[("accept-language", "zh-CN,zh;q=0.9")]);
        assert_eq!(page_lang(&header_only, None, d).lang, Lang::ZhHans);
        assert_eq!(
            page_lang(&HeaderMap::new(), None, Lang::En),
            PageLang::fixed(Lang::En)
        );
    }

    #[test]
    fn only_a_valid_query_sets_the_cookie_and_vary_is_always_sent() {
        let d = Lang::ZhHant;
        let mut res = Response::new(axum::body::Body::empty());
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        );
        page_lang(&HeaderMap::new(), Some("lang=zh-hans"), d).finish(&mut res);
        let h = res.headers();
        assert_eq!(h[header::VARY], "Accept-Language, Cookie");
        assert_eq!(
            h[header::SET_COOKIE],
            "tidings_lang=zh-Hans; Path=/; Max-Age=34560000; SameSite=Lax"
        );
        assert_eq!(h[header::CACHE_CONTROL], "private");

        let mut res = Response::new(axum::body::Body::empty());
        let chosen = page_lang(&HeaderMap::new(), Some("lang=fr"), d);
        assert_eq!(chosen.lang, d);
        chosen.finish(&mut res);
        assert!(res.headers().get(header::SET_COOKIE).is_none());
        assert_eq!(res.headers()[header::VARY], "Accept-Language, Cookie");
    }
}
