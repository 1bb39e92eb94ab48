"""Account snapshot in and out."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator, model_validator

from app.domain.reasons import AccountStatus
from app.domain.records import check_statement
from app.schemas.common import ApiModel, MoneyIn, MoneyOut, ReadModel


class StatementRead(ReadModel):
    statement_date: date
    due_date: date
    statement_balance: MoneyOut
    minimum_due: MoneyOut
    paid_amount: MoneyOut
    unpaid_amount: MoneyOut


class PlanSummary(ReadModel):
    id: int
    status: str
    term_months: int
    start_on: date
    principal_amount: MoneyOut
    total_amount: MoneyOut


class WaiverSummary(ReadModel):
    id: int
    status: str
    fee_amount: MoneyOut
    interest_amount: MoneyOut
    created_at: str


class DeferralSummary(ReadModel):
    disaster_code: str
    deferred_amount: MoneyOut
    interest_waived: MoneyOut
    late_fees_waived: MoneyOut


class DisputeSummary(ReadModel):
    id: int
    status: str
    bureau: str
    reason_code: str
    due_by: date
    overdue: bool


class Arrangements(ReadModel):
    installment_plans: list[PlanSummary]
    fee_waivers: list[WaiverSummary]
    deferrals: list[DeferralSummary]
    credit_disputes: list[DisputeSummary]


class AccountRead(ReadModel):
    account_ref: str
    customer_ref: str
    product_code: str
    status: str
    region_code: str
    opened_on: date
    credit_limit: MoneyOut
    principal_balance: MoneyOut
    interest_balance: MoneyOut
    fee_balance: MoneyOut
    total_balance: MoneyOut
    delinquent_since: date | None
    last_payment_on: date | None
    days_past_due: int
    statements: list[StatementRead]
    arrangements: Arrangements


class StatementUpsert(ApiModel):
    statement_date: date
    due_date: date
    statement_balance: MoneyIn
    minimum_due: MoneyIn
    paid_amount: MoneyIn

    @model_validator(mode="after")
    def check_consistency(self) -> StatementUpsert:
        """The statement rules of the CSV import (``app.domain.records.check_statement``)."""
        check_statement(self.statement_date, self.due_date, self.statement_balance, self.minimum_due)
        return self


class AccountUpsert(ApiModel):
    """The card system's snapshot of one account (same fields as accounts.csv)."""

    customer_ref: str = Field(min_length=1, max_length=64)
    product_code: str = Field(min_length=1, max_length=32)
    status: AccountStatus
    region_code: str = Field(pattern=r"^\d{6}$")
    opened_on: date
    credit_limit: MoneyIn
    principal_balance: MoneyIn
    interest_balance: MoneyIn
    fee_balance: MoneyIn
    delinquent_since: date | None = None
    last_payment_on: date | None = None
    statements: list[StatementUpsert] | None = Field(
        default=None, max_length=600, description="Statements to upsert with the account (by statement_date)"
    )

    @field_validator("customer_ref", "product_code")
    @classmethod
    def refuse_control_characters(cls, value: str) -> str:
        """The same rule as the CSV import: refs are printable text (no NUL, escape or newline)."""
        if not value.isprintable():
            raise ValueError("must not contain control characters")
        return value
