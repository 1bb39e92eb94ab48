"""Disaster scans of the whole portfolio: start (202), read, list, results (JSON pages or CSV), resume.

Importing app.jobs registers the executors: a scan runs once the request's transaction commits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

import app.jobs  # noqa: F401  (registers the scan executors with the scans service)
from app.deps import PoliciesDep, SessionDep, SettingsDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routers.disasters import CSV_RESPONSE, DisasterCode, wants_csv
from app.routing import UnitOfWorkRoute
from app.schemas.scans import ScanAccepted, ScanCreate, ScanList, ScanRead, ScanResultList, ScanResultRead
from app.services import scans
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(prefix="/v1", tags=["scans"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS)
ScanId = Path(ge=1, le=2**62, description="Scan id")


@router.post(
    "/disasters/{code}/scans",
    status_code=202,
    operation_id="scans-start",
    responses=problem_responses(404, 409),
)
def start_scan(
    body: ScanCreate,
    response: Response,
    session: SessionDep,
    policies: PoliciesDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.SCAN_RUN))],
    code: str = DisasterCode,
) -> ScanAccepted:
    """Scan the whole portfolio for the disaster: `dry_run` only reports, `enroll` records deferrals.

    Answers 202 at once; poll `GET /v1/scans/{id}`. A dry run may name a draft `policy_version` to see
    what the draft would change."""
    scan = scans.start_scan(
        session,
        disaster_code=code,
        mode=body.mode,
        actor=principal,
        policies=policies,
        draft_policy_version=body.policy_version,
        settings=settings,
    )
    response.headers["Location"] = f"/v1/scans/{scan.id}"
    return ScanAccepted(id=scan.id, status="queued", disaster_code=code, mode=scan.mode)


@router.get("/scans", operation_id="scans-list")
def list_scans(
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.SCAN_READ))],
    disaster_code: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ScanList:
    """Scans, oldest first, optionally of one disaster."""
    views = scans.list_scans(
        session, disaster_code=disaster_code, after_id=decode_cursor(cursor), limit=limit, policies=policies
    )
    return ScanList(
        items=[ScanRead.model_validate(v.as_dict()) for v in views],
        next_cursor=next_cursor([v.id for v in views], limit),
    )


@router.get("/scans/{scan_id}", operation_id="scans-get", responses=problem_responses(404))
def get_scan(
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.SCAN_READ))],
    scan_id: int = ScanId,
) -> ScanRead:
    """The scan's status and totals (contract fields), its progress and its manifest."""
    return ScanRead.model_validate(scans.get_scan(session, scan_id, policies=policies).as_dict())


@router.get(
    "/scans/{scan_id}/results",
    operation_id="scans-results",
    response_model=ScanResultList,
    responses={**problem_responses(404), **CSV_RESPONSE},
)
def list_scan_results(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.SCAN_READ))],
    scan_id: int = ScanId,
    eligible: bool | None = None,
    reason: Annotated[str | None, Query(max_length=64, description="Only results failing this rule")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ScanResultList | Response:
    """The accounts the scan evaluated (those in the disaster's regions), with reason codes and amounts.

    `Accept: text/csv` streams the whole list (paging parameters are ignored)."""
    page = scans.list_results(
        session,
        scan_id=scan_id,
        eligible=eligible,
        reason=reason,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    if wants_csv(request):
        return StreamingResponse(
            scans.iter_results_csv(
                request.app.state.engine, scan_id=scan_id, eligible=eligible, reason=reason
            ),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="scan-{scan_id}-results.csv"'},
        )
    return ScanResultList(
        items=[ScanResultRead.model_validate(r) for r in page],
        next_cursor=next_cursor([r.cursor_id for r in page], limit),
    )


@router.post(
    "/scans/{scan_id}/resume",
    status_code=202,
    operation_id="scans-resume",
    responses=problem_responses(404, 409),
)
def resume_scan(
    session: SessionDep,
    policies: PoliciesDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.SCAN_RUN))],
    scan_id: int = ScanId,
) -> ScanAccepted:
    """Re-queue the unfinished chunks of a failed (or stuck) scan; 409 if it already succeeded."""
    scan = scans.resume_scan(session, scan_id=scan_id, actor=principal, policies=policies, settings=settings)
    view = scans.get_scan(session, scan.id, policies=policies)
    return ScanAccepted.model_validate(
        {"id": view.id, "status": view.status, "disaster_code": view.disaster_code, "mode": view.mode}
    )
