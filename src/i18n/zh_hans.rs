//! Simplified Chinese (`zh-Hans`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "简体中文",
    subscribe_link: "订阅",
    search_label: "搜索",
    search_title: "搜索文章",
    search_results_before: "搜索“",
    search_results_after: "”",
    search_none: "没有找到相符的文章。",
    search_follow: "订阅这个搜索：",
    search_not_ready: "搜索索引正在建立，请稍后再试。",
    search_invalid: "无法执行这个搜索：",
};
