"""Administrative code changes: the policy's table plus the operators' additions in the database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import core_connection
from app.domain.policy import Policy
from app.domain.regions import find_region_code_cycle, is_valid_region_code
from app.persistence.models import RegionCodeChange
from app.services import audit
from app.services.clock import utcnow
from app.services.errors import Conflict, FieldError, InvalidInput
from app.services.principal import Principal

_OPERATOR_CHANGES = select(RegionCodeChange.old_code, RegionCodeChange.new_code)  # built once


def region_code_changes(session: Session, policy: Policy) -> dict[str, str]:
    """old code -> new code: the policy's table with the operators' entries (see merge_code_changes)."""
    rows = core_connection(session).execute(_OPERATOR_CHANGES)
    return merge_code_changes(policy, ((old, new) for old, new in rows))


def merge_code_changes(policy: Policy, operator_changes: Iterable[tuple[str, str]]) -> dict[str, str]:
    """old code -> new code; an operator's entry overrides the policy's for the same old code."""
    changes = dict(policy.region_code_changes)
    changes.update(operator_changes)
    return changes


# --- operators' region code changes (CRUD) ----------------------------------------------------------


@dataclass(frozen=True)
class RegionCodeChangeView:
    """One entry of the code change table: from the policy file, or added by an operator."""

    old_code: str
    new_code: str
    source: str  # "policy" | "operator"
    id: int | None = None
    effective_on: date | None = None
    note: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None


def list_region_code_changes(session: Session, *, policy: Policy) -> list[RegionCodeChangeView]:
    """The whole table in force: the policy's entries, then the operators' (which win on the same code)."""
    rows = list(session.scalars(select(RegionCodeChange).order_by(RegionCodeChange.old_code)))
    overridden = {row.old_code for row in rows}
    entries = [
        RegionCodeChangeView(old_code=old, new_code=new, source="policy")
        for old, new in sorted(policy.region_code_changes.items())
        if old not in overridden
    ]
    entries.extend(_operator_view(row) for row in rows)
    return entries


def _operator_view(row: RegionCodeChange) -> RegionCodeChangeView:
    return RegionCodeChangeView(
        id=row.id,
        old_code=row.old_code,
        new_code=row.new_code,
        source="operator",
        effective_on=row.effective_on,
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def create_region_code_change(
    session: Session,
    *,
    old_code: str,
    new_code: str,
    effective_on: date | None,
    note: str | None,
    actor: Principal,
    policy: Policy,
) -> RegionCodeChangeView:
    """Add an operator's code change (old -> new) to the policy's table.

    Refused (422): codes that are not 6 digits, a code mapped to itself, or a change that would make
    the table loop (a -> b -> a: a customer's current code could not be found). 409 when an
    operator already recorded a change for that old code.
    """
    errors: list[FieldError] = []
    if not is_valid_region_code(old_code):
        errors.append(FieldError("old_code", "6 digits"))
    if not is_valid_region_code(new_code):
        errors.append(FieldError("new_code", "6 digits"))
    if not errors and old_code == new_code:
        errors.append(FieldError("new_code", "must differ from old_code"))
    if errors:
        raise InvalidInput("invalid region code change", errors)
    if session.scalar(select(RegionCodeChange.id).where(RegionCodeChange.old_code == old_code)) is not None:
        raise Conflict(f"A change for region code {old_code} is already recorded.")
    changes = region_code_changes(session, policy)
    changes[old_code] = new_code
    cycle = find_region_code_cycle(changes)
    if cycle is not None:
        raise InvalidInput(
            f"the change would make a cycle: {' -> '.join(cycle)}",
            [FieldError("new_code", "would make the code changes loop")],
        )
    row = RegionCodeChange(
        old_code=old_code,
        new_code=new_code,
        effective_on=effective_on,
        note=note,
        created_by=actor.actor,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"A change for region code {old_code} is already recorded.") from None
    audit.record(
        session,
        actor=actor,
        action="region_code_change.created",
        entity_type="region_code_change",
        entity_id=old_code,
        after={"old_code": old_code, "new_code": new_code, "effective_on": effective_on, "note": note},
    )
    return _operator_view(row)
