"""The card system's instruction file of one business date: JSON, or CSV on Accept: text/csv."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS
from app.routers.disasters import CSV_RESPONSE, csv_response, wants_csv
from app.routing import UnitOfWorkRoute
from app.schemas.instructions import InstructionList
from app.services import instructions
from app.services.csvout import csv_text
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/instructions", tags=["instructions"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.get("", operation_id="instructions-list", response_model=InstructionList, responses=CSV_RESPONSE)
def list_instructions(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.INSTRUCTION_READ))],
    on: Annotated[date, Query(alias="date", description="The business date (YYYY-MM-DD)")],
) -> InstructionList | Response:
    """What the card system must do for the relief granted, ended or reversed on that business date,
    one row each, the same rows on every export."""
    rows = instructions.instructions_on(session, on=on)
    if wants_csv(request):
        return csv_response(csv_text(instructions.COLUMNS, (r.row() for r in rows)), f"instructions-{on}.csv")
    return InstructionList.model_validate({"items": [instructions.as_json(r) for r in rows]})
