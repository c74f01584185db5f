//! The route handlers: `/subscribe`, `/confirm`, `/manage`, `/unsubscribe`, and the mails
//! they send.

use super::*;
use crate::digests::subscriber::masked;

// Handlers

/// `GET /subscribe`: the form, pre-filled by `?section=PATH&keyword=K` (DESIGN §5: an
/// article page's "follow by email").
pub(super) async fn subscribe_page(
    State(web): WebState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let filled = Filled::from_query(query.as_deref());
    let view = View::get(&web, &headers, "/subscribe", query);
    let (csrf, set) = csrf_for_page(&web, &headers);
    let body = render_form(&web, &view, FormKind::Subscribe, &filled, &csrf, None, None);
    form_response(&web, &view, StatusCode::OK, body, &csrf, set)
}

pub(super) async fn subscribe_post(State(web): WebState, req: Request) -> Response {
    // The peer address; behind a reverse proxy every client shares the proxy's, which
    // makes the limit stricter, never looser.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        let view = View::posted(&web, &headers, None, "/subscribe", None);
        return forbidden(&view, "unreadable form body");
    };
    let view = View::posted(&web, &headers, Some(&form), "/subscribe", None);
    let m = view.m();
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(&view, why);
    }
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let rerender = |msg: &str| {
        let body = render_form(
            &web,
            &view,
            FormKind::Subscribe,
            &form.filled(),
            &csrf,
            Some(msg),
            None,
        );
        page_response(&view, StatusCode::BAD_REQUEST, body)
    };
    let email = match normalize_email(form.one("email").unwrap_or("")) {
        Ok(e) => e,
        Err(e) => return rerender(&describe(&e, m)),
    };
    // The mails' language: the form's choice, else the page's (DESIGN §5).
    let mail_lang = form.mail_lang().unwrap_or(view.lang.lang);
    let (topics, schedule, tz) = match validate_choices(&form, m) {
        Ok(v) => v,
        Err(msg) => return rerender(&msg),
    };
    // Counted only now, for requests that would send a mail: that is what the limit
    // protects (someone's mailbox), and a reader fixing a typo is not held back by it.
    if let Some(ip) = ip {
        if !web.limiter.allow(ip, Instant::now()) {
            tracing::info!("subscribe rate limit hit by {ip}");
            let mut res = message_page(
                &view,
                StatusCode::TOO_MANY_REQUESTS,
                m.rate_limited_title,
                "err",
                m.rate_limited_text,
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RATE_WINDOW.as_secs()),
            );
            return res;
        }
    }
    let now = now_unix();
    let key = email_key(&email);
    let existing = match web.index.subscriber(&key) {
        Ok(s) => s,
        Err(e) => return server_error(&view, "reading a subscriber", e),
    };
    let mail = match existing {
        Some(s) if s.status == Status::Active => {
            // Never downgrade a confirmed subscription on an unconfirmed request; tell the
            // owner instead (they may simply have forgotten).
            tracing::info!(
                "subscription request for {}: already active, reminder mailed",
                masked(&email)
            );
            // In the owner's language: the reminder is for them.
            let lang = s.lang.unwrap_or(web.site_lang);
            already_subscribed_mail(&web, lang, &s.email, &key, now)
        }
        _ => {
            let mut sub = match Subscriber::new(&email, topics, &schedule, &tz, now) {
                Ok(s) => s,
                Err(e) => return rerender(&e.to_string()),
            };
            sub.status = Status::Pending;
            sub.lang = Some(mail_lang);
            sub.watermark = match web.index.last_seq() {
                Ok(seq) => seq,
                Err(e) => return server_error(&view, "reading the arrival sequence", e),
            };
            if let Err(e) = web.index.put_subscribers(&[sub]) {
                return server_error(&view, "storing a subscriber", e);
            }
            tracing::info!(
                "subscription requested by {}: pending, confirmation mailed",
                masked(&email)
            );
            confirmation_mail(&web, mail_lang, &email, &key, now)
        }
    };
    // Sent in the background: the answer must not wait for (or, by its timing, tell
    // anything about) the mail.
    match mail {
        Ok((message_id, bytes)) => {
            let web = web.clone();
            tokio::spawn(async move {
                let envelope = Envelope::new(web.mail.from.clone(), email.clone());
                match web.transport().await {
                    Ok(t) => {
                        if let Err(e) = t.send(&envelope, &message_id, &bytes).await {
                            tracing::warn!("subscription mail to {email}: {e}");
                        }
                    }
                    Err(e) => tracing::error!("mail transport: {e:#}"),
                }
            });
        }
        Err(e) => tracing::warn!("subscription mail to {email}: {e:#}"),
    }
    message_page(
        &view,
        StatusCode::OK,
        m.check_inbox_title,
        "ok",
        m.check_inbox_text,
    )
}

/// A signed link to one of the pages.
pub(super) fn link(web: &Web, page: &str, purpose: Purpose, key: &str, expires: i64) -> String {
    format!(
        "{}/{page}?token={}",
        web.base_url,
        token::sign(&web.key, purpose, key, expires)
    )
}

/// The subscriber's personal feed in each format served: (format name, URL).
pub(super) fn feed_links(web: &Web, sub: &Subscriber) -> Vec<(&'static str, String)> {
    web.formats
        .iter()
        .map(|&format| {
            let name = match format {
                config::Format::Rss => "RSS",
                config::Format::Atom => "Atom",
                config::Format::Json => "JSON Feed",
            };
            let url = crate::digests::personal::feed_url(&web.base_url, &web.key, sub, format);
            (name, url)
        })
        .collect()
}

/// The link to the form, as the mails name it.
fn form_url(web: &Web) -> String {
    format!("{}/subscribe", web.base_url)
}

pub(super) fn confirmation_mail(
    web: &Web,
    lang: Lang,
    to: &str,
    key: &str,
    now: i64,
) -> anyhow::Result<(String, Vec<u8>)> {
    let confirm = link(
        web,
        "confirm",
        Purpose::Confirm,
        key,
        now + CONFIRM_TTL_SECS,
    );
    let m = lang.messages();
    // The page the link opens is in the mail's language too.
    let confirm = format!("{confirm}&lang={}", lang.tag());
    let body = (m.confirm_mail_body)(&form_url(web), &web.site_title, &confirm);
    build_mail(
        web,
        lang,
        to,
        &(m.confirm_mail_subject)(&web.site_title),
        body,
    )
}

pub(super) fn already_subscribed_mail(
    web: &Web,
    lang: Lang,
    to: &str,
    key: &str,
    now: i64,
) -> anyhow::Result<(String, Vec<u8>)> {
    let manage = link(web, "manage", Purpose::Manage, key, now + MANAGE_TTL_SECS);
    let unsubscribe = link(
        web,
        "unsubscribe",
        Purpose::Unsubscribe,
        key,
        now + UNSUBSCRIBE_TTL_SECS,
    );
    let m = lang.messages();
    let manage = format!("{manage}&lang={}", lang.tag());
    let unsubscribe = format!("{unsubscribe}&lang={}", lang.tag());
    let body = (m.already_subscribed_body)(&form_url(web), &web.site_title, &manage, &unsubscribe);
    build_mail(
        web,
        lang,
        to,
        &(m.already_subscribed_subject)(&web.site_title),
        body,
    )
}

/// A plain-text UTF-8 MIME message; lettre encodes the subject (RFC 2047) and picks the
/// body's transfer encoding.
pub(super) fn build_mail(
    web: &Web,
    lang: Lang,
    to: &str,
    subject: &str,
    body: String,
) -> anyhow::Result<(String, Vec<u8>)> {
    let from = Mailbox::from_str(web.mail.from.trim())
        .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", web.mail.from))?;
    let to = Mailbox::from_str(to).map_err(|e| anyhow::anyhow!("address {to:?}: {e}"))?;
    let domain = from.email.domain().to_string();
    let mut nonce = [0u8; 12];
    fill_random(&mut nonce);
    let message_id = format!("<subscribe.{}@{domain}>", hex::encode(nonce));
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.clone()))
        .header(ContentLanguage(lang))
        // A MIME part, not a raw body: lettre writes `MIME-Version: 1.0` (RFC 2045)
        // only for those, and picks the transfer encoding as for a raw one.
        .singlepart(SinglePart::plain(body))?;
    Ok((message_id, message.formatted()))
}

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    pub(super) token: String,
}

/// `GET /confirm`: the link from the confirmation mail only shows a button (DESIGN §5:
/// mail scanners open every link). Only the signature is checked, as on the unsubscribe
/// page, so the page says nothing about the address.
pub(super) async fn confirm_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let view = View::get(&web, &headers, "/confirm", query);
    if token::verify(&web.key, Purpose::Confirm, &q.token, now_unix()).is_err() {
        return bad_link(&view);
    }
    let m = view.m();
    let body = html! {
        p { ((m.confirm_text)(&web.site_title)) }
        form method="post" action="/confirm" {
            input type="hidden" name="token" value=(q.token);
            input type="hidden" name="page_lang" value=(view.tag());
            p { button type="submit" #submit { (m.confirm_button) } }
        }
    };
    page_response(&view, StatusCode::OK, page(&view, m.confirm_title, body))
}

/// `POST /confirm`: the button. The signed token in the form is the proof, with no form
/// cookie: it is a secret only the mailbox holder has, so a forging site cannot send it
/// and a cookie pair would add nothing — but it would fail a reader whose browser keeps
/// no cookies or who comes back to the page hours later, and there is no other way to
/// confirm. A browser that says the post comes from another site is still refused.
pub(super) async fn confirm_post(State(web): WebState, req: Request) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        let view = View::posted(&web, &headers, None, "/subscribe", None);
        return forbidden(&view, "unreadable form body");
    };
    let view = View::posted(&web, &headers, Some(&form), "/subscribe", None);
    let m = view.m();
    if let Err(why) = same_site_check(&web, &headers) {
        return forbidden(&view, why);
    }
    let now = now_unix();
    let token = form.one("token").unwrap_or("");
    let Ok(key) = token::verify(&web.key, Purpose::Confirm, token, now) else {
        return bad_link(&view);
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(&view),
        Err(e) => return server_error(&view, "reading a subscriber", e),
    };
    if sub.status != Status::Active {
        // The watermark stays where subscribing set it: the first digest covers what
        // arrived since the form was sent, not since the link was followed.
        sub.status = Status::Active;
        sub.bounces = 0;
        let who = masked(&sub.email);
        if let Err(e) = web.index.put_subscribers(&[sub]) {
            return server_error(&view, "activating a subscriber", e);
        }
        tracing::info!("subscription confirmed: {who}");
    }
    let manage = link(&web, "manage", Purpose::Manage, &key, now + MANAGE_TTL_SECS);
    let manage = format!("{manage}&lang={}", view.tag());
    let body = html! {
        p.ok { (m.confirmed_text) }
        p {
            a #manage href=(manage) { (m.manage_link) }
            (m.manage_link_hint)
        }
    };
    page_response(&view, StatusCode::OK, page(&view, m.confirmed_title, body))
}

/// What the switcher of a manage page keeps: its token.
fn token_query(token: &str) -> Option<String> {
    Some(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish(),
    )
}

pub(super) async fn manage_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let view = View::get(&web, &headers, "/manage", query);
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &q.token, now_unix()) else {
        return bad_link(&view);
    };
    let sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(&view),
        Err(e) => return server_error(&view, "reading a subscriber", e),
    };
    let (csrf, set) = csrf_for_page(&web, &headers);
    let mut filled = Filled::from_subscriber(&sub);
    filled.lang = Some(sub.lang.unwrap_or(web.site_lang));
    let body = render_form(
        &web,
        &view,
        FormKind::Manage {
            token: &q.token,
            feeds: &feed_links(&web, &sub),
        },
        &filled,
        &csrf,
        None,
        None,
    );
    form_response(&web, &view, StatusCode::OK, body, &csrf, set)
}

pub(super) async fn manage_post(State(web): WebState, req: Request) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        let view = View::posted(&web, &headers, None, "/subscribe", None);
        return forbidden(&view, "unreadable form body");
    };
    let token = form.one("token").unwrap_or("").to_string();
    let view = View::posted(&web, &headers, Some(&form), "/manage", token_query(&token));
    let m = view.m();
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(&view, why);
    }
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &token, now_unix()) else {
        return bad_link(&view);
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(&view),
        Err(e) => return server_error(&view, "reading a subscriber", e),
    };
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let (topics, schedule, tz) = match validate_choices(&form, m) {
        Ok(v) => v,
        Err(msg) => {
            let mut filled = form.filled();
            filled.email = sub.email.clone();
            let body = render_form(
                &web,
                &view,
                FormKind::Manage {
                    token: &token,
                    feeds: &feed_links(&web, &sub),
                },
                &filled,
                &csrf,
                Some(&msg),
                None,
            );
            return page_response(&view, StatusCode::BAD_REQUEST, body);
        }
    };
    // Status, watermark and run history stay: a changed schedule takes effect at the
    // scheduler's next look at the subscribers, without losing or repeating articles.
    sub.topics = topics;
    sub.schedule = schedule;
    sub.tz = tz;
    if let Some(lang) = form.mail_lang() {
        sub.lang = Some(lang);
    }
    if let Err(e) = web.index.put_subscribers(std::slice::from_ref(&sub)) {
        return server_error(&view, "updating a subscriber", e);
    }
    tracing::info!("subscription changed: {}", masked(&sub.email));
    let mut filled = Filled::from_subscriber(&sub);
    filled.lang = Some(sub.lang.unwrap_or(web.site_lang));
    let body = render_form(
        &web,
        &view,
        FormKind::Manage {
            token: &token,
            feeds: &feed_links(&web, &sub),
        },
        &filled,
        &csrf,
        None,
        Some(m.saved_notice),
    );
    page_response(&view, StatusCode::OK, body)
}

pub(super) async fn unsubscribe_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let view = View::get(&web, &headers, "/unsubscribe", query);
    // Only the signature is checked: looking the address up would make the page differ
    // for a known and an unknown one.
    if token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()).is_err() {
        return bad_link(&view);
    }
    let m = view.m();
    let (csrf, set) = csrf_for_page(&web, &headers);
    let action = format!("/unsubscribe?token={}", q.token);
    let body = html! {
        p { (m.unsubscribe_question) }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="page_lang" value=(view.tag());
            p { button type="submit" #submit { (m.unsubscribe_button) } }
        }
    };
    let body = page(&view, m.unsubscribe_title, body);
    form_response(&web, &view, StatusCode::OK, body, &csrf, set)
}

pub(super) async fn unsubscribe_post(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        let view = View::posted(&web, &headers, None, "/subscribe", None);
        return forbidden(&view, "unreadable form body");
    };
    let view = View::posted(
        &web,
        &headers,
        Some(&form),
        "/unsubscribe",
        token_query(&q.token),
    );
    let m = view.m();
    // RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click` to the header's URL,
    // without cookies; the signed token is all the authority there is (and needs).
    let one_click = form.one("List-Unsubscribe") == Some("One-Click");
    if !one_click {
        if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
            return forbidden(&view, why);
        }
    }
    let Ok(key) = token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()) else {
        return bad_link(&view);
    };
    match web.index.subscriber(&key) {
        Ok(Some(mut s)) if s.status != Status::Unsubscribed => {
            s.status = Status::Unsubscribed;
            if let Err(e) = web.index.put_subscribers(&[s]) {
                return server_error(&view, "unsubscribing", e);
            }
            tracing::info!(
                "unsubscribed: {} ({})",
                masked(&key),
                if one_click { "one-click" } else { "page" }
            );
        }
        // Gone or already out: the same answer, so the page reveals nothing.
        Ok(_) => {}
        Err(e) => return server_error(&view, "reading a subscriber", e),
    }
    if one_click {
        text(StatusCode::OK, "unsubscribed\n")
    } else {
        message_page(
            &view,
            StatusCode::OK,
            m.unsubscribed_title,
            "ok",
            m.unsubscribed_text,
        )
    }
}
