"""Idempotency-Key: one mechanism for every creating POST.

A key is bound to the caller and to a hash of the request.  `begin` claims the key in its own short
transaction (so a concurrent request with the same key sees it in flight and gets 409); `complete`
stores the response in the *same* transaction as the business write, so a crash between the write
and the response leaves a completed record that the retry replays; `release` frees a key whose
request failed, so a failed validation never poisons the corrected retry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.persistence.models import IdempotencyRecord
from app.services.clock import utcnow
from app.services.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """A hash of what the request asks for; JSON bodies are canonicalised first."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested too deep to parse
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    content_type: str


@dataclass(frozen=True)
class Claim:
    record_id: int


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def begin(
    session: Session,
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    ttl: timedelta,
    lease: timedelta,
) -> Claim | StoredResponse:
    """Claims the key, or returns the stored response of a completed request with the same body.

    Raises Conflict when the key was used with another request, or its request is still running.
    Runs in its own session and commits."""
    now = utcnow()
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
        )
    )
    if existing is not None and _naive(existing.expires_at) <= _naive(now):
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        record = IdempotencyRecord(
            principal=principal,
            key=key,
            method=method,
            path=path,
            request_hash=request_hash,
            state="in_flight",
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(record)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict(
                "A request with this Idempotency-Key is already in progress; retry later."
            ) from None
        return Claim(record.id)
    if existing.request_hash != request_hash or existing.path != path or existing.method != method:
        raise Conflict("This Idempotency-Key was already used with a different request.")
    if existing.state == "completed":
        assert existing.response_status is not None
        return StoredResponse(
            existing.response_status,
            existing.response_body or "",
            existing.response_content_type or "application/json",
        )
    if _naive(existing.created_at) + lease > _naive(now):
        raise Conflict("A request with this Idempotency-Key is already in progress; retry later.")
    # The earlier attempt died without an answer and without committing: take the key over.
    existing.created_at = now
    session.commit()
    return Claim(existing.id)


def complete(session: Session, claim: Claim, response: StoredResponse) -> None:
    """Stores the response with the business write (same session, same commit)."""
    record = session.get(IdempotencyRecord, claim.record_id)
    if record is None:  # expired and purged meanwhile: nothing to keep
        return
    record.state = "completed"
    record.response_status = response.status
    record.response_body = response.body
    record.response_content_type = response.content_type
    session.flush()


def release(session: Session, claim: Claim) -> None:
    """Frees the key after a failed request.  Its own session; commits."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == claim.record_id, IdempotencyRecord.state == "in_flight"
        )
    )
    session.commit()


def purge_expired(session: Session) -> int:
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
