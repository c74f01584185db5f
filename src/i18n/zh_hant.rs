//! Traditional Chinese (`zh-Hant`).

use super::Messages;

pub static MESSAGES: Messages = Messages {
    language_name: "繁體中文",
    subscribe_link: "訂閱",
    search_label: "搜尋",
};
