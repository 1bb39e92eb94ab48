"""The audit trail: every state change writes one event in the same transaction, hash-chained so
that an edited, inserted or deleted row is detected by `hardship audit verify`.

The chain is keyed (chain version 2): each row's hash is an HMAC-SHA256 under HARDSHIP_AUDIT_KEY, a
key kept outside the database, so that someone who can write to the database but does not hold the
key cannot rewrite a row and recompute the hashes after it. Rows written before the key was
introduced (version 1, plain SHA-256) keep verifying as they are; the first keyed row covers the
hash of the last plain one, so the plain rows cannot be rewritten either once a keyed row follows
them, and a plain row after a keyed one is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.persistence.models import AuditEvent
from app.services.clock import utcnow
from app.services.context import request_id_var
from app.services.principal import Principal

GENESIS_HASH = "0" * 64
PLAIN_CHAIN = 1
KEYED_CHAIN = 2
# Serialises writers of the chain on PostgreSQL (SQLite serialises all writers already).
AUDIT_LOCK_ID = 0x4A5D17


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for audit snapshots: money as two-decimal strings, dates ISO."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


def _timestamp(value: datetime) -> str:
    """UTC, without zone: SQLite hands timestamps back naive, PostgreSQL aware."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def audit_key() -> bytes:
    """The chain's HMAC key, from the process's settings (HARDSHIP_AUDIT_KEY)."""
    from app.settings import get_settings

    return get_settings().audit_hmac_key


def compute_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The row's hash: HMAC-SHA256 under the audit key for keyed rows (which also covers the person),
    SHA-256 of the content for rows written before the chain was keyed."""
    payload: dict[str, Any] = {
        "occurred_at": _timestamp(event.occurred_at),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    if (event.chain_version or PLAIN_CHAIN) >= KEYED_CHAIN:
        payload["person"] = event.person
        payload["chain_version"] = event.chain_version
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(
            key if key is not None else audit_key(), canonical.encode(), hashlib.sha256
        ).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: str | int,
    before: Any = None,
    after: Any = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": AUDIT_LOCK_ID})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        occurred_at=utcnow(),
        actor=actor.actor,
        actor_role=actor.role.value,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=to_jsonable(before),
        after=to_jsonable(after),
        request_id=request_id or current_request_id(),
        prev_hash=prev or GENESIS_HASH,
        person=actor.person,
        chain_version=KEYED_CHAIN,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str


def verify_chain(
    session: Session, *, batch_size: int = 5000, anchor: str | None = None
) -> tuple[int, list[ChainBreak]]:
    """Walk the chain in id order; returns (events checked, breaks found).

    The chain alone cannot show that its newest events were cut off.  An operator who records the
    head hash elsewhere (`hardship audit verify` prints it) passes it back as `anchor`: the event
    with that hash must still be in the intact chain."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS_HASH
    checked = 0
    anchor_found = anchor is None
    keyed = False
    key = audit_key()
    for event in _iterate(session, batch_size):
        checked += 1
        if event.prev_hash != expected_prev:
            breaks.append(ChainBreak(event.id, "previous hash does not match: a row was deleted or inserted"))
        if (event.chain_version or PLAIN_CHAIN) >= KEYED_CHAIN:
            keyed = True
        elif keyed:
            breaks.append(
                ChainBreak(event.id, "an unkeyed row after the keyed chain began: the row was forged")
            )
        if not hmac.compare_digest(compute_hash(event, key), event.hash):
            breaks.append(ChainBreak(event.id, "content does not match its hash: the row was altered"))
        expected_prev = event.hash
        anchor_found = anchor_found or event.hash == anchor
    if not anchor_found:
        breaks.append(
            ChainBreak(
                0, "the recorded anchor is not in the chain: the events up to it were cut off or altered"
            )
        )
    return checked, breaks


def chain_head(session: Session) -> AuditEvent | None:
    """The newest event: its hash is the anchor to record outside the database."""
    return session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def _iterate(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def current_request_id() -> str | None:
    return request_id_var.get()


def list_events(
    session: Session,
    *,
    after_id: int,
    limit: int,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> list[AuditEvent]:
    """A page of events in chain order, optionally for one entity or action."""
    query = select(AuditEvent).where(AuditEvent.id > after_id)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query.order_by(AuditEvent.id).limit(limit)))
