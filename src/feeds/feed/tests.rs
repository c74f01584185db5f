//! Snapshots of the seed article's three feed documents, and the rules every document
//! must keep (absolute links, offsets, XML-clean text, escaped HTML).

use super::*;
use crate::feeds::fixtures::{seed, site};
use crate::model::article::Record;

fn render_str(site: &Site, rec: &Record, format: Format) -> String {
    let item = Item::from_record(site, rec);
    let topic = Topic::Keyword("重庆市".into());
    let doc = FeedDoc {
        topic: &topic,
        title: feed_title(site, &topic, "重慶市"),
        items: vec![&item],
        own: None,
    };
    String::from_utf8(render(site, &doc, format)).unwrap()
}

#[test]
fn seed_rss() {
    insta::assert_snapshot!(render_str(&site(), &seed(), Format::Rss));
}

#[test]
fn seed_atom() {
    insta::assert_snapshot!(render_str(&site(), &seed(), Format::Atom));
}

#[test]
fn seed_json() {
    insta::assert_snapshot!(render_str(&site(), &seed(), Format::Json));
}

#[test]
fn item_rules() {
    let item = Item::from_record(&site(), &seed());
    assert_eq!(
        item.link,
        "https://news.example/articles/000_8c7ef1c8e8c43d29"
    );
    assert_eq!(item.guid, article_guid("000_8c7ef1c8e8c43d29"));
    assert!(item.guid.starts_with("urn:uuid:"));
    assert_eq!(item.published.to_rfc3339(), "2015-06-05T08:16:00+08:00");
    assert_eq!(item.author.as_deref(), Some("孫莉姍"));
    assert_eq!(
        item.categories,
        vec![
            "黨派·聲音 > 統一戰線",
            "重慶市",
            "中央統戰工作會議精神",
            "基層統戰工作"
        ]
    );
    assert_eq!(item.content_html.matches("<h3>").count(), 4);
    assert_eq!(item.content_html.matches("<p>").count(), 11);
    assert!(item.summary.starts_with("中央統戰工作會議召開后"));
    let mut long = seed();
    long.article.body[0] = crate::model::article::Block::Paragraph("長".repeat(300));
    let summary = Item::from_record(&site(), &long).summary;
    assert_eq!(summary.chars().count(), 121);
    assert!(summary.ends_with('…'));
}

#[test]
fn guid_ignores_title_and_site() {
    let mut edited = seed();
    edited.article.title = "另一個標題".into();
    let mut other = site();
    other.base_url = "https://mirror.example".into();
    assert_eq!(
        Item::from_record(&other, &edited).guid,
        Item::from_record(&site(), &seed()).guid
    );
}

#[test]
fn hostile_text_is_escaped_and_xml_clean() {
    let mut rec = seed();
    rec.article.title = "A <b>&\u{0}\u{1b} \"q\"".into();
    rec.article.body = vec![crate::model::article::Block::Paragraph(
        "x < y && ]]> \u{7}z</p><script>".into(),
    )];
    rec.article.url = Some("/路徑/文章?id=1".into());
    let site = site();
    for format in Format::ALL {
        let out = render_str(&site, &rec, format);
        assert!(!out.contains('\u{0}') && !out.contains('\u{1b}') && !out.contains('\u{7}'));
        if format == Format::Json {
            // JSON Feed's `summary` is plain text by definition; only HTML must be escaped.
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert!(!v["items"][0]["content_html"]
                .as_str()
                .unwrap()
                .contains("<script>"));
        } else {
            assert!(!out.contains("<script>"), "{format:?}: {out}");
        }
        assert!(
            out.contains("https://news.example/%E8%B7%AF%E5%BE%91/%E6%96%87%E7%AB%A0?id=1"),
            "{format:?}"
        );
    }
    let rss = render_str(&site, &rec, Format::Rss);
    ::rss::Channel::read_from(rss.as_bytes()).unwrap();
    let atom = render_str(&site, &rec, Format::Atom);
    atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
}

#[test]
fn hub_links_when_configured() {
    let mut site = site();
    site.hub = Some("https://hub.example/".into());
    for format in Format::ALL {
        let out = render_str(&site, &seed(), format);
        assert!(out.contains("https://hub.example/"), "{format:?}");
    }
}

#[test]
fn urls_are_absolute_and_encoded() {
    assert_eq!(
        absolute_url("https://a.example/base", "/x y"),
        "https://a.example/x%20y"
    );
    assert_eq!(
        absolute_url("https://a.example", "rel"),
        "https://a.example/rel"
    );
    assert_eq!(
        absolute_url("https://a.example", "//cdn.example/i.png"),
        "https://cdn.example/i.png"
    );
    // The site's scheme and authority as the URL parser reads them: a port kept, the
    // default one dropped, an IPv6 literal whole, an internationalised host in ASCII.
    for (base, url, abs) in [
        (
            "http://127.0.0.1:8080/news",
            "/x",
            "http://127.0.0.1:8080/x",
        ),
        ("https://a.example:443/news", "/x", "https://a.example/x"),
        ("http://[::1]:8080", "/x", "http://[::1]:8080/x"),
        (
            "http://user:pw@a.example",
            "/x",
            "http://user:pw@a.example/x",
        ),
        (
            "https://例子.广告",
            "/x",
            "https://xn--fsqu00a.xn--4rr70v/x",
        ),
        (
            "http://[::1]:8080",
            "//cdn.example/i.png",
            "http://cdn.example/i.png",
        ),
    ] {
        assert_eq!(absolute_url(base, url), abs, "{base} {url}");
    }
    assert_eq!(
        site().feed_url("keyword/重庆市/rss.xml"),
        "https://news.example/feeds/keyword/%E9%87%8D%E5%BA%86%E5%B8%82/rss.xml"
    );
}
