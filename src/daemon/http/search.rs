//! `/search?q=…` and `/search/{rss.xml,atom.xml,feed.json}?…` (DESIGN §5): the results
//! page and the search and combined feeds, from [`crate::feeds::search`]. Feeds are
//! rendered like the static ones ([`crate::feeds::feed`]) and kept in the file cache under
//! the query's normal form and the search index's version, so a repeated query is served
//! from memory with its strong ETag, 304 and gzip like any published file.

use super::search_page::{search_page, PageState};
use super::*;
use crate::feeds::feed::{self, FeedDoc, Item, OwnFeed};
use crate::feeds::search::query::{Query, QueryError};
use crate::feeds::search::Search;
use crate::i18n::Lang;

/// Seconds a client is asked to wait while the search index is being built.
const RETRY_AFTER_SECS: &str = "10";

/// The search index, when it can answer.
fn ready_search(app: &App) -> Option<&Arc<Search>> {
    app.http.search.as_ref().filter(|s| s.is_ready())
}

fn not_ready() -> Response {
    let mut res = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the search index is being built; try again shortly\n",
    );
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    res
}

fn bad_query(e: &QueryError) -> Response {
    plain(StatusCode::BAD_REQUEST, format!("bad query: {e}\n"))
}

/// `GET /search/{name}?…`: a feed of the newest `feeds.items` matches.
pub(super) async fn feed(
    State(app): AppState,
    UrlPath(name): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let http = &app.http;
    let Some(format) = Format::ALL
        .into_iter()
        .find(|f| f.file_name() == name && http.site.formats.contains(f))
    else {
        return not_found();
    };
    let query = match Query::parse(uri.query().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return bad_query(&e),
    };
    let Some(search) = ready_search(&app) else {
        return not_ready();
    };
    let normal = query.normal_form();
    let rel = format!("search/{name}?{normal}");
    if let Some(entry) = app.files.lookup(&rel, Identity::rendered(search.version())) {
        return serve_entry(&app, &rel, &entry, &headers, None).await;
    }
    let state = http.clone();
    let search = search.clone();
    let type_name = format!("search/{name}");
    let made = tokio::task::spawn_blocking(move || {
        let found = search.find(&state.index, &query, state.items_per_feed)?;
        let items: Vec<Item> = found
            .records
            .iter()
            .map(|rec| Item::from_record(&state.site, rec))
            .collect();
        let doc = FeedDoc {
            topic: &Topic::All,
            title: feed_title(&state.site, &query),
            items: items.iter().collect(),
            // Its own address, and no hub: WebSub pings are for the site's feeds.
            own: Some(OwnFeed {
                base: format!("{}/search/", state.site.base_url),
                id: feed::own_guid(&format!("search:{normal}")),
                query: format!("?{normal}"),
            }),
        };
        let bytes = feed::render(&state.site, &doc, format);
        let updated = doc.updated(&state.site).timestamp();
        Ok::<_, crate::feeds::index::IndexError>(Entry::rendered_as(
            &type_name,
            bytes,
            found.version,
            updated,
        ))
    })
    .await;
    match made {
        Ok(Ok(entry)) => {
            let entry = app.files.insert(&rel, entry);
            serve_entry(&app, &rel, &entry, &headers, None).await
        }
        Ok(Err(e)) => {
            tracing::error!("search feed: {e}");
            server_error()
        }
        Err(e) => {
            tracing::error!("search feed: {e}");
            server_error()
        }
    }
}

/// `搜尋 重庆 · 统一战线 · Site`: the terms, sections and keywords, in the site's language.
fn feed_title(site: &Site, query: &Query) -> String {
    let label = Lang::site_default(&site.language).messages().search_label;
    let mut parts: Vec<String> = query.terms.clone();
    parts.extend(query.topics.iter().map(|t| t.manifest_key()));
    xml_clean(&format!("{label} {} · {}", parts.join(" · "), site.title)).into_owned()
}

/// `GET /search?q=…`: the results page in the reader's language; with no query, the
/// form alone.
pub(super) async fn page(State(app): AppState, uri: Uri, headers: HeaderMap) -> Response {
    let raw = uri.query().unwrap_or("");
    let site_default = Lang::site_default(&app.http.site.language);
    let reader = crate::digests::pages::page_lang(&headers, uri.query(), site_default);
    let lang = reader.lang;
    let (status, state) = match Query::parse(raw) {
        Err(QueryError::Empty) => (StatusCode::OK, PageState::Form),
        Err(e) => (StatusCode::BAD_REQUEST, PageState::Bad(e)),
        Ok(query) => match ready_search(&app) {
            None => (StatusCode::SERVICE_UNAVAILABLE, PageState::NotReady),
            Some(search) => {
                let state = app.http.clone();
                let search = search.clone();
                let found = tokio::task::spawn_blocking(move || {
                    search
                        .find(&state.index, &query, state.items_per_feed)
                        .map(|found| (query, found.records))
                })
                .await;
                match found {
                    Ok(Ok((query, records))) => (StatusCode::OK, PageState::Found(query, records)),
                    Ok(Err(e)) => {
                        tracing::error!("search page: {e}");
                        return server_error();
                    }
                    Err(e) => {
                        tracing::error!("search page: {e}");
                        return server_error();
                    }
                }
            }
        },
    };
    let not_ready = matches!(state, PageState::NotReady);
    let body = search_page(&app.http.site, lang, uri.query(), &state);
    let mut res = super::article_page::html_response(status, &app, body);
    let h = res.headers_mut();
    // Results change with the index: revalidated each time.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if not_ready {
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    reader.finish(&mut res);
    res
}
