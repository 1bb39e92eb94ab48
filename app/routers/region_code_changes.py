"""Administrative region code changes: the policy's table and the operators' additions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.disasters import RegionCodeChangeCreate, RegionCodeChangeList, RegionCodeChangeRead
from app.services import regions
from app.services.clock import today
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/region-code-changes",
    tags=["region-code-changes"],
    route_class=UnitOfWorkRoute,
    responses=STANDARD_PROBLEMS,
)


@router.get("", operation_id="region-code-changes-list")
def list_region_code_changes(
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.DISASTER_READ))],
) -> RegionCodeChangeList:
    """The code change table in force (old -> new): the policy's entries and the operators' additions."""
    entries = regions.list_region_code_changes(session, policy=policies.in_force(today(session)))
    return RegionCodeChangeList(items=[RegionCodeChangeRead.model_validate(e) for e in entries])


@router.post("", status_code=201, operation_id="region-code-changes-create", responses=problem_responses(409))
def create_region_code_change(
    body: RegionCodeChangeCreate,
    session: SessionDep,
    policies: PoliciesDep,
    principal: Annotated[Principal, Depends(require(Permission.REGION_CHANGE_MANAGE))],
) -> RegionCodeChangeRead:
    """Add a code change (e.g. after a boundary change); a change that would loop is refused (422)."""
    entry = regions.create_region_code_change(
        session,
        old_code=body.old_code,
        new_code=body.new_code,
        effective_on=body.effective_on,
        note=body.note,
        actor=principal,
        policy=policies.in_force(today(session)),
    )
    return RegionCodeChangeRead.model_validate(entry)
