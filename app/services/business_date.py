"""The business date: what it is now, and an admin's pin (CONTRACT.md, "The business date")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.persistence.models import BusinessDatePin
from app.services import audit
from app.services.clock import forget_today, today, utcnow
from app.services.principal import Principal
from app.settings import get_settings


@dataclass(frozen=True, slots=True)
class BusinessDate:
    date: date
    timezone: str
    pinned: bool


def current(session: Session) -> BusinessDate:
    """The business date in force for this unit of work."""
    on = today(session)
    pinned = session.scalar(select(BusinessDatePin.id).where(BusinessDatePin.id == 1)) is not None
    return BusinessDate(date=on, timezone=get_settings().business_timezone, pinned=pinned)


def pin(session: Session, *, on: date, actor: Principal) -> BusinessDate:
    """Pin the business date for every process until it is unpinned."""
    before = current(session)
    row = session.get(BusinessDatePin, 1)
    if row is None:
        row = BusinessDatePin(id=1, pinned_on=on, pinned_by=actor.actor, pinned_at=utcnow())
        session.add(row)
    else:
        row.pinned_on, row.pinned_by, row.pinned_at = on, actor.actor, utcnow()
    session.flush()
    forget_today(session)
    after = current(session)
    _audit(session, actor, "business_date.pinned", before, after)
    return after


def unpin(session: Session, *, actor: Principal) -> BusinessDate:
    """Return to the calendar date in the bank's zone."""
    before = current(session)
    session.execute(delete(BusinessDatePin).where(BusinessDatePin.id == 1))
    forget_today(session)
    after = current(session)
    if before.pinned:
        _audit(session, actor, "business_date.unpinned", before, after)
    return after


def _audit(
    session: Session, actor: Principal, action: str, before: BusinessDate, after: BusinessDate
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="business_date",
        entity_id="1",
        before={"date": before.date, "pinned": before.pinned},
        after={"date": after.date, "pinned": after.pinned},
    )
