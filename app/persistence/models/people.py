"""The people who use the service and what they did: API keys, agent-UI users and their sessions,
the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.persistence.models.base import Base, Id, UtcDateTime
from app.persistence.types import JSONText

__all__ = ["AgentSession", "AgentUser", "ApiKey", "AuditEvent"]


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The agent-UI user the key was issued to: the key then acts as that person (CONTRACT.md,
    # "People and credentials"); a key issued to nobody is a person of its own.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("agent_user.id"), index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AgentUser(Base):
    __tablename__ = "agent_user"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AgentSession(Base):
    """A signed-in agent-UI session, kept on the server so that logout, disabling the user, a password
    change or an admin can end it for every process at once. The cookie carries "<id>.<secret>":
    the row is found by its id and the secret checked against its SHA-256 in constant time; the
    secret itself is never stored."""

    __tablename__ = "agent_session"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("agent_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class AuditEvent(Base):
    """Append-only, hash-chained: each row's hash covers its content and the previous row's hash."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(JSONText, nullable=True)
    after: Mapped[Any] = mapped_column(JSONText, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The person behind the actor ("user:<id>", "key:<id>", "system"); None on rows written before.
    person: Mapped[str | None] = mapped_column(String(40))
    # 1 (or None): SHA-256 of the content; 2: HMAC-SHA256 under HARDSHIP_AUDIT_KEY (app.services.audit).
    chain_version: Mapped[int | None] = mapped_column(Integer)
