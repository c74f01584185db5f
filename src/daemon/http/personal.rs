//! `/me/{token}/rss.xml`, `…/atom.xml`, `…/feed.json`: a subscriber's personal feed
//! (DESIGN §5, [`crate::digests::personal`]), rendered on request and kept in the file
//! cache under a version that moves with the index and with the subscription's topics, so
//! a polling reader gets its 304 from one subscriber lookup and a hash.

use super::*;
use crate::digests::personal::{self, Access};

/// Answers what [`Access`] says: the feed (strong ETag, 304, gzip, as the site's feeds);
/// `410 Gone` for a subscription that has ended; `403` while it awaits confirmation;
/// `404` for a token that does not verify or a file that is not a feed format served.
pub(super) async fn feed(
    State(app): AppState,
    UrlPath((feed_token, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let http = &app.http;
    let Some(web) = http.web.clone() else {
        return not_found();
    };
    let Some(format) = Format::ALL
        .into_iter()
        .find(|f| f.file_name() == file && http.site.formats.contains(f))
    else {
        return not_found();
    };
    let sub = match personal::owner(&http.index, web.link_key(), &feed_token) {
        Ok(Access::Feed(sub)) => sub,
        Ok(Access::NotFound) => return not_found(),
        Ok(Access::Gone) => {
            return plain(
                StatusCode::GONE,
                "gone: this feed ended with its subscription\n",
            )
        }
        Ok(Access::Pending) => {
            return plain(
                StatusCode::FORBIDDEN,
                "not yet confirmed: follow the link in the confirmation mail\n",
            )
        }
        Err(e) => {
            tracing::error!("personal feed: reading a subscriber: {e}");
            return server_error();
        }
    };
    // A leading `/`: no path under `/feeds/` has one, so the two never share a slot.
    let rel = format!("/me/{}/{file}", sub.key());
    let version = cache_version(http, &sub);
    let entry = match app.files.lookup(&rel, Identity::rendered(version)) {
        Some(entry) => entry,
        None => {
            let state = http.clone();
            let key = web.link_key().to_vec();
            let owned_rel = rel.clone();
            let made = tokio::task::spawn_blocking(move || render(&state, &key, &sub, format))
                .await
                .map_err(io::Error::other)
                .and_then(|r| r.map_err(io::Error::other));
            match made {
                Ok((bytes, version, updated)) => app.files.insert(
                    &rel,
                    Entry::rendered_as(&owned_rel, bytes, version, updated),
                ),
                Err(e) => {
                    tracing::error!("personal feed: {e}");
                    return server_error();
                }
            }
        }
    };
    let mut res = serve_entry(&app, &rel, &entry, &headers, None).await;
    // Personal: a shared cache has no business keeping it.
    let private = format!("private, max-age={}", http.cache_max_age);
    if let Ok(value) = HeaderValue::from_str(&private) {
        res.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    res
}

/// The document and the version it belongs to: the selection is read again when the
/// index (or the search index it took terms from) changed meanwhile, so the bytes are
/// exactly one version's.
fn render(
    state: &HttpState,
    link_key: &[u8],
    sub: &crate::model::subscriber::Subscriber,
    format: Format,
) -> Result<(Vec<u8>, u64, i64), crate::feeds::index::IndexError> {
    loop {
        let before = cache_version(state, sub);
        let search = state.search.as_deref();
        let records = personal::select(&state.index, search, &sub.topics, state.items_per_feed)?;
        if cache_version(state, sub) != before {
            continue;
        }
        let (bytes, updated) = personal::document(&state.site, link_key, sub, &records, format);
        return Ok((bytes, before, updated));
    }
}

/// [`personal::cache_version`] now: the search index counts only for a selection with
/// terms, once it is built.
fn cache_version(state: &HttpState, sub: &crate::model::subscriber::Subscriber) -> u64 {
    let search = (state.search.as_ref())
        .filter(|s| s.is_ready() && !sub.topics.terms.is_empty())
        .map(|s| s.version());
    personal::cache_version(state.index.version(), search, sub)
}
