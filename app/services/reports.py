"""The figures of a disaster, by region code: "N customers, amount M deferred" (DOMAIN.md, operators).

Everything is summed in SQL on integer fen over the deferrals and disputes recorded for the event,
grouped by the account's region code (as the card system reports it). Customers are counted once
however many cards they hold, per region and overall (the overall count is its own COUNT DISTINCT,
not the sum of the regions).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Table, case, func, select, type_coerce
from sqlalchemy.orm import Session

from app.domain.disputes import DisputeStatus
from app.domain.money import from_fen
from app.domain.regions import current_region_code
from app.persistence.models import CardAccount, CreditDispute, Deferral
from app.services.clock import today, utcnow
from app.services.disasters import get_event, get_event_row
from app.services.policies import PolicyStore
from app.services.regions import region_code_changes

__all__ = ["REPORT_CSV_HEADER", "disaster_report", "report_csv_rows"]

DISPUTE_STATUSES = tuple(status.value for status in DisputeStatus)
REPORT_CSV_HEADER = (
    "region_code",
    "customers_enrolled",
    "accounts_enrolled",
    "total_deferred_amount",
    "total_interest_waived",
    "total_late_fees_waived",
    *(f"disputes_{status}" for status in DISPUTE_STATUSES),
)
DEFERRAL_T = cast(Table, Deferral.__table__)


def _figures(customers: int, accounts: int, deferred: int, interest: int, fees: int) -> dict[str, Any]:
    return {
        "customers_enrolled": customers,
        "accounts_enrolled": accounts,
        "total_deferred_amount": from_fen(int(deferred)),
        "total_interest_waived": from_fen(int(interest)),
        "total_late_fees_waived": from_fen(int(fees)),
    }


def current_code_column(session: Session, column: Any, policies: PolicyStore) -> ColumnElement[Any]:
    """The account's region code mapped to today's code (a pre-2013 Minhe account counts under
    630222), as SQL, so that distinct customers are still counted once per region."""
    changes = region_code_changes(session, policies.in_force(today(session)))
    mapping = {old: current_region_code(old, changes) for old in changes}
    mapping = {old: new for old, new in mapping.items() if old != new}
    if not mapping:
        return column
    return case(mapping, value=column, else_=column)


def disaster_report(session: Session, *, disaster_code: str, policies: PolicyStore) -> dict[str, Any]:
    """The event's totals and their breakdown by current region code (NotFound for an unknown event).

    ``{"disaster_code", "name", "status", "event_version", "generated_at", "totals": {...},
    "regions": [{"region_code", ...}]}``; each figure set has customers_enrolled, accounts_enrolled,
    total_deferred_amount, total_interest_waived, total_late_fees_waived and disputes_by_status.
    """
    event = get_event(session, disaster_code)
    event_id = get_event_row(session, disaster_code).id
    account = cast(Table, CardAccount.__table__)
    columns = (
        func.count(func.distinct(account.c.customer_ref)),
        func.count(DEFERRAL_T.c.id),
        func.coalesce(func.sum(type_coerce(DEFERRAL_T.c.deferred_fen, BigInteger)), 0),
        func.coalesce(func.sum(type_coerce(DEFERRAL_T.c.interest_waived_fen, BigInteger)), 0),
        func.coalesce(func.sum(type_coerce(DEFERRAL_T.c.late_fees_waived_fen, BigInteger)), 0),
    )
    base = (
        select(*columns)
        .select_from(DEFERRAL_T.join(account, account.c.id == DEFERRAL_T.c.account_id))
        .where(DEFERRAL_T.c.disaster_id == event_id)
    )
    total_row = session.execute(base).one()
    region = current_code_column(session, account.c.region_code, policies).label("region")
    by_region = session.execute(base.add_columns(region).group_by(region).order_by(region)).all()
    disputes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DISPUTE_STATUSES, 0))
    total_disputes = dict.fromkeys(DISPUTE_STATUSES, 0)
    dispute_region = current_code_column(session, CardAccount.region_code, policies).label("region")
    for region_code, status, count in session.execute(
        select(dispute_region, CreditDispute.status, func.count())
        .join(CardAccount, CardAccount.id == CreditDispute.account_id)
        .where(CreditDispute.disaster_id == event_id)
        .group_by(dispute_region, CreditDispute.status)
    ):
        disputes[region_code][status] += count
        total_disputes[status] += count
    regions: dict[str, dict[str, Any]] = {}
    for customers, accounts, deferred, interest, fees, region_code in by_region:
        regions[region_code] = {
            "region_code": region_code,
            **_figures(customers, accounts, deferred, interest, fees),
        }
    for region_code in disputes:
        regions.setdefault(region_code, {"region_code": region_code, **_figures(0, 0, 0, 0, 0)})
    for region_code, figures in regions.items():
        figures["disputes_by_status"] = dict(disputes[region_code])
    return {
        "disaster_code": event.code,
        "name": event.name,
        "status": event.status,
        "event_version": event.version,
        "generated_at": utcnow(),
        "totals": {**_figures(*total_row), "disputes_by_status": total_disputes},
        "regions": [regions[code] for code in sorted(regions)],
    }


def report_csv_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per region and a last TOTAL row (REPORT_CSV_HEADER)."""

    def row(label: str, figures: dict[str, Any]) -> tuple[Any, ...]:
        return (
            label,
            figures["customers_enrolled"],
            figures["accounts_enrolled"],
            figures["total_deferred_amount"],
            figures["total_interest_waived"],
            figures["total_late_fees_waived"],
            *(figures["disputes_by_status"][status] for status in DISPUTE_STATUSES),
        )

    return [row(r["region_code"], r) for r in report["regions"]] + [row("TOTAL", report["totals"])]
