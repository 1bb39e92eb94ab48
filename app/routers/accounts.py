"""Accounts: the snapshot with statements and arrangements; the card system's single-account upsert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute, autocommit, model_response
from app.schemas.accounts import AccountRead, AccountUpsert
from app.schemas.common import AccountRef
from app.services import accounts
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/accounts", tags=["accounts"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.get(
    "/{account_ref}",
    operation_id="accounts-get",
    response_model=AccountRead,
    responses=problem_responses(404),
)
@autocommit
def get_account(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.ACCOUNT_READ))],
    account_ref: str = AccountRef,
) -> Response:
    """The account snapshot, its statements and its current arrangements."""
    return model_response(AccountRead, accounts.view_account(session, account_ref))


@router.put(
    "/{account_ref}",
    operation_id="accounts-upsert",
    responses={201: {"model": AccountRead, "description": "Created"}},
)
def upsert_account(
    body: AccountUpsert,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.ACCOUNT_WRITE))],
    account_ref: str = AccountRef,
) -> AccountRead:
    """Creates or replaces one account snapshot from the card system (201 when created)."""
    values = body.model_dump(exclude={"statements"})
    if body.statements is not None:
        values["statements"] = [s.model_dump() for s in body.statements]
    view, created = accounts.upsert_account(session, account_ref=account_ref, values=values, actor=principal)
    response.status_code = 201 if created else 200
    return AccountRead.model_validate(view)
