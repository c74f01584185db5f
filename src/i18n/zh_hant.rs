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

    language_switcher: "語言",
    colon: "：",
    list_separator: "、",
    quoted: |s| format!("「{s}」"),

    home_all: "全部",
    home_sections: "欄目",
    home_keywords: "關鍵詞",
    home_find_keyword: "搜尋關鍵詞",
    home_find_keyword_hint: "輸入關鍵詞，繁簡均可。",
    home_top_keywords: |top, all| format!("最常用的 {top} 個，共 {all} 個"),
    home_opml_every_keyword: "OPML（全部關鍵詞）",

    article_author: "作者",
    article_editor: "編輯",
    article_keywords: "關鍵詞",
    follow_heading: "追蹤此欄目或關鍵詞",
    follow_by_feed: "訂閱源",
    follow_by_email: "電子郵件摘要",
    follow_section: "欄目",
    follow_keyword: "關鍵詞",
    article_not_found: "找不到這篇文章。",
    article_not_found_title: "找不到文章",

    subscribe_title: |site| format!("訂閱「{site}」摘要"),
    manage_title: |site| format!("管理「{site}」訂閱"),
    subscribe_button: "訂閱",
    save_button: "保存",
    email_label: "電子郵件",
    subscribed_address: "訂閱地址：",
    sections_legend: "欄目",
    keywords_legend: "關鍵詞",
    more_keywords_label: "其他關鍵詞（以逗號分隔）",
    keywords_hint: "任何關鍵詞都可填寫，繁簡均可。",
    terms_legend: "詞語",
    terms_hint: "在標題和正文中搜尋的詞語，以逗號分隔；繁簡均可。",
    schedule_legend: "發送時間",
    schedule_presets: ["每日 08:00", "每週一 08:00", "每小時"],
    schedule_custom: "自訂",
    cron_label_before: "自訂 cron（分 時 日 月 週，例如 ",
    cron_label_after: "）",
    timezone_legend: "時區",
    mail_language_legend: "郵件語言",
    subscribe_hint: "提交後我們會寄出一封確認郵件；點擊其中的連結後訂閱才會生效。",
    field_topics: "主題",
    field_sections: "欄目",
    field_keywords: "關鍵詞",
    field_terms: "詞語",
    field_schedule: "發送時間",
    field_timezone: "時區",
    error_no_topics: "請至少勾選一個欄目或關鍵詞，或填寫一個詞語。",
    error_no_schedule: "請選擇一個預設，或填寫自訂的 cron 表達式。",
    saved_notice: "已保存。新的設定從下一次發送起生效。",

    subscription_page_link: "訂閱頁",
    bad_link_title: "連結無效或已過期",
    bad_link_text: "此連結無效或已過期。如需訂閱，請重新填寫訂閱表單；退訂或修改請使用最近一封郵件中的連結。",
    form_expired_title: "表單已失效",
    form_expired_text: "表單已過期或來源無法驗證。請重新載入頁面後再提交。",
    server_error_title: "暫時無法處理",
    server_error_text: "伺服器暫時無法處理您的請求，請稍後再試。",
    rate_limited_title: "請求過於頻繁",
    rate_limited_text: "短時間內提交次數過多，請稍後再試。",
    check_inbox_title: "請查收郵件",
    check_inbox_text: "請查收您的收件匣：我們已寄出一封郵件，請按其中的說明完成操作。若幾分鐘內未收到，請檢查垃圾郵件夾。",
    confirm_title: "確認訂閱",
    confirm_text: |site| format!("請按下面的按鈕確認訂閱「{site}」的摘要。"),
    confirm_button: "確認訂閱",
    confirmed_title: "訂閱已確認",
    confirmed_text: "訂閱已確認。摘要將按您選擇的時間寄出。",
    manage_link: "管理訂閱",
    manage_link_hint: "（修改欄目、關鍵詞或發送時間；請保存此連結或使用摘要郵件底部的連結）",
    unsubscribe_title: "退訂",
    unsubscribe_question: "確定不再接收摘要郵件嗎？",
    unsubscribe_button: "退訂",
    unsubscribed_title: "已退訂",
    unsubscribed_text: "您已退訂，不會再收到摘要郵件。",

    confirm_mail_subject: |site| format!("請確認訂閱「{site}」摘要"),
    confirm_mail_body: |form, site, link| {
        format!(
            "您好：\r\n\r\n有人（希望是您）在 {form} 以此地址訂閱了「{site}」的摘要。\r\n\
             請在 48 小時內打開下面的連結，按頁面上的按鈕確認訂閱：\r\n\r\n{link}\r\n\r\n\
             如果這不是您本人的操作，請忽略此郵件：未經確認，您不會收到任何摘要。\r\n"
        )
    },
    already_subscribed_subject: |site| format!("您已訂閱「{site}」摘要"),
    already_subscribed_body: |form, site, manage, leave| {
        format!(
            "您好：\r\n\r\n有人（希望是您）在 {form} 以此地址申請訂閱「{site}」的摘要，\r\n\
             而此地址已經訂閱，訂閱內容沒有改變。\r\n\r\n\
             修改欄目、關鍵詞或發送時間：\r\n{manage}\r\n\r\n退訂：\r\n{leave}\r\n"
        )
    },

    schedule_hourly: "每小時",
    schedule_daily: "每日",
    schedule_weekly: "每週",
    schedule_periodic: "定期",
    digest_name: |schedule| format!("{schedule}摘要"),
    subject_more: "等",
    article_count: |n| format!("{n} 篇"),
    new_articles: |n| format!("共 {n} 篇新文章"),
    repeated_all: |n| format!("本組的 {n} 篇都已列在上方的分組裡。"),
    repeated_some: |n| format!("另有 {n} 篇同時屬於上方的分組，不再重複列出。"),
    digest_reason: |address, site, digest, topics| {
        format!("你收到這封郵件，是因為 {address} 訂閱了「{site}」的{digest}：{topics}。")
    },
    manage_subscription: "管理訂閱",
    cancel_subscription: "取消訂閱",
    search_title: "搜尋文章",
    search_results_before: "搜尋「",
    search_results_after: "」",
    search_none: "沒有找到相符的文章。",
    search_follow: "訂閱這個搜尋：",
    search_not_ready: "搜尋索引正在建立，請稍後再試。",
    search_invalid: "無法執行這個搜尋：",
};
