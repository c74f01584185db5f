//! The HTML part of a digest, with inline styles.

use super::*;

// Inline styles: Gmail and many webmail clients drop or rewrite <style> blocks, so
// every element carries its own. Sizes in px read well on a phone; the container is
// fluid up to 640px.
pub(super) const S_BODY: &str = "margin:0;padding:0;background:#f3f4f6;";
pub(super) const S_WRAP: &str =
    "max-width:640px;margin:0 auto;padding:16px 20px;background:#ffffff;\
color:#1f2328;font-family:-apple-system,'PingFang TC','Noto Sans CJK TC','Microsoft JhengHei',\
'Helvetica Neue',Arial,sans-serif;font-size:16px;line-height:1.6;";
pub(super) const S_H1: &str = "margin:0 0 4px;font-size:20px;line-height:1.3;";
pub(super) const S_LEAD: &str = "margin:0 0 8px;font-size:14px;color:#57606a;";
pub(super) const S_H2: &str =
    "margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #d0d7de;\
font-size:18px;line-height:1.4;";
pub(super) const S_COUNT: &str = "font-size:14px;font-weight:normal;color:#57606a;";
pub(super) const S_ITEM: &str = "margin:0 0 20px;";
pub(super) const S_H3: &str = "margin:0 0 2px;font-size:17px;line-height:1.4;";
pub(super) const S_LINK: &str = "color:#0b57d0;text-decoration:none;";
pub(super) const S_META: &str = "margin:0 0 4px;font-size:13px;color:#57606a;";
pub(super) const S_SUMMARY: &str = "margin:0;font-size:15px;";
pub(super) const S_NOTE: &str = "margin:0 0 16px;font-size:13px;color:#57606a;";
pub(super) const S_FOOT: &str = "margin:32px 0 0;padding-top:12px;border-top:1px solid #d0d7de;\
font-size:13px;line-height:1.6;color:#57606a;";
pub(super) const S_FOOT_LINK: &str = "color:#57606a;";

pub(super) fn html_body(
    input: &DigestInput,
    plan: &[Section],
    count: usize,
    address: &str,
    subject: &str,
) -> String {
    let e = |s: &str| escape_html(s).into_owned();
    let site = input.site;
    let lang = clean_line(&site.language);
    let lang = if lang.is_empty() { "zh" } else { lang.as_str() };
    let mut h = String::with_capacity(2048 + count * 1200);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n</head>\n<body style=\"{S_BODY}\">\n<div style=\"{S_WRAP}\">\n\
<h1 style=\"{S_H1}\">{} · {}摘要</h1>\n<p style=\"{S_LEAD}\">{} · 共 {count} 篇新文章</p>\n",
        e(lang),
        e(subject),
        e(&clean_line(&site.title)),
        e(&clean_line(input.schedule_name)),
        e(&clean_line(input.period)),
    );
    for section in plan {
        let _ = write!(h, "<h2 style=\"{S_H2}\">{}", e(&section.label));
        if !section.entries.is_empty() {
            let n = section.entries.len();
            let _ = write!(h, " <span style=\"{S_COUNT}\">{n} 篇</span>");
        }
        h.push_str("</h2>\n");
        for item in &section.entries {
            let _ = write!(
                h,
                "<div style=\"{S_ITEM}\">\n<h3 style=\"{S_H3}\"><a href=\"{}\" style=\"{S_LINK}\">{}</a></h3>\n",
                e(&item.url),
                e(&item.title)
            );
            let meta: Vec<&str> = [item.section.as_deref(), item.time.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !meta.is_empty() {
                let _ = writeln!(h, "<p style=\"{S_META}\">{}</p>", e(&meta.join(" · ")));
            }
            if !item.summary.is_empty() && item.summary != item.title {
                let _ = writeln!(h, "<p style=\"{S_SUMMARY}\">{}</p>", e(&item.summary));
            }
            h.push_str("</div>\n");
        }
        if section.repeated > 0 {
            let _ = writeln!(
                h,
                "<p style=\"{S_NOTE}\">{}</p>",
                e(&repeated_note(section))
            );
        }
    }
    let _ = write!(
        h,
        "<div style=\"{S_FOOT}\">\n<p style=\"margin:0 0 8px;\">{}</p>\n<p style=\"margin:0;\">\
<a href=\"{}\" style=\"{S_FOOT_LINK}\">管理訂閱</a> · \
<a href=\"{}\" style=\"{S_FOOT_LINK}\">取消訂閱</a></p>\n</div>\n</div>\n</body>\n</html>\n",
        e(&reason(input, plan, address)),
        e(input.manage_url),
        e(input.unsubscribe_url),
    );
    h
}
