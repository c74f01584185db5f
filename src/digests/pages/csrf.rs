//! CSRF protection of the forms (DESIGN §5): a signed double-submit token in a cookie
//! and a hidden field, and the `Origin`/`Sec-Fetch-Site` checks.

use super::*;

// CSRF

/// A fresh form token: `TIME.NONCE.MAC`.
pub(super) fn csrf_new(key: &[u8], now: i64) -> String {
    let mut nonce = [0u8; 16];
    fill_random(&mut nonce);
    let payload = format!("{now}.{}", hex::encode(nonce));
    let tag = csrf_mac(key, &payload);
    format!("{payload}.{tag}")
}

pub(super) fn csrf_mac(key: &[u8], payload: &str) -> String {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    // A domain prefix keeps a form token from ever being mistaken for a link token.
    m.update(b"tidings-csrf\0");
    m.update(payload.as_bytes());
    hex::encode(m.finalize().into_bytes())
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

/// Compares secrets in time that does not depend on where they differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
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
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    is_own_origin(&web.base_url, host, origin)
}

/// Whether the `Origin` header's text names the site at `base_url`, or the `host` the
/// request was sent to. Origins compare as scheme, host and port (RFC 6454 §5): the
/// default port is the same as none, hosts compare in ASCII (a browser sends an
/// internationalised name in its A-label form), IPv6 literals whatever their spelling.
pub(super) fn is_own_origin(base_url: &str, host: Option<&str>, origin: &str) -> bool {
    let Some(origin) = serialized_origin(origin) else {
        return false;
    };
    if url::Url::parse(base_url).is_ok_and(|base| base.origin() == origin) {
        return true;
    }
    // The request's own host, in the scheme the browser says it used.
    let url::Origin::Tuple(scheme, ..) = &origin else {
        return false;
    };
    host.filter(|h| !h.contains(['/', '\\', '@', '?', '#']))
        .and_then(|h| serialized_origin(&format!("{scheme}://{h}")))
        .is_some_and(|own| own == origin)
}

/// The origin that `text` serialises (RFC 6454 §6.2: an http(s) scheme, a host, perhaps
/// a port, nothing else), or `None`: a header with credentials, a path or a query is no
/// origin a browser sends.
fn serialized_origin(text: &str) -> Option<url::Origin> {
    let url = url::Url::parse(text).ok()?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && !text.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none();
    bare.then(|| url.origin())
}

pub(super) fn fill_random(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
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
