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
