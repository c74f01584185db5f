//! Simplified Chinese (`zh-Hans`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "简体中文",
    subscribe_link: "订阅",
    search_label: "搜索",
};
