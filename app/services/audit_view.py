"""The audit trail as an auditor reads it: newest first, paged on the id, filtered by date (in the
bank's zone), actor, account and action. A read beside app/services/audit.py, which writes and
verifies the chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from app.persistence.models import AuditEvent
from app.settings import get_settings

__all__ = ["AuditFilters", "search_events"]


@dataclass(frozen=True)
class AuditFilters:
    on_from: date | None = None
    on_to: date | None = None
    actor: str | None = None
    account_ref: str | None = None
    action: str | None = None


def _start_of(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in the bank's zone."""
    return datetime.combine(day, time.min, tzinfo=get_settings().business_zone).astimezone(UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_events(
    session: Session, *, filters: AuditFilters, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """A page of events, newest first; ``before_id`` continues after the last one shown."""
    query = select(AuditEvent)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if filters.on_from is not None:
        query = query.where(AuditEvent.occurred_at >= _start_of(filters.on_from))
    if filters.on_to is not None:
        query = query.where(AuditEvent.occurred_at < _start_of(filters.on_to + timedelta(days=1)))
    if filters.actor:
        query = query.where(AuditEvent.actor.like(f"%{_escape_like(filters.actor)}%", escape="\\"))
    if filters.action:
        query = query.where(AuditEvent.action.like(f"{_escape_like(filters.action)}%", escape="\\"))
    if filters.account_ref:
        # The events name their account in their snapshots (canonical JSON text, sorted keys).
        needle = f"%{_escape_like(json.dumps(filters.account_ref, ensure_ascii=False))}%"
        query = query.where(
            or_(
                cast(AuditEvent.after, Text).like(needle, escape="\\"),
                cast(AuditEvent.before, Text).like(needle, escape="\\"),
                AuditEvent.entity_id == filters.account_ref,
            )
        )
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
