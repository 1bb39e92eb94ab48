"""Contacts with the cardholder and the callbacks they book (issue: the agent desk).

A contact records how the cardholder was reached (channel), what came of it (an outcome from the
fixed list in app/domain/contacts.py), a note and an optional callback date. A callback is due from
its date (the business date, app.services.clock.today) until a later contact is recorded on the same
account: whoever calls back closes it by recording that call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from app.domain.contacts import MAX_CALLBACK_DAYS, ContactChannel, ContactOutcome
from app.persistence.models import CardAccount, Contact
from app.services import audit
from app.services.accounts import get_account_row
from app.services.clock import today, utcnow
from app.services.errors import FieldError, InvalidInput
from app.services.principal import Principal

__all__ = ["ContactView", "callbacks_due", "list_contacts", "record_contact"]

NOTE_MAX = 2000


@dataclass(frozen=True)
class ContactView:
    id: int
    account_ref: str
    channel: str
    outcome: str
    note: str | None
    callback_on: date | None
    recorded_by: str
    recorded_role: str
    created_at: datetime


def _view(row: Contact, account_ref: str) -> ContactView:
    return ContactView(
        id=row.id,
        account_ref=account_ref,
        channel=row.channel,
        outcome=row.outcome,
        note=row.note,
        callback_on=row.callback_on,
        recorded_by=row.recorded_by,
        recorded_role=row.recorded_role,
        created_at=row.created_at,
    )


def record_contact(
    session: Session,
    *,
    account_ref: str,
    channel: str,
    outcome: str,
    note: str | None,
    callback_on: date | None,
    actor: Principal,
) -> ContactView:
    """Record one contact (audited). A callback date lies from the business date to
    MAX_CALLBACK_DAYS ahead; an unknown channel or outcome is refused, naming the field."""
    errors: list[FieldError] = []
    channels = [c.value for c in ContactChannel]
    outcomes = [o.value for o in ContactOutcome]
    if channel not in channels:
        errors.append(FieldError("channel", "one of " + ", ".join(channels), "field.choice"))
    if outcome not in outcomes:
        errors.append(FieldError("outcome", "one of " + ", ".join(outcomes), "field.choice"))
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        errors.append(
            FieldError("note", f"at most {NOTE_MAX} characters", "field.too_long", {"max": NOTE_MAX})
        )
    on = today(session)
    if callback_on is not None and not on <= callback_on <= on + timedelta(days=MAX_CALLBACK_DAYS):
        last = on + timedelta(days=MAX_CALLBACK_DAYS)
        errors.append(
            FieldError(
                "callback_on",
                f"from {on.isoformat()} to {last.isoformat()}",
                "contact.callback_range",
                {"first": on.isoformat(), "last": last.isoformat()},
            )
        )
    if errors:
        raise InvalidInput(
            "The contact has invalid fields: " + ", ".join(e.field for e in errors),
            errors,
            code="contact.invalid",
        )
    account = get_account_row(session, account_ref)
    row = Contact(
        account_id=account.id,
        channel=channel,
        outcome=outcome,
        note=text,
        callback_on=callback_on,
        recorded_by=actor.actor,
        recorded_role=actor.role.value,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contact.recorded",
        entity_type="contact",
        entity_id=row.id,
        after={
            "account_ref": account.account_ref,
            "channel": channel,
            "outcome": outcome,
            "note": text,
            "callback_on": callback_on,
        },
    )
    return _view(row, account.account_ref)


def list_contacts(session: Session, *, account_ref: str) -> list[ContactView]:
    """The account's contacts, newest first; NotFound for no account."""
    account = get_account_row(session, account_ref)
    rows = session.scalars(
        select(Contact)
        .where(Contact.account_id == account.id)
        .order_by(Contact.created_at.desc(), Contact.id.desc())
    )
    return [_view(row, account.account_ref) for row in rows]


def contacts_of_accounts(session: Session, account_ids: list[int]) -> list[ContactView]:
    """Contacts of several accounts (the customer view), newest first."""
    if not account_ids:
        return []
    rows = session.execute(
        select(Contact, CardAccount.account_ref)
        .join(CardAccount, CardAccount.id == Contact.account_id)
        .where(Contact.account_id.in_(account_ids))
        .order_by(Contact.created_at.desc(), Contact.id.desc())
    )
    return [_view(row, ref) for row, ref in rows]


def callbacks_due(
    session: Session, *, recorded_by: str | None = None, on: date | None = None, limit: int = 100
) -> list[ContactView]:
    """Callbacks whose date has come (on or before the business date) and that no later contact on
    the same account has answered yet, oldest date first; only those booked by `recorded_by` when
    given (an agent's own queue)."""
    day = on or today(session)
    later = aliased(Contact)
    answered = exists().where(
        and_(later.account_id == Contact.account_id, later.created_at > Contact.created_at)
    )
    query = (
        select(Contact, CardAccount.account_ref)
        .join(CardAccount, CardAccount.id == Contact.account_id)
        .where(Contact.callback_on.is_not(None), Contact.callback_on <= day, ~answered)
        .order_by(Contact.callback_on, Contact.id)
        .limit(limit)
    )
    if recorded_by is not None:
        query = query.where(Contact.recorded_by == recorded_by)
    return [_view(row, ref) for row, ref in session.execute(query)]
