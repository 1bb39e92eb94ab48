"""The inline executor's chunk processes: on PostgreSQL an inline scan runs its chunks in child
processes, with the same results, totals and deferrals as in one process; SQLite stays in one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import unit_of_work
from app.jobs import executors
from app.persistence.models import Deferral, DeferralLine
from app.services import scans
from tests.conftest import Database
from tests.integration.test_scan_core import (
    OPERATOR,
    POLICIES,
    account,
    declare,
    load_portfolio,
    results,
    scan_settings,
    statement,
)


def _portfolio() -> list[dict[str, Any]]:
    accounts = []
    for n in range(40):
        kind = n % 5
        accounts.append(
            account(
                f"P{n:02d}",
                customer=f"C{n // 2}",
                status="closed" if kind == 1 else "active",
                region="110101" if kind == 2 else "653101",
                opened="2025-07-01" if kind == 3 else "2020-03-01",
                statements=[
                    statement("2025-07-10", f"{100 + n}.37", "10.00"),
                    statement("2025-08-10", "55.55", "5.55"),
                ],
            )
        )
    return accounts


def _scan(db: Database, code: str, mode: str, processes: int) -> scans.ScanView:
    settings = scan_settings(db, chunk_size=3).model_copy(update={"scan_inline_processes": processes})
    with unit_of_work(db.engine) as session:
        scan_id = scans.start_scan(
            session, disaster_code=code, mode=mode, actor=OPERATOR, policies=POLICIES, settings=settings
        ).id
    assert executors.wait_for_inline_scans(120), "the inline scan did not finish"
    with unit_of_work(db.engine) as session:
        return scans.get_scan(session, scan_id, policies=POLICIES)


def _listing(db: Database, scan_id: int) -> dict[str, tuple[Any, ...]]:
    return {
        ref: (r.eligible, r.reasons, r.deferred_amount, r.interest_waived, r.late_fees_waived)
        for ref, r in results(db, scan_id).items()
    }


TOTALS = (
    "status",
    "chunks_total",
    "accounts_scanned",
    "accounts_eligible",
    "customers_eligible",
    "total_deferred_amount",
    "total_interest_waived",
    "total_late_fees_waived",
    "reason_counts",
)


def test_chunk_processes_give_the_same_scan_as_one_process(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.name != "postgresql":
        assert executors.inline_process_count(db.engine, 2) == 1  # one writer at a time
        return
    pools: list[int] = []
    in_processes = executors._run_in_processes

    def counted(*args: Any, **kwargs: Any) -> None:
        pools.append(kwargs["processes"])
        in_processes(*args, **kwargs)

    monkeypatch.setattr(executors, "_run_in_processes", counted)
    load_portfolio(db.engine, _portfolio())
    code = declare(db.engine)

    single = _scan(db, code, "dry_run", processes=1)
    parallel = _scan(db, code, "dry_run", processes=2)
    assert pools == [2]
    assert single.chunks_total == 14 and single.accounts_eligible == 16
    assert [getattr(parallel, f) for f in TOTALS] == [getattr(single, f) for f in TOTALS]
    assert _listing(db, parallel.id) == _listing(db, single.id)

    enrolled = _scan(db, code, "enroll", processes=2)
    assert pools == [2, 2]
    assert [getattr(enrolled, f) for f in TOTALS] == [getattr(single, f) for f in TOTALS]
    assert enrolled.accounts_enrolled == single.accounts_eligible
    with unit_of_work(db.engine) as session:
        assert session.scalar(select(func.count()).select_from(Deferral)) == 16
        assert session.scalar(select(func.count()).select_from(DeferralLine)) == 32
        deferred = session.scalar(select(func.sum(Deferral.deferred_amount)))
    assert deferred == single.total_deferred_amount

    again = _scan(db, code, "enroll", processes=2)
    assert (again.accounts_enrolled, again.accounts_eligible) == (0, 0)
    assert again.reason_counts.get("ALREADY_ENROLLED") == 16
