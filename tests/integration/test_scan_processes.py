"""The inline executor: on PostgreSQL an inline scan runs its chunks in child processes, with the
same results, totals and deferrals as in one process (SQLite stays in one); and a scan that a
stopped process left unfinished is finished when the service starts again."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from app.db import unit_of_work
from app.jobs import executors
from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.planner import plan_scan
from app.main import create_app
from app.persistence.models import Deferral, DeferralLine, Scan, ScanChunk
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
    # The 32 accounts of the event's region, 3 to a chunk: the 8 outside it need no chunk.
    assert single.chunks_total == 11 and single.accounts_eligible == 16
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


def test_an_inline_scan_left_unfinished_by_a_stopped_process_is_finished_at_start_up(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDSHIP_SCAN_CHUNK_STALE_SECONDS", "1")
    load_portfolio(db.engine, _portfolio())
    code = declare(db.engine)
    reference = _scan(db, code, "dry_run", processes=1)
    # A process started an enroll scan, did chunk 1, died inside chunk 2 and never came back.
    with unit_of_work(db.engine) as session:
        scan_id = scans.start_scan(
            session,
            disaster_code=code,
            mode="enroll",
            actor=OPERATOR,
            policies=POLICIES,
            settings=scan_settings(db, chunk_size=3),
        ).id
        session.info.clear()  # the stopped process: nothing runs it
    assert plan_scan(db.engine, scan_id, 3)
    with unit_of_work(db.engine) as session:
        first, second = session.scalars(
            select(ScanChunk.id).where(ScanChunk.scan_id == scan_id).order_by(ScanChunk.number).limit(2)
        )
    chunk = {"scan_id": scan_id, "policies": POLICIES, "max_attempts": 3, "stale_seconds": 1.0}
    assert process_chunk(db.engine, chunk_id=first, **chunk) is ChunkOutcome.DONE
    with unit_of_work(db.engine) as session:
        session.execute(
            update(ScanChunk)
            .where(ScanChunk.id == second)
            .values(status="running", attempts=1, started_at=func.current_timestamp())
        )

    settings = db.settings.model_copy(update={"scan_inline_recover_on_start": True})
    if db.name == "postgresql":
        # While another live process runs the scan (it holds the runner lock), start-up leaves it alone.
        with db.engine.connect() as holder:
            lock = {"kind": executors.SCAN_RUNNER_LOCK_CLASS, "id": scan_id}
            holder.execute(text("SELECT pg_advisory_lock(:kind, :id)"), lock)
            assert executors.recover_inline_scans(db.engine, POLICIES, settings) == [scan_id]
            assert executors.wait_for_inline_scans(30)
            with unit_of_work(db.engine) as session:
                assert session.scalar(select(Scan.status).where(Scan.id == scan_id)) == "running"
            holder.execute(text("SELECT pg_advisory_unlock(:kind, :id)"), lock)

    with TestClient(create_app(settings)):  # the service starts again
        assert executors.wait_for_inline_scans(60), "the recovered scan did not finish"
    with unit_of_work(db.engine) as session:
        recovered = scans.get_scan(session, scan_id, policies=POLICIES)
        attempts = session.scalar(select(ScanChunk.attempts).where(ScanChunk.id == second))
        deferrals = session.scalar(select(func.count()).select_from(Deferral))
        distinct = session.scalar(select(func.count(func.distinct(Deferral.account_id))))
    assert recovered.status == "succeeded" and attempts == 2  # the dead process's claim was taken over
    assert [getattr(recovered, f) for f in TOTALS[1:]] == [getattr(reference, f) for f in TOTALS[1:]]
    assert recovered.accounts_enrolled == reference.accounts_eligible == deferrals == distinct == 16
