"""The outcomes of the plans started in a period, as a bank's consumer-protection review reads them.

DOMAIN.md, "Servicing": for plans started in [from, to], kept_rate = completed / (completed +
broken) and on_time_rate = installments paid before their miss day / installments whose miss day
has come, both half-up to four decimals (null when nothing counts). The figures are those of the
last servicing run. Broken down by prefecture and by term bucket; plus the waivers and deferrals
created in the period.

A plan's prefecture is that of the customer's region when the plan started: the account's region
code as the plan keeps it from its creation (``start_region_code``), mapped to today's code through
the code changes (the policy's table and the operators' entries, as the disaster report maps them),
then its first four digits + "00". A customer who moves after the start (the card system sends
another region code) does not move the plans already started: a period's figures do not change
with later moves, and each plan counts where its agreement was made. A code change that an operator
records later does move them, to the same place under its new code, so that one prefecture is never
split between its old and new codes. The report reads the plans only.

One GROUP BY query over the plans (by prefecture and term bucket) gives every figure: the totals and
each breakdown are sums of its rows, so the totals always equal the sum of the breakdowns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Table, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from app.domain.money import from_fen
from app.persistence.models import Deferral, FeeWaiver, InstallmentPlan
from app.services.clock import utcnow
from app.services.errors import FieldError, InvalidInput
from app.services.policies import PolicyStore
from app.services.reports import current_code_column

__all__ = ["OUTCOMES_CSV_HEADER", "TERM_BUCKETS", "outcomes_csv_rows", "outcomes_report"]

TERM_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1-6", 1, 6),
    ("7-12", 7, 12),
    ("13-24", 13, 24),
    ("25-36", 25, 36),
    ("37-60", 37, 60),
)
STARTED_STATUSES = ("active", "completed", "broken", "cancelled")
_COUNTS = (
    "started",
    "active",
    "completed",
    "broken",
    "cancelled",
    "installments_judged",
    "installments_on_time",
)
_MONEY = ("restructured_principal", "paid_total", "outstanding")
OUTCOMES_CSV_HEADER = (
    "breakdown",
    "key",
    "started",
    "active",
    "completed",
    "broken",
    "cancelled",
    "restructured_principal",
    "paid_total",
    "outstanding",
    "kept_rate",
    "on_time_rate",
)
PLAN = cast(Table, InstallmentPlan.__table__)
_FOUR = Decimal("0.0001")


def rate(part: int, whole: int) -> str | None:
    """``part / whole`` half-up to four decimals as text, or None when ``whole`` is 0."""
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(_FOUR, rounding=ROUND_HALF_UP))


def _empty() -> dict[str, int]:
    return dict.fromkeys((*_COUNTS, *_MONEY), 0)


def _figures(sums: dict[str, int]) -> dict[str, Any]:
    decided = sums["completed"] + sums["broken"]
    return {
        "started": sums["started"],
        "active": sums["active"],
        "completed": sums["completed"],
        "broken": sums["broken"],
        "cancelled": sums["cancelled"],
        "restructured_principal": from_fen(sums["restructured_principal"]),
        "paid_total": from_fen(sums["paid_total"]),
        "outstanding": from_fen(sums["outstanding"]),
        "kept_rate": rate(sums["completed"], decided),
        "on_time_rate": rate(sums["installments_on_time"], sums["installments_judged"]),
        "installments_judged": sums["installments_judged"],
        "installments_on_time": sums["installments_on_time"],
    }


def _add(into: dict[str, int], row: dict[str, int]) -> None:
    for key, value in row.items():
        into[key] += value


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as UTC instants (waivers and deferrals carry timestamps)."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def _created_in(
    session: Session, model: Any, amount: Any, start: date, end: date, *extra: Any
) -> dict[str, Any]:
    low, high = _bounds(start, end)
    count, fen = session.execute(
        select(func.count(), func.coalesce(func.sum(type_coerce(amount, BigInteger)), 0)).where(
            model.created_at >= low, model.created_at < high, *extra
        )
    ).one()
    return {"count": int(count), "amount": from_fen(int(fen))}


def outcomes_report(session: Session, *, start: date, end: date, policies: PolicyStore) -> dict[str, Any]:
    """The outcomes of the plans started in [start, end] (InvalidInput when ``to`` is before ``from``)."""
    if end < start:
        raise InvalidInput(
            "The period ends before it starts.", [FieldError("query.to", "must not be before from")]
        )
    region = current_code_column(session, PLAN.c.start_region_code, policies)
    prefecture = (func.substr(region, 1, 4) + literal("00")).label("prefecture")
    bucket = case(
        *((PLAN.c.term_months.between(low, high), literal(name)) for name, low, high in TERM_BUCKETS),
        else_=literal("other"),
    ).label("bucket")

    def count(status: str) -> Any:
        return func.sum(case((PLAN.c.status == status, 1), else_=0))

    def total(column: Any) -> Any:
        return func.sum(type_coerce(column, BigInteger))

    rows = session.execute(
        select(
            prefecture,
            bucket,
            func.count(),
            *(count(status) for status in STARTED_STATUSES),
            total(PLAN.c.installments_judged),
            total(PLAN.c.installments_on_time),
            total(PLAN.c.principal_fen),
            total(PLAN.c.paid_total_fen),
            total(PLAN.c.outstanding_fen),
        )
        .where(PLAN.c.start_on.between(start, end), PLAN.c.status.in_(STARTED_STATUSES))
        .group_by(prefecture, bucket)
    ).all()
    totals = _empty()
    by_region: dict[str, dict[str, int]] = defaultdict(_empty)
    by_term: dict[str, dict[str, int]] = {name: _empty() for name, _, _ in TERM_BUCKETS}
    for row in rows:
        sums = dict(zip((*_COUNTS, *_MONEY), (int(value or 0) for value in row[2:]), strict=True))
        _add(totals, sums)
        _add(by_region[row[0]], sums)
        _add(by_term.setdefault(row[1], _empty()), sums)
    return {
        "from": start,
        "to": end,
        "generated_at": utcnow(),
        "plans": _figures(totals),
        "by_region": [{"prefecture": code, **_figures(by_region[code])} for code in sorted(by_region)],
        "by_term_bucket": [{"term_bucket": name, **_figures(sums)} for name, sums in by_term.items()],
        "waivers": _created_in(
            session, FeeWaiver, FeeWaiver.__table__.c.total_fen, start, end, FeeWaiver.status == "applied"
        ),
        "deferrals": _created_in(session, Deferral, Deferral.__table__.c.deferred_fen, start, end),
    }


def outcomes_csv_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per prefecture and per term bucket, then the TOTAL (OUTCOMES_CSV_HEADER)."""

    def row(kind: str, key: str, figures: dict[str, Any]) -> tuple[Any, ...]:
        return (kind, key, *(figures[name] for name in OUTCOMES_CSV_HEADER[2:]))

    return [
        *(row("region", item["prefecture"], item) for item in report["by_region"]),
        *(row("term_bucket", item["term_bucket"], item) for item in report["by_term_bucket"]),
        row("total", "TOTAL", report["plans"]),
    ]


def outcomes_by_month(session: Session, *, start: date, end: date) -> list[dict[str, Any]]:
    """Plans started in [start, end] by month of start ("YYYY-MM"): how many are active, completed
    (kept), broken and cancelled (the report page's chart)."""
    months: dict[str, dict[str, Any]] = {}
    rows = session.execute(
        select(PLAN.c.start_on, PLAN.c.status, func.count())
        .where(PLAN.c.start_on.between(start, end), PLAN.c.status.in_(STARTED_STATUSES))
        .group_by(PLAN.c.start_on, PLAN.c.status)
    ).all()
    for start_on, status, count in rows:
        month = start_on.isoformat()[:7]
        entry = months.setdefault(month, {"month": month, **dict.fromkeys(STARTED_STATUSES, 0)})
        entry[status] += int(count)
    return [months[month] for month in sorted(months)]
