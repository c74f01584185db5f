//! Signed, expiring tokens for the links in confirmation mails and digests: `/confirm`,
//! `/manage` and `/unsubscribe` (DESIGN §5); and the signed, non-expiring token of a
//! subscriber's personal feed, `/me/{token}/…` ([`sign_feed`], [`verify_feed`]).
//!
//! A token carries everything the page needs — the purpose, the subscriber's email key
//! and the expiry — and an HMAC-SHA256 over them, so the server keeps no table of issued
//! links and a link works after a restart or on a second machine with the same key.
//! Anyone holding a link can read the address in it (it is only base64); links are sent
//! to that address, so that reveals nothing its reader does not know.
//!
//! # Token layout
//! `base64url(payload ‖ tag)` without padding, where
//! `payload = version (1 byte, 1) ‖ purpose (1 byte: c, m, u, f) ‖ expiry (i64, big-endian,
//! Unix seconds) ‖ email key (UTF-8, the rest)` and `tag = HMAC-SHA256(key, payload)`
//! (32 bytes). Fixed-width fields come first, so no two inputs share a payload. The
//! alphabet `A–Z a–z 0–9 - _` needs no escaping in a URL, a query string or a form.
//!
//! A feed token (purpose `f`) has no expiry — a feed reader polls the same URL for
//! years — so its time field holds the subscription's `created` time instead: the
//! token names one subscription, not just an address. Unsubscribing, removal or bouncing
//! revokes it (the server looks the subscriber up on every request), and a later
//! subscription with the same address gets a new token: the old URL stays revoked.
//!
//! # Key file (`digest.secret_file`)
//! 64 lowercase hexadecimal characters — 32 random bytes from the operating system — and
//! a newline; created with mode 0600 by the daemon on first start ([`generate_key`],
//! [`key_file_text`]) and read with [`parse_key_file`]. Replacing it invalidates every
//! link already sent.
//!
//! Pure: no file, clock or randomness. Callers pass the key, `now` and the random bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// Version, purpose, expiry.
const HEADER_LEN: usize = 1 + 1 + 8;
/// Bytes in a key, and hex digits in a key file.
pub const KEY_LEN: usize = 32;

/// What a link may be used for. A confirmation link cannot unsubscribe, and an
/// unsubscribe link — which travels in every digest's headers — cannot change topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Confirm,
    Manage,
    Unsubscribe,
    /// The personal feed `/me/{token}/…`: read-only, never expires ([`sign_feed`]).
    Feed,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Purpose::Confirm => b'c',
            Purpose::Manage => b'm',
            Purpose::Unsubscribe => b'u',
            Purpose::Feed => b'f',
        }
    }

    fn from_byte(b: u8) -> Option<Purpose> {
        match b {
            b'c' => Some(Purpose::Confirm),
            b'm' => Some(Purpose::Manage),
            b'u' => Some(Purpose::Unsubscribe),
            b'f' => Some(Purpose::Feed),
            _ => None,
        }
    }
}

/// Why a token or key file is refused. Pages show a generic "link invalid or expired";
/// the variants are for logs and tests.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("link has expired")]
    Expired,
    #[error("link signature does not match")]
    BadSignature,
    #[error("link is meant for another page")]
    WrongPurpose,
    #[error("link is malformed")]
    Malformed,
    #[error("key file: {0}")]
    KeyFile(String),
}

/// A token for `purpose` and `email_key`, valid up to and including `expires_unix`.
pub fn sign(key: &[u8], purpose: Purpose, email_key: &str, expires_unix: i64) -> String {
    let mut bytes = Vec::with_capacity(HEADER_LEN + email_key.len() + TAG_LEN);
    bytes.push(VERSION);
    bytes.push(purpose.byte());
    bytes.extend_from_slice(&expires_unix.to_be_bytes());
    bytes.extend_from_slice(email_key.as_bytes());
    let tag = mac(key, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(&bytes)
}

/// The email key inside a token, if the token was signed with `key` for `purpose` and
/// `now_unix` is not past its expiry. The signature is checked (in constant time) before
/// anything in the payload is believed, so a forged token only ever gets `BadSignature`
/// or `Malformed`.
pub fn verify(
    key: &[u8],
    purpose: Purpose,
    token: &str,
    now_unix: i64,
) -> Result<String, TokenError> {
    let (expires, email_key) = open(key, purpose, token)?;
    if now_unix > expires {
        return Err(TokenError::Expired);
    }
    Ok(email_key)
}

/// The token of the personal feed of the subscription of `email_key` made at
/// `subscribed_unix` (the subscriber's `created`). It does not expire; see the module
/// documentation for how it is revoked.
pub fn sign_feed(key: &[u8], email_key: &str, subscribed_unix: i64) -> String {
    sign(key, Purpose::Feed, email_key, subscribed_unix)
}

/// The email key and subscription time inside a feed token signed with `key`. The
/// caller compares the time with the subscriber's `created`: another one means the
/// subscription the link was made for has ended.
pub fn verify_feed(key: &[u8], token: &str) -> Result<(String, i64), TokenError> {
    let (subscribed, email_key) = open(key, Purpose::Feed, token)?;
    Ok((email_key, subscribed))
}

/// The time field and email key of a token signed with `key` for `purpose`. The
/// signature is checked (in constant time) before anything in the payload is believed.
fn open(key: &[u8], purpose: Purpose, token: &str) -> Result<(i64, String), TokenError> {
    // The engine refuses padding, a length no encoding has and unused low bits that are
    // not zero, so a token has one spelling: any changed character changes the bytes.
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| TokenError::Malformed)?;
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(TokenError::Malformed);
    }
    let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    if payload[0] != VERSION {
        return Err(TokenError::Malformed);
    }
    mac(key, payload)
        .verify_slice(tag)
        .map_err(|_| TokenError::BadSignature)?;
    let found = Purpose::from_byte(payload[1]).ok_or(TokenError::Malformed)?;
    if found != purpose {
        return Err(TokenError::WrongPurpose);
    }
    let time = i64::from_be_bytes(payload[2..HEADER_LEN].try_into().expect("8 bytes"));
    let email_key =
        String::from_utf8(payload[HEADER_LEN..].to_vec()).map_err(|_| TokenError::Malformed)?;
    Ok((time, email_key))
}

fn mac(key: &[u8], payload: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(payload);
    m
}

/// A signing key from 32 random bytes the caller got from the operating system. The bytes
/// are the key: HMAC-SHA256 needs no stretching of a uniformly random 256-bit key.
pub fn generate_key(random: [u8; KEY_LEN]) -> Vec<u8> {
    random.to_vec()
}

/// The contents of a key file for `key`: lowercase hex and a newline.
pub fn key_file_text(key: &[u8]) -> String {
    format!("{}\n", hex::encode(key))
}

/// Reads a key file: 64 hex digits (either case), surrounding whitespace (the final
/// newline, CRLF) ignored. A key of all zeros is refused: it comes from a broken
/// generator or a file truncated and padded, never from the operating system.
pub fn parse_key_file(text: &str) -> Result<Vec<u8>, TokenError> {
    let digits = text.trim();
    let bad = |msg: String| Err(TokenError::KeyFile(msg));
    if digits.len() != KEY_LEN * 2 {
        return bad(format!(
            "expected {} hexadecimal digits, found {} characters",
            KEY_LEN * 2,
            digits.chars().count()
        ));
    }
    let Ok(key) = hex::decode(digits) else {
        return bad("holds a character that is not a hexadecimal digit".into());
    };
    if key.iter().all(|&b| b == 0) {
        return bad("key is all zeros".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_780_000_000;

    #[test]
    fn round_trip_for_every_purpose() {
        for purpose in [Purpose::Confirm, Purpose::Manage, Purpose::Unsubscribe] {
            let t = sign(KEY, purpose, "li.wei@example.com", NOW + 3600);
            assert_eq!(
                verify(KEY, purpose, &t, NOW).as_deref(),
                Ok("li.wei@example.com")
            );
            // Valid up to and including the expiry second.
            assert!(verify(KEY, purpose, &t, NOW + 3600).is_ok());
        }
    }

    #[test]
    fn any_email_text_survives() {
        for email in [
            "用户@xn--fsqu00a.xn--3lr804guic",
            "\"a@b; c=d&e\"@example.com",
            "o'brien+tag/x=y?z#w@example.ie",
            "",
            "€ % + & = ? / # \u{0} \u{1F600}",
        ] {
            let t = sign(KEY, Purpose::Manage, email, NOW);
            assert_eq!(verify(KEY, Purpose::Manage, &t, NOW).as_deref(), Ok(email));
        }
    }

    #[test]
    fn tokens_are_url_safe() {
        let t = sign(KEY, Purpose::Unsubscribe, "用户@例子.广告?x=1&y=/", NOW);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn tampering_with_any_character_fails() {
        let t = sign(KEY, Purpose::Confirm, "a@example.com", NOW + 60);
        for i in 0..t.len() {
            for replacement in ['A', 'B', 'g', '-', '_', '0'] {
                let mut bytes = t.clone().into_bytes();
                if bytes[i] == replacement as u8 {
                    continue;
                }
                bytes[i] = replacement as u8;
                let forged = String::from_utf8(bytes).unwrap();
                let r = verify(KEY, Purpose::Confirm, &forged, NOW);
                assert!(
                    matches!(r, Err(TokenError::BadSignature | TokenError::Malformed)),
                    "position {i} -> {replacement}: {r:?}"
                );
            }
        }
        // Truncated, extended, empty, or not base64url at all.
        for forged in [
            &t[..t.len() - 1],
            &t[..t.len() - 4],
            &format!("{t}A"),
            &format!("{t}AAAA"),
            "",
            "not a token!",
            &format!("{t}="),
        ] {
            assert!(
                verify(KEY, Purpose::Confirm, forged, NOW).is_err(),
                "{forged}"
            );
        }
    }

    #[test]
    fn changing_the_signed_fields_needs_the_key() {
        let t = sign(KEY, Purpose::Unsubscribe, "a@example.com", NOW - 10);
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        // Move the expiry forward by hand: the tag no longer matches.
        bytes[9] ^= 0x80;
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            verify(KEY, Purpose::Unsubscribe, &forged, NOW),
            Err(TokenError::BadSignature)
        );
        // Another key does not verify.
        assert_eq!(
            verify(b"another key", Purpose::Unsubscribe, &t, NOW - 20),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_fails() {
        let t = sign(KEY, Purpose::Confirm, "a@example.com", NOW);
        assert_eq!(
            verify(KEY, Purpose::Confirm, &t, NOW + 1),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn purpose_mismatch_fails() {
        let t = sign(KEY, Purpose::Unsubscribe, "a@example.com", NOW + 60);
        assert_eq!(
            verify(KEY, Purpose::Manage, &t, NOW),
            Err(TokenError::WrongPurpose)
        );
        assert_eq!(
            verify(KEY, Purpose::Confirm, &t, NOW),
            Err(TokenError::WrongPurpose)
        );
    }

    #[test]
    fn feed_tokens_round_trip_and_never_expire() {
        let t = sign_feed(KEY, "li.wei@example.com", NOW);
        assert_eq!(
            verify_feed(KEY, &t),
            Ok(("li.wei@example.com".to_string(), NOW))
        );
        // The same subscription always gets the same URL; another one another URL.
        assert_eq!(sign_feed(KEY, "li.wei@example.com", NOW), t);
        assert_ne!(sign_feed(KEY, "li.wei@example.com", NOW + 1), t);
        // Signed long ago, for a subscription made at the epoch: still good.
        let old = sign_feed(KEY, "a@example.com", 0);
        assert_eq!(verify_feed(KEY, &old), Ok(("a@example.com".to_string(), 0)));
    }

    #[test]
    fn forged_or_edited_feed_tokens_are_refused() {
        let t = sign_feed(KEY, "a@example.com", NOW);
        for i in 0..t.len() {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            let r = verify_feed(KEY, &forged);
            assert!(
                matches!(r, Err(TokenError::BadSignature | TokenError::Malformed)),
                "position {i}: {r:?}"
            );
        }
        // Another address or subscription time, edited into the payload: the tag fails.
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[HEADER_LEN] = b'b';
        assert_eq!(
            verify_feed(KEY, &URL_SAFE_NO_PAD.encode(&bytes)),
            Err(TokenError::BadSignature)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[9] ^= 1;
        assert_eq!(
            verify_feed(KEY, &URL_SAFE_NO_PAD.encode(&bytes)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_feed(b"another key", &t),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify_feed(KEY, ""), Err(TokenError::Malformed));
    }

    #[test]
    fn feed_and_page_tokens_do_not_cross() {
        let feed = sign_feed(KEY, "a@example.com", NOW + 60);
        for purpose in [Purpose::Confirm, Purpose::Manage, Purpose::Unsubscribe] {
            // A feed token opens no page, even with its time field read as an expiry.
            assert_eq!(
                verify(KEY, purpose, &feed, NOW),
                Err(TokenError::WrongPurpose)
            );
            // A page token is no feed token.
            let page = sign(KEY, purpose, "a@example.com", NOW + 60);
            assert_eq!(verify_feed(KEY, &page), Err(TokenError::WrongPurpose));
        }
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        // RFC 4648 §10, padding removed.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(URL_SAFE_NO_PAD.encode(plain.as_bytes()), enc);
            assert_eq!(URL_SAFE_NO_PAD.decode(enc).unwrap(), plain.as_bytes());
        }
        // The URL-safe letters.
        assert_eq!(URL_SAFE_NO_PAD.encode([0xfb, 0xff]), "-_8");
        assert_eq!(URL_SAFE_NO_PAD.decode("-_8").unwrap(), [0xfb, 0xff]);
        // Non-canonical trailing bits, impossible lengths, padding, other alphabets.
        for bad in ["Zh", "Zm-", "Z", "Zm9vY", "Zg==", "+/8", "Zm 9v"] {
            assert_eq!(URL_SAFE_NO_PAD.decode(bad).ok(), None, "{bad}");
        }
        let all: Vec<u8> = (0..=255).collect();
        for n in 0..all.len() {
            assert_eq!(
                URL_SAFE_NO_PAD
                    .decode(URL_SAFE_NO_PAD.encode(&all[..n]))
                    .unwrap(),
                &all[..n]
            );
        }
    }

    #[test]
    fn a_token_has_one_spelling() {
        // Tokens whose last character carries unused low bits (payload + tag not a
        // multiple of 3 bytes): setting one of those bits spells the same bytes in a
        // lenient decoder, and must be refused here.
        for email in ["a@example.com", "ab@example.com"] {
            let t = sign(KEY, Purpose::Manage, email, NOW);
            assert_ne!(t.len() % 4, 0, "{email}: pick an address with unused bits");
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let last = alphabet
                .iter()
                .position(|&c| Some(&c) == t.as_bytes().last());
            let twin = char::from(alphabet[last.unwrap() | 1]);
            let forged = format!("{}{twin}", &t[..t.len() - 1]);
            assert_ne!(forged, t);
            assert_eq!(
                verify(KEY, Purpose::Manage, &forged, NOW),
                Err(TokenError::Malformed),
                "{forged}"
            );
            // Padding, even where it would be right, is another spelling.
            let padded = format!("{t}{}", "=".repeat(4 - t.len() % 4));
            assert_eq!(
                verify(KEY, Purpose::Manage, &padded, NOW),
                Err(TokenError::Malformed)
            );
            // Surrounding whitespace is not part of the token (a pasted link).
            assert_eq!(
                verify(KEY, Purpose::Manage, &format!(" {t}\r\n"), NOW).as_deref(),
                Ok(email)
            );
        }
    }

    #[test]
    fn key_file_round_trip() {
        let random: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let key = generate_key(random);
        let text = key_file_text(&key);
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert_eq!(parse_key_file(&text).unwrap(), key);
        assert_eq!(parse_key_file(&text.to_uppercase()).unwrap(), key);
        assert_eq!(parse_key_file(&text.replace('\n', "\r\n")).unwrap(), key);
    }

    #[test]
    fn bad_key_files() {
        for bad in [
            "",
            "abc\n",
            &"g".repeat(64),
            &"0".repeat(64),
            &"ab".repeat(33),
            &format!("{}é", "a".repeat(62)),
        ] {
            let err = parse_key_file(bad).unwrap_err();
            assert!(matches!(err, TokenError::KeyFile(_)), "{bad:?}: {err}");
            assert!(err.to_string().starts_with("key file: "));
        }
    }
}
