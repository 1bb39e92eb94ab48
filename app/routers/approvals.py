"""Maker-checker approvals: a supervisor other than the requester approves or rejects."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.approvals import ApprovalDecide, ApprovalList, ApprovalRead
from app.services import approvals
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/approvals", tags=["approvals"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)
ApprovalId = Path(ge=1, le=2**62, description="Approval id")


@router.get("", operation_id="approvals-list")
def list_approvals(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.APPROVAL_READ))],
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ApprovalList:
    """Approvals oldest first (a queue); ``status=pending`` for what waits for a decision."""
    rows = approvals.list_approvals(session, status=status, after_id=decode_cursor(cursor), limit=limit)
    return ApprovalList(
        items=[ApprovalRead.model_validate(a) for a in approvals.approval_dicts(session, rows)],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/{approval_id}", operation_id="approvals-get", responses=problem_responses(404))
def get_approval(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.APPROVAL_READ))],
    approval_id: int = ApprovalId,
) -> ApprovalRead:
    """One approval."""
    row = approvals.get_approval(session, approval_id)
    return ApprovalRead.model_validate(approvals.approval_dicts(session, [row])[0])


@router.post(
    "/{approval_id}/approve", operation_id="approvals-approve", responses=problem_responses(404, 409)
)
def approve(
    body: ApprovalDecide,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.APPROVAL_DECIDE))],
    approval_id: int = ApprovalId,
) -> ApprovalRead:
    """Approve and carry out the request (a waiver is applied); 403 for one's own request."""
    row = approvals.approve(
        session, approval_id=approval_id, actor=principal, note=body.note, policies=policies
    )
    return ApprovalRead.model_validate(approvals.approval_dicts(session, [row])[0])


@router.post("/{approval_id}/reject", operation_id="approvals-reject", responses=problem_responses(404, 409))
def reject(
    body: ApprovalDecide,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.APPROVAL_DECIDE))],
    approval_id: int = ApprovalId,
) -> ApprovalRead:
    """Reject the request (nothing is applied); 403 for one's own request."""
    row = approvals.reject(session, approval_id=approval_id, actor=principal, note=body.note)
    return ApprovalRead.model_validate(approvals.approval_dicts(session, [row])[0])
