"""Disaster deferrals of an account, with their lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.common import AccountRef
from app.schemas.deferrals import DeferralList, DeferralRead
from app.services import deferrals
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/accounts", tags=["deferrals"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.get("/{account_ref}/deferrals", operation_id="deferrals-list", responses=problem_responses(404))
def list_deferrals(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DEFERRAL_READ))],
    account_ref: str = AccountRef,
) -> DeferralList:
    """Every disaster deferral of the account: amounts and, per deferred statement, the new due date."""
    items = deferrals.list_deferrals(session, account_ref=account_ref)
    return DeferralList(items=[DeferralRead.model_validate(d) for d in items])
