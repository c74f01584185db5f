//! The listings published beside the feeds (DESIGN §2): `index.json` and its pages (the
//! complete manifest other programs read), `opml.xml` and `opml-keywords.xml` (for import
//! into a reader: the headline feeds with the most used keywords, and every keyword) and
//! `index.html` (a page with autodiscovery links and a keyword search). What a person or
//! a reader opens stays small at any vocabulary; only the manifest's pages and
//! `opml-keywords.xml` grow with it.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{escape_html, Site};
use crate::config::Format;
use crate::i18n::{language_switcher, Lang};
use crate::model::topic::{manifest_page_file, Topic};

/// One published feed as the listings show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub topic: Topic,
    pub title: String,
    /// Items in the feed documents (at most `feeds.items`).
    pub items: usize,
    pub updated: DateTime<FixedOffset>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    feeds: Vec<ManifestFeed<'a>>,
}

#[derive(Serialize)]
struct ManifestFeed<'a> {
    kind: &'static str,
    key: String,
    title: &'a str,
    items: usize,
    updated: String,
    files: std::collections::BTreeMap<&'static str, String>,
}

fn manifest_feeds<'a>(site: &Site, feeds: &'a [Listed]) -> Vec<ManifestFeed<'a>> {
    feeds
        .iter()
        .map(|f| ManifestFeed {
            kind: f.topic.kind(),
            key: f.topic.manifest_key(),
            title: &f.title,
            items: f.items,
            updated: f.updated.to_rfc3339(),
            files: site
                .formats
                .iter()
                .map(|&fmt| (fmt.key(), f.topic.file(fmt)))
                .collect(),
        })
        .collect()
}

fn pretty_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("manifest always serializes");
    out.push(b'\n');
    out
}

/// The manifest's first page, `index.json`: `all` and every section, and the pages that
/// list the keyword feeds (`pages`: paths relative to `feeds.output`, each a
/// [`manifest_page`]). Every feed is listed exactly once across them.
pub fn manifest(site: &Site, headline: &[Listed], pages: &[u16]) -> Vec<u8> {
    #[derive(Serialize)]
    struct First<'a> {
        feeds: Vec<ManifestFeed<'a>>,
        pages: Vec<String>,
    }
    pretty_json(&First {
        feeds: manifest_feeds(site, headline),
        pages: pages.iter().map(|&p| manifest_page_file(p)).collect(),
    })
}

/// One page of keyword feeds (`index/keywords-NNN.json`), in the first page's format.
pub fn manifest_page(site: &Site, feeds: &[Listed]) -> Vec<u8> {
    pretty_json(&Manifest {
        feeds: manifest_feeds(site, feeds),
    })
}

/// The format a reader should subscribe to when only one link fits.
fn preferred(site: &Site) -> Format {
    site.formats.first().copied().unwrap_or(Format::Rss)
}

fn opml_type(fmt: Format) -> &'static str {
    match fmt {
        Format::Rss => "rss",
        Format::Atom => "atom",
        Format::Json => "json",
    }
}

pub fn opml(site: &Site, feeds: &[Listed]) -> Vec<u8> {
    let fmt = preferred(site);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape_html(&site.title)
    ));
    let outline = |out: &mut String, f: &Listed, indent: &str| {
        out.push_str(&format!(
            "{indent}<outline type=\"{}\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>\n",
            opml_type(fmt),
            escape_html(&site.feed_url(&f.topic.file(fmt))),
            escape_html(&site.home_url()),
            t = escape_html(&f.title),
        ));
    };
    for f in feeds.iter().filter(|f| f.topic == Topic::All) {
        outline(&mut out, f, "    ");
    }
    for (kind, label) in [("section", "Sections"), ("keyword", "Keywords")] {
        let group: Vec<&Listed> = feeds.iter().filter(|f| f.topic.kind() == kind).collect();
        if group.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "    <outline text=\"{label}\" title=\"{label}\">\n"
        ));
        for f in group {
            outline(&mut out, f, "      ");
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}

/// How the home page finds a keyword it does not list: `GET /keywords?q=` (DESIGN §5)
/// answers the most used keywords starting with what was typed, folded as the feeds are.
const SEARCH_SCRIPT: &str = r#"(function(){
var f=document.getElementById('keyword-search'),q=f.elements.q,out=document.getElementById('keyword-results'),n=0;
function show(list){out.textContent='';list.forEach(function(k){var li=document.createElement('li');li.textContent=k.title+' ('+k.items+') ';
Object.keys(k.files).forEach(function(fmt){var a=document.createElement('a');a.href=f.dataset.feeds+k.files[fmt];a.textContent=fmt.toUpperCase();li.appendChild(a);});out.appendChild(li);});}
function ask(){var mine=++n,v=q.value.trim();if(!v){show([]);return;}
fetch(f.action+'?q='+encodeURIComponent(v)).then(function(r){return r.json();}).then(function(list){if(mine===n)show(list);}).catch(function(){});}
q.addEventListener('input',ask);f.addEventListener('submit',function(e){e.preventDefault();ask();});})();"#;

fn feed_links(site: &Site, f: &Listed) -> Markup {
    html! {
        @for &fmt in &site.formats {
            a href=(site.feed_url(&f.topic.file(fmt))) { (fmt.key().to_uppercase()) }
        }
    }
}

/// `index.html`: `all`, the section tree and the `top` keywords (most used first), each
/// with its feeds, autodiscovery links for `all` and the sections, a search box for
/// every other keyword (`keywords` of them in all) and a link to the subscription form;
/// in `lang`, names in its script (DESIGN §5). `switcher`: the language links, which only
/// the daemon's `/` can answer (the written file is served as it is).
pub fn index_html(
    site: &Site,
    headline: &[Listed],
    top: &[Listed],
    keywords: usize,
    lang: Lang,
    switcher: bool,
) -> Vec<u8> {
    let m = lang.messages();
    let all = headline.iter().filter(|f| f.topic == Topic::All);
    let sections: Vec<&Listed> = headline
        .iter()
        .filter(|f| matches!(f.topic, Topic::Section(_)))
        .collect();
    let item = |f: &Listed, label: &str| {
        html! {
            li { (lang.script(label)) " " small { "(" (f.items) ")" } (feed_links(site, f)) }
        }
    };
    let site_suffix = format!(" · {}", site.title);
    let page = html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (site.title) }
                // Autodiscovery for the site-wide feed and the sections: keywords number
                // in the tens of thousands, too many for a reader's subscribe dialog.
                @for f in headline {
                    @for &fmt in &site.formats {
                        link rel="alternate" type=(fmt.media_type()) title=(f.title)
                            href=(site.feed_url(&f.topic.file(fmt)));
                    }
                }
                style { (PreEscaped("body{font-family:system-ui,sans-serif;max-width:48rem;margin:auto;padding:1rem;line-height:1.5}\
                    li{margin:.2rem 0}a{margin-left:.4rem}small{color:#666}\
                    .depth-2{margin-left:1.5rem}.depth-3{margin-left:3rem}nav.lang{text-align:right}")) }
            }
            body {
                @if switcher {
                    (language_switcher(lang, "", None))
                }
                h1 { (site.title) }
                p.subscribe {
                    a href={ (site.base_url.trim_end_matches('/')) "/subscribe?lang=" (lang.tag()) } {
                        (m.subscribe_link)
                    }
                }
                h2 { (m.home_all) }
                ul { @for f in all { (item(f, &f.title)) } }
                @if !sections.is_empty() {
                    h2 { (m.home_sections) }
                    ul {
                        @for f in &sections {
                            @let Topic::Section(path) = &f.topic else { continue };
                            // The tree's shape from the path; the name is the last part
                            // of the title as written ("黨派·聲音 > 統一戰線 · site").
                            @let name = f.title.strip_suffix(site_suffix.as_str()).unwrap_or(&f.title);
                            @let name = name.rsplit(" > ").next().unwrap_or(name);
                            li class={ "depth-" (path.len().min(3)) } {
                                (lang.script(name)) " " small { "(" (f.items) ")" } (feed_links(site, f))
                            }
                        }
                    }
                }
                @if keywords > 0 {
                    h2 { (m.home_keywords) }
                    form id="keyword-search" action={ (site.base_url) "/keywords" } method="get"
                        data-feeds={ (site.base_url) "/feeds/" } {
                        label for="q" { (m.home_find_keyword) }
                        " "
                        input type="search" id="q" name="q" autocomplete="off"
                            placeholder=(m.home_find_keyword_hint);
                        " "
                        button type="submit" { (m.search_label) }
                    }
                    ul id="keyword-results" {}
                    p { small { ((m.home_top_keywords)(top.len(), keywords)) } }
                    ul { @for f in top { (item(f, &f.title)) } }
                    script { (PreEscaped(SEARCH_SCRIPT)) }
                }
                p {
                    a href={ (site.base_url) "/opml.xml" } { "OPML" }
                    a href={ (site.base_url) "/opml-keywords.xml" } { (m.home_opml_every_keyword) }
                    a href={ (site.base_url) "/index.json" } { "index.json" }
                }
            }
        }
    };
    let mut out = page.into_string().into_bytes();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::fixtures::site;

    fn listed(topic: Topic, title: &str) -> Listed {
        Listed {
            topic,
            title: title.into(),
            items: 3,
            updated: DateTime::parse_from_rfc3339("2026-11-24T08:00:00+08:00").unwrap(),
        }
    }

    /// The home page in each language (DESIGN §5): its messages, names in its script,
    /// the link to the form; the language links only where the daemon answers them.
    #[test]
    fn the_home_page_speaks_the_language_it_is_rendered_in() {
        let site = site();
        let headline = [
            listed(Topic::All, &site.title),
            listed(
                Topic::Section(vec!["党派·声音".into()]),
                &format!("黨派·聲音 · {}", site.title),
            ),
        ];
        let top = [listed(Topic::Keyword("重庆市".into()), "重庆市")];
        let page = |lang, switcher| {
            String::from_utf8(index_html(&site, &headline, &top, 5, lang, switcher)).unwrap()
        };
        let hant = page(Lang::ZhHant, false);
        assert!(hant.contains("<html lang=\"zh-Hant\">"));
        assert!(hant.contains("<h2>欄目</h2>"), "{hant}");
        assert!(hant.contains(">重慶市 <small>"), "{hant}");
        assert!(
            hant.contains("/subscribe?lang=zh-Hant\">訂閱</a>"),
            "{hant}"
        );
        assert!(!hant.contains("nav class=\"lang\""));
        let hans = page(Lang::ZhHans, true);
        assert!(hans.contains("<h2>栏目</h2>"));
        assert!(hans.contains(">党派·声音 <small>"), "{hans}");
        assert!(hans.contains(">重庆市 <small>"));
        assert!(hans.contains("nav class=\"lang\""));
        let en = page(Lang::En, true);
        assert!(en.contains("<h2>Sections</h2>"));
        assert!(en.contains("The 1 most used of 5"));
        assert!(en.contains(">黨派·聲音 <small>"), "names as written");
    }
}
