"""Disasters, their amendments, region code changes and the disaster report, in and out."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, StringConstraints, model_validator

from app.domain.statuses import DisasterStatus
from app.schemas.common import ApiModel, ReadModel, UtcTimestamp

RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
EventCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class DisasterCreate(ApiModel):
    """A declared disaster (CONTRACT.md). The relief window is ordered: occurred_on <= relief_start
    <= relief_end; bills due inside it (both ends included) are deferred by deferral_months."""

    code: EventCode
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=32, examples=["flood", "earthquake"])
    occurred_on: date
    relief_start: date
    relief_end: date
    deferral_months: StrictInt = Field(ge=1, le=60)
    region_codes: list[RegionCode] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def check_window(self) -> DisasterCreate:
        if self.relief_end < self.relief_start:
            raise ValueError("relief_end must not be before relief_start")
        if self.relief_start < self.occurred_on:
            raise ValueError("relief_start must not be before occurred_on")
        return self


class DisasterAmend(ApiModel):
    """Widen an open event: add regions, move relief_end later, lengthen deferral_months."""

    add_region_codes: list[RegionCode] | None = Field(default=None, max_length=500)
    relief_end: date | None = None
    deferral_months: StrictInt | None = Field(default=None, ge=1, le=60)


class AmendmentRead(ReadModel):
    version: int
    changes: dict[str, Any]
    created_by: str
    created_at: UtcTimestamp


class DisasterRead(ReadModel):
    code: str
    name: str
    kind: str
    occurred_on: date
    relief_start: date
    relief_end: date
    deferral_months: int
    region_codes: list[str]
    status: DisasterStatus
    version: int
    created_by: str
    created_at: UtcTimestamp
    closed_at: UtcTimestamp | None
    amendments: list[AmendmentRead]


class DisasterList(ReadModel):
    items: list[DisasterRead]
    next_cursor: str | None


class RegionCodeChangeCreate(ApiModel):
    old_code: RegionCode
    new_code: RegionCode
    effective_on: date | None = None
    note: str | None = Field(default=None, max_length=500)


class RegionCodeChangeRead(ReadModel):
    old_code: str
    new_code: str
    source: Literal["policy", "operator"]
    effective_on: date | None = None
    note: str | None = None
    created_by: str | None = None
    created_at: UtcTimestamp | None = None


class RegionCodeChangeList(ReadModel):
    items: list[RegionCodeChangeRead]
