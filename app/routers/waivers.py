"""Fee and interest waivers: applied within the caller's authority, otherwise sent for approval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.deps import LanguageDep, PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.common import AccountRef
from app.schemas.waivers import WaiverCreate, WaiverList, WaiverRead, WaiverReverse
from app.services import waivers
from app.services.principal import Principal

router = APIRouter(prefix="/v1", tags=["waivers"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS)
WaiverId = Path(ge=1, le=2**62, description="Fee waiver id")


@router.post(
    "/accounts/{account_ref}/fee-waivers",
    status_code=201,
    operation_id="waivers-create",
    responses=problem_responses(404, 409),
)
def create_waiver(
    body: WaiverCreate,
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.WAIVER_CREATE))],
    account_ref: str = AccountRef,
) -> WaiverRead:
    """Waive fees (and, by policy, interest): status applied, or pending_approval with an approval_id."""
    waiver = waivers.request_waiver(
        session,
        account_ref=account_ref,
        fee_amount=body.fee_amount,
        interest_amount=body.interest_amount,
        hardship_reason=body.reason,
        note=body.note,
        actor=principal,
        policies=policies,
        lang=lang,
    )
    return waivers.waiver_read(session, waiver)


@router.get(
    "/accounts/{account_ref}/fee-waivers", operation_id="waivers-list", responses=problem_responses(404)
)
def list_waivers(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.WAIVER_READ))],
    account_ref: str = AccountRef,
) -> WaiverList:
    """The account's waivers, newest first."""
    rows = waivers.list_waivers(session, account_ref=account_ref)
    return WaiverList(items=waivers.waiver_reads(session, rows))


@router.get("/fee-waivers/{waiver_id}", operation_id="waivers-get", responses=problem_responses(404))
def get_waiver(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.WAIVER_READ))],
    waiver_id: int = WaiverId,
) -> WaiverRead:
    """One waiver."""
    return waivers.waiver_read(session, waivers.get_waiver(session, waiver_id))


@router.post(
    "/fee-waivers/{waiver_id}/reverse", operation_id="waivers-reverse", responses=problem_responses(404, 409)
)
def reverse_waiver(
    body: WaiverReverse,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.APPROVAL_DECIDE))],
    waiver_id: int = WaiverId,
) -> WaiverRead:
    """Reverse an applied waiver: the fee and interest balances are restored (409 if not applied)."""
    waiver = waivers.reverse_waiver(session, waiver_id=waiver_id, actor=principal, note=body.note)
    return waivers.waiver_read(session, waiver)
