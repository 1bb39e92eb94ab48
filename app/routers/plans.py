"""Installment plans: create (201 with the schedule and agreement), negotiate online, read, cancel, break."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.deps import LanguageDep, PoliciesDep, SessionDep, require
from app.domain.access import Permission, Role
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.common import AccountRef, Attributes
from app.schemas.plans import NegotiationRead, PlanCreate, PlanList, PlanNegotiate, PlanRead, PlanTransition
from app.services import plans
from app.services.principal import Principal

router = APIRouter(prefix="/v1", tags=["plans"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS)
PlanId = Path(ge=1, le=2**62, description="Installment plan id")


def _channel(principal: Principal) -> str:
    return "mobile" if principal.role == Role.CHANNEL else "agent"


def _commitment(principal: Principal, accepted: bool | None) -> bool:
    """The mobile app collects the cardholder's acceptance before calling; agents confirm it explicitly."""
    if accepted is None:
        return principal.role == Role.CHANNEL
    return accepted


@router.post(
    "/accounts/{account_ref}/installment-plans",
    status_code=201,
    operation_id="plans-create",
    responses=problem_responses(404, 409),
)
def create_plan(
    body: PlanCreate,
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_CREATE))],
    account_ref: str = AccountRef,
) -> PlanRead:
    """Create a negotiated installment plan starting today; 422 with reason codes when ineligible."""
    plan = plans.create_plan(
        session,
        account_ref=account_ref,
        term_months=body.term_months,
        hardship_reason=body.reason,
        actor=principal,
        policies=policies,
        lang=lang,
        channel=_channel(principal),
        recording_ref=body.recording_ref,
        commitment_accepted=_commitment(principal, body.commitment_accepted),
    )
    return plans.plan_read(session, plan)


@router.post(
    "/accounts/{account_ref}/installment-plans/negotiate",
    status_code=201,
    operation_id="plans-negotiate",
    responses={
        200: {
            "model": NegotiationRead,
            "description": "Counter-offer: the nearest allowed term; nothing created",
        },
        **problem_responses(404, 409),
    },
)
def negotiate_plan(
    body: PlanNegotiate,
    response: Response,
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_CREATE))],
    account_ref: str = AccountRef,
) -> NegotiationRead:
    """Accept the proposed term and create the plan (201), or counter-offer the nearest allowed term (200)."""
    outcome = plans.negotiate_plan(
        session,
        account_ref=account_ref,
        proposed_term_months=body.proposed_term_months,
        hardship_reason=body.reason,
        monthly_income=body.monthly_income,
        actor=principal,
        policies=policies,
        lang=lang,
        channel=_channel(principal),
        recording_ref=body.recording_ref,
        commitment_accepted=_commitment(principal, body.commitment_accepted),
    )
    if outcome.plan is None:
        response.status_code = 200
    plan = None if outcome.plan is None else plans.plan_read(session, outcome.plan)
    return NegotiationRead.model_validate(Attributes(outcome, plan=plan))


@router.get(
    "/accounts/{account_ref}/installment-plans", operation_id="plans-list", responses=problem_responses(404)
)
def list_plans(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_READ))],
    account_ref: str = AccountRef,
) -> PlanList:
    """The account's plans, newest first, each with its schedule."""
    rows = plans.list_plans(session, account_ref=account_ref)
    return PlanList(items=[plans.plan_read(session, p) for p in rows])


@router.get("/installment-plans/{plan_id}", operation_id="plans-get", responses=problem_responses(404))
def get_plan(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_READ))],
    plan_id: int = PlanId,
) -> PlanRead:
    """One plan with its schedule and agreement."""
    return plans.plan_read(session, plans.get_plan(session, plan_id))


@router.post(
    "/installment-plans/{plan_id}/cancel", operation_id="plans-cancel", responses=problem_responses(404, 409)
)
def cancel_plan(
    body: PlanTransition,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_MANAGE))],
    plan_id: int = PlanId,
) -> PlanRead:
    """Cancel an active plan (409 for a plan that is not active)."""
    plan = plans.cancel_plan(session, plan_id=plan_id, actor=principal, note=body.note)
    return plans.plan_read(session, plan)


@router.post(
    "/installment-plans/{plan_id}/break", operation_id="plans-break", responses=problem_responses(404, 409)
)
def break_plan(
    body: PlanTransition,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.PLAN_MANAGE))],
    plan_id: int = PlanId,
) -> PlanRead:
    """Mark an active plan broken (not kept); 409 for a plan that is not active."""
    plan = plans.break_plan(session, plan_id=plan_id, actor=principal, note=body.note)
    return plans.plan_read(session, plan)
