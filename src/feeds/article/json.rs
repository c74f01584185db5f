//! The structured layout (`*.json`, DESIGN §1b).

use super::*;

/// The JSON layout as written. Every key is optional here so that a missing required key
/// is reported as [`ArticleError::MissingField`] naming it. Unknown keys are ignored on
/// purpose (no `deny_unknown_fields`): a CMS may add keys before tidings knows them, and a
/// newer exporter must not make an older daemon drop articles (forward compatibility).
#[derive(Deserialize)]
pub(super) struct JsonArticle {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    subtitle: Option<String>,
    #[serde(default)]
    original_title: Option<String>,
    #[serde(default)]
    sections: Option<Vec<String>>,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    editor: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    body: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

pub(super) fn json_error(e: serde_json::Error) -> ArticleError {
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let msg = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ArticleError::InvalidJson { line, column, msg }
}

/// One line of text: control characters removed, whitespace runs made one space, trimmed.
pub(super) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(is_blank_char)
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

pub(super) fn optional(s: Option<String>) -> Option<String> {
    s.map(|s| one_line(&s)).filter(|s| !s.is_empty())
}

pub(super) fn stamp(field: &'static str, value: Option<String>) -> Result<Option<Stamp>> {
    match value {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v.trim())
            .map(|t| Some(Stamp::Zoned(t)))
            .map_err(|_| ArticleError::InvalidDate { field, value: v }),
    }
}

pub(super) fn parse_json(text: &str) -> Result<Article> {
    let raw: JsonArticle = serde_json::from_str(text).map_err(json_error)?;
    let id = raw.id.ok_or(ArticleError::MissingField("id"))?;
    let title = raw.title.ok_or(ArticleError::MissingField("title"))?;
    let sections = raw.sections.ok_or(ArticleError::MissingField("sections"))?;
    let body = raw.body.ok_or(ArticleError::MissingField("body"))?;

    let id = id.trim().to_string();
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.chars().any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(ArticleError::InvalidId(id));
    }
    let title = one_line(&title);
    if title.is_empty() {
        return Err(ArticleError::MissingTitle);
    }
    let mut section_path = Vec::new();
    for s in &sections {
        let s = one_line(s);
        if !s.is_empty() {
            section_path.push(s);
        }
    }
    if section_path.is_empty() {
        return Err(ArticleError::MissingSection);
    }
    let mut keywords = Vec::new();
    for k in raw.keywords.unwrap_or_default() {
        push_nonempty(&mut keywords, &one_line(&k));
    }
    // One paragraph per line, as in the page export.
    let body = body
        .iter()
        .flat_map(|p| p.lines())
        .map(one_line)
        .filter(|p| !p.is_empty())
        .map(Block::Paragraph)
        .collect();

    Ok(Article {
        id,
        title,
        subtitle: optional(raw.subtitle),
        original_title: optional(raw.original_title),
        sections: section_path,
        keywords,
        editor: optional(raw.editor),
        author: optional(raw.author),
        url: optional(raw.url),
        published: stamp("published", raw.published)?,
        updated: stamp("updated", raw.updated)?,
        body,
        summary: optional(raw.summary),
        image: optional(raw.image),
    })
}
