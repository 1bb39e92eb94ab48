"""Maker-checker approvals: what exceeds the maker's authority waits for a different supervisor.

DOMAIN.md: "Supervisors approve or reject what exceeds an agent's authority (maker-checker: nobody
approves their own request)". One pending approval per subject is kept by the database (partial
unique index). Approving a fee waiver applies it; rejecting it leaves the balances alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.statuses import ApprovalStatus
from app.persistence.models import Approval, CardAccount
from app.services import audit, clock, waivers
from app.services.errors import Conflict, Forbidden, NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = ["STATUSES", "approval_dicts", "approve", "get_approval", "list_approvals", "reject"]

STATUSES = ("pending", "approved", "rejected")


def list_approvals(session: Session, *, status: str | None, after_id: int, limit: int) -> list[Approval]:
    """A page of approvals, oldest first (a queue), optionally with one status; keyset on the id."""
    query = select(Approval).where(Approval.id > after_id)
    if status is not None:
        query = query.where(Approval.status == status)
    return list(session.scalars(query.order_by(Approval.id).limit(limit)))


def get_approval(session: Session, approval_id: int) -> Approval:
    """The approval; NotFound when there is none."""
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"No approval with id {approval_id}.")
    return approval


def is_same_person(approval: Approval, actor: Principal) -> bool:
    """Maker-checker compares persons, never names (CONTRACT.md, "People and credentials"): a user
    and every key issued to them are one person. Requests recorded before persons were kept are
    compared by their recorded actor."""
    if approval.requested_person is not None:
        return approval.requested_person == actor.person
    return approval.requested_by == actor.actor


def _lock_for_decision(session: Session, approval_id: int, actor: Principal) -> Approval:
    approval = session.scalar(select(Approval).where(Approval.id == approval_id).with_for_update())
    if approval is None:
        raise NotFound(f"No approval with id {approval_id}.")
    if is_same_person(approval, actor):
        raise Forbidden(
            "Maker-checker: nobody may approve or reject their own request.", code="approval.own_request"
        )
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(
            f"Approval {approval_id} is already {approval.status}.",
            code="approval.already_decided",
            params={"id": approval_id, "status": approval.status},
        )
    return approval


def _settle(approval: Approval, *, status: str, actor: Principal, note: str | None) -> None:
    """Record the decision on the approval (before the subject changes, so that the subject's event
    shows the decided approval)."""
    approval.status = status
    approval.decided_by = actor.actor
    approval.decided_person = actor.person
    approval.decided_at = clock.utcnow()
    approval.decision_note = note


def _audit_decision(session: Session, approval: Approval, *, actor: Principal, note: str | None) -> None:
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"approval.{approval.status}",
        entity_type="approval",
        entity_id=approval.id,
        before={"status": "pending"},
        after={
            "status": approval.status,
            "subject_type": approval.subject_type,
            "subject_id": approval.subject_id,
            "requested_by": approval.requested_by,
            "note": note,
        },
    )


def approve(
    session: Session, *, approval_id: int, actor: Principal, note: str | None, policies: PolicyStore
) -> Approval:
    """Approve a pending request and carry it out (a fee waiver is applied to the balances).

    Forbidden for the requester themself; Conflict when it is no longer pending, or when the subject
    can no longer be carried out (e.g. the balances changed meanwhile).
    """
    approval = _lock_for_decision(session, approval_id, actor)
    if approval.subject_type != waivers.SUBJECT_TYPE:
        raise Conflict(
            f"Approval {approval_id} is for a {approval.subject_type}, which cannot be approved here."
        )
    _settle(approval, status=ApprovalStatus.APPROVED, actor=actor, note=note)
    waivers.apply_pending_waiver(session, waiver_id=approval.subject_id, actor=actor, policies=policies)
    _audit_decision(session, approval, actor=actor, note=note)
    return approval


def reject(session: Session, *, approval_id: int, actor: Principal, note: str | None) -> Approval:
    """Reject a pending request (a fee waiver becomes "rejected"; nothing is applied).

    Forbidden for the requester themself; Conflict when it is no longer pending.
    """
    approval = _lock_for_decision(session, approval_id, actor)
    _settle(approval, status=ApprovalStatus.REJECTED, actor=actor, note=note)
    if approval.subject_type == waivers.SUBJECT_TYPE:
        waivers.reject_pending_waiver(session, waiver_id=approval.subject_id, actor=actor, note=note)
    _audit_decision(session, approval, actor=actor, note=note)
    return approval


def approval_dicts(session: Session, approvals: Sequence[Approval]) -> list[dict[str, Any]]:
    """Approvals as the API shows them, with the account_ref."""
    if not approvals:
        return []
    refs: dict[int, str] = {
        account_id: account_ref
        for account_id, account_ref in session.execute(
            select(CardAccount.id, CardAccount.account_ref).where(
                CardAccount.id.in_({a.account_id for a in approvals})
            )
        )
    }
    return [
        {
            "id": a.id,
            "subject_type": a.subject_type,
            "subject_id": a.subject_id,
            "account_ref": refs.get(a.account_id),
            "status": a.status,
            "amount": a.amount,
            "why": a.why,
            "requested_by": a.requested_by,
            "requested_role": a.requested_role,
            "decided_by": a.decided_by,
            "decided_at": a.decided_at,
            "decision_note": a.decision_note,
            "created_at": a.created_at,
            "requested_person": a.requested_person,
            "decided_person": a.decided_person,
        }
        for a in approvals
    ]
