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

    language_switcher: "语言",
    colon: "：",
    list_separator: "、",
    quoted: |s| format!("“{s}”"),

    home_all: "全部",
    home_sections: "栏目",
    home_keywords: "关键词",
    home_find_keyword: "搜索关键词",
    home_find_keyword_hint: "输入关键词，繁简均可。",
    home_top_keywords: |top, all| format!("最常用的 {top} 个，共 {all} 个"),
    home_opml_every_keyword: "OPML（全部关键词）",

    article_author: "作者",
    article_editor: "编辑",
    article_keywords: "关键词",
    follow_heading: "关注此栏目或关键词",
    follow_by_feed: "订阅源",
    follow_by_email: "电子邮件摘要",
    follow_section: "栏目",
    follow_keyword: "关键词",
    article_not_found: "找不到这篇文章。",
    article_not_found_title: "找不到文章",

    subscribe_title: |site| format!("订阅“{site}”摘要"),
    manage_title: |site| format!("管理“{site}”订阅"),
    subscribe_button: "订阅",
    save_button: "保存",
    email_label: "电子邮件",
    subscribed_address: "订阅地址：",
    sections_legend: "栏目",
    keywords_legend: "关键词",
    more_keywords_label: "其他关键词（以逗号分隔）",
    keywords_hint: "任何关键词都可填写，繁简均可。",
    terms_legend: "词语",
    terms_hint: "在标题和正文中搜索的词语，以逗号分隔；繁简均可。",
    schedule_legend: "发送时间",
    schedule_presets: ["每日 08:00", "每周一 08:00", "每小时"],
    schedule_custom: "自定义",
    cron_label_before: "自定义 cron（分 时 日 月 周，例如 ",
    cron_label_after: "）",
    timezone_legend: "时区",
    mail_language_legend: "邮件语言",
    subscribe_hint: "提交后我们会发出一封确认邮件；点击其中的链接后订阅才会生效。",
    field_topics: "主题",
    field_sections: "栏目",
    field_keywords: "关键词",
    field_terms: "词语",
    field_schedule: "发送时间",
    field_timezone: "时区",
    error_no_topics: "请至少勾选一个栏目或关键词，或填写一个词语。",
    error_no_schedule: "请选择一个预设，或填写自定义的 cron 表达式。",
    saved_notice: "已保存。新的设置从下一次发送起生效。",

    subscription_page_link: "订阅页",
    bad_link_title: "链接无效或已过期",
    bad_link_text: "此链接无效或已过期。如需订阅，请重新填写订阅表单；退订或修改请使用最近一封邮件中的链接。",
    form_expired_title: "表单已失效",
    form_expired_text: "表单已过期或来源无法验证。请重新加载页面后再提交。",
    server_error_title: "暂时无法处理",
    server_error_text: "服务器暂时无法处理您的请求，请稍后再试。",
    rate_limited_title: "请求过于频繁",
    rate_limited_text: "短时间内提交次数过多，请稍后再试。",
    check_inbox_title: "请查收邮件",
    check_inbox_text: "请查收您的收件箱：我们已发出一封邮件，请按其中的说明完成操作。若几分钟内未收到，请检查垃圾邮件文件夹。",
    confirm_title: "确认订阅",
    confirm_text: |site| format!("请按下面的按钮确认订阅“{site}”的摘要。"),
    confirm_button: "确认订阅",
    confirmed_title: "订阅已确认",
    confirmed_text: "订阅已确认。摘要将按您选择的时间发出。",
    manage_link: "管理订阅",
    manage_link_hint: "（修改栏目、关键词或发送时间；请保存此链接或使用摘要邮件底部的链接）",
    unsubscribe_title: "退订",
    unsubscribe_question: "确定不再接收摘要邮件吗？",
    unsubscribe_button: "退订",
    unsubscribed_title: "已退订",
    unsubscribed_text: "您已退订，不会再收到摘要邮件。",

    confirm_mail_subject: |site| format!("请确认订阅“{site}”摘要"),
    confirm_mail_body: |form, site, link| {
        format!(
            "您好：\r\n\r\n有人（希望是您）在 {form} 以此地址订阅了“{site}”的摘要。\r\n\
             请在 48 小时内打开下面的链接，按页面上的按钮确认订阅：\r\n\r\n{link}\r\n\r\n\
             如果这不是您本人的操作，请忽略此邮件：未经确认，您不会收到任何摘要。\r\n"
        )
    },
    already_subscribed_subject: |site| format!("您已订阅“{site}”摘要"),
    already_subscribed_body: |form, site, manage, leave| {
        format!(
            "您好：\r\n\r\n有人（希望是您）在 {form} 以此地址申请订阅“{site}”的摘要，\r\n\
             而此地址已经订阅，订阅内容没有改变。\r\n\r\n\
             修改栏目、关键词或发送时间：\r\n{manage}\r\n\r\n退订：\r\n{leave}\r\n"
        )
    },

    schedule_hourly: "每小时",
    schedule_daily: "每日",
    schedule_weekly: "每周",
    schedule_periodic: "定期",
    digest_name: |schedule| format!("{schedule}摘要"),
    subject_more: "等",
    article_count: |n| format!("{n} 篇"),
    new_articles: |n| format!("共 {n} 篇新文章"),
    repeated_all: |n| format!("本组的 {n} 篇都已列在上方的分组里。"),
    repeated_some: |n| format!("另有 {n} 篇同时属于上方的分组，不再重复列出。"),
    digest_reason: |address, site, digest, topics| {
        format!("你收到这封邮件，是因为 {address} 订阅了“{site}”的{digest}：{topics}。")
    },
    manage_subscription: "管理订阅",
    cancel_subscription: "取消订阅",
    search_title: "搜索文章",
    search_results_before: "搜索“",
    search_results_after: "”",
    search_none: "没有找到相符的文章。",
    search_follow: "订阅这个搜索：",
    search_not_ready: "搜索索引正在建立，请稍后再试。",
    search_invalid: "无法执行这个搜索：",
};
