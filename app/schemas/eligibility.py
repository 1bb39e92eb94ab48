"""Eligibility requests and answers, and stored decisions (CONTRACT.md, "POST .../eligibility")."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, StrictInt

from app.schemas.common import ApiModel, MoneyIn, ReadModel, UtcTimestamp


class EligibilityRequest(ApiModel):
    """What the cardholder tells: the hardship reason, optionally the income and the wished term."""

    reason: str | None = Field(
        default=None,
        max_length=200,
        description="Hardship reason: unemployment, illness, disaster, income_reduction, bereavement or "
        "other. Missing or unknown: installment_plan answers HARDSHIP_REASON_REQUIRED.",
    )
    monthly_income: MoneyIn | None = Field(
        default=None, description="Monthly income; with it the offer recommends an affordable term"
    )
    term_months: StrictInt | None = Field(
        default=None,
        ge=1,
        le=600,
        description="The term the cardholder would like (1 to 60 months are allowed)",
    )


class ReasonRead(ReadModel):
    code: str = Field(description="Reason code (DOMAIN.md), e.g. ACCOUNT_STATUS_INELIGIBLE")
    message: str = Field(description="Plain words, in English or Simplified Chinese (Accept-Language)")


class ProgramRead(ReadModel):
    program: str = Field(description="installment_plan, fee_waiver or disaster_deferral")
    eligible: bool
    reasons: list[ReasonRead] = Field(description="Every failed rule; empty when eligible")
    offer: dict[str, Any] | None = Field(
        description="What may be offered (money as strings); null when not eligible"
    )


class EligibilityRead(ReadModel):
    decision_id: int
    policy_version: str
    programs: list[ProgramRead]


class DecisionRead(ReadModel):
    """A stored decision: the inputs snapshot it saw, its outcome and the policy version."""

    id: int
    account_ref: str
    kind: str = Field(description="eligibility, installment_plan or fee_waiver")
    policy_version: str
    decided_on: date
    inputs: dict[str, Any]
    outcome: dict[str, Any]
    actor: str
    created_at: UtcTimestamp


class DecisionReplayRead(ReadModel):
    """A decision re-evaluated from its snapshot under its recorded policy version."""

    decision_id: int
    policy_version: str
    identical: bool = Field(description="Same programs, eligibility, reason codes and offers as stored")
    stored: dict[str, Any]
    replayed: dict[str, Any]
