"""The disaster report: totals and their breakdown by region code."""

from __future__ import annotations

from app.schemas.common import MoneyOut, ReadModel, UtcTimestamp


class ReportFigures(ReadModel):
    customers_enrolled: int
    accounts_enrolled: int
    total_deferred_amount: MoneyOut
    total_interest_waived: MoneyOut
    total_late_fees_waived: MoneyOut
    disputes_by_status: dict[str, int]


class ReportRegion(ReportFigures):
    region_code: str


class DisasterReport(ReadModel):
    disaster_code: str
    name: str
    status: str
    event_version: int
    generated_at: UtcTimestamp
    totals: ReportFigures
    regions: list[ReportRegion]
