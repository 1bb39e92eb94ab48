"""Servicing runs: bring every active plan and deferral to the business date (batch operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.servicing import ServicingRunCreate, ServicingRunRead
from app.services import servicing
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/servicing-runs", tags=["servicing"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)
RunId = Path(ge=1, le=2**62, description="Servicing run id")


@router.post("", status_code=201, operation_id="servicing-run")
def run_servicing(
    body: ServicingRunCreate,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.SERVICING_RUN))],
) -> ServicingRunRead:
    """Bring every active plan and deferral to the business date (DOMAIN.md, "Servicing").

    Running it again for the same date changes nothing (its counts are then 0). For a large
    portfolio run it on the workers (`hardship servicing run` or the Celery task)."""
    summary = servicing.run_servicing(session, actor=principal, policies=policies)
    return ServicingRunRead.model_validate(summary.to_dict())


@router.get("/{run_id}", operation_id="servicing-get", responses=problem_responses(404))
def get_run(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.SERVICING_READ))],
    run_id: int = RunId,
) -> ServicingRunRead:
    """One recorded servicing run."""
    return ServicingRunRead.model_validate(servicing.get_run(session, run_id).to_dict())
