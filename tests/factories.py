"""Test data builders: accounts, statements, disaster events, deferrals and API keys.

Each builder adds rows to the given session and flushes; the caller commits (or uses
``app.db.unit_of_work``). Defaults describe an ordinary, current, eligible cardholder; pass keyword
overrides for what a test is about. Money may be given as Decimal or as a string ("1234.50").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.dates import business_date
from app.domain.money import parse_money
from app.persistence.models import (
    CardAccount,
    Customer,
    Deferral,
    DisasterEvent,
    DisasterRegion,
    Statement,
)
from app.services import auth, clock
from app.settings import get_settings

__all__ = [
    "freeze_today",
    "make_account",
    "make_deferral",
    "make_disaster_event",
    "make_key",
    "make_statement",
    "money",
]


def business_today() -> date:
    """The business date outside a database session (no pinned date): the calendar day in the
    bank's zone, as ``app.services.clock.today(session)`` reads it when nothing is pinned."""
    return business_date(clock.utcnow(), get_settings().business_zone)


def money(value: Decimal | str | int) -> Decimal:
    """A Decimal with two places from a string, int or Decimal (never a float)."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return parse_money(str(value))


def _ensure_customer(session: Session, customer_ref: str, now: datetime) -> None:
    if session.scalar(select(Customer.id).where(Customer.customer_ref == customer_ref)) is None:
        session.add(Customer(customer_ref=customer_ref, created_at=now))
        session.flush()


def make_account(session: Session, account_ref: str = "A-1", **overrides: Any) -> CardAccount:
    """An active, current STD_CLASSIC account in Jishishan county (622927) owing 10,000.00 + fees.

    Defaults: principal 9,500.00, interest 500.00, fees 200.00 (so P = 10,000.00), opened
    2020-01-15, customer ``C-<account_ref>``. Any CardAccount field can be overridden.
    """
    now = clock.utcnow()
    values: dict[str, Any] = {
        "customer_ref": f"C-{account_ref}",
        "product_code": "STD_CLASSIC",
        "status": "active",
        "region_code": "622927",
        "opened_on": date(2020, 1, 15),
        "credit_limit": "50000.00",
        "principal_balance": "9500.00",
        "interest_balance": "500.00",
        "fee_balance": "200.00",
        "delinquent_since": None,
        "last_payment_on": None,
        "updated_at": now,
    }
    values.update(overrides)
    for name in ("credit_limit", "principal_balance", "interest_balance", "fee_balance"):
        values[name] = money(values[name])
    _ensure_customer(session, values["customer_ref"], now)
    account = CardAccount(account_ref=account_ref, **values)
    session.add(account)
    session.flush()
    return account


def make_statement(
    session: Session,
    account: CardAccount,
    *,
    statement_date: date | None = None,
    due_date: date | None = None,
    statement_balance: Decimal | str = "3000.00",
    minimum_due: Decimal | str = "300.00",
    paid_amount: Decimal | str = "0.00",
) -> Statement:
    """A statement of ``account``; by default dated 20 days before today and due in 5 days, unpaid."""
    on = clock.today(session)
    statement_date = statement_date or on - timedelta(days=20)
    due_date = due_date or statement_date + timedelta(days=25)
    row = Statement(
        account_id=account.id,
        statement_date=statement_date,
        due_date=due_date,
        statement_balance=money(statement_balance),
        minimum_due=money(minimum_due),
        paid_amount=money(paid_amount),
    )
    session.add(row)
    session.flush()
    return row


def make_disaster_event(
    session: Session,
    code: str = "EV-1",
    *,
    region_codes: tuple[str, ...] | list[str] = ("622900",),
    occurred_on: date | None = None,
    relief_start: date | None = None,
    relief_end: date | None = None,
    deferral_months: int = 3,
    status: str = "open",
    name: str = "test disaster",
    kind: str = "earthquake",
) -> DisasterEvent:
    """A declared disaster: by default open, struck 10 days ago, relief window from 9 days ago to +80."""
    on = clock.today(session)
    occurred_on = occurred_on or on - timedelta(days=10)
    event = DisasterEvent(
        code=code,
        name=name,
        kind=kind,
        occurred_on=occurred_on,
        relief_start=relief_start or occurred_on + timedelta(days=1),
        relief_end=relief_end or on + timedelta(days=80),
        deferral_months=deferral_months,
        status=status,
        version=1,
        created_by="test",
        created_at=clock.utcnow(),
    )
    session.add(event)
    session.flush()
    for region_code in region_codes:
        session.add(DisasterRegion(disaster_id=event.id, region_code=region_code, added_in_version=1))
    session.flush()
    return event


def make_deferral(
    session: Session,
    account: CardAccount,
    event: DisasterEvent,
    *,
    deferred_amount: Decimal | str = "100.00",
) -> Deferral:
    """An enrollment of ``account`` in ``event``'s deferral (without lines)."""
    now = clock.utcnow()
    row = Deferral(
        account_id=account.id,
        disaster_id=event.id,
        scan_id=None,
        event_version=1,
        policy_version="2025.1",
        deferred_amount=money(deferred_amount),
        interest_waived=money("0.00"),
        late_fees_waived=money("0.00"),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def make_key(session: Session, role: str, name: str | None = None) -> str:
    """A new API key for ``role``; returns the bearer token."""
    return auth.create_api_key(session, name=name or f"factory-{role}", role=role).token


def freeze_today(monkeypatch: Any, on: date) -> None:
    """Make the services' clock read noon UTC on ``on`` (``app.services.clock.today(session)`` follows).

    Use with pytest's ``monkeypatch`` fixture, before creating data that depends on today.
    """
    fixed = datetime(on.year, on.month, on.day, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: fixed)
