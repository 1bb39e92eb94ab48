"""Webhooks (CONTRACT.md, "Events out"), following the Standard Webhooks specification.

Endpoints are managed by admins. Each event of the outbox becomes one delivery per subscribed
endpoint, created set-based by the relay (``relay_outbox``: the unrelayed events, claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, joined with the endpoints' subscribed types). A delivery is
a POST of the event's CloudEvents JSON with the headers ``webhook-id`` (the event id),
``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 of HMAC-SHA256 over
``id.timestamp.body``, made by the ``standardwebhooks`` library). A 2xx answer is delivered;
anything else, or no answer within ``HARDSHIP_WEBHOOK_TIMEOUT_SECONDS``, is retried on
``HARDSHIP_WEBHOOK_RETRY_SCHEDULE`` and then failed. Replay puts deliveries back to pending.

At least once, never twice by the service itself: a worker claims due deliveries with a lease
(``claim``, ``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite has one writer) and
records the answer only while its claim holds. A worker that dies mid-batch leaves its claims to
expire; another worker then sends those deliveries again (receivers deduplicate on ``webhook-id``).

Server-side request forgery: with ``HARDSHIP_ENVIRONMENT=production`` an endpoint whose host resolves
to a private, loopback, link-local or otherwise non-public address is refused, when it is added and
again before each delivery, unless ``HARDSHIP_WEBHOOK_ALLOW_PRIVATE_URLS`` is set.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import floor
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, Engine, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.db import dialect_insert, unit_of_work
from app.domain.events import (
    ALL_TYPES,
    InvalidEventTypes,
    next_delay,
    normalise_event_types,
    retry_delays,
)
from app.persistence.models import OutboxEvent, WebhookDelivery, WebhookEndpoint, WebhookEndpointType
from app.services import audit
from app.services.clock import utcnow
from app.services.errors import FieldError, InvalidInput, NotFound
from app.services.events import cloud_event_of
from app.services.principal import Principal
from app.settings import Settings

__all__ = [
    "DELIVERY_STATUSES",
    "DeliveryJob",
    "DeliveryView",
    "EndpointView",
    "UnsafeUrl",
    "claim_due",
    "create_endpoint",
    "delete_endpoint",
    "deliver",
    "event_body",
    "list_deliveries",
    "list_endpoints",
    "record_answer",
    "record_answers",
    "relay_outbox",
    "replay",
    "sign_headers",
]

DELIVERY_STATUSES = ("pending", "delivered", "failed")
MAX_URL_LENGTH = 2000
ANSWER_READ_BYTES = 65536


class UnsafeUrl(ValueError):
    """A URL the service must not call (scheme, host, or a non-public address)."""


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    event_types: list[str]
    created_by: str
    created_at: datetime
    secret: str | None = None  # only in the answer that created it


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str
    type: str
    subject: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _allows_private(settings: Settings) -> bool:
    return settings.webhook_allow_private_urls or settings.environment != "production"


def check_url(url: str, *, allow_private: bool) -> None:
    """UnsafeUrl unless ``url`` is http(s) with a host whose every address may be called."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in the URL are not accepted")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"the host {parts.hostname!r} cannot be resolved") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise UnsafeUrl(
                f"the host resolves to a non-public address ({address}); "
                "set HARDSHIP_WEBHOOK_ALLOW_PRIVATE_URLS to allow it"
            )


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _view(endpoint: WebhookEndpoint, secret: str | None = None) -> EndpointView:
    return EndpointView(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        created_by=endpoint.created_by,
        created_at=endpoint.created_at,
        secret=secret,
    )


def create_endpoint(
    session: Session, *, url: str, event_types: Sequence[str], actor: Principal, settings: Settings
) -> EndpointView:
    """Subscribe ``url`` to ``event_types`` (["*"] for all); the answer carries the signing secret,
    shown this once. InvalidInput for an unknown type or a URL the service must not call."""
    errors: list[FieldError] = []
    try:
        types = normalise_event_types(event_types)
    except InvalidEventTypes as exc:
        errors.append(FieldError("event_types", str(exc)))
    try:
        check_url(url, allow_private=_allows_private(settings))
    except UnsafeUrl as exc:
        errors.append(FieldError("url", str(exc)))
    if errors:
        raise InvalidInput("The webhook endpoint is refused: " + "; ".join(e.message for e in errors), errors)
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        event_types=list(types),
        secret=secret,
        created_by=actor.actor,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    session.add_all(WebhookEndpointType(endpoint_id=endpoint.id, event_type=t) for t in types)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="webhook_endpoint.created",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        after={"url": url, "event_types": list(types)},
    )
    return _view(endpoint, secret)


def list_endpoints(session: Session) -> list[EndpointView]:
    return [_view(e) for e in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def delete_endpoint(session: Session, *, endpoint_id: int, actor: Principal) -> None:
    """Remove the endpoint with its deliveries: nothing more is sent to it."""
    endpoint = _endpoint(session, endpoint_id)
    before = {"url": endpoint.url, "event_types": list(endpoint.event_types)}
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.execute(delete(WebhookEndpointType).where(WebhookEndpointType.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="webhook_endpoint.deleted",
        entity_type="webhook_endpoint",
        entity_id=endpoint_id,
        before=before,
    )


def list_deliveries(
    session: Session, *, endpoint_id: int, status: str | None, after_id: int = 0, limit: int = 100
) -> list[DeliveryView]:
    """A page of the endpoint's deliveries in creation order, optionally with one status."""
    _endpoint(session, endpoint_id)
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput("unknown status", [FieldError("query.status", "pending, delivered or failed")])
    query = (
        select(WebhookDelivery, OutboxEvent.event_id, OutboxEvent.type, OutboxEvent.subject)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id > after_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = session.execute(query.order_by(WebhookDelivery.id).limit(limit)).all()
    return [
        DeliveryView(
            id=d.id,
            event_id=event_id,
            type=type_,
            subject=subject,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
        )
        for d, event_id, type_, subject in rows
    ]


def replay(
    session: Session,
    *,
    endpoint_id: int,
    event_ids: Sequence[str] | None,
    status: str | None,
    actor: Principal,
) -> int:
    """Send events again to the endpoint: the named events (a delivery is made for an event the
    endpoint never had), or every delivery with ``status`` (failed). Returns how many are pending."""
    _endpoint(session, endpoint_id)
    now = utcnow()
    again = {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claim": None,
        "claimed_until": None,
    }
    if event_ids:
        ids = list(dict.fromkeys(event_ids))
        outbox = dict(
            session.execute(
                select(OutboxEvent.event_id, OutboxEvent.id).where(OutboxEvent.event_id.in_(ids))
            ).all()
        )
        unknown = [i for i in ids if i not in outbox]
        if unknown:
            raise InvalidInput(
                f"unknown event ids: {', '.join(unknown[:5])}",
                [FieldError("event_ids", "ids of events this service emitted")],
            )
        have = set(
            session.scalars(
                select(WebhookDelivery.outbox_id).where(
                    WebhookDelivery.endpoint_id == endpoint_id,
                    WebhookDelivery.outbox_id.in_(list(outbox.values())),
                )
            )
        )
        missing = [o for o in outbox.values() if o not in have]
        if missing:
            session.execute(
                insert(WebhookDelivery),
                [{"endpoint_id": endpoint_id, "outbox_id": o, "created_at": now, **again} for o in missing],
            )
        count = _rowcount(
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.endpoint_id == endpoint_id,
                    WebhookDelivery.outbox_id.in_(list(have)),
                )
                .values(**again)
                .execution_options(synchronize_session=False)
            )
        ) + len(missing)
    elif status is not None:
        if status != "failed":
            raise InvalidInput("replay by status", [FieldError("status", "only failed")])
        count = _rowcount(
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "failed")
                .values(**again)
                .execution_options(synchronize_session=False)
            )
        )
    else:
        raise InvalidInput("name event_ids or a status", [FieldError("event_ids", "or status: failed")])
    audit.record(
        session,
        actor=actor,
        action="webhook_endpoint.replayed",
        entity_type="webhook_endpoint",
        entity_id=endpoint_id,
        after={"event_ids": list(event_ids or []), "status": status, "pending": count},
    )
    return count


# --- relay and delivery (jobs: app/jobs/events.py) --------------------------------------------------


def relay_outbox(engine: Engine, *, batch: int = 2000) -> int:
    """Fan one batch of unrelayed events out to the deliveries of their subscribed endpoints, in one
    transaction; the number of events relayed."""
    with unit_of_work(engine) as session:
        ids = list(
            session.scalars(
                select(OutboxEvent.id)
                .where(OutboxEvent.relayed_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return 0
        now = utcnow()
        matches = (
            select(
                WebhookEndpointType.endpoint_id,
                OutboxEvent.id,
                literal("pending"),
                literal(0),
                literal(now, WebhookDelivery.next_attempt_at.type),
                literal(now, WebhookDelivery.created_at.type),
            )
            .distinct()
            .join(
                WebhookEndpointType,
                or_(
                    WebhookEndpointType.event_type == ALL_TYPES,
                    WebhookEndpointType.event_type == OutboxEvent.type,
                ),
            )
            .where(OutboxEvent.id.in_(ids))
        )
        session.execute(
            dialect_insert(engine)(WebhookDelivery)
            .from_select(
                ["endpoint_id", "outbox_id", "status", "attempts", "next_attempt_at", "created_at"], matches
            )
            .on_conflict_do_nothing(index_elements=["endpoint_id", "outbox_id"])
        )
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(relayed_at=now)
            .execution_options(synchronize_session=False)
        )
        return len(ids)


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery: what to send, where, and the claim that must still hold to record it."""

    delivery_id: int
    claim: str
    url: str
    secret: str
    event_id: str
    body: str
    attempts: int


def event_body(row: Any) -> str:
    """The POST body: the event's CloudEvents JSON (the same bytes on every attempt)."""
    return json.dumps(cloud_event_of(row), ensure_ascii=False, separators=(",", ":"))


def claim_due(engine: Engine, *, limit: int, lease_seconds: float) -> list[DeliveryJob]:
    """Claim up to ``limit`` due deliveries for ``lease_seconds`` (one short transaction)."""
    token = str(uuid.uuid4())
    with unit_of_work(engine) as session:
        now = utcnow()
        due = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(due))
        if not ids:
            return []
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(claim=token, claimed_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                OutboxEvent,
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
            .where(WebhookDelivery.id.in_(ids))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        ).all()
        return [
            DeliveryJob(
                delivery_id=delivery_id,
                claim=token,
                url=url,
                secret=secret,
                event_id=event.event_id,
                body=event_body(event),
                attempts=attempts,
            )
            for delivery_id, attempts, url, secret, event in rows
        ]


def sign_headers(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "hardship-webhooks/1",
    }


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(job: DeliveryJob, *, timeout: float, allow_private: bool) -> Answer:
    """POST the event once (no redirects followed); the receiver's status code or the error."""
    try:
        check_url(job.url, allow_private=allow_private)
    except UnsafeUrl as exc:
        return Answer(None, f"refused: {exc}")
    parts = urlsplit(job.url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        body = job.body.encode()
        connection.request(
            "POST", path, body=body, headers=sign_headers(job.secret, job.event_id, job.body, utcnow())
        )
        response = connection.getresponse()
        response.read(ANSWER_READ_BYTES)
        return Answer(response.status, None if 200 <= response.status < 300 else f"HTTP {response.status}")
    except TimeoutError:
        return Answer(None, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()


def _answer_values(
    job: DeliveryJob, answer: Answer, delays: tuple[int, ...], now: datetime
) -> dict[str, Any]:
    attempts = job.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": answer.status_code,
        "last_error": answer.error,
        "last_attempt_at": now,
        "claim": None,
        "claimed_until": None,
    }
    if answer.delivered:
        values.update(status="delivered", delivered_at=now, next_attempt_at=None)
    else:
        delay = next_delay(attempts, delays)
        if delay is None:
            values.update(status="failed", next_attempt_at=None)
        else:
            values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
    return values


def record_answers(
    engine: Engine, answered: Sequence[tuple[DeliveryJob, Answer]], *, schedule: str
) -> list[str | None]:
    """Record a batch of attempts in one transaction, each only while its claim holds; each
    delivery's new status (None: the claim was lost, nothing recorded)."""
    delays = retry_delays(schedule)
    now = utcnow()
    statuses: list[str | None] = []
    with unit_of_work(engine) as session:
        for job, answer in answered:
            values = _answer_values(job, answer, delays, now)
            changed = _rowcount(
                session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.claim == job.claim)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            )
            statuses.append(str(values["status"]) if changed else None)
    return statuses


def record_answer(engine: Engine, job: DeliveryJob, answer: Answer, *, schedule: str) -> str | None:
    """Record one attempt while the claim holds; the delivery's new status (None: claim lost)."""
    return record_answers(engine, [(job, answer)], schedule=schedule)[0]


def pending_count(engine: Engine) -> int:
    """Deliveries still pending (tests, benchmarks, metrics)."""
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).where(WebhookDelivery.status == "pending")) or 0


def as_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
