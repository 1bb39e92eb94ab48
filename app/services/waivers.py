"""Fee and interest waivers: applied at once within the caller's authority, otherwise sent for approval.

DOMAIN.md, "Fee and interest waiver": an agent may waive up to 500.00 per request, a supervisor up
to 5,000.00; anything larger, or a second waiver within 365 days (except for disaster reasons),
waits for a supervisor's approval (maker-checker, ``app.services.approvals``). Applying a waiver
lowers the account's fee and interest balances; a reversal restores them. Both are audited with
the balances before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.domain.errors import InvalidWaiver
from app.domain.events import EventType
from app.domain.policy import Policy
from app.domain.reasons import HardshipReason, Program, ReasonCode
from app.domain.statuses import ApprovalStatus, WaiverStatus
from app.domain.waivers import (
    WaiverComponents,
    WaiverDecision,
    authority_window_start,
    decide_waiver_authority,
    disaster_covers_account,
    split_waiver,
)
from app.persistence import mappers
from app.persistence.models import Approval, CardAccount, FeeWaiver
from app.schemas.common import Attributes
from app.schemas.waivers import WaiverRead
from app.services import accounts, audit, clock, events
from app.services.decide import Decided, decide
from app.services.errors import Conflict, NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal
from app.settings import get_settings

__all__ = [
    "SUBJECT_TYPE",
    "apply_pending_waiver",
    "emit_waiver_event",
    "get_waiver",
    "list_waivers",
    "reject_pending_waiver",
    "request_waiver",
    "reverse_waiver",
    "waiver_read",
    "waiver_reads",
]

SUBJECT_TYPE = "fee_waiver"
HARDSHIP_REASONS = frozenset(reason.value for reason in HardshipReason)
# Waivers that count as "a previous waiver" for the repeat rule: granted, or waiting to be.
_COUNTED_STATUSES = ("applied", "pending_approval")


def _balances(account: CardAccount) -> dict[str, Decimal]:
    return {"fee_balance": account.fee_balance, "interest_balance": account.interest_balance}


def _prior_waiver_on(session: Session, account_id: int) -> date | None:
    created = session.scalar(
        select(FeeWaiver.created_at)
        .where(FeeWaiver.account_id == account_id, FeeWaiver.status.in_(_COUNTED_STATUSES))
        .order_by(FeeWaiver.created_at.desc(), FeeWaiver.id.desc())
        .limit(1)
    )
    return None if created is None else created.date()


def waived_in_authority_window(
    session: Session, *, account_id: int, actor: Principal, on: date, policy: Policy
) -> Decimal:
    """What this person (every credential of theirs) waived on this account in the authority window:
    the applied waivers they requested there, from the window's first business day (its midnight in
    the bank's zone) on (DOMAIN.md, "Waiver controls")."""
    start = authority_window_start(on, policy)
    since = datetime.combine(start, time.min, tzinfo=get_settings().business_zone).astimezone(UTC)
    same_person = or_(
        FeeWaiver.requested_person == actor.person,
        and_(FeeWaiver.requested_person.is_(None), FeeWaiver.requested_by == actor.actor),
    )
    amounts = session.scalars(
        select(FeeWaiver.total_amount).where(
            FeeWaiver.account_id == account_id,
            FeeWaiver.status == WaiverStatus.APPLIED,
            FeeWaiver.applied_at >= since,
            same_person,
        )
    ).all()
    return sum(amounts, Decimal("0.00"))


def _apply(
    session: Session, account: CardAccount, waiver: FeeWaiver, *, policy: Policy
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lower the balances by the waiver (checked against the balances as they are now); the audit's
    before and after. The caller emits the event, then audits (see app/services/events.py)."""
    try:
        split_waiver(mappers.to_domain_account(account), waiver.fee_amount, waiver.interest_amount, policy)
    except InvalidWaiver as exc:
        raise Conflict(f"The waiver no longer fits the account's balances: {exc}.") from None
    before: dict[str, Any] = {
        "status": waiver.status,
        **_balances(account),
        "account_ref": account.account_ref,
    }
    account.fee_balance = account.fee_balance - waiver.fee_amount
    account.interest_balance = account.interest_balance - waiver.interest_amount
    account.updated_at = clock.utcnow()
    waiver.status = WaiverStatus.APPLIED
    waiver.applied_at = clock.utcnow()
    waiver.applied_on = clock.today(session)
    session.flush()
    after = {
        "status": waiver.status,
        **_balances(account),
        "account_ref": account.account_ref,
        "fee_amount": waiver.fee_amount,
        "interest_amount": waiver.interest_amount,
    }
    return before, after


def _audit_applied(
    session: Session, waiver: FeeWaiver, actor: Principal, before: dict[str, Any], after: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=actor,
        action="fee_waiver.applied",
        entity_type="fee_waiver",
        entity_id=waiver.id,
        before=before,
        after=after,
    )


_EVENTS = {
    "applied": EventType.WAIVER_APPLIED,
    "pending_approval": EventType.WAIVER_PENDING_APPROVAL,
    "rejected": EventType.WAIVER_REJECTED,
    "reversed": EventType.WAIVER_REVERSED,
}


def emit_waiver_event(session: Session, waiver: FeeWaiver) -> str:
    """The waiver's event for its current status (CONTRACT.md, "Events out"): subject its
    account_ref, data the waiver as GET /v1/fee-waivers/{id} answers it."""
    data = waiver_read(session, waiver).model_dump(mode="json")
    return events.emit(session, type=_EVENTS[waiver.status], subject=data["account_ref"], data=data)


def request_waiver(
    session: Session,
    *,
    account_ref: str,
    fee_amount: Decimal,
    interest_amount: Decimal,
    hardship_reason: str | None,
    note: str | None,
    actor: Principal,
    policies: PolicyStore,
    lang: str,
) -> FeeWaiver:
    """Request a waiver of ``fee_amount`` fees and ``interest_amount`` interest.

    Refused (422) with ACCOUNT_STATUS_INELIGIBLE / NO_FEES_OUTSTANDING, or HARDSHIP_REASON_REQUIRED
    for a missing or unknown reason; InvalidWaiver (422) for amounts above the fee balance or the
    waivable interest. Within the caller's authority it is applied at once (status "applied");
    otherwise it waits (status "pending_approval") with a pending Approval row.
    """
    decided = decide(
        session,
        account_ref=account_ref,
        program=Program.FEE_WAIVER,
        policies=policies,
        lang=lang,
        hardship_reason=hardship_reason,
        also_refused=() if hardship_reason in HARDSHIP_REASONS else (ReasonCode.HARDSHIP_REASON_REQUIRED,),
    )
    parts = split_waiver(decided.snapshot.account, fee_amount, interest_amount, decided.policy)
    authority = _authority(session, decided, parts.total, actor)
    decision = decided.store(session, actor=actor)
    waiver = _new_waiver(session, decided, parts, note=note, actor=actor)
    account = decided.account
    approval = _request_approval(session, waiver, authority, actor) if authority.needs_approval else None
    applied = None if approval is not None else _apply(session, account, waiver, policy=decided.policy)
    emit_waiver_event(session, waiver)
    audit.record(
        session,
        actor=actor,
        action="fee_waiver.requested",
        entity_type="fee_waiver",
        entity_id=waiver.id,
        after={
            "account_ref": account.account_ref,
            "fee_amount": waiver.fee_amount,
            "interest_amount": waiver.interest_amount,
            "total_amount": waiver.total_amount,
            "hardship_reason": waiver.hardship_reason,
            "needs_approval": authority.needs_approval,
            "why": authority.why,
            "decision_id": decision.id,
            "policy_version": waiver.policy_version,
        },
    )
    if approval is not None:
        _audit_approval_requested(session, approval, account.account_ref, actor)
    if applied is not None:
        _audit_applied(session, waiver, actor, *applied)
    return waiver


def _authority(session: Session, decided: Decided, total: Decimal, actor: Principal) -> WaiverDecision:
    """Whether the waiver is within the caller's authority or waits for a supervisor's approval: its
    amount, what this person already waived on the account in the window, a waiver within the last
    365 days, and whether an open disaster covers the account (DOMAIN.md, "Waiver controls")."""
    snapshot, on, policy = decided.snapshot, decided.on, decided.policy
    account_id = decided.account.id
    return decide_waiver_authority(
        total,
        role=actor.role.value,
        policy=policy,
        prior_waiver_on=_prior_waiver_on(session, account_id),
        today=on,
        reason=str(snapshot.hardship_reason),
        waived_in_window=waived_in_authority_window(
            session, account_id=account_id, actor=actor, on=on, policy=policy
        ),
        disaster_covers_account=disaster_covers_account(
            snapshot.account.region_code,
            open_events=snapshot.open_events,
            region_code_changes=snapshot.region_code_changes,
            has_deferral=bool(snapshot.enrolled_codes),
            today=on,
        ),
    )


def _new_waiver(
    session: Session, decided: Decided, parts: WaiverComponents, *, note: str | None, actor: Principal
) -> FeeWaiver:
    """The requested waiver, written as pending approval (applied at once when within authority)."""
    waiver = FeeWaiver(
        account_id=decided.account.id,
        status=WaiverStatus.PENDING_APPROVAL,
        fee_amount=parts.fee_waived,
        interest_amount=parts.interest_waived,
        total_amount=parts.total,
        hardship_reason=str(decided.snapshot.hardship_reason),
        note=note,
        policy_version=decided.policy.version,
        requested_by=actor.actor,
        requested_person=actor.person,
        requested_role=actor.role.value,
        created_at=clock.utcnow(),
    )
    session.add(waiver)
    session.flush()
    return waiver


def _request_approval(
    session: Session, waiver: FeeWaiver, authority: WaiverDecision, actor: Principal
) -> Approval:
    """The pending approval a waiver beyond the requester's authority waits for (maker-checker)."""
    approval = Approval(
        subject_type=SUBJECT_TYPE,
        subject_id=waiver.id,
        account_id=waiver.account_id,
        status=ApprovalStatus.PENDING,
        amount=waiver.total_amount,
        why=str(authority.why),
        requested_by=actor.actor,
        requested_person=actor.person,
        requested_role=actor.role.value,
        created_at=clock.utcnow(),
    )
    session.add(approval)
    session.flush()
    return approval


def _audit_approval_requested(
    session: Session, approval: Approval, account_ref: str, actor: Principal
) -> None:
    audit.record(
        session,
        actor=actor,
        action="approval.requested",
        entity_type="approval",
        entity_id=approval.id,
        after={
            "subject_type": SUBJECT_TYPE,
            "subject_id": approval.subject_id,
            "account_ref": account_ref,
            "amount": approval.amount,
            "why": approval.why,
        },
    )


def _lock_account_by_id(session: Session, account_id: int) -> CardAccount:
    account = session.scalar(select(CardAccount).where(CardAccount.id == account_id).with_for_update())
    if account is None:  # pragma: no cover - a foreign key keeps the account
        raise NotFound(f"No account with id {account_id}.")
    return account


def _lock_waiver(session: Session, waiver_id: int) -> FeeWaiver:
    waiver = session.scalar(select(FeeWaiver).where(FeeWaiver.id == waiver_id).with_for_update())
    if waiver is None:
        raise NotFound(f"No fee waiver with id {waiver_id}.")
    return waiver


def apply_pending_waiver(
    session: Session, *, waiver_id: int, actor: Principal, policies: PolicyStore
) -> FeeWaiver:
    """Apply a waiver that was waiting for approval (called by the approver's decision).

    Conflict when the waiver is not pending, or no longer fits the account's balances.
    """
    waiver = _lock_waiver(session, waiver_id)
    if waiver.status != WaiverStatus.PENDING_APPROVAL:
        raise Conflict(
            f"Fee waiver {waiver_id} is {waiver.status}, not waiting for approval.",
            code="waiver.not_pending",
            params={"id": waiver_id, "status": waiver.status},
        )
    account = _lock_account_by_id(session, waiver.account_id)
    policy = policies.get(waiver.policy_version) or policies.in_force(clock.today(session))
    before, after = _apply(session, account, waiver, policy=policy)
    emit_waiver_event(session, waiver)
    _audit_applied(session, waiver, actor, before, after)
    return waiver


def reject_pending_waiver(
    session: Session, *, waiver_id: int, actor: Principal, note: str | None
) -> FeeWaiver:
    """Mark a waiting waiver rejected (called by the approver's decision); balances are untouched."""
    waiver = _lock_waiver(session, waiver_id)
    if waiver.status != WaiverStatus.PENDING_APPROVAL:
        raise Conflict(
            f"Fee waiver {waiver_id} is {waiver.status}, not waiting for approval.",
            code="waiver.not_pending",
            params={"id": waiver_id, "status": waiver.status},
        )
    waiver.status = WaiverStatus.REJECTED
    session.flush()
    emit_waiver_event(session, waiver)
    audit.record(
        session,
        actor=actor,
        action="fee_waiver.rejected",
        entity_type="fee_waiver",
        entity_id=waiver.id,
        before={"status": "pending_approval"},
        after={"status": "rejected", "note": note},
    )
    return waiver


def reverse_waiver(session: Session, *, waiver_id: int, actor: Principal, note: str | None) -> FeeWaiver:
    """Undo an applied waiver: the fee and interest balances get the waived amounts back.

    Conflict when the waiver is not applied (pending, rejected or already reversed).
    """
    waiver = _lock_waiver(session, waiver_id)
    if waiver.status != WaiverStatus.APPLIED:
        raise Conflict(
            f"Fee waiver {waiver_id} is {waiver.status}; only an applied waiver can be reversed.",
            code="waiver.not_applied",
            params={"id": waiver_id, "status": waiver.status},
        )
    account = _lock_account_by_id(session, waiver.account_id)
    before = _balances(account)
    account.fee_balance = account.fee_balance + waiver.fee_amount
    account.interest_balance = account.interest_balance + waiver.interest_amount
    account.updated_at = clock.utcnow()
    waiver.status = WaiverStatus.REVERSED
    waiver.reversed_at = clock.utcnow()
    waiver.reversed_on = clock.today(session)
    session.flush()
    emit_waiver_event(session, waiver)
    audit.record(
        session,
        actor=actor,
        action="fee_waiver.reversed",
        entity_type="fee_waiver",
        entity_id=waiver.id,
        before={"status": "applied", **before, "account_ref": account.account_ref},
        after={"status": "reversed", **_balances(account), "account_ref": account.account_ref, "note": note},
    )
    return waiver


def get_waiver(session: Session, waiver_id: int) -> FeeWaiver:
    """The waiver; NotFound when there is none."""
    waiver = session.get(FeeWaiver, waiver_id)
    if waiver is None:
        raise NotFound(f"No fee waiver with id {waiver_id}.")
    return waiver


def list_waivers(session: Session, *, account_ref: str) -> list[FeeWaiver]:
    """The account's waivers, newest first; NotFound for an unknown account."""
    account = accounts.get_account_row(session, account_ref)
    return list(
        session.scalars(
            select(FeeWaiver).where(FeeWaiver.account_id == account.id).order_by(FeeWaiver.id.desc())
        )
    )


def waiver_reads(session: Session, waivers: Sequence[FeeWaiver]) -> list[WaiverRead]:
    """Waivers as the API and their events show them (``WaiverRead``): their own columns, with the
    account_ref and the latest approval, if any."""
    if not waivers:
        return []
    ids = [w.id for w in waivers]
    refs: dict[int, str] = {
        account_id: account_ref
        for account_id, account_ref in session.execute(
            select(CardAccount.id, CardAccount.account_ref).where(
                CardAccount.id.in_({w.account_id for w in waivers})
            )
        )
    }
    approvals: dict[int, Approval] = {}
    for approval in session.scalars(
        select(Approval)
        .where(Approval.subject_type == SUBJECT_TYPE, Approval.subject_id.in_(ids))
        .order_by(Approval.id)
    ):
        approvals[approval.subject_id] = approval  # the latest one wins
    return [
        WaiverRead.model_validate(
            Attributes(
                w,
                account_ref=refs.get(w.account_id),
                approval_id=approvals[w.id].id if w.id in approvals else None,
                approval_status=approvals[w.id].status if w.id in approvals else None,
            )
        )
        for w in waivers
    ]


def waiver_read(session: Session, waiver: FeeWaiver) -> WaiverRead:
    """One waiver as the API shows it."""
    return waiver_reads(session, [waiver])[0]
