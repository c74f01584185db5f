//! Simplified Chinese (`zh-Hans`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "简体中文",
    subscribe_link: "订阅",
    search_label: "搜索",
    personal_feed_title_before: "",
    personal_feed_title_after: " 的个人订阅",
    personal_feed_link: "在阅读器中订阅",
    personal_feed_hint:
        "不想收邮件？在 RSS 阅读器中订阅同样的内容（此链接属于您个人，请勿分享；退订后即失效）：",
    schedule_instant: "即时快讯：新文章到达后两分钟内寄出",
    alert_name: "即时快讯",
    search_title: "搜索文章",
    search_results_before: "搜索“",
    search_results_after: "”",
    search_none: "没有找到相符的文章。",
    search_follow: "订阅这个搜索：",
    search_not_ready: "搜索索引正在建立，请稍后再试。",
    search_invalid: "无法执行这个搜索：",
};
