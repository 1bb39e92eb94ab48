"""Eligibility: what relief can this cardholder get, with every reason code (a stored decision)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import LanguageDep, PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute, autocommit, model_response
from app.schemas.common import AccountRef
from app.schemas.eligibility import EligibilityRead, EligibilityRequest
from app.services import eligibility
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/accounts", tags=["eligibility"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.post(
    "/{account_ref}/eligibility",
    operation_id="eligibility-evaluate",
    response_model=EligibilityRead,
    responses=problem_responses(404, 409),
)
@autocommit
def evaluate_eligibility(
    body: EligibilityRequest,
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.ELIGIBILITY_EVALUATE))],
    account_ref: str = AccountRef,
) -> Response:
    """Judge installment_plan, fee_waiver and disaster_deferral; the decision is stored for replay.

    Reason words follow Accept-Language (en: English, otherwise Simplified Chinese).
    """
    result = eligibility.evaluate_account(
        session,
        account_ref=account_ref,
        hardship_reason=body.reason,
        monthly_income=body.monthly_income,
        requested_term=body.term_months,
        lang=lang,
        actor=principal,
        policies=policies,
    )
    return model_response(EligibilityRead, result)
