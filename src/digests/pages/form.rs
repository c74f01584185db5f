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
    /// The language of the mails; `None`: the page's.
    pub(super) lang: Option<Lang>,
}

impl Filled {
    pub(super) fn from_subscriber(s: &Subscriber) -> Filled {
        let preset = if PRESETS.contains(&s.schedule.as_str()) || is_instant(&s.schedule) {
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
            lang: s.lang,
        }
    }

    /// A new subscription pre-filled from the query of `/subscribe?section=PATH&keyword=K`
    /// (both may repeat), as an article page's "follow by email" links it.
    pub(super) fn from_query(query: Option<&str>) -> Filled {
        let mut filled = Filled::default();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "section" => {
                    let path = crate::digests::subscriber::parse_section(&value);
                    if !path.is_empty() && !filled.sections.contains(&path) {
                        filled.sections.push(path);
                    }
                }
                "keyword" if !value.trim().is_empty() => {
                    filled.keywords.push(value.trim().to_string())
                }
                _ => {}
            }
        }
        filled
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
            lang: self.mail_lang(),
        }
    }

    /// The language chosen for the mails, if the form names one of ours.
    pub(super) fn mail_lang(&self) -> Option<Lang> {
        self.one("lang").and_then(Lang::parse)
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
/// message naming the field, in the reader's language ([`describe`]).
pub(super) fn validate_choices(
    form: &Submitted,
    m: &Messages,
) -> Result<(Topics, String, String), String> {
    let sections = form.all("section");
    let mut keywords = form.all("keyword");
    keywords.extend(split_list(form.one("more_keywords").unwrap_or("")));
    let terms = split_list(form.one("terms").unwrap_or(""));
    let topics = Topics::from_input(&sections, &keywords, &terms).map_err(|e| describe(&e, m))?;
    if topics.is_empty() {
        return Err(describe(&SubscriberError::NoTopics, m));
    }
    let preset = form.one("preset").unwrap_or("");
    let schedule = if preset == "custom" || preset.is_empty() {
        form.one("cron").unwrap_or("").trim()
    } else {
        preset
    };
    if schedule.is_empty() {
        return Err(field(m, m.field_schedule, m.error_no_schedule));
    }
    let schedule = validate_schedule(schedule).map_err(|e| describe(&e, m))?;
    let zone = form.one("tz").unwrap_or("");
    let tz = validate_timezone(zone).map_err(|_| {
        field(
            m,
            m.field_timezone,
            &(m.error_timezone_unknown)(zone.trim()),
        )
    })?;
    Ok((topics, schedule, tz))
}

/// `{field}：{text}` in the catalogue's punctuation.
fn field(m: &Messages, name: &str, text: &str) -> String {
    format!("{name}{}{text}", m.colon)
}

/// Why the form was refused, in the reader's language, after the name of the field. The
/// details only the command line's English can give (what is wrong in an address or a
/// cron expression) follow in brackets.
pub(super) fn describe(e: &SubscriberError, m: &Messages) -> String {
    let name = |input: &str, problem: &NameProblem| {
        let problem = match problem {
            NameProblem::Empty => m.problem_empty.to_string(),
            NameProblem::TooLong { max } => (m.problem_too_long)(*max),
            NameProblem::Separator => m.problem_separator.to_string(),
            NameProblem::Control => m.problem_control.to_string(),
            NameProblem::NoSection => m.problem_no_section.to_string(),
        };
        (m.error_name)(input.trim(), &problem)
    };
    match e {
        SubscriberError::Email { reason, .. } => field(
            m,
            m.email_label,
            &(m.with_detail)(m.error_email_invalid, reason),
        ),
        SubscriberError::Section { input, problem } => {
            field(m, m.field_sections, &name(input, problem))
        }
        SubscriberError::Keyword { input, problem } => {
            field(m, m.field_keywords, &name(input, problem))
        }
        SubscriberError::Term { input, problem } => field(m, m.field_terms, &name(input, problem)),
        SubscriberError::TooMany {
            field: which,
            count,
            max,
        } => {
            let label = match *which {
                "sections" => m.field_sections,
                "keywords" => m.field_keywords,
                _ => m.field_terms,
            };
            field(m, label, &(m.error_too_many)(*count, *max))
        }
        SubscriberError::NoTopics => field(m, m.field_topics, m.error_no_topics),
        SubscriberError::Schedule(detail) => field(
            m,
            m.field_schedule,
            &(m.with_detail)(m.error_schedule_invalid, detail),
        ),
        // Not met by the form's own fields (the zone is described above), kept whole.
        SubscriberError::Timezone(_) | SubscriberError::Status(_) => e.to_string(),
    }
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
    view: &View,
    kind: FormKind<'_>,
    filled: &Filled,
    csrf: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let table = web.index.feed_table();
    let m = view.m();

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
        let label = view.script(&label).into_owned();
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
        PRESETS[0]
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
            m.subscribe_button,
            (m.subscribe_title)(&web.site_title),
        ),
        FormKind::Manage { .. } => ("/manage", m.save_button, (m.manage_title)(&web.site_title)),
    };
    let mail_lang = filled.lang.unwrap_or(view.lang.lang);

    let body = html! {
        @if let Some(e) = error {
            p.err role="alert" { (e) }
        }
        @if let Some(n) = notice {
            p.ok role="status" { (n) }
        }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="page_lang" value=(view.tag());
            @match kind {
                FormKind::Subscribe => {
                    fieldset {
                        legend { label for="email" { (m.email_label) } }
                        input type="email" #email name="email" required autocomplete="email"
                            value=(filled.email);
                    }
                }
                FormKind::Manage { token, .. } => {
                    input type="hidden" name="token" value=(token);
                    p { (m.subscribed_address) strong { (filled.email) } }
                }
            }
            fieldset {
                legend { (m.sections_legend) }
                @for (path, label, checked) in &sections {
                    (checkbox("section", &path.join(" > "), label, *checked))
                }
                @for path in &gone {
                    (checkbox("section", &path.join(" > "), &view.script(&path.join(" > ")), true))
                }
            }
            fieldset {
                legend { (m.keywords_legend) }
                div.kw {
                    @for (k, count, title) in &kws {
                        (checkbox(
                            "keyword",
                            k,
                            &format!("{} ({count})", view.script(if title.is_empty() { k.as_str() } else { title })),
                            keyword_checked(k),
                        ))
                    }
                }
                // A search box with the script (`keyword_search.js`), a list typed by
                // hand without it: either way the server folds what it gets.
                p {
                    label for="more_keywords" { (m.more_keywords_label) }
                    input type="text" #more_keywords name="more_keywords" value=(more)
                        aria-controls="keyword_matches";
                }
                ul #keyword_matches aria-live="polite" hidden {}
                p.hint { (m.keywords_hint) }
            }
            fieldset {
                legend { label for="terms" { (m.terms_legend) } }
                input type="text" #terms name="terms" value=(filled.terms);
                p.hint { (m.terms_hint) }
            }
            fieldset {
                legend { (m.schedule_legend) }
                @for (i, (value, label)) in PRESETS.iter().zip(m.schedule_presets).enumerate() {
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
                    " " (m.schedule_instant)
                }
                label.c {
                    input type="radio" name="preset" #preset_custom value="custom"
                        checked[preset == "custom"];
                    " " (m.schedule_custom)
                }
                p {
                    label for="cron" { (m.cron_label_before) code { "30 7 * * 1-5" } (m.cron_label_after) }
                    input type="text" #cron name="cron" value=(filled.cron);
                }
            }
            fieldset {
                legend { label for="tz" { (m.timezone_legend) } }
                select #tz name="tz" {
                    @for z in &zones {
                        option value=(z) selected[*z == tz] { (z) }
                    }
                }
            }
            fieldset {
                legend { label for="lang" { (m.mail_language_legend) } }
                select #lang name="lang" {
                    @for l in Lang::ALL {
                        option value=(l.tag()) lang=(l.tag()) selected[l == mail_lang] {
                            (l.messages().language_name)
                        }
                    }
                }
            }
            p { button type="submit" #submit { (button) } }
        }
        @if let FormKind::Manage { feeds, .. } = kind {
            // The page's language: Traditional until the pages negotiate one.
            section #personal_feed {
                p { (m.personal_feed_hint) }
                ul {
                    @for (name, url) in feeds {
                        li { a href=(url) { (name) } }
                    }
                }
            }
        }
        @if let FormKind::Subscribe = kind {
            p.hint { (m.subscribe_hint) }
        }
        script src=(KEYWORD_SEARCH_PATH) defer {}
    };
    page(view, &title, body)
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
    view: &View,
    status: StatusCode,
    body: String,
    csrf: &str,
    set: bool,
) -> Response {
    let mut res = page_response(view, status, body);
    if set {
        // Appended: the language cookie may be set by the same response.
        res.headers_mut()
            .append(header::SET_COOKIE, csrf_cookie(web, csrf));
    }
    res
}
