//! The subscription form: what was filled in, reading and validating a submission, and
//! rendering the form for subscribing and managing.

use super::*;
use crate::digests::schedule::instant::{is_instant, INSTANT};
use crate::i18n::Lang;

// The form

/// What the form shows: a blank subscription, a subscriber's own, or what was just
/// submitted (with an error).
#[derive(Default)]
pub(super) struct Filled {
    pub(super) email: String,
    /// Folded section paths checked.
    pub(super) sections: Vec<Vec<String>>,
    /// Folded keywords checked (those offered as checkboxes).
    pub(super) keywords: Vec<String>,
    pub(super) more_keywords: String,
    pub(super) terms: String,
    pub(super) preset: String,
    pub(super) cron: String,
    pub(super) tz: String,
}

impl Filled {
    pub(super) fn from_subscriber(s: &Subscriber) -> Filled {
        let preset = if PRESETS.iter().any(|(v, _)| *v == s.schedule) || is_instant(&s.schedule) {
            s.schedule.clone()
        } else {
            "custom".to_string()
        };
        Filled {
            email: s.email.clone(),
            sections: s.topics.sections.clone(),
            keywords: s.topics.keywords.clone(),
            // Keywords that are not among the checkboxes go to the text field; the
            // render step decides which those are.
            more_keywords: String::new(),
            terms: s.topics.term_names.join("，"),
            cron: if preset == "custom" {
                s.schedule.clone()
            } else {
                String::new()
            },
            preset,
            tz: s.tz.clone(),
        }
    }
}

/// The form's fields as submitted; checkboxes repeat their name.
#[derive(Default)]
pub(super) struct Submitted {
    pub(super) fields: Vec<(String, String)>,
}

impl Submitted {
    pub(super) fn one(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn filled(&self) -> Filled {
        Filled {
            email: self.one("email").unwrap_or("").to_string(),
            sections: self
                .all("section")
                .iter()
                .map(|s| crate::digests::subscriber::parse_section(s))
                .collect(),
            keywords: self.all("keyword"),
            more_keywords: self.one("more_keywords").unwrap_or("").to_string(),
            terms: self.one("terms").unwrap_or("").to_string(),
            preset: self.one("preset").unwrap_or("").to_string(),
            cron: self.one("cron").unwrap_or("").to_string(),
            tz: self.one("tz").unwrap_or("").to_string(),
        }
    }
}

/// Reads an urlencoded body (at most [`FORM_MAX_BYTES`], see [`router`]); `None` for a
/// body that is not one.
pub(super) async fn read_form(req: Request) -> Option<Submitted> {
    Form::<Vec<(String, String)>>::from_request(req, &())
        .await
        .ok()
        .map(|Form(fields)| Submitted { fields })
}

/// Splits a typed list: commas, semicolons (either width), 、 and line breaks.
pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split([',', '，', ';', '；', '、', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The form's fields checked and turned into (topics, schedule, zone), or an error
/// message naming the field.
pub(super) fn validate_choices(form: &Submitted) -> Result<(Topics, String, String), String> {
    let sections = form.all("section");
    let mut keywords = form.all("keyword");
    keywords.extend(split_list(form.one("more_keywords").unwrap_or("")));
    let terms = split_list(form.one("terms").unwrap_or(""));
    let topics = Topics::from_input(&sections, &keywords, &terms).map_err(|e| match e {
        SubscriberError::Section { .. } => format!("欄目：{e}"),
        SubscriberError::Keyword { .. } => format!("關鍵詞：{e}"),
        SubscriberError::Term { .. } => format!("詞語：{e}"),
        other => format!("主題：{other}"),
    })?;
    if topics.is_empty() {
        return Err("主題：請至少勾選一個欄目或關鍵詞，或填寫一個詞語。".into());
    }
    let preset = form.one("preset").unwrap_or("");
    let schedule = if preset == "custom" || preset.is_empty() {
        form.one("cron").unwrap_or("").trim()
    } else {
        preset
    };
    if schedule.is_empty() {
        return Err("發送時間：請選擇一個預設，或填寫自訂的 cron 表達式。".into());
    }
    let schedule = validate_schedule(schedule).map_err(|e| format!("發送時間：{e}"))?;
    let tz = validate_timezone(form.one("tz").unwrap_or("")).map_err(|e| format!("時區：{e}"))?;
    Ok((topics, schedule, tz))
}

/// Which form: a new subscription, or a subscriber's own behind a manage token.
pub(super) enum FormKind<'a> {
    Subscribe,
    /// `feeds`: the subscriber's personal feed, (format name, URL) per format served.
    Manage {
        token: &'a str,
        feeds: &'a [(&'static str, String)],
    },
}

/// The form page. `error` or `notice`: a message above the form.
pub(super) fn render_form(
    web: &Web,
    kind: FormKind<'_>,
    filled: &Filled,
    csrf: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let table = web.index.feed_table();

    // Sections: every node of the site's section tree, named by its display titles;
    // (value, label, checked).
    let mut sections = Vec::new();
    for topic in table.keys() {
        let Topic::Section(path) = topic else {
            continue;
        };
        // A section's spelling is its whole path as written (`黨派·聲音 > 統一戰線`).
        let label = table
            .get(topic)
            .map(|i| i.title().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| path.join(" > "));
        sections.push((path, label, filled.sections.contains(path)));
    }
    // A subscriber's section the site no longer has stays listed (and checked).
    let gone: Vec<&Vec<String>> = filled
        .sections
        .iter()
        .filter(|p| !sections.iter().any(|(shown, _, _)| shown == p))
        .collect();

    // Keywords: the most used as checkboxes, any other typed.
    let mut kws: Vec<(&String, u64, &str)> = table
        .iter()
        .filter_map(|(t, info)| match t {
            Topic::Keyword(k) => Some((k, info.count, info.title())),
            _ => None,
        })
        .collect();
    kws.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    kws.truncate(KEYWORD_CHOICES);
    let keyword_checked = |k: &String| {
        filled
            .keywords
            .iter()
            .any(|f| f == k || crate::fold::fold(f.trim()) == *k)
    };
    let mut more = filled.more_keywords.clone();
    let offered: Vec<&String> = kws.iter().map(|(k, _, _)| *k).collect();
    let extra: Vec<&String> = filled
        .keywords
        .iter()
        .filter(|k| {
            !offered.contains(k) && !offered.iter().any(|o| **o == crate::fold::fold(k.trim()))
        })
        .collect();
    if !extra.is_empty() {
        let joined = extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("，");
        more = if more.trim().is_empty() {
            joined
        } else {
            format!("{more}，{joined}")
        };
    }

    let preset = if filled.preset.is_empty() {
        PRESETS[0].0
    } else {
        filled.preset.as_str()
    };
    let tz = if filled.tz.is_empty() {
        web.default_tz.as_str()
    } else {
        filled.tz.as_str()
    };
    let mut zones: Vec<&str> = ZONES.to_vec();
    for z in [web.default_tz.as_str(), tz] {
        if !z.is_empty() && !zones.contains(&z) {
            zones.insert(0, z);
        }
    }
    let (action, button, title) = match kind {
        FormKind::Subscribe => (
            "/subscribe",
            "訂閱",
            format!("訂閱「{}」摘要", web.site_title),
        ),
        FormKind::Manage { .. } => ("/manage", "保存", format!("管理「{}」訂閱", web.site_title)),
    };

    let body = html! {
        @if let Some(e) = error {
            p.err role="alert" { (e) }
        }
        @if let Some(n) = notice {
            p.ok role="status" { (n) }
        }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            @match kind {
                FormKind::Subscribe => {
                    fieldset {
                        legend { label for="email" { "電子郵件" } }
                        input type="email" #email name="email" required autocomplete="email"
                            value=(filled.email);
                    }
                }
                FormKind::Manage { token, .. } => {
                    input type="hidden" name="token" value=(token);
                    p { "訂閱地址：" strong { (filled.email) } }
                }
            }
            fieldset {
                legend { "欄目" }
                @for (path, label, checked) in &sections {
                    (checkbox("section", &path.join(" > "), label, *checked))
                }
                @for path in &gone {
                    (checkbox("section", &path.join(" > "), &path.join(" > "), true))
                }
            }
            fieldset {
                legend { "關鍵詞" }
                div.kw {
                    @for (k, count, title) in &kws {
                        (checkbox(
                            "keyword",
                            k,
                            &format!("{} ({count})", if title.is_empty() { k.as_str() } else { title }),
                            keyword_checked(k),
                        ))
                    }
                }
                // A search box with the script (`keyword_search.js`), a list typed by
                // hand without it: either way the server folds what it gets.
                p {
                    label for="more_keywords" { "其他關鍵詞（以逗號分隔）" }
                    input type="text" #more_keywords name="more_keywords" value=(more)
                        aria-controls="keyword_matches";
                }
                ul #keyword_matches aria-live="polite" hidden {}
                p.hint { "任何關鍵詞都可填寫，繁簡均可。" }
            }
            fieldset {
                legend { label for="terms" { "詞語" } }
                input type="text" #terms name="terms" value=(filled.terms);
                p.hint { "在標題和正文中搜尋的詞語，以逗號分隔；繁簡均可。" }
            }
            fieldset {
                legend { "發送時間" }
                @for (i, (value, label)) in PRESETS.iter().enumerate() {
                    label.c {
                        input type="radio" name="preset" id=(format!("preset{i}")) value=(value)
                            checked[*value == preset];
                        " " (label)
                    }
                }
                // Breaking news (DESIGN §4): an alert for each minute's new articles.
                label.c {
                    input type="radio" name="preset" #preset_instant value=(INSTANT)
                        checked[is_instant(preset)];
                    " " (Lang::ZhHant.messages().schedule_instant)
                }
                label.c {
                    input type="radio" name="preset" #preset_custom value="custom"
                        checked[preset == "custom"];
                    " 自訂"
                }
                p {
                    label for="cron" { "自訂 cron（分 時 日 月 週，例如 " code { "30 7 * * 1-5" } "）" }
                    input type="text" #cron name="cron" value=(filled.cron);
                }
            }
            fieldset {
                legend { label for="tz" { "時區" } }
                select #tz name="tz" {
                    @for z in &zones {
                        option value=(z) selected[*z == tz] { (z) }
                    }
                }
            }
            p { button type="submit" #submit { (button) } }
        }
        @if let FormKind::Manage { feeds, .. } = kind {
            // The page's language: Traditional until the pages negotiate one.
            section #personal_feed {
                p { (crate::i18n::Lang::default().messages().personal_feed_hint) }
                ul {
                    @for (name, url) in feeds {
                        li { a href=(url) { (name) } }
                    }
                }
            }
        }
        @if let FormKind::Subscribe = kind {
            p.hint { "提交後我們會寄出一封確認郵件；點擊其中的連結後訂閱才會生效。" }
        }
        script src=(KEYWORD_SEARCH_PATH) defer {}
    };
    page(&title, body)
}

pub(super) fn checkbox(name: &str, value: &str, label: &str, checked: bool) -> Markup {
    html! {
        label.c {
            input type="checkbox" name=(name) value=(value) checked[checked];
            " " (label)
        }
    }
}

/// A form page, with the CSRF cookie set when the token is new.
pub(super) fn form_response(
    web: &Web,
    status: StatusCode,
    body: String,
    csrf: &str,
    set: bool,
) -> Response {
    let mut res = html(status, body);
    if set {
        res.headers_mut()
            .insert(header::SET_COOKIE, csrf_cookie(web, csrf));
    }
    res
}
