"""Credit-report disputes in and out (CONTRACT.md)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from app.domain.disputes import DisputeStatus
from app.schemas.common import ApiModel, ReadModel, UtcTimestamp


class DisputeBulkRequest(ApiModel):
    """No fields: the disputes follow from the event and the policy (DOMAIN.md)."""


class DisputeBulkResult(ReadModel):
    created: int
    existing: int


class DisputeCreate(ApiModel):
    account_ref: str = Field(min_length=1, max_length=64)
    bureau: str = Field(default="PBOC_CRC", min_length=1, max_length=32)
    reason_code: str = Field(min_length=1, max_length=64)
    period_start: date
    period_end: date
    description: str | None = Field(default=None, max_length=4000)
    evidence_refs: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def check_period(self) -> DisputeCreate:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class DisputeRead(ReadModel):
    id: int
    account_ref: str
    disaster_code: str | None
    bureau: str
    reason_code: str
    status: DisputeStatus
    period_start: date
    period_end: date
    submitted_on: date
    due_by: date
    overdue: bool
    description: str | None
    evidence_refs: list[str]
    resolution_note: str | None
    created_by: str
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class DisputeList(ReadModel):
    items: list[DisputeRead]
    next_cursor: str | None


class DisputeTransition(ApiModel):
    status: DisputeStatus
    note: str | None = Field(default=None, max_length=2000)
