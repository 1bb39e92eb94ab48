"""Events out: the transactional outbox, each subject's sequence, webhook endpoints and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.statuses import DeliveryStatus
from app.persistence.models.base import Base, Id, UtcDateTime, one_of
from app.persistence.types import JSONText

__all__ = ["EventSubjectSeq", "OutboxEvent", "WebhookDelivery", "WebhookEndpoint", "WebhookEndpointType"]


class OutboxEvent(Base):
    """One event of a change of relief state, written in the change's own transaction (the
    transactional outbox; CONTRACT.md, "Events out"). ``relayed_at``: fanned out to the webhook
    deliveries; ``published_at``: confirmed by the AMQP broker."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        UniqueConstraint("subject", "seq"),
        Index(
            "ix_outbox_event_unrelayed",
            "id",
            sqlite_where=text("relayed_at IS NULL"),
            postgresql_where=text("relayed_at IS NULL"),
        ),
        Index(
            "ix_outbox_event_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[Any] = mapped_column(JSONText)
    relayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EventSubjectSeq(Base):
    """The last ``seq`` given to a subject's events; its row lock orders one subject's writers."""

    __tablename__ = "event_subject_seq"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[Any] = mapped_column(JSONText)
    secret: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEndpointType(Base):
    """The endpoint's subscribed types, one row each ("*" for all): fan-out joins on it."""

    __tablename__ = "webhook_endpoint_type"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebhookDelivery(Base):
    """One event for one endpoint: pending until a 2xx answer (delivered) or the end of the retry
    schedule (failed). A worker claims it with a lease (``claimed_until``, ``claim``)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "outbox_id"),
        CheckConstraint(one_of("status", DeliveryStatus), name="status_known"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
