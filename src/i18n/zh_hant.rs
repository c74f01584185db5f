//! Traditional Chinese (`zh-Hant`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "繁體中文",
    subscribe_link: "訂閱",
    search_label: "搜尋",
    search_title: "搜尋文章",
    search_results_before: "搜尋「",
    search_results_after: "」",
    search_none: "沒有找到相符的文章。",
    search_follow: "訂閱這個搜尋：",
    search_not_ready: "搜尋索引正在建立，請稍後再試。",
    search_invalid: "無法執行這個搜尋：",
};
