"""Credit-report disputes: file a disaster's disputes in bulk, file one case, list (JSON or CSV),
read, and move through the lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.domain.disputes import DisputeStatus
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routers.disasters import CSV_RESPONSE, DisasterCode, csv_response, wants_csv
from app.routing import UnitOfWorkRoute
from app.schemas.disputes import (
    DisputeBulkRequest,
    DisputeBulkResult,
    DisputeCreate,
    DisputeList,
    DisputeRead,
    DisputeTransition,
)
from app.services import disputes
from app.services.csvout import csv_text
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1", tags=["credit-disputes"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)
DisputeId = Path(ge=1, le=2**62, description="Credit dispute id")


@router.post(
    "/disasters/{code}/credit-disputes",
    status_code=201,
    operation_id="credit-disputes-file-for-disaster",
    responses=problem_responses(404),
)
def file_disaster_disputes(
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPUTE_BULK))],
    code: str = DisasterCode,
    body: DisputeBulkRequest | None = None,
) -> DisputeBulkResult:
    """Record one dispute for each enrolled account whose delinquency began in [occurred_on, relief_end].

    Asking again records nothing twice: `existing` counts the disputes already there."""
    created, existing = disputes.file_for_disaster(
        session, disaster_code=code, actor=principal, policies=policies
    )
    return DisputeBulkResult(created=created, existing=existing)


@router.post(
    "/credit-disputes",
    status_code=201,
    operation_id="credit-disputes-create",
    responses=problem_responses(404),
)
def create_dispute(
    body: DisputeCreate,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPUTE_CREATE))],
) -> DisputeRead:
    """File one credit-report dispute for an account, with a description and evidence references."""
    view = disputes.create_dispute(session, actor=principal, policies=policies, **body.model_dump())
    return DisputeRead.model_validate(view)


@router.get(
    "/credit-disputes",
    operation_id="credit-disputes-list",
    response_model=DisputeList,
    responses=CSV_RESPONSE,
)
def list_disputes(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPUTE_READ))],
    disaster_code: Annotated[str | None, Query(max_length=64)] = None,
    status: DisputeStatus | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DisputeList | Response:
    """Disputes in filing order; `overdue=true` gives the open ones past their due date.
    `Accept: text/csv` exports every match (paging parameters are ignored)."""
    if wants_csv(request):
        rows = disputes.dispute_csv_rows(session, disaster_code=disaster_code, status=status, overdue=overdue)
        return csv_response(csv_text(disputes.DISPUTE_CSV_HEADER, rows), "credit-disputes.csv")
    page = disputes.list_disputes(
        session,
        disaster_code=disaster_code,
        status=status,
        overdue=overdue,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return DisputeList(
        items=[DisputeRead.model_validate(d) for d in page],
        next_cursor=next_cursor([d.id for d in page], limit),
    )


@router.get(
    "/credit-disputes/{dispute_id}", operation_id="credit-disputes-get", responses=problem_responses(404)
)
def get_dispute(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPUTE_READ))],
    dispute_id: int = DisputeId,
) -> DisputeRead:
    """One dispute, with its deadline and whether it is overdue."""
    return DisputeRead.model_validate(disputes.get_dispute(session, dispute_id))


@router.post(
    "/credit-disputes/{dispute_id}/transitions",
    operation_id="credit-disputes-transition",
    responses=problem_responses(404, 409),
)
def transition_dispute(
    body: DisputeTransition,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISPUTE_TRANSITION))],
    dispute_id: int = DisputeId,
) -> DisputeRead:
    """submitted -> under_review -> corrected | rejected, or withdrawn from either of the first two;
    any other move is a 409. Audited."""
    view = disputes.transition_dispute(
        session, dispute_id=dispute_id, target_status=body.status, note=body.note, actor=principal
    )
    return DisputeRead.model_validate(view)
