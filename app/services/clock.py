"""The only place the services read the clock; the domain is handed `today` as an argument.

`today(session)` is the bank's business date (DOMAIN.md, "The business date"): the date in
`HARDSHIP_BUSINESS_TIMEZONE` (Asia/Shanghai by default), unless an admin pinned one for every
process (`business_date_pin`).  It is read once per session and remembered there, so that one unit
of work never straddles midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import core_connection
from app.domain.dates import business_date
from app.persistence.models import BusinessDatePin
from app.settings import get_settings

_SESSION_KEY = "hardship_business_date"


def utcnow() -> datetime:
    return datetime.now(UTC)


# Built once: every request reads it, and building a select costs more than running it.
_PINNED_ON = select(BusinessDatePin.pinned_on).where(BusinessDatePin.id == 1)


def pinned_date(session: Session) -> date | None:
    """The date an admin pinned, if any."""
    pinned: date | None = core_connection(session).execute(_PINNED_ON).scalar()
    return pinned


# The pin as a column of another query: a hot path's first query carries it (one round trip fewer)
# and hands it to `today_given_pin`.
PINNED_ON_COLUMN = _PINNED_ON.scalar_subquery().label("pinned_on")


def today(session: Session) -> date:
    """The business date for this unit of work."""
    remembered = session.info.get(_SESSION_KEY)
    if remembered is None:
        remembered = _remember(session, pinned_date(session))
    return remembered


def today_given_pin(session: Session, pinned: date | None) -> date:
    """`today(session)`, the pin having been read (``PINNED_ON_COLUMN``) by a query of this unit of
    work; a business date this unit of work already uses stays."""
    remembered = session.info.get(_SESSION_KEY)
    if remembered is None:
        remembered = _remember(session, pinned)
    return remembered


def _remember(session: Session, pinned: date | None) -> date:
    on = business_date(utcnow(), get_settings().business_zone, pinned)
    session.info[_SESSION_KEY] = on
    return on


def forget_today(session: Session) -> None:
    """Read the business date again at the next `today(session)` (after a pin or an unpin)."""
    session.info.pop(_SESSION_KEY, None)
