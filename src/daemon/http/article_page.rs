//! `/articles/{id}`: an article as an HTML page in the reader's language (DESIGN §5),
//! linking to its section and keyword feeds, offering to follow them by feed or by email,
//! and linking to `/subscribe`.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::*;
use crate::digests::pages::page_lang;
use crate::i18n::{language_switcher, Lang};

// Articles

pub(super) async fn article(
    State(app): AppState,
    id: Result<UrlPath<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let site_lang = Lang::site_default(&app.http.site.language);
    let reader = page_lang(&headers, query.as_deref(), site_lang);
    let lang = reader.lang;
    let not_found = |app: &App| {
        let mut res = html_response(
            StatusCode::NOT_FOUND,
            app,
            not_found_page(&app.http.site, lang),
        );
        reader.finish(&mut res);
        res
    };
    // An id that does not decode names no article.
    let Ok(UrlPath(id)) = id else {
        return not_found(&app);
    };
    // sled answers from its page cache in microseconds, but a record outside that cache
    // is a disk read: done on the blocking pool so that it never stalls the feed
    // requests sharing this worker. Article pages are not the hot path; the hand-off
    // costs little there.
    let http = app.http.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        http.index
            .record(&id)
            .map(|rec| rec.map(|rec| article_page(&http.site, &rec, lang)))
    })
    .await;
    let page = match looked_up {
        Ok(Ok(Some(page))) => page,
        Ok(Ok(None)) => return not_found(&app),
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
        reader.finish(&mut res);
        return res;
    }
    let mut res = html_response(StatusCode::OK, &app, page);
    res.headers_mut().insert(header::ETAG, etag);
    reader.finish(&mut res);
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
.subtitle{font-size:1.15rem;color:#333}.keywords a{margin-right:.6rem}\
nav.lang{text-align:right}.follow{color:#555;font-size:.9rem;border-top:1px solid #ddd}\
.follow li{margin:.2rem 0}";

/// A whole page: doctype, language, charset, viewport for phones, title, `head` (links),
/// style, then `body` after the language switcher (its links keep the page and change
/// only `?lang=`).
pub(super) fn page(lang: Lang, title: &str, head: Markup, body: Markup) -> String {
    let body = html! {
        (language_switcher(lang, "", None))
        (body)
    };
    document(lang, title, head, body)
}

/// The skeleton every HTML page of the daemon shares: doctype, language, charset,
/// viewport for phones, title, `head` (links), the style sheet, `body` as it is. Every
/// text and attribute spliced in is escaped by maud; only the constant style sheet goes
/// in as it is.
pub(super) fn document(lang: Lang, title: &str, head: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang=(lang.tag()) {
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

/// The subscription form, pre-filled by `query` (`section=…`, `keyword=…`) when given.
fn subscribe_url(site: &Site, lang: Lang, query: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in query {
        q.append_pair(name, value);
    }
    q.append_pair("lang", lang.tag());
    format!(
        "{}/subscribe?{}",
        site.base_url.trim_end_matches('/'),
        q.finish()
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

/// Text that is there and not blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|s| !s.trim().is_empty())
}

/// The article as a page in `lang`: its section chain and keywords link to their feeds
/// (names in `lang`'s script), "follow" offers the deepest section and each keyword by
/// feed and by email, times are shown in the site's zone; texts are cleaned of
/// characters XML forbids.
pub fn article_page(site: &Site, rec: &Record, lang: Lang) -> String {
    let m = lang.messages();
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
        meta.push(html! { (m.article_author) (m.colon) (xml_clean(author)) });
    }
    if let Some(editor) = given(&a.editor) {
        meta.push(html! { (m.article_editor) (m.colon) (xml_clean(editor)) });
    }
    // Follow: the deepest section (its path as written) and every keyword.
    let mut follow: Vec<(&str, String, String, String)> = Vec::new();
    if let Some((topic, written)) = rec.deepest_section() {
        follow.push((
            m.follow_section,
            lang.script(&xml_clean(written)).into_owned(),
            feed_url(topic),
            subscribe_url(site, lang, &[("section", written)]),
        ));
    }
    for (topic, written) in rec
        .topics
        .iter()
        .filter(|(t, _)| matches!(t, Topic::Keyword(_)))
    {
        follow.push((
            m.follow_keyword,
            lang.script(&xml_clean(written)).into_owned(),
            feed_url(topic),
            subscribe_url(site, lang, &[("keyword", written)]),
        ));
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
        header {
            a href=(site.home_url()) { (xml_clean(&site.title)) }
            " · "
            a.subscribe href=(subscribe_url(site, lang, &[])) { (m.subscribe_link) }
        }
        // The article's own language, whatever the page's (DESIGN §5: the texts are not
        // translated, only names are converted).
        article lang=(site.language) {
            @if !crumbs.is_empty() {
                nav {
                    @for (i, (topic, label)) in crumbs.iter().enumerate() {
                        @if i > 0 { " › " }
                        a href=(feed_url(topic)) { (lang.script(&xml_clean(label))) }
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
                    (m.article_keywords) (m.colon)
                    @for (topic, written) in keywords {
                        a href=(feed_url(topic)) { (lang.script(&xml_clean(written))) }
                    }
                }
            }
        }
        @if !follow.is_empty() {
            section.follow {
                h2 { (m.follow_heading) }
                ul {
                    @for (kind, name, feed, mail) in &follow {
                        li {
                            (kind) (m.colon) strong { (name) } " — "
                            a.feed href=(feed) { (m.follow_by_feed) }
                            " · "
                            a.email href=(mail) { (m.follow_by_email) }
                        }
                    }
                }
            }
        }
        footer {
            a href=(feed_url(&Topic::All)) { (format.key().to_uppercase()) }
        }
    };
    page(lang, &format!("{} · {}", a.title, site.title), head, body)
}

pub(super) fn not_found_page(site: &Site, lang: Lang) -> String {
    let m = lang.messages();
    let body = html! {
        h1 { (m.article_not_found) }
        p {
            a href=(site.home_url()) { (xml_clean(&site.title)) }
            " · "
            a href=(subscribe_url(site, lang, &[])) { (m.subscribe_link) }
        }
    };
    page(
        lang,
        &format!("{} · {}", m.article_not_found_title, site.title),
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
            lines(article_page(&site(), &record(a.clone()), Lang::ZhHant))
        );
        insta::assert_snapshot!(
            "seed_article_page_zh_hans",
            lines(article_page(&site(), &record(a.clone()), Lang::ZhHans))
        );
        insta::assert_snapshot!(
            "seed_article_page_en",
            lines(article_page(&site(), &record(a), Lang::En))
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
            lines(article_page(&site(), &record(a), Lang::ZhHant))
        );
        insta::assert_snapshot!(
            "not_found_page",
            lines(not_found_page(&site(), Lang::ZhHant))
        );
        insta::assert_snapshot!(
            "not_found_page_en",
            lines(not_found_page(&site(), Lang::En))
        );
    }
}
