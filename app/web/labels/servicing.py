"""Agent-UI labels: servicing: where a plan stands, and the outcomes report."""

from __future__ import annotations

# key -> (Simplified Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    # servicing: where a plan stands, and the outcomes report
    "nav.outcomes": ("履约报告", "Outcomes"),
    "servicing.title": ("履约情况", "Servicing"),
    "servicing.paid_total": ("已还金额", "Paid"),
    "servicing.outstanding": ("未还金额", "Outstanding"),
    "servicing.unapplied": ("溢缴款（未分配）", "Unapplied"),
    "servicing.completed_on": ("结清日", "Completed on"),
    "servicing.broken_on": ("违约日", "Broken on"),
    "servicing.installments": ("各期情况", "Installments"),
    "servicing.paid": ("已还", "Paid"),
    "servicing.status": ("还款状态", "Payment status"),
    "servicing.status.due": ("待还", "due"),
    "servicing.status.paid": ("按时还款", "paid"),
    "servicing.status.paid_late": ("逾期后还款", "paid late"),
    "servicing.status.missed": ("未按时还款", "missed"),
    "servicing.mark.due": ("·", "·"),
    "servicing.mark.paid": ("✓", "✓"),
    "servicing.mark.paid_late": ("⏱", "⏱"),
    "servicing.mark.missed": ("✗", "✗"),
    "servicing.legend": (
        "✓ 按时还款　⏱ 逾期后还款　✗ 未按时还款　· 待还",
        "✓ paid  ⏱ paid late  ✗ missed  · due",
    ),
    "servicing.broken_by_rules": (
        "{date} 起按违约规则终止：宽限期 {grace} 天后仍有分期未足额还款"
        "（连续 {consecutive} 期或累计 {total} 期即违约）。",
        "Broken on {date} by the servicing rules: installments not paid in full within {grace} grace "
        "days ({consecutive} in a row or {total} in all break a plan).",
    ),
    "servicing.error": (
        "履约处理异常，请联系技术支持：",
        "Servicing could not apply the rules to this plan:",
    ),
    "outcomes.title": ("分期履约报告", "Installment plan outcomes"),
    "outcomes.intro": (
        "统计起始日在所选期间内的分期计划，数据截至最近一次履约处理。",
        "Plans that started in the chosen period, as of the last servicing run.",
    ),
    "outcomes.from": ("起始日（含）", "From (inclusive)"),
    "outcomes.to": ("截止日（含）", "To (inclusive)"),
    "outcomes.submit": ("生成报告", "Show"),
    "outcomes.bad_period": (
        "请输入有效的起止日期（截止日不早于起始日）。",
        "Enter valid dates (the end not before the start).",
    ),
    "outcomes.totals": ("合计", "Totals"),
    "outcomes.by_region": ("按地区（地市）", "By prefecture"),
    "outcomes.by_term": ("按期数", "By term"),
    "outcomes.by_month": ("按起始月份：履约、违约、进行中", "By month of start: kept, broken, active"),
    "outcomes.prefecture": ("地市代码", "Prefecture"),
    "outcomes.term_bucket": ("期数（月）", "Term (months)"),
    "outcomes.started": ("计划数", "Started"),
    "outcomes.active": ("进行中", "Active"),
    "outcomes.completed": ("已结清", "Completed"),
    "outcomes.broken": ("已违约", "Broken"),
    "outcomes.cancelled": ("已取消", "Cancelled"),
    "outcomes.principal": ("分期本金", "Restructured"),
    "outcomes.paid_total": ("已还", "Paid"),
    "outcomes.outstanding": ("未还", "Outstanding"),
    "outcomes.kept_rate": ("履约率", "Kept rate"),
    "outcomes.on_time_rate": ("按时还款率", "On-time rate"),
    "outcomes.waivers": ("期间内减免", "Waivers in the period"),
    "outcomes.deferrals": ("期间内延期还款", "Deferrals in the period"),
    "outcomes.count": ("笔数", "Count"),
    "outcomes.amount": ("金额", "Amount"),
    "outcomes.month": ("月份", "Month"),
    "outcomes.none": ("该期间内没有开始的分期计划。", "No plan started in this period."),
    "outcomes.na": ("不适用", "n/a"),
}
