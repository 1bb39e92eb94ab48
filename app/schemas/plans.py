"""Installment plans, quotes and online negotiation (CONTRACT.md, "POST .../installment-plans")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from app.domain.servicing import InstallmentStatus
from app.schemas.common import ApiModel, MoneyIn, MoneyOut, ReadModel, UtcTimestamp

TermMonths = Field(ge=1, le=600, description="Number of monthly installments (1 to 60 are allowed)")
ReasonField = Field(
    default=None,
    max_length=200,
    description="Hardship reason: unemployment, illness, disaster, income_reduction, bereavement or other",
)
CommitmentField = Field(
    default=None,
    description="The cardholder accepted the agreement's commitments (no new cards until settled). "
    "Defaults to true for the channel (the mobile app collects it); agents and supervisors must send true.",
)
RecordingField = Field(
    default=None, min_length=1, max_length=128, description="Reference of the recorded phone agreement"
)


class PlanCreate(ApiModel):
    term_months: StrictInt = TermMonths
    reason: str | None = ReasonField
    recording_ref: str | None = RecordingField
    commitment_accepted: bool | None = CommitmentField


class PlanNegotiate(ApiModel):
    proposed_term_months: StrictInt = TermMonths
    reason: str | None = ReasonField
    monthly_income: MoneyIn | None = None
    recording_ref: str | None = RecordingField
    commitment_accepted: bool | None = CommitmentField


class PlanTransition(ApiModel):
    note: str = Field(min_length=1, max_length=2000, description="Why (kept with the plan and in the audit)")


class InstallmentRead(ReadModel):
    number: int
    due_date: date
    principal: MoneyOut
    interest: MoneyOut
    fee: MoneyOut
    amount: MoneyOut


class PlanInstallmentRead(InstallmentRead):
    """An installment of a plan, with where it stands (DOMAIN.md, "Servicing")."""

    status: InstallmentStatus = Field(
        description="due; paid (covered in full before its miss day, due date + grace days + 1); "
        "paid_late (covered in full on or after it); missed (not covered in full by then)"
    )
    paid_amount: MoneyOut = Field(description="The part of the payments applied to it")


class AgreementRead(ReadModel):
    """What the cardholder agrees to (kept with the plan)."""

    currency: str
    balance_owed: MoneyOut = Field(description="principal + interest + fees when the plan was made")
    principal_balance: MoneyOut
    interest_balance: MoneyOut
    fees_waived: MoneyOut
    restructured_principal: MoneyOut
    installments_count: int
    installment_amount: MoneyOut = Field(description="The first installment")
    last_installment_amount: MoneyOut
    total_repayable: MoneyOut
    start_on: date
    first_due_on: date
    last_due_on: date
    interest_accrual: Literal["none", "per_schedule"]
    fee_accrual: Literal["none", "per_schedule"]
    no_new_cards_until_settled: bool = Field(description="The cardholder's commitment")
    commitment_accepted: bool
    collection_suspended_while_kept: bool
    channel: str
    recording_ref: str | None
    lang: str
    terms_text: list[str] = Field(description="The agreement in plain words")


class PlanRead(ReadModel):
    id: int
    account_ref: str
    status: str = Field(description="active, completed, broken or cancelled")
    term_months: int
    method: str
    hardship_reason: str
    start_on: date
    principal_amount: MoneyOut = Field(description="Restructured principal P = principal + interest")
    fees_waived: MoneyOut
    fee_total: MoneyOut
    interest_total: MoneyOut
    total_amount: MoneyOut
    monthly_fee_rate: str
    annual_interest_rate: str
    policy_version: str
    decision_id: int | None
    channel: str
    recording_ref: str | None
    created_by: str
    created_at: UtcTimestamp
    ended_on: date | None
    end_reason: str | None
    agreement: AgreementRead | None
    schedule: list[PlanInstallmentRead]
    completed_on: date | None = Field(description="The day the payment covering the last fen was made")
    broken_on: date | None = Field(description="The miss day on which the plan broke")
    paid_total: MoneyOut = Field(description="Payments applied to the installments")
    outstanding: MoneyOut = Field(description="The installments' amounts minus paid_total")
    unapplied: MoneyOut = Field(description="Payments left after the last installment (kept, never lost)")


class PlanList(ReadModel):
    items: list[PlanRead]


class QuoteRequest(ApiModel):
    account_ref: str = Field(min_length=1, max_length=64)
    terms: list[Annotated[StrictInt, Field(ge=1, le=600)]] | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        description="Terms to quote; default: the usual terms allowed",
    )
    monthly_income: MoneyIn | None = None


class TermQuoteRead(ReadModel):
    term_months: int
    first_amount: MoneyOut
    last_amount: MoneyOut
    monthly_fee: MoneyOut
    total_fee: MoneyOut
    total_interest: MoneyOut
    total_amount: MoneyOut
    schedule: list[InstallmentRead]


class QuoteRead(ReadModel):
    account_ref: str
    policy_version: str
    currency: str
    restructured_principal: MoneyOut
    fees_waived: MoneyOut
    recommended_term_months: int | None
    quotes: list[TermQuoteRead]


class NegotiationRead(ReadModel):
    outcome: Literal["accepted", "counter_offer"]
    plan: PlanRead | None = Field(default=None, description="The plan created (accepted)")
    counter_offer_term_months: int | None = Field(default=None, description="The nearest allowed term")
    quote: TermQuoteRead | None = Field(default=None, description="The counter-offer's schedule")
    recommended_term_months: int | None = None
