"""Declared disasters: declare, amend (widen only), close, read (DOMAIN.md, "Disaster deferral").

An event is versioned: version 1 is the declaration; every amendment bumps the version and writes a
DisasterAmendment row with what changed, and an audit event. An amendment may only widen the relief:
add region codes, move relief_end later, lengthen deferral_months. Nothing is ever shrunk, so a
deferral granted under an earlier version stays valid; an enroll scan after the amendment enrolls the
newly covered accounts and extends the deferrals whose lines change (see app/jobs/chunk.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.events import EventType
from app.domain.model import DisasterEvent as DomainEvent
from app.domain.regions import is_valid_region_code
from app.persistence.models import DisasterAmendment, DisasterEvent, DisasterRegion
from app.schemas.disasters import DisasterRead
from app.services import audit, events
from app.services.clock import utcnow
from app.services.errors import Conflict, FieldError, InvalidInput, NotFound
from app.services.principal import Principal

__all__ = [
    "EVENT_STATUSES",
    "MAX_DEFERRAL_MONTHS",
    "AmendmentView",
    "EventView",
    "amend_event",
    "close_event",
    "declare_event",
    "emit_disaster_event",
    "get_event",
    "get_event_row",
    "list_events",
    "region_codes_of",
    "to_domain_event",
]

EVENT_STATUSES = ("open", "closed")
MAX_DEFERRAL_MONTHS = 60
MAX_REGION_CODES = 500
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class AmendmentView:
    version: int
    changes: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class EventView:
    """A disaster event with its regions and amendments, as the API and the agent UI show it."""

    id: int
    code: str
    name: str
    kind: str
    occurred_on: date
    relief_start: date
    relief_end: date
    deferral_months: int
    region_codes: list[str]
    status: str
    version: int
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    amendments: list[AmendmentView]

    def snapshot(self) -> dict[str, Any]:
        """The audited state of the event."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "occurred_on": self.occurred_on,
            "relief_start": self.relief_start,
            "relief_end": self.relief_end,
            "deferral_months": self.deferral_months,
            "region_codes": self.region_codes,
            "status": self.status,
            "version": self.version,
        }


def to_domain_event(row: DisasterEvent, region_codes: Iterable[str]) -> DomainEvent:
    """The domain value of an event row (regions passed in: the relationship is lazy="raise")."""
    return DomainEvent(
        code=row.code,
        occurred_on=row.occurred_on,
        relief_start=row.relief_start,
        relief_end=row.relief_end,
        deferral_months=row.deferral_months,
        region_codes=tuple(sorted(region_codes)),
    )


def _validate_region_codes(codes: Sequence[str], field: str, *, allow_empty: bool) -> list[str]:
    if not codes and not allow_empty:
        raise InvalidInput("name at least one region code", [FieldError(field, "at least one region code")])
    if len(codes) > MAX_REGION_CODES:
        raise InvalidInput("too many region codes", [FieldError(field, f"at most {MAX_REGION_CODES}")])
    bad = [code for code in codes if not is_valid_region_code(code)]
    if bad:
        raise InvalidInput(
            f"region codes must be 6 digits: {', '.join(map(repr, bad[:5]))}",
            [FieldError(field, "each region code must be exactly 6 digits (GB/T 2260)")],
        )
    return sorted(set(codes))


def _validate_months(months: int, field: str) -> None:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_DEFERRAL_MONTHS:
        raise InvalidInput(
            f"deferral_months must be 1 to {MAX_DEFERRAL_MONTHS}",
            [FieldError(field, f"an integer from 1 to {MAX_DEFERRAL_MONTHS}")],
        )


def get_event_row(session: Session, code: str, *, for_update: bool = False) -> DisasterEvent:
    query = select(DisasterEvent).where(DisasterEvent.code == code)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"No disaster with code {code!r}.")
    return row


def _views(session: Session, rows: Sequence[DisasterEvent]) -> list[EventView]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    regions: dict[int, list[str]] = {i: [] for i in ids}
    for disaster_id, region_code in session.execute(
        select(DisasterRegion.disaster_id, DisasterRegion.region_code)
        .where(DisasterRegion.disaster_id.in_(ids))
        .order_by(DisasterRegion.region_code)
    ):
        regions[disaster_id].append(region_code)
    amendments: dict[int, list[AmendmentView]] = {i: [] for i in ids}
    for amendment in session.scalars(
        select(DisasterAmendment)
        .where(DisasterAmendment.disaster_id.in_(ids))
        .order_by(DisasterAmendment.version)
    ):
        amendments[amendment.disaster_id].append(
            AmendmentView(
                version=amendment.version,
                changes=amendment.changes,
                created_by=amendment.created_by,
                created_at=amendment.created_at,
            )
        )
    return [
        EventView(
            id=row.id,
            code=row.code,
            name=row.name,
            kind=row.kind,
            occurred_on=row.occurred_on,
            relief_start=row.relief_start,
            relief_end=row.relief_end,
            deferral_months=row.deferral_months,
            region_codes=regions[row.id],
            status=row.status,
            version=row.version,
            created_by=row.created_by,
            created_at=row.created_at,
            closed_at=row.closed_at,
            amendments=amendments[row.id],
        )
        for row in rows
    ]


def region_codes_of(session: Session, disaster_id: int) -> list[str]:
    return list(
        session.scalars(
            select(DisasterRegion.region_code)
            .where(DisasterRegion.disaster_id == disaster_id)
            .order_by(DisasterRegion.region_code)
        )
    )


def emit_disaster_event(session: Session, view: EventView, type: EventType) -> str:
    """The disaster's event (CONTRACT.md, "Events out"): subject its code, data the disaster as
    GET /v1/disasters/{code} answers it."""
    data = DisasterRead.model_validate(view).model_dump(mode="json")
    return events.emit(session, type=type, subject=view.code, data=data)


def declare_event(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    occurred_on: date,
    relief_start: date,
    relief_end: date,
    deferral_months: int,
    region_codes: Sequence[str],
    actor: Principal,
) -> EventView:
    """Declare an event (version 1, open). Conflict when the code exists.

    Rules: a code of letters, digits, '.', '_' or '-' (1-64); 6-digit region codes (at least one);
    occurred_on <= relief_start <= relief_end (the relief starts no earlier than the disaster);
    1 to 60 deferral months.
    """
    codes = _checked_declaration(
        code=code,
        name=name,
        kind=kind,
        occurred_on=occurred_on,
        relief_start=relief_start,
        relief_end=relief_end,
        deferral_months=deferral_months,
        region_codes=region_codes,
    )
    if session.scalar(select(DisasterEvent.id).where(DisasterEvent.code == code)) is not None:
        raise Conflict(f"A disaster with code {code!r} already exists.")
    now = utcnow()
    row = DisasterEvent(
        code=code,
        name=name.strip(),
        kind=kind.strip(),
        occurred_on=occurred_on,
        relief_start=relief_start,
        relief_end=relief_end,
        deferral_months=deferral_months,
        status="open",
        version=1,
        created_by=actor.actor,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"A disaster with code {code!r} already exists.") from None
    session.add_all(
        DisasterRegion(disaster_id=row.id, region_code=region, added_in_version=1) for region in codes
    )
    session.flush()
    view = _views(session, [row])[0]
    emit_disaster_event(session, view, EventType.DISASTER_DECLARED)
    audit.record(
        session,
        actor=actor,
        action="disaster.declared",
        entity_type="disaster_event",
        entity_id=code,
        after=view.snapshot(),
    )
    return view


def _checked_declaration(
    *,
    code: str,
    name: str,
    kind: str,
    occurred_on: date,
    relief_start: date,
    relief_end: date,
    deferral_months: int,
    region_codes: Sequence[str],
) -> list[str]:
    """The declaration's region codes, once every field is checked (InvalidInput naming the fields
    that are not valid; the domain's InvalidEvent for its own invariants)."""
    errors: list[FieldError] = []
    if not CODE_PATTERN.match(code or ""):
        errors.append(
            FieldError("code", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        )
    if not (name or "").strip() or len(name) > 200:
        errors.append(FieldError("name", "1 to 200 characters"))
    if not (kind or "").strip() or len(kind) > 32:
        errors.append(FieldError("kind", "1 to 32 characters"))
    if relief_end < relief_start:
        errors.append(FieldError("relief_end", "must not be before relief_start"))
    if relief_start < occurred_on:
        errors.append(FieldError("relief_start", "must not be before occurred_on"))
    if errors:
        raise InvalidInput("The disaster has invalid fields: " + ", ".join(e.field for e in errors), errors)
    _validate_months(deferral_months, "deferral_months")
    codes = _validate_region_codes(region_codes, "region_codes", allow_empty=False)
    # The domain checks its own invariants too (InvalidEvent -> 422).
    DomainEvent(
        code=code,
        occurred_on=occurred_on,
        relief_start=relief_start,
        relief_end=relief_end,
        deferral_months=deferral_months,
        region_codes=tuple(codes),
    )
    return codes


def amend_event(
    session: Session,
    *,
    code: str,
    add_region_codes: Sequence[str] | None = None,
    relief_end: date | None = None,
    deferral_months: int | None = None,
    actor: Principal,
) -> EventView:
    """Widen an open event: add regions, move relief_end later, lengthen deferral_months.

    Shrinking anything is refused (422); a closed event cannot be amended (409). A request that
    changes nothing returns the event as it is (no new version), so a retried amendment is harmless.
    """
    row = get_event_row(session, code, for_update=True)
    if row.status != "open":
        raise Conflict(f"The disaster {code!r} is closed; it cannot be amended.")
    errors: list[FieldError] = []
    if relief_end is not None and relief_end < row.relief_end:
        errors.append(FieldError("relief_end", f"may only move later than {row.relief_end.isoformat()}"))
    if deferral_months is not None:
        _validate_months(deferral_months, "deferral_months")
        if deferral_months < row.deferral_months:
            errors.append(FieldError("deferral_months", f"may only grow from {row.deferral_months}"))
    if errors:
        raise InvalidInput("An amendment may only widen the relief", errors)
    codes = _validate_region_codes(list(add_region_codes or []), "add_region_codes", allow_empty=True)
    before = _views(session, [row])[0]
    new_codes = [c for c in codes if c not in set(before.region_codes)]
    changes: dict[str, Any] = {}
    if new_codes:
        changes["added_region_codes"] = new_codes
    if relief_end is not None and relief_end != row.relief_end:
        changes["relief_end"] = {"from": row.relief_end.isoformat(), "to": relief_end.isoformat()}
    if deferral_months is not None and deferral_months != row.deferral_months:
        changes["deferral_months"] = {"from": row.deferral_months, "to": deferral_months}
    if not changes:
        return before
    row.version += 1
    if relief_end is not None:
        row.relief_end = relief_end
    if deferral_months is not None:
        row.deferral_months = deferral_months
    session.add_all(
        DisasterRegion(disaster_id=row.id, region_code=region, added_in_version=row.version)
        for region in new_codes
    )
    session.add(
        DisasterAmendment(
            disaster_id=row.id,
            version=row.version,
            changes=changes,
            created_by=actor.actor,
            created_at=utcnow(),
        )
    )
    session.flush()
    after = _views(session, [row])[0]
    emit_disaster_event(session, after, EventType.DISASTER_AMENDED)
    audit.record(
        session,
        actor=actor,
        action="disaster.amended",
        entity_type="disaster_event",
        entity_id=code,
        before=before.snapshot(),
        after={**after.snapshot(), "changes": changes},
    )
    return after


def close_event(session: Session, *, code: str, actor: Principal) -> EventView:
    """Close an open event: no more enrollment (dry runs, reports and disputes still work). 409 if closed."""
    row = get_event_row(session, code, for_update=True)
    if row.status == "closed":
        raise Conflict(f"The disaster {code!r} is already closed.")
    before = _views(session, [row])[0]
    row.status = "closed"
    row.closed_at = utcnow()
    session.flush()
    after = _views(session, [row])[0]
    emit_disaster_event(session, after, EventType.DISASTER_CLOSED)
    audit.record(
        session,
        actor=actor,
        action="disaster.closed",
        entity_type="disaster_event",
        entity_id=code,
        before=before.snapshot(),
        after=after.snapshot(),
    )
    return after


def list_events(
    session: Session, *, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[EventView]:
    """A page of events in declaration order (keyset on id), optionally only open or closed ones."""
    if status is not None and status not in EVENT_STATUSES:
        raise InvalidInput("unknown status", [FieldError("query.status", "open or closed")])
    query = select(DisasterEvent).where(DisasterEvent.id > after_id)
    if status is not None:
        query = query.where(DisasterEvent.status == status)
    rows = list(session.scalars(query.order_by(DisasterEvent.id).limit(limit)))
    return _views(session, rows)


def get_event(session: Session, code: str) -> EventView:
    """One event with its regions and amendments; NotFound otherwise."""
    return _views(session, [get_event_row(session, code)])[0]
