"""Servicing runs (CONTRACT.md, "Servicing")."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from app.schemas.common import ApiModel, ReadModel, UtcTimestamp


class ServicingRunCreate(ApiModel):
    """No options: a run brings every active plan and deferral to the business date."""


class ServicingRunRead(ReadModel):
    id: int
    as_of: date = Field(description="The business date the plans were brought to")
    plans_examined: int = Field(description="Active plans the run looked at")
    plans_updated: int = Field(description="Plans whose figures changed")
    plans_completed: int
    plans_broken: int
    plans_failed: int = Field(description="Plans whose data the rules could not apply (kept on the plan)")
    installments_updated: int
    deferrals_examined: int
    deferrals_completed: int
    started_at: UtcTimestamp
    finished_at: UtcTimestamp | None
