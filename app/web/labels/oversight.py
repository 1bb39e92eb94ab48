"""Agent-UI labels: stored decisions and the audit log."""

from __future__ import annotations

# key -> (Simplified Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    # decisions
    "decision.title": ("决策 {id}", "Decision {id}"),
    "decision.kind": ("类型", "Kind"),
    "decision.kind.eligibility": ("资格判断", "eligibility check"),
    "decision.kind.installment_plan": ("分期办理", "installment plan"),
    "decision.kind.fee_waiver": ("息费减免", "fee waiver"),
    "decision.decided_on": ("决策日", "Decided on"),
    "decision.outcome": ("结果", "Outcome"),
    "decision.inputs": ("当时所依据的数据", "The data it was made from"),
    "decision.replay": ("按原政策版本重放", "Replay under its policy version"),
    "decision.replay_hint": (
        "重放只使用当时保存的数据和政策版本，不读取账户的当前数据。",
        "A replay uses only the data and the policy version stored then, never today's account data.",
    ),
    "decision.replay_same": ("重放结果与原决策一致。", "The replay gives the same outcome."),
    "decision.replay_differs": (
        "重放结果与原决策不一致，请通知技术支持。",
        "The replay differs from the stored outcome: tell support.",
    ),
    "decision.view": ("查看决策 {id}", "View decision {id}"),
    # audit
    "audit.title": ("审计日志", "Audit log"),
    "audit.entity_type": ("对象类型", "Entity type"),
    "audit.entity_id": ("对象编号", "Entity id"),
    "audit.action": ("操作", "Action"),
    "audit.filter": ("筛选", "Filter"),
    "audit.when": ("时间", "When"),
    "audit.actor": ("操作人", "Actor"),
    "audit.change": ("变更内容", "Change"),
    "audit.before": ("变更前", "Before"),
    "audit.after": ("变更后", "After"),
    "audit.none": ("没有符合条件的记录。", "No event matches."),
    "audit.next": ("下一页", "Next page"),
    "audit.first": ("第一页", "First page"),
    "audit.intro": ("最新的在前；时间为 {zone} 时间。", "Newest first; times in {zone}."),
    "audit.from": ("起始日期", "From"),
    "audit.to": ("截止日期", "To"),
    "audit.account": ("账户号", "Account"),
    "audit.csv": ("导出 CSV", "Export CSV"),
    "audit.when_local": ("时间（{zone}）", "When ({zone})"),
}
