"""Agent-UI labels: the frame of every page (navigation, display settings, roles), signing in,
error pages, the start page and search, and the words every page uses."""

from __future__ import annotations

# key -> (Simplified Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    # frame
    "app.title": ("困难客户纾困 · 坐席工作台", "Hardship relief · agent desk"),
    "app.skip": ("跳到正文", "Skip to content"),
    "nav.label": ("主导航", "Main navigation"),
    "nav.home": ("工作台", "Desk"),
    "nav.approvals": ("审批队列", "Approvals"),
    "nav.disputes": ("征信异议", "Credit disputes"),
    "nav.disasters": ("灾害事件", "Disasters"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.webhooks": ("Webhook 端点", "Webhooks"),
    "nav.logout": ("退出登录", "Sign out"),
    "nav.signed_in_as": ("当前用户", "Signed in as"),
    "prefs.label": ("显示设置", "Display settings"),
    "prefs.language": ("English", "中文"),
    "prefs.language_hint": ("切换到英文", "Switch to Chinese"),
    "prefs.large_text": ("大字体", "Large text"),
    "prefs.normal_text": ("标准字体", "Normal text"),
    "role.channel": ("渠道", "channel"),
    "role.agent": ("坐席", "agent"),
    "role.supervisor": ("主管", "supervisor"),
    "role.batch_operator": ("批处理操作员", "batch operator"),
    "role.auditor": ("审计员", "auditor"),
    "role.admin": ("管理员", "admin"),
    # login
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.failed": ("用户名或密码不正确。", "The username or password is not correct."),
    "login.locked": (
        "登录尝试次数过多，请 {minutes} 分钟后再试或联系管理员。",
        "Too many sign-in attempts from here. Try again in {minutes} minutes or ask an administrator.",
    ),
    "login.expired": ("会话已过期，请重新登录。", "Your session has expired. Please sign in again."),
    "login.signed_out": ("您已退出登录。", "You have signed out."),
    "login.required": ("请先登录。", "Please sign in first."),
    "login.missing": ("请输入用户名和密码。", "Enter a username and a password."),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.back": ("返回", "Go back"),
    "error.not_found": ("找不到该页面或记录。", "That page or record does not exist."),
    "error.forbidden": ("您的角色无权执行此操作。", "Your role may not do this."),
    "error.not_allowed": ("不允许此操作：", "This is not allowed:"),
    "error.csrf": (
        "表单已过期或并非来自本站。请刷新页面后重试。",
        "This form has expired or did not come from this site. Reload the page and try again.",
    ),
    "error.invalid": ("输入有误，请检查后重试。", "Some input is not valid. Check it and try again."),
    "error.conflict": ("与当前状态冲突：", "This conflicts with the current state:"),
    "error.refused": ("规则不允许此操作：", "The relief rules refuse this:"),
    "error.internal": (
        "系统内部错误，未做任何更改。请稍后重试；如仍有问题请联系技术支持并提供编号：",
        "An internal error occurred; nothing was changed. Try again later; if it persists, give "
        "support this reference:",
    ),
    "error.unavailable": (
        "服务暂时不可用，未做任何更改。请稍后重试。",
        "The service is unavailable; nothing was changed. Try again later.",
    ),
    "error.method": ("不支持该请求方式。", "That request method is not supported here."),
    "error.too_large": ("提交的内容过大。", "The request is too large."),
    # home and search
    "home.title": ("查询账户", "Find an account"),
    "search.label": ("账户号或客户号", "Account ref or customer ref"),
    "search.hint": (
        "输入完整的账户号或客户号，也可输入账户号开头部分。",
        "Enter a full account ref or customer ref, or the start of an account ref.",
    ),
    "search.submit": ("查询", "Search"),
    "search.results": ("查询结果", "Search results"),
    "search.none": ("没有找到与“{q}”匹配的账户。", "No account matches “{q}”."),
    "search.empty": ("请输入要查询的内容。", "Enter something to search for."),
    "search.more": (
        "只显示前 {n} 条结果，请输入更完整的号码。",
        "Only the first {n} matches are shown; enter more of the ref.",
    ),
    "recent.title": ("最近查看的账户", "Recently viewed accounts"),
    "recent.none": ("本次登录尚未查看任何账户。", "No account viewed in this session yet."),
    "home.tasks": ("我的工作", "My work"),
    "home.no_account_read": (
        "您的角色不能查看单个账户。请使用上方导航中的功能。",
        "Your role cannot look up single accounts. Use the pages in the navigation above.",
    ),
    # common
    "common.required": ("必填", "required"),
    "common.optional": ("可选", "optional"),
    "common.save": ("保存", "Save"),
    "common.none": ("无", "none"),
    "common.page_time": ("数据截至 {when}", "Data as of {when}"),
}
