//! Mail headers lettre does not have: `List-Id` and `List-Unsubscribe`, folded as RFC 5322
//! wants.

use super::*;
use base64::Engine as _;

// Headers lettre does not have

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Recommended header line length (RFC 5322 §2.1.1); folding keeps to it where it can.
pub(super) const FOLD_AT: usize = 78;

/// Joins header tokens with spaces, folding (CRLF + space) before a token that would
/// take the line past [`FOLD_AT`]. Tokens themselves are never split.
pub(super) fn fold(name: &str, tokens: &[String]) -> String {
    let mut out = String::new();
    let mut line = name.len() + 2;
    for (i, tok) in tokens.iter().enumerate() {
        if i > 0 {
            if line + 1 + tok.len() > FOLD_AT {
                out.push_str("\r\n ");
                line = 1;
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(tok);
        line += tok.len();
    }
    out
}

/// A URI for an RFC 2369 header: printable ASCII without spaces or angle brackets
/// (anything else percent-encoded), so it can neither break the header nor end the
/// `<…>` early.
pub(super) fn header_uri(uri: &str) -> String {
    const SET: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
    utf8_percent_encode(uri.trim(), SET).to_string()
}

/// A phrase (display name) as header tokens: plain words when they are atoms, a quoted
/// string for other ASCII, RFC 2047 encoded words (base64, UTF-8) for anything else.
pub(super) fn phrase_tokens(name: &str) -> Vec<String> {
    let name = clean_line(name);
    if name.is_empty() {
        return Vec::new();
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if name.chars().all(|c| c == ' ' || atext(c)) {
        return name.split(' ').map(str::to_string).collect();
    }
    if name.is_ascii() {
        let mut q = String::from("\"");
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        return vec![q];
    }
    // 39 bytes → 52 base64 characters → a 64-character encoded word, so even the first
    // one fits on a line after `List-Id: `. Chunks end on character boundaries, as
    // RFC 2047 §5 requires.
    let mut words = Vec::new();
    let mut start = 0;
    while start < name.len() {
        let mut end = (start + 39).min(name.len());
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!(
            "=?utf-8?b?{}?=",
            base64(&name.as_bytes()[start..end])
        ));
        start = end;
    }
    words
}

pub(super) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The list id of the site at `base_url`: `digest.` and its host (DESIGN §6). RFC 2919 §2
/// wants a domain name there, so an internationalised one is given in ASCII, and a site
/// addressed by an IPv6 literal (no dot-atom) falls back to `localhost`, as for a URL
/// without a host.
pub fn list_id_of(base_url: &str) -> String {
    let host = match url::Url::parse(base_url)
        .ok()
        .as_ref()
        .and_then(url::Url::host)
    {
        Some(url::Host::Domain(name)) => name.trim_end_matches('.').to_string(),
        Some(url::Host::Ipv4(address)) => address.to_string(),
        Some(url::Host::Ipv6(_)) | None => "localhost".to_string(),
    };
    format!("digest.{host}")
}

/// `List-Id: tidings <digest.127.0.0.1>` (RFC 2919): lets filters and clients
/// recognise the list; the phrase is the site's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListId {
    pub name: String,
    pub id: String,
}

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let open = s.rfind('<').ok_or("List-Id without <…>")?;
        let id = s[open + 1..]
            .strip_suffix('>')
            .ok_or("List-Id without closing >")?;
        Ok(ListId {
            name: s[..open].trim().trim_matches('"').to_string(),
            id: id.to_string(),
        })
    }

    fn display(&self) -> HeaderValue {
        // A list id is a dot-atom: anything else would make the header unparsable.
        let id: String = self
            .id
            .chars()
            .filter(|&c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            .collect();
        let mut tokens = phrase_tokens(&self.name);
        tokens.push(format!("<{id}>"));
        let raw = format!("{} <{id}>", clean_line(&self.name));
        HeaderValue::dangerous_new_pre_encoded(Self::name(), raw, fold("List-Id", &tokens))
    }
}

/// `List-Unsubscribe: <https://…>, <mailto:…>` (RFC 2369); with [`ListUnsubscribePost`]
/// the https one is the RFC 8058 one-click URL that Gmail and Yahoo require of bulk
/// senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(pub Vec<String>);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let uris: Vec<String> = s
            .split(',')
            .filter_map(|u| {
                let u = u.trim();
                u.strip_prefix('<')?.strip_suffix('>').map(str::to_string)
            })
            .collect();
        if uris.is_empty() {
            return Err("List-Unsubscribe without <…>".into());
        }
        Ok(ListUnsubscribe(uris))
    }

    fn display(&self) -> HeaderValue {
        let uris: Vec<String> = self
            .0
            .iter()
            .map(|u| header_uri(u))
            .filter(|u| !u.is_empty())
            .collect();
        let last = uris.len().saturating_sub(1);
        let tokens: Vec<String> = uris
            .iter()
            .enumerate()
            .map(|(i, u)| {
                if i < last {
                    format!("<{u}>,")
                } else {
                    format!("<{u}>")
                }
            })
            .collect();
        let raw = uris
            .iter()
            .map(|u| format!("<{u}>"))
            .collect::<Vec<_>>()
            .join(", ");
        HeaderValue::dangerous_new_pre_encoded(Self::name(), raw, fold("List-Unsubscribe", &tokens))
    }
}

/// Declares a header whose only value is a fixed ASCII string.
macro_rules! fixed_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty;

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, BoxError> {
                if s.trim().eq_ignore_ascii_case($value) {
                    Ok($ty)
                } else {
                    Err(format!("{}: expected {:?}", $name, $value).into())
                }
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::dangerous_new_pre_encoded(
                    Self::name(),
                    $value.to_string(),
                    $value.to_string(),
                )
            }
        }
    };
}

fixed_header!(
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST to the
    /// https `List-Unsubscribe` URL unsubscribes without further interaction.
    ListUnsubscribePost,
    "List-Unsubscribe-Post",
    "List-Unsubscribe=One-Click"
);
fixed_header!(
    /// `Auto-Submitted: auto-generated` (RFC 3834).
    AutoSubmitted,
    "Auto-Submitted",
    "auto-generated"
);
fixed_header!(
    /// `Precedence: bulk`: the de facto signal auto-responders check.
    PrecedenceBulk,
    "Precedence",
    "bulk"
);

/// `Content-Language: zh-Hant` (RFC 3282): the language the mail is written in, the
/// subscriber's (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLanguage(pub crate::i18n::Lang);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        crate::i18n::Lang::parse(s)
            .map(ContentLanguage)
            .ok_or_else(|| format!("Content-Language {s:?}: not zh-Hant, zh-Hans or en").into())
    }

    fn display(&self) -> HeaderValue {
        let tag = self.0.tag().to_string();
        HeaderValue::dangerous_new_pre_encoded(Self::name(), tag.clone(), tag)
    }
}
