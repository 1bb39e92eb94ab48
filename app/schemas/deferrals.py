"""Disaster deferrals of an account (CONTRACT.md)."""

from __future__ import annotations

from datetime import date

from app.schemas.common import MoneyOut, ReadModel, UtcTimestamp


class DeferralLineRead(ReadModel):
    statement_date: date
    due_date: date
    new_due_date: date
    deferred_amount: MoneyOut
    interest_waived: MoneyOut
    late_fee_waived: MoneyOut


class DeferralRead(ReadModel):
    id: int
    disaster_code: str
    disaster_name: str
    event_version: int
    policy_version: str
    scan_id: int | None
    deferred_amount: MoneyOut
    interest_waived: MoneyOut
    late_fees_waived: MoneyOut
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    lines: list[DeferralLineRead]


class DeferralList(ReadModel):
    items: list[DeferralRead]
