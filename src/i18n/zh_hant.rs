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
};
