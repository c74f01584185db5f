//! The reader's language (DESIGN §5) over real HTTP: every page in each language by
//! `Accept-Language`, `?lang=` then the cookie that remembers it, `Vary`, names in the
//! chosen script, the form pre-filled from an article's "follow by email", and the
//! confirmation mail and the digest in the subscriber's language (outbox transport).

use tidings::digests::subscriber::email_key;
use tidings::digests::token::{sign, Purpose};
use tidings::i18n::Lang;

use crate::support::daemon::Daemon;
use crate::support::http::{request, Reply};
use crate::support::{drop_in, outbox, page_export, SEED_ID};
use crate::web::{csrf_of, key, link_in, local, new_mail, read_mail, start_daemon};

/// What `Accept-Language` asks for, and the language the pages must answer in.
const ASKED: [(&str, Lang); 7] = [
    ("zh-TW,zh;q=0.9", Lang::ZhHant),
    ("zh-HK", Lang::ZhHant),
    ("zh-Hant", Lang::ZhHant),
    ("zh-CN,zh;q=0.9,en;q=0.8", Lang::ZhHans),
    ("zh-SG", Lang::ZhHans),
    ("en-GB,en;q=0.9", Lang::En),
    // Plain zh: the site names no script (`site.language` is `zh`), so Traditional.
    ("zh", Lang::ZhHant),
];

fn get_as(d: &Daemon, path: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", &d.url(path), headers, None)
}

fn set_cookies(r: &Reply) -> Vec<&str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The page is in `lang`: its `<html lang>` and a message only that language has.
fn assert_in(r: &Reply, lang: Lang, marker: &str, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    assert!(
        r.body.contains(&format!("<html lang=\"{}\">", lang.tag())),
        "{what} not in {lang}: {}",
        &r.body[..r.body.len().min(400)]
    );
    assert!(r.body.contains(marker), "{what}: no {marker:?} in {lang}");
    let vary = r.header("vary").unwrap_or("");
    assert!(
        vary.contains("Accept-Language") && vary.contains("Cookie"),
        "{what}: Vary {vary:?}"
    );
}

/// Signed links for a subscriber, as the mails carry them.
/// A message only a page of that language shows.
type Marker = fn(&Lang) -> &'static str;

fn links(d: &Daemon, email: &str) -> [(String, Marker); 3] {
    let key = key(d);
    let k = email_key(email);
    let later = chrono::Utc::now().timestamp() + 3600;
    let t = |p| sign(&key, p, &k, later);
    [
        (format!("/confirm?token={}", t(Purpose::Confirm)), |l| {
            l.messages().confirm_button
        }),
        (format!("/manage?token={}", t(Purpose::Manage)), |l| {
            l.messages().mail_language_legend
        }),
        (
            format!("/unsubscribe?token={}", t(Purpose::Unsubscribe)),
            |l| l.messages().unsubscribe_question,
        ),
    ]
}

#[test]
fn every_page_speaks_the_language_accept_language_asks_for() {
    let d = start_daemon();
    d.ok(&[
        "subscriber",
        "add",
        "ask@example.org",
        "--keyword",
        "重慶市",
    ]);
    d.wait_for(&format!("/articles/{SEED_ID}"), |_| true);
    let article = format!("/articles/{SEED_ID}");
    for (asked, lang) in ASKED {
        let m = lang.messages();
        let h = [("accept-language", asked)];
        let home = get_as(&d, "/", &h);
        assert_in(&home, lang, m.home_all, "/");
        assert!(home
            .body
            .contains(&format!("/subscribe?lang={}", lang.tag())));
        let form = get_as(&d, "/subscribe", &h);
        assert_in(&form, lang, m.mail_language_legend, "/subscribe");
        // The mail language defaults to the page's.
        assert!(
            form.body.contains(&format!(
                "<option value=\"{0}\" lang=\"{0}\" selected>",
                lang.tag()
            )),
            "{asked}"
        );
        let page = get_as(&d, &article, &h);
        assert_in(&page, lang, m.follow_heading, "/articles");
        for (path, marker) in links(&d, "ask@example.org") {
            assert_in(&get_as(&d, &path, &h), lang, marker(&lang), &path);
        }
        // A bad link is answered in the reader's language too.
        let bad = get_as(&d, "/manage?token=x", &h);
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains(m.bad_link_title), "{asked}");
        // Nothing asked, nothing remembered.
        assert!(
            set_cookies(&page)
                .iter()
                .all(|c| !c.starts_with("tidings_lang=")),
            "{asked}"
        );
    }
    // Nothing we speak: the site's default.
    let r = get_as(&d, "/subscribe", &[("accept-language", "fr-FR, de;q=0.5")]);
    assert_in(
        &r,
        Lang::ZhHant,
        Lang::ZhHant.messages().subscribe_hint,
        "fr",
    );
}

#[test]
fn lang_in_the_query_wins_and_the_cookie_remembers_it() {
    let d = start_daemon();
    d.wait_for(&format!("/articles/{SEED_ID}"), |_| true);
    let tw = [("accept-language", "zh-TW")];
    for path in ["/", "/subscribe", &format!("/articles/{SEED_ID}")] {
        let r = get_as(&d, &format!("{path}?lang=en"), &tw);
        assert_in(&r, Lang::En, "English", path);
        let cookie = set_cookies(&r)
            .into_iter()
            .find(|c| c.starts_with("tidings_lang="))
            .unwrap_or_else(|| panic!("{path}: no tidings_lang cookie"))
            .to_string();
        for part in ["tidings_lang=en", "Path=/", "SameSite=Lax", "Max-Age="] {
            assert!(cookie.contains(part), "{path}: {cookie}");
        }
        // A response that sets a cookie is not for shared caches.
        assert!(
            !r.header("cache-control").unwrap_or("").contains("public"),
            "{path}"
        );
        // Remembered: the cookie beats Accept-Language on the next visit…
        let jar = cookie.split(';').next().unwrap().to_string();
        let again = get_as(&d, path, &[("accept-language", "zh-TW"), ("cookie", &jar)]);
        assert_in(&again, Lang::En, Lang::En.messages().subscribe_link, path);
        // …and a new ?lang= beats the cookie.
        let hans = get_as(
            &d,
            &format!("{path}?lang=zh-Hans"),
            &[("cookie", jar.as_str())],
        );
        assert_in(
            &hans,
            Lang::ZhHans,
            Lang::ZhHans.messages().subscribe_link,
            path,
        );
    }
    // The switcher links to this page in the other languages.
    let r = get_as(&d, "/subscribe?lang=en", &[]);
    assert!(
        r.body.contains("href=\"/subscribe?lang=zh-Hant\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("href=\"/subscribe?lang=zh-Hans\""));
}

#[test]
fn names_are_shown_in_the_chosen_script() {
    let d = start_daemon();
    d.wait_for(&format!("/articles/{SEED_ID}"), |_| true);
    // 重庆市 is the folded key the index keeps; Traditional readers see 重慶市.
    let hant = get_as(&d, "/subscribe?lang=zh-Hant", &[]);
    assert!(hant.body.contains("重慶市 ("), "{}", hant.body);
    assert!(!hant.body.contains("重庆市 ("));
    let hans = get_as(&d, "/subscribe?lang=zh-Hans", &[]);
    assert!(hans.body.contains("重庆市 ("));
    assert!(hans.body.contains("党派·声音"));
    let article = format!("/articles/{SEED_ID}");
    let hant = get_as(&d, &format!("{article}?lang=zh-Hant"), &[]);
    assert!(
        hant.body.contains("<strong>重慶市</strong>"),
        "{}",
        hant.body
    );
    let hans = get_as(&d, &format!("{article}?lang=zh-Hans"), &[]);
    assert!(hans.body.contains("<strong>重庆市</strong>"));
    assert!(hans
        .body
        .contains("<strong>党派·声音 &gt; 统一战线</strong>"));
    // The text of the article itself is never converted.
    assert!(hans.body.contains("把握要求積極作為"));
    let home = get_as(&d, "/?lang=zh-Hans", &[]);
    assert!(home.body.contains("统一战线"), "{}", home.body);
}

#[test]
fn an_article_offers_to_follow_its_section_and_keywords_by_feed_and_by_email() {
    let d = start_daemon();
    let page = d.wait_for(&format!("/articles/{SEED_ID}?lang=en"), |_| true);
    // By feed: the keyword's feed, which is served.
    let feed = "https://news.example/feeds/keyword/%E9%87%8D%E5%BA%86%E5%B8%82/rss.xml";
    assert!(
        page.contains(&format!("class=\"feed\" href=\"{feed}\"")),
        "{page}"
    );
    let served = get_as(
        &d,
        "/feeds/keyword/%E9%87%8D%E5%BA%86%E5%B8%82/rss.xml",
        &[],
    );
    assert_eq!(served.status, 200);
    // By email: the form, pre-filled with that section or keyword.
    let mail_link = |kind: &str| {
        let at = page
            .find(&format!(
                "class=\"email\" href=\"https://news.example/subscribe?{kind}="
            ))
            .unwrap_or_else(|| panic!("no {kind} link: {page}"));
        let href = page[at..].split('"').nth(3).unwrap().replace("&amp;", "&");
        href.replacen("https://news.example", "", 1)
    };
    let section = get_as(&d, &mail_link("section"), &[]);
    assert_in(&section, Lang::En, "Subscribe", "pre-filled by section");
    assert!(
        section
            .body
            .contains("value=\"党派·声音 &gt; 统一战线\" checked"),
        "{}",
        section.body
    );
    let keyword = get_as(&d, &mail_link("keyword"), &[]);
    assert!(
        keyword.body.contains("value=\"重庆市\" checked"),
        "{}",
        keyword.body
    );
    // Every page links to the form.
    assert!(page.contains("href=\"https://news.example/subscribe?lang=en\""));
}

#[test]
fn mails_are_written_in_the_subscribers_language() {
    let d = start_daemon();
    // An English page, Simplified mails: the form's choice decides the mails.
    let csrf = csrf_of(&d, "/subscribe?lang=en");
    let r = csrf.post(
        &d,
        "/subscribe",
        &[
            ("page_lang", "en"),
            ("lang", "zh-Hans"),
            ("email", "hans@example.org"),
            ("keyword", "重慶市"),
            ("preset", "0 8 * * *"),
            ("tz", "Asia/Shanghai"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(Lang::En.messages().check_inbox_title));
    let mails = new_mail(&d, &[]);
    let mail = read_mail(&mails[0]);
    assert!(
        mail["subject"].as_str().unwrap().starts_with("请确认订阅"),
        "{mail}"
    );
    assert_eq!(mail["content_language"], "zh-Hans", "{mail}");
    let confirm = link_in(mail["text"].as_str().unwrap(), "/confirm?token=");
    assert!(confirm.ends_with("&lang=zh-Hans"), "{confirm}");
    let page = request("GET", &local(&d, &confirm), &[], None);
    assert_in(&page, Lang::ZhHans, "确认订阅", "/confirm from the mail");
    let export = d.ok(&["subscriber", "export"]);
    assert!(
        export.contains("hans@example.org,,重慶市,,0 8 * * *,Asia/Shanghai,pending,zh-Hans"),
        "{export}"
    );

    // An operator's subscriber in English, and one with no language (the site's).
    d.ok(&[
        "subscriber",
        "add",
        "en@example.org",
        "--keyword",
        "重庆市",
        "--lang",
        "en",
    ]);
    d.ok(&[
        "subscriber",
        "add",
        "site@example.org",
        "--keyword",
        "重庆市",
    ]);
    let bad = d.tidings(&[
        "subscriber",
        "add",
        "x@example.org",
        "--keyword",
        "a",
        "--lang",
        "fr",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--lang \"fr\""));
    d.ok(&[
        "subscriber",
        "add",
        "hans2@example.org",
        "--keyword",
        "重慶市",
        "--lang",
        "zh-Hans",
    ]);

    let known = outbox(d.path());
    drop_in(
        &d.store(),
        "001_lang.txt",
        &page_export("時政>高層動態", "語言測試文章", "重慶市"),
    );
    d.wait_for("/feeds/all/rss.xml", |b| b.contains("語言測試文章"));
    let sent = d.ok(&["digest", "send", "--now"]);
    assert!(sent.contains("3 sent"), "{sent}");
    let digests: Vec<serde_json::Value> =
        new_mail(&d, &known).iter().map(|p| read_mail(p)).collect();
    let to = |who: &str| {
        digests
            .iter()
            .find(|m| m["to"].as_str().unwrap().contains(who))
            .unwrap_or_else(|| panic!("no digest to {who}: {digests:?}"))
    };
    let en = to("en@example.org");
    assert_eq!(en["content_language"], "en");
    assert!(
        en["subject"].as_str().unwrap().contains("Daily digest"),
        "{en}"
    );
    assert!(
        en["text"]
            .as_str()
            .unwrap()
            .contains("Manage subscription:\r\nhttps:"),
        "{en}"
    );
    let hans = to("hans2@example.org");
    assert_eq!(hans["content_language"], "zh-Hans");
    // The group heading in the subscriber's script: typed 重慶市, shown 重庆市.
    assert!(
        hans["text"]
            .as_str()
            .unwrap()
            .contains("== 重庆市 · 1 篇 =="),
        "{hans}"
    );
    assert!(
        hans["text"].as_str().unwrap().contains("管理订阅："),
        "{hans}"
    );
    let site = to("site@example.org");
    assert_eq!(site["content_language"], "zh-Hant");
    assert!(
        site["text"]
            .as_str()
            .unwrap()
            .contains("== 重慶市 · 1 篇 =="),
        "{site}"
    );
    assert!(
        site["text"].as_str().unwrap().contains("管理訂閱："),
        "{site}"
    );
}
