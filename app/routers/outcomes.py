"""The outcomes report: how the plans started in a period ended (supervisors and auditors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS
from app.routers.disasters import CSV_RESPONSE, csv_response, wants_csv
from app.routing import UnitOfWorkRoute
from app.schemas.reports import OutcomesReport
from app.services import outcomes
from app.services.csvout import csv_text
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/reports", tags=["reports"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.get(
    "/outcomes",
    operation_id="reports-outcomes",
    response_model=OutcomesReport,
    responses=CSV_RESPONSE,
)
def outcomes_report(
    request: Request,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.OUTCOME_REPORT_READ))],
    start: Annotated[date, Query(alias="from", description="Plans started on or after this day")],
    end: Annotated[date, Query(alias="to", description="... and on or before this day")],
) -> OutcomesReport | Response:
    """Plans started in [from, to]: how many are active, completed, broken or cancelled, the amounts
    restructured, paid and outstanding, the kept and on-time rates, by prefecture and by term bucket,
    and the waivers and deferrals created in the period. `Accept: text/csv` gives one row per
    prefecture and per term bucket, then TOTAL."""
    report = outcomes.outcomes_report(session, start=start, end=end, policies=policies)
    if wants_csv(request):
        text = csv_text(outcomes.OUTCOMES_CSV_HEADER, outcomes.outcomes_csv_rows(report))
        return csv_response(text, f"outcomes-{start.isoformat()}-{end.isoformat()}.csv")
    return OutcomesReport.model_validate(report)
