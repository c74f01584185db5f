//! Email addresses: normalising and checking them, and the key that identifies a
//! subscriber.

use super::*;

pub(super) fn email_error(email: &str, reason: impl Into<String>) -> SubscriberError {
    SubscriberError::Email {
        email: email.to_string(),
        reason: reason.into(),
    }
}

/// Characters that arrive with copy-and-paste and are never part of an address.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{AD}'
    )
}

/// Validates an address and puts it in the stored form: surrounding whitespace trimmed,
/// the local part as typed, the domain lowercased and in ASCII (IDNA, UTS #46 with the
/// strict STD3 rules).
///
/// Accepted local parts are RFC 5321 dot-atoms (RFC 6531 lets them hold non-ASCII
/// characters, e.g. `用户`) and quoted strings. Rejected, to be practical: whitespace,
/// control and invisible characters anywhere (also inside quotes), a leading, trailing or
/// doubled dot, a local part over 64 octets, an address over 254 octets, address literals
/// (`[192.0.2.1]`), and domains without a dot, with an empty label, a trailing dot, or a
/// label outside letters, digits and inner hyphens. A full-width `＠` counts as `@`, and
/// the ideographic full stop `。` in a domain as a dot (UTS #46 maps it).
///
/// ```
/// use tidings::digests::subscriber::normalize_email;
/// assert_eq!(normalize_email(" Li.Wei@Example.COM ").unwrap(), "Li.Wei@example.com");
/// assert_eq!(normalize_email("用户@例子.广告").unwrap(), "用户@xn--fsqu00a.xn--4rr70v");
/// ```
pub fn normalize_email(raw: &str) -> Result<String, SubscriberError> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
    // A Chinese input method types the full-width `＠`; it can only have meant `@`.
    let email = &trimmed.replace('＠', "@");
    let err = |reason: &str| Err(email_error(email, reason));
    if email.is_empty() {
        return err("empty");
    }
    if let Some(c) = email
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || is_invisible(c))
    {
        let reason = if c.is_whitespace() {
            "contains a space".to_string()
        } else if c.is_control() {
            format!("contains the control character U+{:04X}", c as u32)
        } else {
            format!("contains the invisible character U+{:04X}", c as u32)
        };
        return Err(email_error(email, reason));
    }
    // A quoted local part may itself hold an `@`, so the domain starts at the last one.
    let Some((local, domain)) = email.rsplit_once('@') else {
        return err("no @");
    };
    check_local(local).map_err(|reason| email_error(email, reason))?;
    let domain = check_domain(domain).map_err(|reason| email_error(email, reason))?;
    let normalized = format!("{local}@{domain}");
    if normalized.len() > ADDRESS_MAX {
        return Err(email_error(
            email,
            format!("{} octets long (at most {ADDRESS_MAX})", normalized.len()),
        ));
    }
    // The digest is built with lettre; an address it refuses would fail every send, so
    // refuse it here, where the operator sees the message.
    if lettre::Address::new(local, &domain).is_err() {
        return err("not accepted as a mailbox");
    }
    Ok(normalized)
}

/// Checks a local part; whitespace and control characters are already excluded.
pub(super) fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("nothing before the @".into());
    }
    if local.len() > LOCAL_MAX {
        return Err(format!(
            "part before the @ is {} octets long (at most {LOCAL_MAX})",
            local.len()
        ));
    }
    if let Some(inner) = local.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err("unterminated quoted local part".into());
        };
        if inner.is_empty() {
            return Err("empty quoted local part".into());
        }
        // RFC 5321 qtextSMTP and quoted-pairs; non-ASCII per RFC 6531.
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) if e.is_ascii_graphic() => {}
                    _ => return Err("bad escape in quoted local part".into()),
                },
                '"' => return Err("stray quote in the quoted local part".into()),
                _ => {}
            }
        }
        return Ok(());
    }
    if local.contains('@') {
        return Err("more than one @".into());
    }
    if local.starts_with('.') {
        return Err("local part starts with a dot".into());
    }
    if local.ends_with('.') {
        return Err("local part ends with a dot".into());
    }
    if local.contains("..") {
        return Err("two dots in a row".into());
    }
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";
    if let Some(c) = local
        .chars()
        .find(|&c| c.is_ascii() && !c.is_ascii_alphanumeric() && !SPECIALS.contains(c))
    {
        return Err(format!("{c:?} is not allowed before the @"));
    }
    Ok(())
}

/// Checks a domain and returns its lowercase ASCII form.
pub(super) fn check_domain(domain: &str) -> Result<String, String> {
    if domain.is_empty() {
        return Err("nothing after the @".into());
    }
    if domain.starts_with('[') {
        return Err("address literals are not accepted".into());
    }
    // Checked on the input as well as on the IDNA result: UTS #46 maps the ideographic
    // full stop `。` to a dot, and a plain message beats the IDNA crate's error list.
    let dots = |c: char| matches!(c, '.' | '。' | '．' | '｡');
    if domain.ends_with(dots) {
        return Err("domain ends with a dot".into());
    }
    if domain.starts_with(dots) {
        return Err("domain starts with a dot".into());
    }
    if domain.split(dots).any(str::is_empty) {
        return Err("domain has an empty label (two dots in a row)".into());
    }
    if domain.is_ascii() {
        // The IDNA crate would refuse these too, with a less specific error.
        check_labels(domain)?;
    }
    let ascii = idna::domain_to_ascii_strict(domain)
        .map_err(|_| "domain is not a valid host name (IDNA)".to_string())?;
    check_labels(&ascii)?;
    Ok(ascii.to_ascii_lowercase())
}

/// Checks an ASCII domain's labels: LDH, 1–63 octets, no hyphen at either end, a
/// non-numeric top-level label, and at least two labels.
pub(super) fn check_labels(ascii: &str) -> Result<(), String> {
    if !ascii.contains('.') {
        return Err("domain has no dot".into());
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err("domain has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("domain label {label:?} is longer than 63 octets"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "domain label {label:?} holds characters other than letters, digits and '-'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "domain label {label:?} starts or ends with a hyphen"
            ));
        }
    }
    let tld = ascii.rsplit('.').next().unwrap_or_default();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err("domain is an IP address; address literals are not accepted".into());
    }
    Ok(())
}

/// An address as INFO log lines show it (DESIGN §6b: never a full address at INFO): the
/// local part's first character and the domain, `a***@example.com`. Anything without an
/// `@` shows as `***`.
pub fn masked(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once(['@', '＠']) {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// The identity of a normalised address: all of it lowercased (see the module docs).
pub fn email_key(normalized: &str) -> String {
    normalized.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn masked_shows_the_first_character_and_the_domain() {
        assert_eq!(masked("alice@example.com"), "a***@example.com");
        assert_eq!(masked(" Li.Wei@Example.COM "), "L***@Example.COM");
        assert_eq!(masked("用户@例子.广告"), "用***@例子.广告");
        assert_eq!(masked("\"a@b\"@example.org"), "\"***@example.org");
        assert_eq!(masked("@example.org"), "***@example.org");
        assert_eq!(masked("no address"), "***");
        assert_eq!(masked(""), "***");
    }
}
