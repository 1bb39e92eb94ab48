"""Maker-checker approvals."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import ApiModel, MoneyOut, ReadModel, UtcTimestamp


class ApprovalDecide(ApiModel):
    note: str | None = Field(default=None, max_length=2000, description="The approver's note")


class ApprovalRead(ReadModel):
    id: int
    subject_type: str = Field(description="What waits for approval, e.g. fee_waiver")
    subject_id: int
    account_ref: str
    status: str = Field(description="pending, approved or rejected")
    amount: MoneyOut
    why: str = Field(description="role_without_authority, above_authority_limit or repeat_within_window")
    requested_by: str
    requested_role: str
    decided_by: str | None
    decided_at: UtcTimestamp | None
    decision_note: str | None
    created_at: UtcTimestamp
    requested_person: str | None = Field(
        default=None,
        description="The person who asked (user:<id> or key:<id>); maker-checker compares persons",
    )
    decided_person: str | None = Field(default=None, description="The person who decided")


class ApprovalList(ReadModel):
    items: list[ApprovalRead]
    next_cursor: str | None
