"""An account's relief history, newest first, and a customer's accounts: reads composed from the
records that exist (decisions, plans, waivers, approvals, deferrals, disputes, contacts); nothing
is stored twice (ARCHITECTURE.md, "contacts, queue, timeline")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.persistence.models import (
    Approval,
    CardAccount,
    Contact,
    CreditDispute,
    Decision,
    Deferral,
    DisasterEvent,
    FeeWaiver,
    InstallmentPlan,
)
from app.services.accounts import get_account_row

__all__ = [
    "CustomerAccount",
    "ReliefSummary",
    "TimelineItem",
    "account_timeline",
    "customer_accounts",
    "relief_summary",
]

LIMIT = 200


@dataclass(frozen=True)
class TimelineItem:
    """One record on the timeline: when, what kind, its id and status, and the facts to show."""

    at: datetime
    kind: str  # decision | plan | waiver | approval | deferral | dispute | contact
    id: int
    status: str
    facts: dict[str, Any] = field(default_factory=dict)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _day_start(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


def account_timeline(session: Session, *, account_ref: str, limit: int = LIMIT) -> list[TimelineItem]:
    """Every relief record of the account, newest first (at most ``limit``)."""
    account = get_account_row(session, account_ref)
    return _timeline(session, [account.id], {account.id: account.account_ref}, limit=limit)


def _timeline(session: Session, ids: list[int], refs: dict[int, str], *, limit: int) -> list[TimelineItem]:
    """The records of the accounts ``ids`` (``refs``: their account_refs by id), newest first."""
    items = [
        *_decision_items(session, list(refs.values()), limit=limit),
        *_plan_items(session, ids, refs),
        *_waiver_items(session, ids, refs),
        *_approval_items(session, ids, refs),
        *_deferral_items(session, ids, refs),
        *_dispute_items(session, ids, refs),
        *_contact_items(session, ids, refs),
    ]
    items.sort(key=lambda item: (item.at, item.id), reverse=True)
    return items[:limit]


def _decision_items(session: Session, account_refs: list[str], *, limit: int) -> list[TimelineItem]:
    """The stored decisions; of the eligibility checks (every page view stores one) only those made
    with a stated reason, the newest of each day and reason."""
    items: list[TimelineItem] = []
    seen_checks: set[tuple[str, str, str]] = set()
    for d in session.scalars(
        select(Decision)
        .where(Decision.account_ref.in_(account_refs))
        .order_by(Decision.id.desc())
        .limit(limit)
    ):
        outcome = d.outcome if isinstance(d.outcome, dict) else {}
        programs = outcome.get("programs")
        eligible = [
            p.get("program")
            for p in (programs if isinstance(programs, list) else [])
            if isinstance(p, dict) and p.get("eligible")
        ]
        inputs = d.inputs if isinstance(d.inputs, dict) else {}
        reason = inputs.get("hardship_reason")
        if d.kind == "eligibility":
            key = (d.account_ref, str(d.decided_on), str(reason))
            if not reason or key in seen_checks:
                continue
            seen_checks.add(key)
        facts: dict[str, Any] = {
            "account_ref": d.account_ref,
            "eligible": eligible,
            "reason": reason,
            "actor": d.actor,
            "policy_version": d.policy_version,
        }
        items.append(TimelineItem(_aware(d.created_at), "decision", d.id, d.kind, facts))
    return items


def _plan_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    return [
        TimelineItem(
            _aware(p.created_at),
            "plan",
            p.id,
            p.status,
            {
                "account_ref": refs[p.account_id],
                "term_months": p.term_months,
                "principal": p.principal_amount,
                "reason": p.hardship_reason,
                "actor": p.created_by,
                "ended_on": p.ended_on,
            },
        )
        for p in session.scalars(select(InstallmentPlan).where(InstallmentPlan.account_id.in_(ids)))
    ]


def _waiver_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    return [
        TimelineItem(
            _aware(w.created_at),
            "waiver",
            w.id,
            w.status,
            {
                "account_ref": refs[w.account_id],
                "total": w.total_amount,
                "reason": w.hardship_reason,
                "note": w.note,
                "actor": w.requested_by,
            },
        )
        for w in session.scalars(select(FeeWaiver).where(FeeWaiver.account_id.in_(ids)))
    ]


def _approval_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    """The decided approvals, at the time they were decided."""
    items: list[TimelineItem] = []
    for a in session.scalars(
        select(Approval).where(Approval.account_id.in_(ids), Approval.decided_at.is_not(None))
    ):
        assert a.decided_at is not None
        facts: dict[str, Any] = {
            "account_ref": refs[a.account_id],
            "amount": a.amount,
            "actor": a.decided_by,
            "note": a.decision_note,
            "requested_by": a.requested_by,
        }
        items.append(TimelineItem(_aware(a.decided_at), "approval", a.id, a.status, facts))
    return items


def _deferral_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    return [
        TimelineItem(
            _aware(deferral.created_at),
            "deferral",
            deferral.id,
            "granted",
            {
                "account_ref": refs[deferral.account_id],
                "disaster_code": code,
                "amount": deferral.deferred_amount,
            },
        )
        for deferral, code in session.execute(
            select(Deferral, DisasterEvent.code)
            .join(DisasterEvent, DisasterEvent.id == Deferral.disaster_id)
            .where(Deferral.account_id.in_(ids))
        )
    ]


def _dispute_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    return [
        TimelineItem(
            _aware(c.updated_at or c.created_at),
            "dispute",
            c.id,
            c.status,
            {
                "account_ref": refs[c.account_id],
                "bureau": c.bureau,
                "reason_code": c.reason_code,
                "due_by": c.due_by,
                "actor": c.created_by,
            },
        )
        for c in session.scalars(select(CreditDispute).where(CreditDispute.account_id.in_(ids)))
    ]


def _contact_items(session: Session, ids: list[int], refs: dict[int, str]) -> list[TimelineItem]:
    return [
        TimelineItem(
            _aware(k.created_at),
            "contact",
            k.id,
            k.outcome,
            {
                "account_ref": refs[k.account_id],
                "channel": k.channel,
                "note": k.note,
                "callback_on": k.callback_on,
                "actor": k.recorded_by,
            },
        )
        for k in session.scalars(select(Contact).where(Contact.account_id.in_(ids)))
    ]


@dataclass(frozen=True)
class ReliefSummary:
    """The relief an account received in a look-back window (the approver's context)."""

    waivers_applied: int
    waived_amount: Decimal
    plans_started: int
    deferrals: int


def relief_summary(session: Session, *, account_id: int, since: date) -> ReliefSummary:
    start = _day_start(since)
    waivers_row = session.execute(
        select(func.count(FeeWaiver.id), func.coalesce(func.sum(FeeWaiver.total_amount), 0)).where(
            FeeWaiver.account_id == account_id, FeeWaiver.status == "applied", FeeWaiver.created_at >= start
        )
    ).one()
    plans = session.scalar(
        select(func.count(InstallmentPlan.id)).where(
            InstallmentPlan.account_id == account_id, InstallmentPlan.start_on >= since
        )
    )
    deferrals = session.scalar(
        select(func.count(Deferral.id)).where(Deferral.account_id == account_id, Deferral.created_at >= start)
    )
    amount = waivers_row[1]
    return ReliefSummary(
        waivers_applied=int(waivers_row[0] or 0),
        waived_amount=amount if isinstance(amount, Decimal) else Decimal(int(amount or 0)) / 100,
        plans_started=int(plans or 0),
        deferrals=int(deferrals or 0),
    )


@dataclass(frozen=True)
class CustomerAccount:
    account_ref: str
    product_code: str
    status: str
    region_code: str
    total_balance: Decimal
    delinquent_since: date | None


def customer_accounts(session: Session, *, customer_ref: str) -> list[CustomerAccount]:
    """The customer's accounts, by account_ref (empty when the customer holds none)."""
    rows = session.scalars(
        select(CardAccount).where(CardAccount.customer_ref == customer_ref).order_by(CardAccount.account_ref)
    )
    return [
        CustomerAccount(
            account_ref=a.account_ref,
            product_code=a.product_code,
            status=a.status,
            region_code=a.region_code,
            total_balance=a.principal_balance + a.interest_balance + a.fee_balance,
            delinquent_since=a.delinquent_since,
        )
        for a in rows
    ]


def customer_timeline(session: Session, *, customer_ref: str, limit: int = LIMIT) -> list[TimelineItem]:
    rows = session.execute(
        select(CardAccount.id, CardAccount.account_ref).where(CardAccount.customer_ref == customer_ref)
    ).all()
    refs = {row[0]: row[1] for row in rows}
    return _timeline(session, list(refs), refs, limit=limit) if refs else []


ONE_YEAR = timedelta(days=365)
