"""The database schema: SQLAlchemy 2 declarative models.  Money columns are integer fen (see types.Money);
timestamps are UTC; dates are calendar dates.  Uniqueness rules live here as constraints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.domain.disputes import DisputeStatus
from app.domain.reasons import AccountStatus
from app.domain.servicing import InstallmentStatus
from app.domain.statuses import (
    ApprovalStatus,
    ChunkStatus,
    DeferralStatus,
    DeliveryStatus,
    DisasterStatus,
    ScanMode,
    ScanStatus,
    WaiverStatus,
)
from app.persistence.types import JSONText, Money

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")
UtcDateTime = DateTime(timezone=True)


def one_of(column: str, values: type[StrEnum]) -> str:
    """The CHECK that a column holds one of an enum's values: "status IN ('a','b')"."""
    return f"{column} IN ({','.join(repr(str(v.value)) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- portfolio -------------------------------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CardAccount(Base):
    __tablename__ = "card_account"
    __table_args__ = (
        CheckConstraint(one_of("status", AccountStatus), name="status_known"),
        CheckConstraint("length(region_code) = 6", name="region_code_six_digits"),
        CheckConstraint(
            "credit_limit_fen >= 0 AND principal_balance_fen >= 0 AND interest_balance_fen >= 0 "
            "AND fee_balance_fen >= 0",
            name="money_not_negative",
        ),
        Index("ix_card_account_customer_ref", "customer_ref"),
        Index("ix_card_account_region_code", "region_code"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_ref: Mapped[str] = mapped_column(String(64), unique=True)
    # The customer, by customer_ref; not a per-row foreign key (migration e5a7c3d19b42): the import
    # and the upsert insert the customer first, and customers are never deleted.
    customer_ref: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    opened_on: Mapped[date] = mapped_column(Date)
    credit_limit: Mapped[Decimal] = mapped_column("credit_limit_fen", Money)
    principal_balance: Mapped[Decimal] = mapped_column("principal_balance_fen", Money)
    interest_balance: Mapped[Decimal] = mapped_column("interest_balance_fen", Money)
    fee_balance: Mapped[Decimal] = mapped_column("fee_balance_fen", Money)
    delinquent_since: Mapped[date | None] = mapped_column(Date)
    last_payment_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    statements: Mapped[list[Statement]] = relationship(
        back_populates="account",
        lazy="raise",
        order_by="Statement.statement_date",
        primaryjoin="CardAccount.id == foreign(Statement.account_id)",
    )


class Statement(Base):
    __tablename__ = "statement"
    __table_args__ = (
        UniqueConstraint("account_id", "statement_date"),
        CheckConstraint("due_date >= statement_date", name="due_after_statement"),
        CheckConstraint("minimum_due_fen <= statement_balance_fen", name="minimum_within_balance"),
        CheckConstraint(
            "statement_balance_fen >= 0 AND minimum_due_fen >= 0 AND paid_amount_fen >= 0",
            name="money_not_negative",
        ),
        Index("ix_statement_due_date", "due_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The account's id; not a per-row foreign key (migration e5a7c3d19b42): the import checks every
    # account_ref of the file at once, and accounts are never deleted.
    account_id: Mapped[int] = mapped_column(Id)
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    statement_balance: Mapped[Decimal] = mapped_column("statement_balance_fen", Money)
    minimum_due: Mapped[Decimal] = mapped_column("minimum_due_fen", Money)
    paid_amount: Mapped[Decimal] = mapped_column("paid_amount_fen", Money)

    account: Mapped[CardAccount] = relationship(
        back_populates="statements",
        lazy="raise",
        primaryjoin="CardAccount.id == foreign(Statement.account_id)",
    )


# --- access ----------------------------------------------------------------------------------------


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
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- audit and idempotency -------------------------------------------------------------------------


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


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# --- decisions, plans, waivers, approvals ----------------------------------------------------------


class Decision(Base):
    """One eligibility evaluation with the inputs it saw and the policy version, so it can be replayed."""

    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_account_ref", "account_ref"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # eligibility | installment_plan | fee_waiver
    policy_version: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    inputs: Mapped[Any] = mapped_column(JSONText)
    outcome: Mapped[Any] = mapped_column(JSONText)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


def _plan_total(context: Any) -> Any:
    """A new plan's outstanding amount: its total (in fen, as bound for ``total_fen``)."""
    return context.get_current_parameters()["total_fen"]


class InstallmentPlan(Base):
    __tablename__ = "installment_plan"
    __table_args__ = (
        CheckConstraint("term_months BETWEEN 1 AND 600", name="term_positive"),
        CheckConstraint(
            "status IN ('pending_approval','active','completed','broken','cancelled','rejected')",
            name="status_known",
        ),
        # At most one active plan per account, settled by the database under concurrency.
        Index(
            "uq_installment_plan_one_active",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_installment_plan_start_on", "start_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    term_months: Mapped[int] = mapped_column(Integer)
    hardship_reason: Mapped[str] = mapped_column(String(32))
    start_on: Mapped[date] = mapped_column(Date)
    # The account's region code when the plan was created (the outcomes report's prefecture: the
    # region at the plan's start, mapped to today's code when the report is made).
    start_region_code: Mapped[str] = mapped_column(String(6))
    principal_amount: Mapped[Decimal] = mapped_column("principal_fen", Money)
    fees_waived: Mapped[Decimal] = mapped_column("fees_waived_fen", Money)
    fee_total: Mapped[Decimal] = mapped_column("fee_total_fen", Money)
    interest_total: Mapped[Decimal] = mapped_column("interest_total_fen", Money)
    total_amount: Mapped[Decimal] = mapped_column("total_fen", Money)
    monthly_fee_rate: Mapped[str] = mapped_column(String(20))
    annual_interest_rate: Mapped[str] = mapped_column(String(20))
    policy_version: Mapped[str] = mapped_column(String(32))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    agreement: Mapped[Any] = mapped_column(JSONText, nullable=True)
    recording_ref: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(100))
    created_person: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    # Servicing (DOMAIN.md, "Servicing"): written by the servicing runs.
    completed_on: Mapped[date | None] = mapped_column(Date)
    broken_on: Mapped[date | None] = mapped_column(Date)
    paid_total: Mapped[Decimal] = mapped_column(
        "paid_total_fen", Money, default=Decimal(0), server_default=text("0")
    )
    # Nothing is paid on a new plan: what is outstanding is the sum of its installments.
    outstanding: Mapped[Decimal] = mapped_column(
        "outstanding_fen", Money, default=_plan_total, server_default=text("0")
    )
    unapplied: Mapped[Decimal] = mapped_column(
        "unapplied_fen", Money, default=Decimal(0), server_default=text("0")
    )
    # Installments whose miss day has come, and those of them paid before it (the on-time rate).
    installments_judged: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    installments_on_time: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    servicing_error: Mapped[str | None] = mapped_column(Text)

    installments: Mapped[list[Installment]] = relationship(
        back_populates="plan", lazy="raise", order_by="Installment.number"
    )


class Payment(Base):
    """A cardholder's payment as the card system sent it (CONTRACT.md, "Payments from the card
    system"); servicing applies it to the account's plan (DOMAIN.md, "Servicing")."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_payment_account_id_paid_on", "account_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    payment_ref: Mapped[str] = mapped_column(String(64), unique=True)
    # Not a per-row foreign key (migration e5a7c3d19b42): the import checks the accounts of the file.
    account_id: Mapped[int] = mapped_column(Id)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column("amount_fen", Money)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Installment(Base):
    __tablename__ = "installment"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        CheckConstraint(one_of("status", InstallmentStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("installment_plan.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal_amount: Mapped[Decimal] = mapped_column("principal_fen", Money)
    interest_amount: Mapped[Decimal] = mapped_column("interest_fen", Money)
    fee_amount: Mapped[Decimal] = mapped_column("fee_fen", Money)
    amount: Mapped[Decimal] = mapped_column("amount_fen", Money)
    # Servicing (DOMAIN.md, "Servicing"): due, paid, paid_late or missed, and the part applied to it.
    status: Mapped[str] = mapped_column(String(16), default="due", server_default=text("'due'"))
    paid_amount: Mapped[Decimal] = mapped_column(
        "paid_fen", Money, default=Decimal(0), server_default=text("0")
    )

    plan: Mapped[InstallmentPlan] = relationship(back_populates="installments", lazy="raise")


class FeeWaiver(Base):
    __tablename__ = "fee_waiver"
    __table_args__ = (CheckConstraint(one_of("status", WaiverStatus), name="status_known"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    fee_amount: Mapped[Decimal] = mapped_column("fee_fen", Money)
    interest_amount: Mapped[Decimal] = mapped_column("interest_fen", Money)
    total_amount: Mapped[Decimal] = mapped_column("total_fen", Money)
    hardship_reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_person: Mapped[str | None] = mapped_column(String(40))
    requested_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Business dates of the application and the reversal (the instruction file's day).
    applied_on: Mapped[date | None] = mapped_column(Date)
    reversed_on: Mapped[date | None] = mapped_column(Date)


class Approval(Base):
    """Maker-checker: a request beyond the maker's authority waits here for a different supervisor."""

    __tablename__ = "approval"
    __table_args__ = (
        CheckConstraint(one_of("status", ApprovalStatus), name="status_known"),
        # A subject cannot be pending twice.
        Index(
            "uq_approval_one_pending",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_approval_status", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(32))  # fee_waiver | installment_plan
    subject_id: Mapped[int] = mapped_column(Id)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column("amount_fen", Money)
    why: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_person: Mapped[str | None] = mapped_column(String(40))
    requested_role: Mapped[str] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_person: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- disasters -------------------------------------------------------------------------------------


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


class BusinessDatePin(Base):
    """The business date an admin pinned for every process (at most one row, id 1)."""

    __tablename__ = "business_date_pin"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pinned_on: Mapped[date] = mapped_column(Date)
    pinned_by: Mapped[str] = mapped_column(String(100))
    pinned_at: Mapped[datetime] = mapped_column(UtcDateTime)


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


class Deferral(Base):
    __tablename__ = "deferral"
    __table_args__ = (
        UniqueConstraint("account_id", "disaster_id"),
        CheckConstraint(one_of("status", DeferralStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"))
    disaster_id: Mapped[int] = mapped_column(ForeignKey("disaster_event.id"), index=True)
    # The scan that enrolled it (None from other sources); no foreign key, as for scan results.
    scan_id: Mapped[int | None] = mapped_column(Id)
    event_version: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(32))
    deferred_amount: Mapped[Decimal] = mapped_column("deferred_fen", Money)
    interest_waived: Mapped[Decimal] = mapped_column("interest_waived_fen", Money)
    late_fees_waived: Mapped[Decimal] = mapped_column("late_fees_waived_fen", Money)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Completed once its last new due date has passed (DOMAIN.md, "Servicing").
    status: Mapped[str] = mapped_column(String(16), default="active", server_default=text("'active'"))
    completed_on: Mapped[date | None] = mapped_column(Date)

    # The business date it was granted (the instruction file's day).
    granted_on: Mapped[date | None] = mapped_column(Date)

    lines: Mapped[list[DeferralLine]] = relationship(
        back_populates="deferral", lazy="raise", order_by="DeferralLine.due_date"
    )


class DeferralLine(Base):
    __tablename__ = "deferral_line"
    __table_args__ = (UniqueConstraint("deferral_id", "statement_date"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    deferral_id: Mapped[int] = mapped_column(ForeignKey("deferral.id", ondelete="CASCADE"))
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    new_due_date: Mapped[date] = mapped_column(Date)
    deferred_amount: Mapped[Decimal] = mapped_column("deferred_fen", Money)
    interest_waived: Mapped[Decimal] = mapped_column("interest_waived_fen", Money)
    late_fee_waived: Mapped[Decimal] = mapped_column("late_fee_waived_fen", Money)
    # The business date the line was written or last changed (an extension's new or changed lines).
    granted_on: Mapped[date | None] = mapped_column(Date)

    deferral: Mapped[Deferral] = relationship(back_populates="lines", lazy="raise")


class CreditDispute(Base):
    __tablename__ = "credit_dispute"
    __table_args__ = (
        # One dispute per account and event; agent-filed cases (no event) are not limited here.
        UniqueConstraint("account_id", "disaster_id"),
        CheckConstraint(one_of("status", DisputeStatus), name="status_known"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        Index("ix_credit_dispute_status", "status", "due_by"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"), index=True)
    disaster_id: Mapped[int | None] = mapped_column(ForeignKey("disaster_event.id"), index=True)
    bureau: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    submitted_on: Mapped[date] = mapped_column(Date)
    due_by: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    evidence_refs: Mapped[Any] = mapped_column(JSONText, nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_person: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- controls --------------------------------------------------------------------------------------


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


# --- servicing -------------------------------------------------------------------------------------


class ServicingRun(Base):
    """One servicing run: every active plan and deferral brought to ``as_of`` (DOMAIN.md, "Servicing")."""

    __tablename__ = "servicing_run"
    __table_args__ = (Index("ix_servicing_run_as_of", "as_of"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    plans_examined: Mapped[int] = mapped_column(Integer, default=0)
    plans_updated: Mapped[int] = mapped_column(Integer, default=0)
    plans_completed: Mapped[int] = mapped_column(Integer, default=0)
    plans_broken: Mapped[int] = mapped_column(Integer, default=0)
    plans_failed: Mapped[int] = mapped_column(Integer, default=0)
    installments_updated: Mapped[int] = mapped_column(Integer, default=0)
    deferrals_examined: Mapped[int] = mapped_column(Integer, default=0)
    deferrals_completed: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- events ----------------------------------------------------------------------------------------


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


class DeferralLineHistory(Base):
    """A deferral line as it was before an extension changed it: the instruction file of the day it
    was granted keeps its rows (the same rows on every export)."""

    __tablename__ = "deferral_line_history"
    __table_args__ = (Index("ix_deferral_line_history_granted_on", "granted_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    deferral_id: Mapped[int] = mapped_column(ForeignKey("deferral.id", ondelete="CASCADE"))
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    new_due_date: Mapped[date] = mapped_column(Date)
    deferred_amount: Mapped[Decimal] = mapped_column("deferred_fen", Money)
    interest_waived: Mapped[Decimal] = mapped_column("interest_waived_fen", Money)
    late_fee_waived: Mapped[Decimal] = mapped_column("late_fee_waived_fen", Money)
    granted_on: Mapped[date | None] = mapped_column(Date)
    replaced_on: Mapped[date] = mapped_column(Date)


# --- desk ---


class Contact(Base):
    """One contact with the cardholder (a call, an online session, a branch visit): its channel, its
    outcome from a fixed list (app/domain/contacts.py), a note, and an optional callback date that
    brings the account back into the recorder's work queue on that business date."""

    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_account_id_created_at", "account_id", "created_at"),
        Index("ix_contact_callback_on", "callback_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    callback_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
