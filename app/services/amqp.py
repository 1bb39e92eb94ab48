"""Events to RabbitMQ (CONTRACT.md, "Events out"): with ``HARDSHIP_EVENTS_AMQP_URL`` every event is
published to the durable topic exchange ``hardship.events``, routing key = the event type, persistent,
with publisher confirms (kombu over py-amqp, which Celery brings).

At least once: a batch of unpublished outbox rows is locked (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two publishers never take the same rows), each event is published and confirmed by
the broker, and only then are the rows marked ``published_at`` in the same transaction. A broker that
goes away mid-batch (or a publisher that dies) leaves the whole batch unmarked: it goes again, and
consumers deduplicate on the CloudEvents ``id`` (also the AMQP ``message_id``).
"""

from __future__ import annotations

from typing import Any

from kombu import Connection, Exchange, Producer
from sqlalchemy import Engine, select, update

from app.db import unit_of_work
from app.persistence.models import OutboxEvent
from app.services.clock import utcnow
from app.services.webhooks import event_body

__all__ = ["EXCHANGE", "publish_pending"]

EXCHANGE = "hardship.events"
CONTENT_TYPE = "application/cloudevents+json"


def exchange() -> Exchange:
    return Exchange(EXCHANGE, type="topic", durable=True)


def connect(url: str) -> Connection:
    """A connection whose publishes wait for the broker's confirm (a nack or a lost connection
    raises)."""
    return Connection(url, transport_options={"confirm_publish": True}, connect_timeout=5)


def publish_pending(engine: Engine, url: str, *, batch: int = 500, connection: Any = None) -> int:
    """Publish one batch of unpublished events; the number confirmed and marked."""
    with unit_of_work(engine) as session:
        rows = list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return 0
        own = connection is None
        conn = connect(url) if own else connection
        try:
            channel = conn.channel()
            target = exchange()
            target.declare(channel=channel)
            producer = Producer(channel, exchange=target)
            for row in rows:
                producer.publish(
                    event_body(row),
                    routing_key=row.type,
                    delivery_mode=2,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    message_id=row.event_id,
                    headers={"ce-subject": row.subject, "ce-seq": row.seq},
                    retry=False,
                )
        finally:
            if own:
                conn.release()
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([row.id for row in rows]))
            .values(published_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return len(rows)
