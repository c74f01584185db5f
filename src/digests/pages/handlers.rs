//! The route handlers: `/subscribe`, `/confirm`, `/manage`, `/unsubscribe`, and the mails
//! they send.

use super::*;
use crate::digests::subscriber::masked;

// Handlers

pub(super) async fn subscribe_page(State(web): WebState, headers: HeaderMap) -> Response {
    let (csrf, set) = csrf_for_page(&web, &headers);
    let body = render_form(
        &web,
        FormKind::Subscribe,
        &Filled::default(),
        &csrf,
        None,
        None,
    );
    form_response(&web, StatusCode::OK, body, &csrf, set)
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
        return forbidden("unreadable form body");
    };
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(why);
    }
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let rerender = |msg: &str| {
        let body = render_form(
            &web,
            FormKind::Subscribe,
            &form.filled(),
            &csrf,
            Some(msg),
            None,
        );
        html(StatusCode::BAD_REQUEST, body)
    };
    let email = match normalize_email(form.one("email").unwrap_or("")) {
        Ok(e) => e,
        Err(e) => return rerender(&format!("電子郵件：{e}")),
    };
    let (topics, schedule, tz) = match validate_choices(&form) {
        Ok(v) => v,
        Err(msg) => return rerender(&msg),
    };
    // Counted only now, for requests that would send a mail: that is what the limit
    // protects (someone's mailbox), and a reader fixing a typo is not held back by it.
    if let Some(ip) = ip {
        if !web.limiter.allow(ip, Instant::now()) {
            tracing::info!("subscribe rate limit hit by {ip}");
            let mut res = message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "請求過於頻繁",
                "err",
                "短時間內提交次數過多，請稍後再試。",
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
        Err(e) => return server_error("reading a subscriber", e),
    };
    let mail = match existing {
        Some(s) if s.status == Status::Active => {
            // Never downgrade a confirmed subscription on an unconfirmed request; tell the
            // owner instead (they may simply have forgotten).
            tracing::info!(
                "subscription request for {}: already active, reminder mailed",
                masked(&email)
            );
            already_subscribed_mail(&web, &s.email, &key, now)
        }
        _ => {
            let mut sub = match Subscriber::new(&email, topics, &schedule, &tz, now) {
                Ok(s) => s,
                Err(e) => return rerender(&e.to_string()),
            };
            sub.status = Status::Pending;
            sub.watermark = match web.index.last_seq() {
                Ok(seq) => seq,
                Err(e) => return server_error("reading the arrival sequence", e),
            };
            if let Err(e) = web.index.put_subscribers(&[sub]) {
                return server_error("storing a subscriber", e);
            }
            tracing::info!(
                "subscription requested by {}: pending, confirmation mailed",
                masked(&email)
            );
            confirmation_mail(&web, &email, &key, now)
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
        StatusCode::OK,
        "請查收郵件",
        "ok",
        "請查收您的收件匣：我們已寄出一封郵件，請按其中的說明完成操作。若幾分鐘內未收到，請檢查垃圾郵件夾。",
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

pub(super) fn confirmation_mail(
    web: &Web,
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
    let body = format!(
        "您好：\r\n\r\n有人（希望是您）在 {base}/subscribe 以此地址訂閱了「{title}」的摘要。\r\n\
         請在 48 小時內打開下面的連結，按頁面上的按鈕確認訂閱：\r\n\r\n{confirm}\r\n\r\n\
         如果這不是您本人的操作，請忽略此郵件：未經確認，您不會收到任何摘要。\r\n",
        base = web.base_url,
        title = web.site_title,
    );
    build_mail(
        web,
        to,
        &format!("請確認訂閱「{}」摘要", web.site_title),
        body,
    )
}

pub(super) fn already_subscribed_mail(
    web: &Web,
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
    let body = format!(
        "您好：\r\n\r\n有人（希望是您）在 {base}/subscribe 以此地址申請訂閱「{title}」的摘要，\r\n\
         而此地址已經訂閱，訂閱內容沒有改變。\r\n\r\n\
         修改欄目、關鍵詞或發送時間：\r\n{manage}\r\n\r\n退訂：\r\n{unsubscribe}\r\n",
        base = web.base_url,
        title = web.site_title,
    );
    build_mail(
        web,
        to,
        &format!("您已訂閱「{}」摘要", web.site_title),
        body,
    )
}

/// A plain-text UTF-8 MIME message; lettre encodes the subject (RFC 2047) and picks the
/// body's transfer encoding.
pub(super) fn build_mail(
    web: &Web,
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
pub(super) async fn confirm_page(State(web): WebState, Query(q): Query<TokenQuery>) -> Response {
    if token::verify(&web.key, Purpose::Confirm, &q.token, now_unix()).is_err() {
        return bad_link();
    }
    let body = html! {
        p { "請按下面的按鈕確認訂閱「" (web.site_title) "」的摘要。" }
        form method="post" action="/confirm" {
            input type="hidden" name="token" value=(q.token);
            p { button type="submit" #submit { "確認訂閱" } }
        }
    };
    html(StatusCode::OK, page("確認訂閱", body))
}

/// `POST /confirm`: the button. The signed token in the form is the proof, with no form
/// cookie: it is a secret only the mailbox holder has, so a forging site cannot send it
/// and a cookie pair would add nothing — but it would fail a reader whose browser keeps
/// no cookies or who comes back to the page hours later, and there is no other way to
/// confirm. A browser that says the post comes from another site is still refused.
pub(super) async fn confirm_post(State(web): WebState, req: Request) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    if let Err(why) = same_site_check(&web, &headers) {
        return forbidden(why);
    }
    let now = now_unix();
    let token = form.one("token").unwrap_or("");
    let Ok(key) = token::verify(&web.key, Purpose::Confirm, token, now) else {
        return bad_link();
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    if sub.status != Status::Active {
        // The watermark stays where subscribing set it: the first digest covers what
        // arrived since the form was sent, not since the link was followed.
        sub.status = Status::Active;
        sub.bounces = 0;
        let who = masked(&sub.email);
        if let Err(e) = web.index.put_subscribers(&[sub]) {
            return server_error("activating a subscriber", e);
        }
        tracing::info!("subscription confirmed: {who}");
    }
    let manage = link(&web, "manage", Purpose::Manage, &key, now + MANAGE_TTL_SECS);
    let body = html! {
        p.ok { "訂閱已確認。摘要將按您選擇的時間寄出。" }
        p {
            a #manage href=(manage) { "管理訂閱" }
            "（修改欄目、關鍵詞或發送時間；請保存此連結或使用摘要郵件底部的連結）"
        }
    };
    html(StatusCode::OK, page("訂閱已確認", body))
}

pub(super) async fn manage_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &q.token, now_unix()) else {
        return bad_link();
    };
    let sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    let (csrf, set) = csrf_for_page(&web, &headers);
    let body = render_form(
        &web,
        FormKind::Manage {
            token: &q.token,
            feeds: &feed_links(&web, &sub),
        },
        &Filled::from_subscriber(&sub),
        &csrf,
        None,
        None,
    );
    form_response(&web, StatusCode::OK, body, &csrf, set)
}

pub(super) async fn manage_post(State(web): WebState, req: Request) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
        return forbidden(why);
    }
    let token = form.one("token").unwrap_or("").to_string();
    let Ok(key) = token::verify(&web.key, Purpose::Manage, &token, now_unix()) else {
        return bad_link();
    };
    let mut sub = match web.index.subscriber(&key) {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(),
        Err(e) => return server_error("reading a subscriber", e),
    };
    let csrf = form.one("csrf").unwrap_or("").to_string();
    let (topics, schedule, tz) = match validate_choices(&form) {
        Ok(v) => v,
        Err(msg) => {
            let mut filled = form.filled();
            filled.email = sub.email.clone();
            let body = render_form(
                &web,
                FormKind::Manage {
                    token: &token,
                    feeds: &feed_links(&web, &sub),
                },
                &filled,
                &csrf,
                Some(&msg),
                None,
            );
            return html(StatusCode::BAD_REQUEST, body);
        }
    };
    // Status, watermark and run history stay: a changed schedule takes effect at the
    // scheduler's next look at the subscribers, without losing or repeating articles.
    sub.topics = topics;
    sub.schedule = schedule;
    sub.tz = tz;
    if let Err(e) = web.index.put_subscribers(std::slice::from_ref(&sub)) {
        return server_error("updating a subscriber", e);
    }
    tracing::info!("subscription changed: {}", masked(&sub.email));
    let body = render_form(
        &web,
        FormKind::Manage {
            token: &token,
            feeds: &feed_links(&web, &sub),
        },
        &Filled::from_subscriber(&sub),
        &csrf,
        None,
        Some("已保存。新的設定從下一次發送起生效。"),
    );
    html(StatusCode::OK, body)
}

pub(super) async fn unsubscribe_page(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    // Only the signature is checked: looking the address up would make the page differ
    // for a known and an unknown one.
    if token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()).is_err() {
        return bad_link();
    }
    let (csrf, set) = csrf_for_page(&web, &headers);
    let action = format!("/unsubscribe?token={}", q.token);
    let body = html! {
        p { "確定不再接收摘要郵件嗎？" }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            p { button type="submit" #submit { "退訂" } }
        }
    };
    form_response(&web, StatusCode::OK, page("退訂", body), &csrf, set)
}

pub(super) async fn unsubscribe_post(
    State(web): WebState,
    Query(q): Query<TokenQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let Some(form) = read_form(req).await else {
        return forbidden("unreadable form body");
    };
    // RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click` to the header's URL,
    // without cookies; the signed token is all the authority there is (and needs).
    let one_click = form.one("List-Unsubscribe") == Some("One-Click");
    if !one_click {
        if let Err(why) = csrf_check(&web, &headers, form.one("csrf")) {
            return forbidden(why);
        }
    }
    let Ok(key) = token::verify(&web.key, Purpose::Unsubscribe, &q.token, now_unix()) else {
        return bad_link();
    };
    match web.index.subscriber(&key) {
        Ok(Some(mut s)) if s.status != Status::Unsubscribed => {
            s.status = Status::Unsubscribed;
            if let Err(e) = web.index.put_subscribers(&[s]) {
                return server_error("unsubscribing", e);
            }
            tracing::info!(
                "unsubscribed: {} ({})",
                masked(&key),
                if one_click { "one-click" } else { "page" }
            );
        }
        // Gone or already out: the same answer, so the page reveals nothing.
        Ok(_) => {}
        Err(e) => return server_error("reading a subscriber", e),
    }
    if one_click {
        text(StatusCode::OK, "unsubscribed\n")
    } else {
        message_page(
            StatusCode::OK,
            "已退訂",
            "ok",
            "您已退訂，不會再收到摘要郵件。",
        )
    }
}
