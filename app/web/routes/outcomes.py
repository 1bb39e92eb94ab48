"""The outcomes report for supervisors and auditors: the figures of GET /v1/reports/outcomes and a
chart of kept, broken and active plans by month of start."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from app.domain.access import Permission
from app.services import outcomes
from app.services.clock import today
from app.services.principal import Principal
from app.web.common import permitted, policies_of, render, ui_router, unit_of_work

router = ui_router()
CHART_WIDTH = 480


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _bars(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each month's kept / broken / active bar widths, scaled to the largest month."""
    largest = max((m["completed"] + m["broken"] + m["active"] for m in months), default=0) or 1
    bars = []
    for month in months:
        widths = {key: round(CHART_WIDTH * month[key] / largest) for key in ("completed", "broken", "active")}
        bars.append(
            {
                **month,
                "kept_width": widths["completed"],
                "broken_x": widths["completed"],
                "broken_width": widths["broken"],
                "active_x": widths["completed"] + widths["broken"],
                "active_width": widths["active"],
            }
        )
    return bars


@router.get("/reports/outcomes")
def outcomes_page(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.OUTCOME_REPORT_READ))],
    start: str = "",
    end: str = "",
) -> Response:
    with unit_of_work(request) as session:
        on = today(session)
        first = _date(start) if start else date(on.year, 1, 1)
        last = _date(end) if end else on
        report: dict[str, Any] | None = None
        months: list[dict[str, Any]] = []
        error = first is None or last is None or last < first
        if not error:
            assert first is not None and last is not None
            report = outcomes.outcomes_report(session, start=first, end=last, policies=policies_of(request))
            months = outcomes.outcomes_by_month(session, start=first, end=last)
    return render(
        request,
        "outcomes.html",
        {
            "form": {
                "start": start or (first.isoformat() if first else ""),
                "end": end or (last.isoformat() if last else ""),
            },
            "error": error,
            "report": report,
            "bars": _bars(months),
            "chart_width": CHART_WIDTH,
        },
        section="outcomes",
    )
