//! Feeds rendered on request (DESIGN §2 "A real newsroom's vocabulary"): the long tail of
//! keyword feeds has no files unless `tidings build --all-feeds` wrote them, so a request
//! for one that is not on disk is rendered from the index — the very bytes publishing
//! would have written, hence the same strong ETag — and kept in the file cache under the
//! feed's version, which moves whenever its documents would change. And `/keywords?q=`,
//! the keyword search of the home page and the subscription form.

use super::*;

/// Keywords `/keywords` answers at most.
const KEYWORD_RESULTS: usize = 20;

/// The feed document at `rel` (`keyword/重庆市/rss.xml`), rendered from the index, or from
/// the cache when the feed has not changed since. `None`: not a feed tidings has.
pub(super) async fn rendered(app: &App, rel: &str) -> io::Result<Option<Arc<Entry>>> {
    let Some((dir, name)) = rel.rsplit_once('/') else {
        return Ok(None);
    };
    if let Some((feed_dir, page, format)) = archive_path(dir, name) {
        return rendered_archive(app, rel, feed_dir, page, format).await;
    }
    let Some(format) = Format::ALL.into_iter().find(|f| f.file_name() == name) else {
        return Ok(None);
    };
    let http = &app.http;
    let Some(topic) = http.index.topic_of_dir(dir) else {
        return Ok(None);
    };
    let Some(facts) = http.index.feed_facts(&topic, http.items_per_feed) else {
        return Ok(None);
    };
    if let Some(entry) = app.files.lookup(rel, Identity::rendered(facts.version)) {
        return Ok(Some(entry));
    }
    let state = app.http.clone();
    let owned_rel = rel.to_string();
    let made = tokio::task::spawn_blocking(move || {
        crate::feeds::publish::render_on_request(
            &state.index,
            &state.site,
            state.items_per_feed,
            &topic,
            format,
        )
        .map(|doc| doc.map(|(bytes, facts)| Entry::rendered(&owned_rel, bytes, &facts)))
    })
    .await
    .map_err(io::Error::other)?
    .map_err(io::Error::other)?;
    Ok(made.map(|entry| app.files.insert(rel, entry)))
}

/// The feed folder, page and format of an archive page's path (`all/archive/3.json`),
/// split at its last `/` into `dir` and `name`.
pub(super) fn archive_path<'a>(dir: &'a str, name: &str) -> Option<(&'a str, u32, Format)> {
    let feed_dir = dir.strip_suffix(crate::model::topic::ARCHIVE_DIR)?;
    let feed_dir = feed_dir.strip_suffix('/')?;
    let (page, format) = crate::model::topic::parse_archive_name(name)?;
    Some((feed_dir, page, format))
}

/// An archive page (DESIGN §2 "Archives") rendered from the index, or from the cache
/// when the feed has not changed since.
async fn rendered_archive(
    app: &App,
    rel: &str,
    feed_dir: &str,
    page: u32,
    format: Format,
) -> io::Result<Option<Arc<Entry>>> {
    let http = &app.http;
    let Some(topic) = http.index.topic_of_dir(feed_dir) else {
        return Ok(None);
    };
    let Some(found) = http.index.archive_page(&topic, page) else {
        return Ok(None);
    };
    if let Some(entry) = app.files.lookup(rel, Identity::rendered(found.version)) {
        return Ok(Some(entry));
    }
    let state = app.http.clone();
    let owned_rel = rel.to_string();
    let made = tokio::task::spawn_blocking(move || {
        crate::feeds::publish::render_archive_on_request(
            &state.index,
            &state.site,
            &topic,
            page,
            format,
        )
        .map(|doc| {
            doc.map(|(bytes, page, updated)| {
                Entry::rendered_as(&owned_rel, bytes, page.version, updated)
            })
        })
    })
    .await
    .map_err(io::Error::other)?
    .map_err(io::Error::other)?;
    Ok(made.map(|entry| app.files.insert(rel, entry)))
}

/// `Cache-Control` of a complete archive page: it changes only when one of its own
/// articles is edited or removed, so caches may keep it long (and revalidate by ETag).
pub(super) const COMPLETE_ARCHIVE_CACHE: &str = "public, max-age=2592000";

/// Whether `rel` is a complete archive page of a feed tidings has (one older than the
/// feed's open page).
pub(super) fn is_complete_archive(app: &App, rel: &str) -> bool {
    let Some((dir, name)) = rel.rsplit_once('/') else {
        return false;
    };
    let Some((feed_dir, page, _)) = archive_path(dir, name) else {
        return false;
    };
    let index = &app.http.index;
    let newest = index
        .topic_of_dir(feed_dir)
        .and_then(|topic| index.archive_newest(&topic));
    newest.is_some_and(|newest| page < newest)
}

/// `GET /keywords?q=…`: the most used keyword feeds whose folded key starts with the
/// folded query (NFKC + Traditional→Simplified, as feeds are keyed, so 重慶 finds 重庆市),
/// as JSON `[{"key","title","items","files"}]`; with no query, the most used of all.
pub(super) async fn keywords(
    State(app): AppState,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    #[derive(serde::Serialize)]
    struct Found {
        key: String,
        title: String,
        items: usize,
        files: std::collections::BTreeMap<&'static str, String>,
    }
    let http = &app.http;
    let folded = crate::feeds::topic::fold_name(query.get("q").map_or("", |q| q.trim()));
    let feeds = match folded.is_empty() {
        true => http
            .index
            .top_keywords(KEYWORD_RESULTS, http.items_per_feed),
        false => http
            .index
            .search_keywords(&folded, KEYWORD_RESULTS, http.items_per_feed),
    };
    let found: Vec<Found> = feeds
        .into_iter()
        .map(|f| Found {
            key: f.topic.manifest_key(),
            items: (f.count as usize).min(http.items_per_feed),
            files: http
                .site
                .formats
                .iter()
                .map(|&fmt| (fmt.key(), f.topic.file(fmt)))
                .collect(),
            title: f.title,
        })
        .collect();
    let mut res = Response::new(Body::from(
        serde_json::to_vec(&found).expect("plain data serializes"),
    ));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, app.cache_control.clone());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
