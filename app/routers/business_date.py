"""The bank's business date: read by every role, pinned and unpinned by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS
from app.routing import UnitOfWorkRoute
from app.schemas.business_date import BusinessDatePin, BusinessDateRead
from app.services import business_date
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/business-date",
    tags=["business-date"],
    route_class=UnitOfWorkRoute,
    responses=STANDARD_PROBLEMS,
)


@router.get("", operation_id="business-date-get")
def get_business_date(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.BUSINESS_DATE_READ))],
) -> BusinessDateRead:
    """The date every rule uses as today: the date in the bank's zone, or the one an admin pinned."""
    return BusinessDateRead.model_validate(business_date.current(session))


@router.put("", operation_id="business-date-pin")
def pin_business_date(
    body: BusinessDatePin,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.BUSINESS_DATE_MANAGE))],
) -> BusinessDateRead:
    """Pin the business date for every process (close of business, replays, tests). Audited."""
    return BusinessDateRead.model_validate(business_date.pin(session, on=body.date, actor=principal))


@router.delete("", operation_id="business-date-unpin")
def unpin_business_date(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.BUSINESS_DATE_MANAGE))],
) -> BusinessDateRead:
    """Return to the calendar date in the bank's zone. Audited."""
    return BusinessDateRead.model_validate(business_date.unpin(session, actor=principal))
