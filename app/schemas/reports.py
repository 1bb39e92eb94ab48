"""The disaster report: totals and their breakdown by region code."""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

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


class OutcomeFigures(ReadModel):
    """The outcomes of a set of plans (DOMAIN.md, "Servicing"; CONTRACT.md, "Servicing")."""

    started: int
    active: int
    completed: int
    broken: int
    cancelled: int
    restructured_principal: MoneyOut
    paid_total: MoneyOut
    outstanding: MoneyOut
    kept_rate: str | None = Field(description="completed / (completed + broken), four decimals; null if none")
    on_time_rate: str | None = Field(
        description="installments paid before their miss day / installments whose miss day has come; "
        "four decimals; null if none"
    )
    installments_judged: int = Field(description="Installments whose miss day has come")
    installments_on_time: int = Field(description="Of those, paid in full before their miss day")


class OutcomeRegion(OutcomeFigures):
    prefecture: str = Field(description="First four digits of the current region code + 00")


class OutcomeTermBucket(OutcomeFigures):
    term_bucket: str = Field(description="1-6, 7-12, 13-24, 25-36 or 37-60 months")


class CreatedInPeriod(ReadModel):
    count: int
    amount: MoneyOut


class OutcomesReport(ReadModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: date = Field(alias="from", description="Plans started on or after this day")
    to: date = Field(description="... and on or before this day")
    generated_at: UtcTimestamp
    plans: OutcomeFigures
    by_region: list[OutcomeRegion]
    by_term_bucket: list[OutcomeTermBucket]
    waivers: CreatedInPeriod = Field(description="Fee waivers applied, created in the period")
    deferrals: CreatedInPeriod = Field(description="Disaster deferrals created in the period")
