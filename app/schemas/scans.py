"""Scans in and out: GET /v1/scans/{id} carries exactly the contract fields plus progress,
manifest and error."""

from __future__ import annotations

from pydantic import Field

from app.domain.statuses import ScanMode, ScanStatus
from app.schemas.common import ApiModel, MoneyOut, ReadModel, UtcTimestamp


class ScanCreate(ApiModel):
    mode: ScanMode
    policy_version: str | None = Field(
        default=None,
        max_length=32,
        description="A draft policy version, dry_run only: what the scan would find under the draft",
    )


class ScanAccepted(ReadModel):
    id: int
    status: ScanStatus
    disaster_code: str
    mode: str


class ScanProgress(ReadModel):
    chunks_total: int
    chunks_done: int
    percent: int


class ScanManifest(ReadModel):
    event_version: int
    policy_version: str
    draft: bool
    reason_counts: dict[str, int]
    deferrals_extended: int


class ScanRead(ReadModel):
    id: int
    disaster_code: str
    mode: ScanMode
    status: ScanStatus
    accounts_scanned: int
    accounts_eligible: int
    customers_eligible: int
    accounts_enrolled: int
    total_deferred_amount: MoneyOut
    total_interest_waived: MoneyOut
    total_late_fees_waived: MoneyOut
    started_at: UtcTimestamp | None
    finished_at: UtcTimestamp | None
    progress: ScanProgress
    manifest: ScanManifest
    error: str | None


class ScanList(ReadModel):
    items: list[ScanRead]
    next_cursor: str | None


class ScanResultRead(ReadModel):
    account_ref: str
    customer_ref: str
    region_code: str
    eligible: bool
    enrolled: bool
    reasons: list[str]
    deferred_amount: MoneyOut
    interest_waived: MoneyOut
    late_fees_waived: MoneyOut


class ScanResultList(ReadModel):
    items: list[ScanResultRead]
    next_cursor: str | None
