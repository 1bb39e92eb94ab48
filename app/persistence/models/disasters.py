"""Declared disasters (their regions and amendments), the operator's region code changes, and the
portfolio scans with their chunks and results."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.statuses import ChunkStatus, DisasterStatus, ScanMode, ScanStatus
from app.persistence.models.base import Base, Id, UtcDateTime, one_of
from app.persistence.types import JSONText, Money

__all__ = [
    "DisasterAmendment",
    "DisasterEvent",
    "DisasterRegion",
    "RegionCodeChange",
    "Scan",
    "ScanChunk",
    "ScanResult",
]


class DisasterEvent(Base):
    __tablename__ = "disaster_event"
    __table_args__ = (
        CheckConstraint("relief_end >= relief_start", name="window_ordered"),
        CheckConstraint("deferral_months BETWEEN 1 AND 60", name="deferral_months_range"),
        CheckConstraint(one_of("status", DisasterStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[date] = mapped_column(Date)
    relief_start: Mapped[date] = mapped_column(Date)
    relief_end: Mapped[date] = mapped_column(Date)
    deferral_months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    regions: Mapped[list[DisasterRegion]] = relationship(
        back_populates="event", lazy="raise", order_by="DisasterRegion.region_code"
    )


class DisasterRegion(Base):
    __tablename__ = "disaster_region"
    __table_args__ = (UniqueConstraint("disaster_id", "region_code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disaster_event.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(6))
    added_in_version: Mapped[int] = mapped_column(Integer, default=1)

    event: Mapped[DisasterEvent] = relationship(back_populates="regions", lazy="raise")


class DisasterAmendment(Base):
    """Each version of an event after the first: what changed, who changed it."""

    __tablename__ = "disaster_amendment"
    __table_args__ = (UniqueConstraint("disaster_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disaster_event.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    changes: Mapped[Any] = mapped_column(JSONText)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegionCodeChange(Base):
    """Operator-maintained additions to the policy's table of administrative code changes."""

    __tablename__ = "region_code_change"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    old_code: Mapped[str] = mapped_column(String(6), unique=True)
    new_code: Mapped[str] = mapped_column(String(6))
    effective_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Scan(Base):
    __tablename__ = "scan"
    __table_args__ = (
        CheckConstraint(one_of("mode", ScanMode), name="mode_known"),
        CheckConstraint(one_of("status", ScanStatus), name="status_known"),
        Index("ix_scan_disaster_id", "disaster_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disaster_event.id"))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    executor: Mapped[str] = mapped_column(String(16))
    event_version: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(32))
    # Fixed when the scan is requested, so every planner (first run, recovery, resume) agrees.
    chunk_size: Mapped[int] = mapped_column(Integer, server_default="5000")
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    accounts_scanned: Mapped[int] = mapped_column(Integer, default=0)
    accounts_eligible: Mapped[int] = mapped_column(Integer, default=0)
    customers_eligible: Mapped[int] = mapped_column(Integer, default=0)
    accounts_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    total_deferred_amount: Mapped[Decimal] = mapped_column("total_deferred_fen", Money, default=Decimal(0))
    total_interest_waived: Mapped[Decimal] = mapped_column(
        "total_interest_waived_fen", Money, default=Decimal(0)
    )
    total_late_fees_waived: Mapped[Decimal] = mapped_column(
        "total_late_fees_waived_fen", Money, default=Decimal(0)
    )
    reason_counts: Mapped[Any] = mapped_column(JSONText, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ScanChunk(Base):
    """A key range of accounts, evaluated and written in one transaction; retried until done."""

    __tablename__ = "scan_chunk"
    __table_args__ = (
        UniqueConstraint("scan_id", "number"),
        CheckConstraint(one_of("status", ChunkStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    first_account_id: Mapped[int] = mapped_column(Id)
    last_account_id: Mapped[int] = mapped_column(Id)
    # The ids of the chunk's accounts (a JSON array, in order), all in the event's regions; None for
    # a chunk planned as a bare id range (migration e4a7c19b5f26).
    account_ids: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    accounts_scanned: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ScanResult(Base):
    __tablename__ = "scan_result"
    __table_args__ = (Index("ix_scan_result_scan_eligible", "scan_id", "eligible", "account_id"),)

    # Keyed by (scan, account): one result per account and scan. No foreign keys: PostgreSQL checked
    # them with a query and a row lock per result row, the costliest part of a scan's database work.
    # Both ids are read in the chunk's own transaction, and scans and accounts are never deleted
    # (migration 5d1c0e7a9b31).
    scan_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    account_ref: Mapped[str] = mapped_column(String(64))
    customer_ref: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6))
    eligible: Mapped[bool] = mapped_column(Boolean)
    enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[str] = mapped_column(Text)  # space-separated reason codes, empty when eligible
    deferred_amount: Mapped[Decimal] = mapped_column("deferred_fen", Money)
    interest_waived: Mapped[Decimal] = mapped_column("interest_waived_fen", Money)
    late_fees_waived: Mapped[Decimal] = mapped_column("late_fees_waived_fen", Money)
