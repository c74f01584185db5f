//! Traditional Chinese (`zh-Hant`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "繁體中文",
    subscribe_link: "訂閱",
    search_label: "搜尋",
    personal_feed_title_before: "",
    personal_feed_title_after: " 的個人訂閱",
    personal_feed_link: "在閱讀器中訂閱",
    personal_feed_hint:
        "不想收郵件？在 RSS 閱讀器中訂閱同樣的內容（此連結屬於您個人，請勿分享；退訂後即失效）：",
    schedule_instant: "即時快訊：新文章到達後兩分鐘內寄出",
    alert_name: "即時快訊",
    search_title: "搜尋文章",
    search_results_before: "搜尋「",
    search_results_after: "」",
    search_none: "沒有找到相符的文章。",
    search_follow: "訂閱這個搜尋：",
    search_not_ready: "搜尋索引正在建立，請稍後再試。",
    search_invalid: "無法執行這個搜尋：",
};
