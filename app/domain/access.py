"""Who may do what: the one role-permission table.  Every endpoint names one permission."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CHANNEL = "channel"  # the mobile banking backend
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    BATCH_OPERATOR = "batch_operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    ACCOUNT_READ = "account:read"
    ACCOUNT_WRITE = "account:write"
    ELIGIBILITY_EVALUATE = "eligibility:evaluate"
    DECISION_READ = "decision:read"
    DECISION_REPLAY = "decision:replay"
    QUOTE = "quote"
    PLAN_CREATE = "plan:create"
    PLAN_READ = "plan:read"
    PLAN_MANAGE = "plan:manage"
    WAIVER_CREATE = "waiver:create"
    WAIVER_READ = "waiver:read"
    APPROVAL_READ = "approval:read"
    APPROVAL_DECIDE = "approval:decide"
    DISASTER_DECLARE = "disaster:declare"
    DISASTER_READ = "disaster:read"
    DISASTER_AMEND = "disaster:amend"
    REGION_CHANGE_MANAGE = "region_change:manage"
    SCAN_RUN = "scan:run"
    SCAN_READ = "scan:read"
    DEFERRAL_READ = "deferral:read"
    REPORT_READ = "report:read"
    DISPUTE_BULK = "dispute:bulk"
    DISPUTE_CREATE = "dispute:create"
    DISPUTE_READ = "dispute:read"
    DISPUTE_TRANSITION = "dispute:transition"
    AUDIT_READ = "audit:read"
    KEY_MANAGE = "key:manage"
    USER_MANAGE = "user:manage"
    BUSINESS_DATE_READ = "business_date:read"
    BUSINESS_DATE_MANAGE = "business_date:manage"
    SERVICING_RUN = "servicing:run"
    SERVICING_READ = "servicing:read"
    OUTCOME_REPORT_READ = "report:outcomes"

    WEBHOOK_MANAGE = "webhook:manage"
    INSTRUCTION_READ = "instruction:read"

    CONTACT_RECORD = "contact:record"
    CONTACT_READ = "contact:read"


C, A, S, B, AU, AD = (
    Role.CHANNEL,
    Role.AGENT,
    Role.SUPERVISOR,
    Role.BATCH_OPERATOR,
    Role.AUDITOR,
    Role.ADMIN,
)

# CONTRACT.md fixes the roles of the scripted endpoints; the rest follow the same spirit:
# agents and the channel serve one cardholder, supervisors approve, operators run disasters,
# auditors read everything that is a decision or a record, admins run the system.
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.ACCOUNT_READ: frozenset({C, A, S, AD}),
    Permission.ACCOUNT_WRITE: frozenset({AD}),
    Permission.ELIGIBILITY_EVALUATE: frozenset({C, A, S}),
    Permission.DECISION_READ: frozenset({A, S, AU}),
    Permission.DECISION_REPLAY: frozenset({S, AU}),
    Permission.QUOTE: frozenset({C, A, S}),
    Permission.PLAN_CREATE: frozenset({C, A, S}),
    Permission.PLAN_READ: frozenset({C, A, S, AU}),
    Permission.PLAN_MANAGE: frozenset({A, S}),
    Permission.WAIVER_CREATE: frozenset({A, S}),
    Permission.WAIVER_READ: frozenset({A, S, AU}),
    Permission.APPROVAL_READ: frozenset({A, S, AU}),
    Permission.APPROVAL_DECIDE: frozenset({S}),
    Permission.DISASTER_DECLARE: frozenset({S, B, AD}),
    Permission.DISASTER_READ: frozenset({A, S, B, AU, AD}),
    Permission.DISASTER_AMEND: frozenset({S, B, AD}),
    Permission.REGION_CHANGE_MANAGE: frozenset({B, AD}),
    Permission.SCAN_RUN: frozenset({B}),
    Permission.SCAN_READ: frozenset({B, S, AU}),
    Permission.DEFERRAL_READ: frozenset({C, A, S, AU}),
    Permission.REPORT_READ: frozenset({S, B, AU, AD}),
    Permission.DISPUTE_BULK: frozenset({B, S}),
    Permission.DISPUTE_CREATE: frozenset({A, S}),
    Permission.DISPUTE_READ: frozenset({A, S, B, AU}),
    Permission.DISPUTE_TRANSITION: frozenset({S}),
    Permission.AUDIT_READ: frozenset({AU, AD}),
    Permission.KEY_MANAGE: frozenset({AD}),
    Permission.USER_MANAGE: frozenset({AD}),
    Permission.BUSINESS_DATE_READ: frozenset(Role),
    Permission.BUSINESS_DATE_MANAGE: frozenset({AD}),
    Permission.SERVICING_RUN: frozenset({B}),
    Permission.SERVICING_READ: frozenset({B, S, AU}),
    Permission.OUTCOME_REPORT_READ: frozenset({S, AU}),
    Permission.WEBHOOK_MANAGE: frozenset({AD}),
    Permission.INSTRUCTION_READ: frozenset({B, AU}),
    Permission.CONTACT_RECORD: frozenset({A, S}),
    Permission.CONTACT_READ: frozenset({A, S}),
}


def is_allowed(role: str, permission: Permission) -> bool:
    """True when the role holds the permission."""
    return role in PERMISSIONS[permission]


def parse_role(value: str) -> Role:
    """The Role named by value; ValueError listing the known roles otherwise."""
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; known roles: {known}") from None
