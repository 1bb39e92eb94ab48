"""Agent-UI labels: what the agent does next for each reason code, beside the policy's words for the
cardholder."""

from __future__ import annotations

# key -> (Simplified Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    # what the agent does next, beside the policy's words for the cardholder (reason code -> hint)
    "agent_reason.REGION_NOT_AFFECTED": (
        "核对客户登记地区；如已搬迁，请按现行地区代码更新后再判断。",
        "Check the registered region; if the cardholder moved, update it and check again.",
    ),
    "agent_reason.ACCOUNT_STATUS_INELIGIBLE": (
        "账户状态不允许纾困：请转交相应部门（销户、核销或反欺诈）。",
        "The account's status rules relief out: refer to closures, recoveries or fraud.",
    ),
    "agent_reason.OPENED_AFTER_EVENT": (
        "账户在灾害后开立，不适用本次延期；可考虑协商分期或减免。",
        "Opened after the disaster: no deferral; consider a plan or a waiver.",
    ),
    "agent_reason.PRE_EVENT_DELINQUENCY": (
        "灾前已逾期超过 30 天：不适用延期，可考虑协商分期。",
        "Over 30 days past due before the disaster: no deferral; consider a plan.",
    ),
    "agent_reason.NO_AMOUNT_DUE_IN_WINDOW": (
        "纾困期内没有未还账单，无需延期。",
        "Nothing unpaid falls due in the relief window: no deferral is needed.",
    ),
    "agent_reason.ALREADY_ENROLLED": (
        "已办理本次延期：向客户说明新的到期日。",
        "Already deferred: tell the cardholder the new due dates.",
    ),
    "agent_reason.NO_OPEN_DISASTER": (
        "客户所在地区没有正在实施的灾害纾困。",
        "No disaster relief is open for the cardholder's region.",
    ),
    "agent_reason.DELINQUENCY_TOO_LONG": (
        "逾期超过 180 天：转交催收或个案协商。",
        "Over 180 days past due: refer to collections for a case-by-case arrangement.",
    ),
    "agent_reason.BALANCE_TOO_LOW": (
        "欠款低于分期起点：可考虑费用减免。",
        "The balance is below the plan minimum: consider a fee waiver.",
    ),
    "agent_reason.HARDSHIP_REASON_REQUIRED": (
        "询问客户的困难原因并在上方选择。",
        "Ask the cardholder's reason and choose it above.",
    ),
    "agent_reason.PLAN_ALREADY_ACTIVE": (
        "已有生效中的分期：打开该计划核对还款情况。",
        "A plan is active: open it and check its payments.",
    ),
    "agent_reason.RECENT_BROKEN_PLAN": (
        "12 个月内有违约的分期：暂不能再办分期，可考虑减免。",
        "A plan broke in the last 12 months: no new plan yet; consider a waiver.",
    ),
    "agent_reason.TERM_NOT_ALLOWED": (
        "换一个期数：最长 60 期，每期本金不低于最低额。",
        "Choose another term: at most 60 months, each installment at least the minimum.",
    ),
    "agent_reason.NO_FEES_OUTSTANDING": ("没有可减免的费用。", "No fees to waive."),
    "agent_reason.DATA_INVALID": (
        "账户数据有误，无法判断：请联系数据维护人员核对。",
        "The account's data cannot be judged: ask the data team to check it.",
    ),
}
