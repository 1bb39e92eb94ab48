"""Disasters: declare, list, read, amend (widen only), close, and the disaster report (JSON or CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.disasters import DisasterAmend, DisasterCreate, DisasterList, DisasterRead
from app.schemas.reports import DisasterReport
from app.services import disasters, reports
from app.services.csvout import csv_text
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/disasters", tags=["disasters"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)
DisasterCode = Path(min_length=1, max_length=64, description="The disaster's code")
CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON, or CSV on Accept: text/csv",
    }
}


def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "").lower()


def csv_response(text: str, filename: str) -> Response:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("", status_code=201, operation_id="disasters-declare", responses=problem_responses(409))
def declare_disaster(
    body: DisasterCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_DECLARE))],
) -> DisasterRead:
    """Declare a disaster: its region codes, relief window and deferral months; 409 if the code exists."""
    event = disasters.declare_event(session, actor=principal, **body.model_dump())
    return DisasterRead.model_validate(event)


@router.get("", operation_id="disasters-list")
def list_disasters(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_READ))],
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DisasterList:
    """Declared disasters, oldest first."""
    events = disasters.list_events(session, status=status, after_id=decode_cursor(cursor), limit=limit)
    return DisasterList(
        items=[DisasterRead.model_validate(e) for e in events],
        next_cursor=next_cursor([e.id for e in events], limit),
    )


@router.get("/{code}", operation_id="disasters-get", responses=problem_responses(404))
def get_disaster(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_READ))],
    code: str = DisasterCode,
) -> DisasterRead:
    """One disaster with its regions, version, status and amendments."""
    return DisasterRead.model_validate(disasters.get_event(session, code))


@router.patch("/{code}", operation_id="disasters-amend", responses=problem_responses(404, 409))
def amend_disaster(
    body: DisasterAmend,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_AMEND))],
    code: str = DisasterCode,
) -> DisasterRead:
    """Widen an open disaster (add regions, later relief_end, more deferral months); bumps the version.

    Shrinking is refused (422), a closed disaster cannot be amended (409). Run an enroll scan
    afterwards: it enrolls the newly covered accounts and extends the existing deferrals."""
    event = disasters.amend_event(
        session,
        code=code,
        add_region_codes=body.add_region_codes,
        relief_end=body.relief_end,
        deferral_months=body.deferral_months,
        actor=principal,
    )
    return DisasterRead.model_validate(event)


@router.post("/{code}/close", operation_id="disasters-close", responses=problem_responses(404, 409))
def close_disaster(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_AMEND))],
    code: str = DisasterCode,
) -> DisasterRead:
    """Close a disaster: no more enrollment; reports, dry runs and disputes still work."""
    return DisasterRead.model_validate(disasters.close_event(session, code=code, actor=principal))


@router.get(
    "/{code}/report",
    operation_id="disasters-report",
    response_model=DisasterReport,
    responses={**problem_responses(404), **CSV_RESPONSE},
)
def disaster_report(
    request: Request,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.REPORT_READ))],
    code: str = DisasterCode,
) -> DisasterReport | Response:
    """Customers and accounts enrolled, amounts deferred, interest and late fees not charged, disputes
    by status: in total and by region code. `Accept: text/csv` gives one row per region and TOTAL."""
    report = reports.disaster_report(session, disaster_code=code, policies=policies)
    if wants_csv(request):
        text = csv_text(reports.REPORT_CSV_HEADER, reports.report_csv_rows(report))
        return csv_response(text, f"disaster-{code}-report.csv")
    return DisasterReport.model_validate(report)
