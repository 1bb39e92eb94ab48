"""Relief granted to an account: eligibility decisions, installment plans and their installments, fee
waivers and their approvals (maker-checker), deferrals and their lines, credit-report disputes,
servicing runs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.disputes import DisputeStatus
from app.domain.servicing import InstallmentStatus
from app.domain.statuses import ApprovalStatus, DeferralStatus, WaiverStatus
from app.persistence.models.base import Base, Id, UtcDateTime, one_of
from app.persistence.types import JSONText, Money

__all__ = [
    "Approval",
    "CreditDispute",
    "Decision",
    "Deferral",
    "DeferralLine",
    "DeferralLineColumns",
    "DeferralLineHistory",
    "FeeWaiver",
    "Installment",
    "InstallmentPlan",
    "ServicingRun",
]


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


class DeferralLineColumns:
    """The columns of a deferral line, the same on the line and on its history."""

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


class DeferralLine(DeferralLineColumns, Base):
    __tablename__ = "deferral_line"
    __table_args__ = (UniqueConstraint("deferral_id", "statement_date"),)

    deferral: Mapped[Deferral] = relationship(back_populates="lines", lazy="raise")


class DeferralLineHistory(DeferralLineColumns, Base):
    """A deferral line as it was before an extension changed it: the instruction file of the day it
    was granted keeps its rows (the same rows on every export)."""

    __tablename__ = "deferral_line_history"
    __table_args__ = (Index("ix_deferral_line_history_granted_on", "granted_on"),)

    # After the shared columns, as in the migrations (a class's own columns would come first otherwise).
    replaced_on: Mapped[date] = mapped_column(Date, sort_order=1)


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
