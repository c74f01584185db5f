//! CSRF protection of the forms (DESIGN §5): a signed double-submit token in a cookie
//! and a hidden field, and the `Origin`/`Sec-Fetch-Site` checks.

use super::*;

// CSRF

/// A fresh form token: `TIME.NONCE.MAC`.
pub(super) fn csrf_new(key: &[u8], now: i64) -> String {
    let mut nonce = [0u8; 16];
    fill_random(&mut nonce);
    let payload = format!("{now}.{}", hex(&nonce));
    let tag = csrf_mac(key, &payload);
    format!("{payload}.{tag}")
}

pub(super) fn csrf_mac(key: &[u8], payload: &str) -> String {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    // A domain prefix keeps a form token from ever being mistaken for a link token.
    m.update(b"tidings-csrf\0");
    m.update(payload.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// The age in seconds of a well-formed, correctly MACed token, or `None`.
pub(super) fn csrf_age(key: &[u8], token: &str, now: i64) -> Option<i64> {
    let (payload, tag) = token.rsplit_once('.')?;
    let want = csrf_mac(key, payload);
    if !constant_time_eq(want.as_bytes(), tag.as_bytes()) {
        return None;
    }
    let time: i64 = payload.split_once('.')?.0.parse().ok()?;
    // A little slack for a clock stepped back between the page and the POST.
    (time <= now + 60).then_some(now - time)
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// The token a page should embed: the cookie's, while it is young enough to be reused,
/// else a new one (and then the cookie must be set).
pub(super) fn csrf_for_page(web: &Web, headers: &HeaderMap) -> (String, bool) {
    let now = now_unix();
    match cookie_value(headers, CSRF_COOKIE) {
        Some(t) if csrf_age(&web.key, t, now).is_some_and(|age| age < CSRF_REUSE_SECS) => {
            (t.to_string(), false)
        }
        _ => (csrf_new(&web.key, now), true),
    }
}

pub(super) fn csrf_cookie(web: &Web, token: &str) -> HeaderValue {
    let secure = if web.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; Max-Age={CSRF_MAX_AGE_SECS}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("token is ASCII")
}

/// Why a POST is refused as a possible forgery (for the log; the page says "reload").
pub(super) fn csrf_check(
    web: &Web,
    headers: &HeaderMap,
    field: Option<&str>,
) -> Result<(), &'static str> {
    same_site_check(web, headers)?;
    let cookie = cookie_value(headers, CSRF_COOKIE).ok_or("no form cookie")?;
    let field = field.ok_or("no form token")?;
    if !constant_time_eq(cookie.as_bytes(), field.as_bytes()) {
        return Err("form token differs from the cookie");
    }
    match csrf_age(&web.key, field, now_unix()) {
        Some(age) if age < CSRF_MAX_AGE_SECS => Ok(()),
        Some(_) => Err("form token expired"),
        None => Err("form token forged or malformed"),
    }
}

/// Why a POST is refused because the browser says another site sent it; `Ok` when it
/// says nothing (a mail client, a script) or says this site.
pub(super) fn same_site_check(web: &Web, headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": typed or bookmarked — not a cross-site form.
        if !matches!(site, "same-origin" | "none") {
            return Err("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        // `null` says nothing (privacy settings send it for any origin); the token pair,
        // which no other site can read or set, still decides.
        if origin != "null" && !origin_allowed(web, headers, origin) {
            return Err("Origin is another site");
        }
    }
    Ok(())
}

/// The site's own origin: that of `site.base_url`, or the one the request was sent to
/// (the daemon may be reached by another name than the public one, e.g. behind a proxy
/// that keeps `Host`).
pub(super) fn origin_allowed(web: &Web, headers: &HeaderMap, origin: &str) -> bool {
    let base_origin = web
        .base_url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    if origin.eq_ignore_ascii_case(&base_origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !host.is_empty()
        && origin
            .split_once("://")
            .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
}

pub(super) fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_err()
    {
        // Never reached on Linux; a nonce then still differs per request and per process.
        let seed = format!("{:?}{}", Instant::now(), std::process::id());
        let mut m = HmacSha256::new_from_slice(seed.as_bytes()).expect("any key length");
        m.update(b"nonce");
        let bytes = m.finalize().into_bytes();
        for (b, r) in buf.iter_mut().zip(bytes.iter().cycle()) {
            *b = *r;
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
