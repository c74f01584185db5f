//! `/articles/{id}`: an article as an HTML page, linking to its section and keyword feeds.

use super::*;

// Articles

pub(super) async fn article(
    State(app): AppState,
    id: Result<UrlPath<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // An id that does not decode names no article.
    let Ok(UrlPath(id)) = id else {
        return html_response(StatusCode::NOT_FOUND, &app, not_found_page(&app.http.site));
    };
    // sled answers from its page cache in microseconds, but a record outside that cache
    // is a disk read: done on the blocking pool so that it never stalls the feed
    // requests sharing this worker. Article pages are not the hot path; the hand-off
    // costs little there.
    let http = app.http.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        http.index
            .record(&id)
            .map(|rec| rec.map(|rec| article_page(&http.site, &rec)))
    })
    .await;
    let page = match looked_up {
        Ok(Ok(Some(page))) => page,
        Ok(Ok(None)) => {
            return html_response(StatusCode::NOT_FOUND, &app, not_found_page(&app.http.site))
        }
        Ok(Err(e)) => {
            tracing::error!("article page: {e}");
            return server_error();
        }
        Err(e) => {
            tracing::error!("article page: {e}");
            return server_error();
        }
    };
    let etag = content_etag(page.as_bytes(), "");
    if if_none_match_hits(&headers, &etag) {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res.headers_mut().insert(header::ETAG, etag);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, app.cache_control.clone());
        return res;
    }
    let mut res = html_response(StatusCode::OK, &app, page);
    res.headers_mut().insert(header::ETAG, etag);
    res
}

pub(super) fn html_response(status: StatusCode, app: &App, page: String) -> Response {
    let mut res = Response::new(Body::from(page));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let cache = if status.is_success() {
        app.cache_control.clone()
    } else {
        HeaderValue::from_static("no-store")
    };
    h.insert(header::CACHE_CONTROL, cache);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

pub(super) const PAGE_STYLE: &str = "<style>\
body{font-family:system-ui,sans-serif;max-width:42rem;margin:auto;padding:1rem;line-height:1.7;\
overflow-wrap:break-word}\
h1{font-size:1.6rem;line-height:1.3;margin:.5rem 0}\
h2{font-size:1.2rem}img{max-width:100%;height:auto}\
nav,.meta,.keywords,footer{color:#555;font-size:.9rem}\
.subtitle{font-size:1.15rem;color:#333}.keywords a{margin-right:.6rem}\
</style>\n";

/// Opens a page: doctype, language, charset, viewport for phones, title, style.
pub(super) fn page_head(site: &Site, title: &str, extra_head: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n{extra_head}{PAGE_STYLE}</head>\n<body>\n",
        escape_html(&site.language),
        escape_html(&xml_clean(title)),
    )
}

/// The format a page links to: RSS, the one every reader knows, when published.
pub(super) fn link_format(site: &Site) -> Format {
    if site.formats.contains(&Format::Rss) {
        Format::Rss
    } else {
        site.formats.first().copied().unwrap_or(Format::Rss)
    }
}

/// The article as a page: its section chain and keywords link to their feeds, times are
/// shown in the site's zone, every text is escaped.
pub fn article_page(site: &Site, rec: &Record) -> String {
    let a = &rec.article;
    let format = link_format(site);
    let feed_link = |topic: &Topic, label: &str| {
        format!(
            "<a href=\"{}\">{}</a>",
            escape_html(&site.feed_url(&topic.file(format))),
            text(label)
        )
    };

    let mut extra_head = String::new();
    if let Some(url) = a.url.as_deref().filter(|u| !u.trim().is_empty()) {
        extra_head.push_str(&format!(
            "<link rel=\"canonical\" href=\"{}\">\n",
            escape_html(&absolute_url(&site.base_url, url))
        ));
    }
    // The section chain: record.topics holds each prefix of the path with its written
    // spelling joined by " > "; each one's own label is what its parent's lacks.
    let mut crumbs = Vec::new();
    let mut parent_len = 0;
    for (topic, written) in &rec.topics {
        if let Topic::Section(_) = topic {
            let label = written
                .get(parent_len..)
                .unwrap_or(written)
                .trim_start_matches(" > ");
            crumbs.push(feed_link(topic, label));
            parent_len = written.len();
        }
    }
    if let Some((topic, written)) = rec.deepest_section() {
        extra_head.push_str(&format!(
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">\n",
            format.media_type(),
            text(written),
            escape_html(&site.feed_url(&topic.file(format)))
        ));
    }

    let mut out = page_head(site, &format!("{} · {}", a.title, site.title), &extra_head);
    out.push_str(&format!(
        "<header><a href=\"{}\">{}</a></header>\n<article>\n",
        escape_html(&site.home_url()),
        text(&site.title)
    ));
    if !crumbs.is_empty() {
        out.push_str(&format!("<nav>{}</nav>\n", crumbs.join(" › ")));
    }
    out.push_str(&format!("<h1>{}</h1>\n", text(&a.title)));
    if let Some(sub) = a.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!("<p class=\"subtitle\">{}</p>\n", text(sub)));
    }

    let mut meta = Vec::new();
    if let Some(t) = site.tz.timestamp_opt(rec.published, 0).single() {
        meta.push(format!(
            "<time datetime=\"{}\">{}</time>",
            t.to_rfc3339(),
            t.format("%Y-%m-%d %H:%M")
        ));
    }
    if let Some(author) = a.author.as_deref().filter(|s| !s.trim().is_empty()) {
        meta.push(format!("作者：{}", text(author)));
    }
    if let Some(editor) = a.editor.as_deref().filter(|s| !s.trim().is_empty()) {
        meta.push(format!("編輯：{}", text(editor)));
    }
    if !meta.is_empty() {
        out.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    }
    if let Some(img) = a.image.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!(
            "<p><img src=\"{}\" alt=\"\" loading=\"lazy\"></p>\n",
            escape_html(&absolute_url(&site.base_url, img))
        ));
    }
    for block in &a.body {
        match block {
            Block::Paragraph(p) => out.push_str(&format!("<p>{}</p>\n", text(p))),
            Block::Heading(h) => out.push_str(&format!("<h2>{}</h2>\n", text(h))),
        }
    }

    let keywords: Vec<String> = rec
        .topics
        .iter()
        .filter(|(t, _)| matches!(t, Topic::Keyword(_)))
        .map(|(topic, written)| feed_link(topic, written))
        .collect();
    if !keywords.is_empty() {
        out.push_str(&format!(
            "<p class=\"keywords\">關鍵詞：{}</p>\n",
            keywords.join("")
        ));
    }
    out.push_str(&format!(
        "</article>\n<footer><a href=\"{}\">{}</a></footer>\n</body>\n</html>\n",
        escape_html(&site.feed_url(&Topic::All.file(format))),
        format.key().to_uppercase()
    ));
    out
}

pub(super) fn not_found_page(site: &Site) -> String {
    let mut out = page_head(site, &format!("找不到文章 · {}", site.title), "");
    out.push_str(&format!(
        "<h1>找不到這篇文章</h1>\n<p>Article not found.</p>\n<p><a href=\"{}\">{}</a></p>\n\
         </body>\n</html>\n",
        escape_html(&site.home_url()),
        text(&site.title)
    ));
    out
}

/// Text for element content: control characters dropped, markup escaped.
pub(super) fn text(s: &str) -> String {
    escape_html(&xml_clean(s)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::topic::topics_of;
    use crate::model::article::{Article, Layout};

    const SEED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/articles/000_8c7ef1c8e8c43d29.txt"
    ));

    fn site() -> Site {
        Site {
            title: "新聞站 <Test>".into(),
            base_url: "https://news.example".into(),
            language: "zh".into(),
            tz: chrono_tz::Asia::Shanghai,
            hub: None,
            formats: Format::ALL.to_vec(),
        }
    }

    fn record(article: Article) -> Record {
        Record {
            topics: topics_of(&article),
            path: format!("{}.txt", article.id),
            article,
            hash: 0,
            published: 1_433_463_360,
            updated: 1_433_463_360,
            seq: 1,
        }
    }

    #[test]
    fn seed_page() {
        let a = Article::parse("000_8c7ef1c8e8c43d29", SEED, Layout::Text).unwrap();
        insta::assert_snapshot!("seed_article_page", article_page(&site(), &record(a)));
    }

    /// Every optional part, and markup, quotes and control characters in every text.
    #[test]
    fn hostile_page() {
        let json = r#"{"id": "h1", "title": "<script>alert('x')</script> & \"q\"\u001b[31m",
            "subtitle": "<sub>", "sections": ["A&B", "<i>C</i>"], "keywords": ["k'1", "<k2>"],
            "editor": "<b>Ed</b>", "author": "O'Brien", "url": "/story?a=1&b=\"2\"",
            "image": "img.png?x=<y>", "body": ["First <b>para</b> & more.", "Sub head"]}"#;
        let a = Article::parse("h1", json.as_bytes(), Layout::Json).unwrap();
        insta::assert_snapshot!("hostile_article_page", article_page(&site(), &record(a)));
        insta::assert_snapshot!("not_found_page", not_found_page(&site()));
    }
}
