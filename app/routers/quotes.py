"""Quotes: installment schedules side by side; nothing is stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import LanguageDep, PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute, autocommit, json_response
from app.schemas.fast import json_values
from app.schemas.plans import QuoteRead, QuoteRequest
from app.services import plans
from app.services.principal import Principal

# The answer's JSON values, read from the quote in the fields and order of QuoteRead (its response
# model) without validating the values the service computed (app/schemas/fast.py).
_QUOTE_VALUES = json_values(QuoteRead)

router = APIRouter(
    prefix="/v1/quotes", tags=["quotes"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.post(
    "/installment-plan",
    operation_id="quotes-installment-plan",
    response_model=QuoteRead,
    responses=problem_responses(404, 409),
)
@autocommit
def quote_installment_plan(
    body: QuoteRequest,
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.QUOTE))],
) -> Response:
    """Schedules for several terms (default: the usual terms allowed, plus the recommended one)."""
    quote = plans.quote_plans(
        session,
        account_ref=body.account_ref,
        terms=body.terms,
        monthly_income=body.monthly_income,
        policies=policies,
        lang=lang,
    )
    return json_response(_QUOTE_VALUES(quote))
