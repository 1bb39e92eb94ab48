"""Fee and interest waivers."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from app.schemas.common import ApiModel, MoneyIn, MoneyOut, ReadModel, UtcTimestamp


class WaiverCreate(ApiModel):
    fee_amount: MoneyIn = Field(description="Fees and penalties to waive (at most the fee balance)")
    interest_amount: MoneyIn = Field(
        default=Decimal("0.00"), description="Interest to waive (at most the policy's waivable share)"
    )
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="Hardship reason: unemployment, illness, disaster, income_reduction, bereavement, other",
    )
    note: str | None = Field(default=None, max_length=2000)


class WaiverReverse(ApiModel):
    note: str | None = Field(default=None, max_length=2000, description="Why the waiver is reversed")


class WaiverRead(ReadModel):
    id: int
    account_ref: str
    status: str = Field(description="applied, pending_approval, rejected or reversed")
    fee_amount: MoneyOut
    interest_amount: MoneyOut
    total_amount: MoneyOut
    hardship_reason: str
    note: str | None
    policy_version: str
    requested_by: str
    requested_role: str
    created_at: UtcTimestamp
    applied_at: UtcTimestamp | None
    reversed_at: UtcTimestamp | None
    approval_id: int | None = Field(description="The approval it waits for (or waited for)")
    approval_status: str | None


class WaiverList(ReadModel):
    items: list[WaiverRead]
