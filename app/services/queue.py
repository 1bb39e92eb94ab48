"""What waits for the signed-in person (the agent desk's work queue), composed from the records that
exist: their own requests waiting for approval and those decided, callbacks due on the business
date, overdue disputes, the approvals waiting for a supervisor with their context, recent scans and
recent audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.persistence.models import Approval, AuditEvent, CardAccount, FeeWaiver
from app.services.clock import today, utcnow
from app.services.timeline import ReliefSummary, relief_summary

__all__ = ["ApprovalCard", "approval_cards", "my_requests", "pending_approval_count", "recent_audit_events"]

DECIDED_LOOKBACK = timedelta(days=14)
RELIEF_LOOKBACK = timedelta(days=365)


@dataclass(frozen=True)
class ApprovalCard:
    """One request waiting for (or decided by) a supervisor, with what the approver needs to judge it."""

    id: int
    status: str
    account_ref: str
    subject_type: str
    subject_id: int
    amount: Decimal
    why: str
    requested_by: str
    requested_role: str
    created_at: datetime
    waited_hours: int
    note: str | None
    hardship_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    relief: ReliefSummary | None


def _hours_since(moment: datetime, now: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0, int((now - moment).total_seconds() // 3600))


def _cards(session: Session, query: object, *, with_relief: bool) -> list[ApprovalCard]:
    now = utcnow()
    since = today(session) - RELIEF_LOOKBACK
    cards: list[ApprovalCard] = []
    for approval, account_ref, note, reason in session.execute(query):  # type: ignore[call-overload]
        cards.append(
            ApprovalCard(
                id=approval.id,
                status=approval.status,
                account_ref=account_ref,
                subject_type=approval.subject_type,
                subject_id=approval.subject_id,
                amount=approval.amount,
                why=approval.why,
                requested_by=approval.requested_by,
                requested_role=approval.requested_role,
                created_at=approval.created_at,
                waited_hours=_hours_since(approval.created_at, now),
                note=note,
                hardship_reason=reason,
                decided_by=approval.decided_by,
                decided_at=approval.decided_at,
                decision_note=approval.decision_note,
                relief=relief_summary(session, account_id=approval.account_id, since=since)
                if with_relief
                else None,
            )
        )
    return cards


def _base_query() -> object:
    return (
        select(Approval, CardAccount.account_ref, FeeWaiver.note, FeeWaiver.hardship_reason)
        .join(CardAccount, CardAccount.id == Approval.account_id)
        .outerjoin(FeeWaiver, (Approval.subject_type == "fee_waiver") & (FeeWaiver.id == Approval.subject_id))
    )


def approval_cards(
    session: Session, *, exclude_requester: str | None = None, limit: int = 50
) -> list[ApprovalCard]:
    """Pending approvals, oldest first (the longest wait on top), each with the account's relief in
    the last 365 days; a supervisor's own requests are left out (they cannot decide them)."""
    query = _base_query().where(Approval.status == "pending")  # type: ignore[attr-defined]
    if exclude_requester is not None:
        query = query.where(Approval.requested_by != exclude_requester)
    return _cards(session, query.order_by(Approval.id).limit(limit), with_relief=True)


def pending_approval_count(session: Session, *, exclude_requester: str | None = None) -> int:
    query = select(func.count(Approval.id)).where(Approval.status == "pending")
    if exclude_requester is not None:
        query = query.where(Approval.requested_by != exclude_requester)
    return int(session.scalar(query) or 0)


def my_requests(
    session: Session, *, requested_by: str, limit: int = 50
) -> tuple[list[ApprovalCard], list[ApprovalCard]]:
    """(waiting, decided in the last 14 days) for the requester, newest first."""
    base = _base_query().where(Approval.requested_by == requested_by)  # type: ignore[attr-defined]
    waiting = _cards(
        session,
        base.where(Approval.status == "pending").order_by(Approval.id.desc()).limit(limit),
        with_relief=False,
    )
    since = utcnow() - DECIDED_LOOKBACK
    decided = _cards(
        session,
        base.where(Approval.status != "pending", Approval.decided_at >= since)
        .order_by(Approval.decided_at.desc())
        .limit(limit),
        with_relief=False,
    )
    return waiting, decided


def recent_audit_events(session: Session, *, limit: int = 20) -> list[AuditEvent]:
    """The newest audit events first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
