//! Traditional Chinese (`zh-Hant`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "繁體中文",
    subscribe_link: "訂閱",
    search_label: "搜尋",
    schedule_instant: "即時快訊：新文章到達後兩分鐘內寄出",
    alert_name: "即時快訊",
};
