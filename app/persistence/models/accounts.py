"""The card system's records: customers, card accounts, their statements and payments (imported,
or upserted through the API)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.reasons import AccountStatus
from app.persistence.models.base import Base, Id, UtcDateTime, one_of
from app.persistence.types import Money

__all__ = ["CardAccount", "Customer", "Payment", "Statement"]


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
