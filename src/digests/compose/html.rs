//! The HTML part of a digest, with inline styles.

use maud::{html, DOCTYPE};

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

/// The HTML part: every text spliced in is escaped by maud (titles and summaries were
/// cleaned of control characters when the plan was made).
pub(super) fn html_body(
    input: &DigestInput,
    plan: &[Section],
    count: usize,
    address: &str,
    subject: &str,
) -> String {
    let site = input.site;
    let m = input.lang.messages();
    html! {
        (DOCTYPE) "\n"
        html lang=(input.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style=(S_BODY) {
                div style=(S_WRAP) {
                    h1 style=(S_H1) {
                        (clean_line(&site.title)) " · " (digest_name(input))
                    }
                    p style=(S_LEAD) { (clean_line(input.period)) " · " ((m.new_articles)(count)) }
                    @for section in plan {
                        h2 style=(S_H2) {
                            (section.label)
                            @if !section.entries.is_empty() {
                                " " span style=(S_COUNT) { ((m.article_count)(section.entries.len())) }
                            }
                        }
                        @for item in &section.entries {
                            div style=(S_ITEM) {
                                h3 style=(S_H3) {
                                    a href=(item.url) style=(S_LINK) { (item.title) }
                                }
                                @let meta: Vec<&str> = [item.section.as_deref(), item.time.as_deref()]
                                    .into_iter()
                                    .flatten()
                                    .collect();
                                @if !meta.is_empty() {
                                    p style=(S_META) { (meta.join(" · ")) }
                                }
                                @if !item.summary.is_empty() && item.summary != item.title {
                                    p style=(S_SUMMARY) { (item.summary) }
                                }
                            }
                        }
                        @if section.repeated > 0 {
                            p style=(S_NOTE) { (repeated_note(input, section)) }
                        }
                    }
                    div style=(S_FOOT) {
                        p style="margin:0 0 8px;" { (reason(input, plan, address)) }
                        p style="margin:0;" {
                            a href=(input.manage_url) style=(S_FOOT_LINK) { (m.manage_subscription) }
                            " · "
                            a href=(input.unsubscribe_url) style=(S_FOOT_LINK) { (m.cancel_subscription) }
                            " · "
                            a href=(input.feed_url) style=(S_FOOT_LINK) { (m.personal_feed_link) }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}
