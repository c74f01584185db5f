//! `/articles/{id}`: an article as an HTML page, linking to its section and keyword feeds.

use maud::{html, Markup, PreEscaped, DOCTYPE};

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

pub(super) const PAGE_STYLE: &str = "\
body{font-family:system-ui,sans-serif;max-width:42rem;margin:auto;padding:1rem;line-height:1.7;\
overflow-wrap:break-word}\
h1{font-size:1.6rem;line-height:1.3;margin:.5rem 0}\
h2{font-size:1.2rem}img{max-width:100%;height:auto}\
nav,.meta,.keywords,footer{color:#555;font-size:.9rem}\
.subtitle{font-size:1.15rem;color:#333}.keywords a{margin-right:.6rem}";

/// A whole page: doctype, language, charset, viewport for phones, title, `head` (links),
/// style, then `body`. Every text and attribute spliced in is escaped by maud; only the
/// constant style sheet goes in as it is.
pub(super) fn page(site: &Site, title: &str, head: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang=(site.language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (xml_clean(title)) }
                (head)
                style { (PreEscaped(PAGE_STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The format a page links to: RSS, the one every reader knows, when published.
pub(super) fn link_format(site: &Site) -> Format {
    if site.formats.contains(&Format::Rss) {
        Format::Rss
    } else {
        site.formats.first().copied().unwrap_or(Format::Rss)
    }
}

/// Text that is there and not blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|s| !s.trim().is_empty())
}

/// The article as a page: its section chain and keywords link to their feeds, times are
/// shown in the site's zone; texts are cleaned of characters XML forbids.
pub fn article_page(site: &Site, rec: &Record) -> String {
    let a = &rec.article;
    let format = link_format(site);
    let feed_url = |topic: &Topic| site.feed_url(&topic.file(format));

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
            crumbs.push((topic, label));
            parent_len = written.len();
        }
    }
    let keywords = rec
        .topics
        .iter()
        .filter(|(t, _)| matches!(t, Topic::Keyword(_)));
    let published = site.tz.timestamp_opt(rec.published, 0).single();
    let mut meta = Vec::new();
    if let Some(t) = published {
        meta.push(html! {
            time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M")) }
        });
    }
    if let Some(author) = given(&a.author) {
        meta.push(html! { "作者：" (xml_clean(author)) });
    }
    if let Some(editor) = given(&a.editor) {
        meta.push(html! { "編輯：" (xml_clean(editor)) });
    }

    let head = html! {
        @if let Some(url) = given(&a.url) {
            link rel="canonical" href=(absolute_url(&site.base_url, url));
        }
        @if let Some((topic, written)) = rec.deepest_section() {
            link rel="alternate" type=(format.media_type()) title=(xml_clean(written))
                href=(feed_url(topic));
        }
    };
    let body = html! {
        header { a href=(site.home_url()) { (xml_clean(&site.title)) } }
        article {
            @if !crumbs.is_empty() {
                nav {
                    @for (i, (topic, label)) in crumbs.iter().enumerate() {
                        @if i > 0 { " › " }
                        a href=(feed_url(topic)) { (xml_clean(label)) }
                    }
                }
            }
            h1 { (xml_clean(&a.title)) }
            @if let Some(sub) = given(&a.subtitle) {
                p.subtitle { (xml_clean(sub)) }
            }
            @if !meta.is_empty() {
                p.meta {
                    @for (i, part) in meta.iter().enumerate() {
                        @if i > 0 { " · " }
                        (part)
                    }
                }
            }
            @if let Some(img) = given(&a.image) {
                p { img src=(absolute_url(&site.base_url, img)) alt="" loading="lazy"; }
            }
            @for block in &a.body {
                @match block {
                    Block::Paragraph(p) => p { (xml_clean(p)) },
                    Block::Heading(h) => h2 { (xml_clean(h)) },
                }
            }
            @if rec.topics.iter().any(|(t, _)| matches!(t, Topic::Keyword(_))) {
                p.keywords {
                    "關鍵詞："
                    @for (topic, written) in keywords {
                        a href=(feed_url(topic)) { (xml_clean(written)) }
                    }
                }
            }
        }
        footer {
            a href=(feed_url(&Topic::All)) { (format.key().to_uppercase()) }
        }
    };
    page(site, &format!("{} · {}", a.title, site.title), head, body)
}

pub(super) fn not_found_page(site: &Site) -> String {
    let body = html! {
        h1 { "找不到這篇文章" }
        p { "Article not found." }
        p { a href=(site.home_url()) { (xml_clean(&site.title)) } }
    };
    page(
        site,
        &format!("找不到文章 · {}", site.title),
        html! {},
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures::SEED;
    use crate::model::article::{Article, Layout};

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

    /// A page with a line per tag, for snapshots that can be read and diffed.
    fn lines(page: String) -> String {
        page.replace("><", ">\n<")
    }

    fn record(article: Article) -> Record {
        crate::feeds::fixtures::record(article, 1, crate::feeds::fixtures::SEED_PUBLISHED)
    }

    #[test]
    fn seed_page() {
        let a = Article::parse("000_8c7ef1c8e8c43d29", SEED, Layout::Text).unwrap();
        insta::assert_snapshot!(
            "seed_article_page",
            lines(article_page(&site(), &record(a)))
        );
    }

    /// Every optional part, and markup, quotes and control characters in every text.
    #[test]
    fn hostile_page() {
        let json = r#"{"id": "h1", "title": "<script>alert('x')</script> & \"q\"\u001b[31m",
            "subtitle": "<sub>", "sections": ["A&B", "<i>C</i>"], "keywords": ["k'1", "<k2>"],
            "editor": "<b>Ed</b>", "author": "O'Brien", "url": "/story?a=1&b=\"2\"",
            "image": "img.png?x=<y>", "body": ["First <b>para</b> & more.", "Sub head"]}"#;
        let a = Article::parse("h1", json.as_bytes(), Layout::Json).unwrap();
        insta::assert_snapshot!(
            "hostile_article_page",
            lines(article_page(&site(), &record(a)))
        );
        insta::assert_snapshot!("not_found_page", lines(not_found_page(&site())));
    }
}
