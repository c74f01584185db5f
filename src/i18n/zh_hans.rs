//! Simplified Chinese (`zh-Hans`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "简体中文",
    subscribe_link: "订阅",
    search_label: "搜索",
    schedule_instant: "即时快讯：新文章到达后两分钟内寄出",
    alert_name: "即时快讯",
};
