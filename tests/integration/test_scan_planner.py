"""The planner cuts only the accounts of the event's regions into chunks; the others are counted once.

Covered: province, prefecture and county prefixes and a former code mapped through the change table;
a portfolio with no covered account ends at planning; a chunk planned as a bare id range (before
chunks kept their account ids) still scans exactly as before."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from app.db import unit_of_work
from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.planner import plan_chunks, plan_scan
from app.persistence.models import CardAccount, Scan, ScanChunk, ScanResult
from app.services import scans
from tests.conftest import Database
from tests.integration.test_scan_core import (
    OPERATOR,
    POLICIES,
    account,
    declare,
    load_portfolio,
    run_scan,
    statement,
)

IN_WINDOW = [statement("2025-07-10")]


def _portfolio() -> list[dict[str, object]]:
    regions = ["622927", "622901", "620102", "632122", "630222", "632123", "110101", "653101", "623000"]
    return [
        account(f"R{n:02d}-{region}", region=region, statements=IN_WINDOW)
        for n, region in enumerate(regions * 3)
    ]


def _chunk_accounts(db: Database, scan_id: int) -> list[list[str]]:
    with unit_of_work(db.engine) as session:
        refs = {i: ref for i, ref in session.execute(select(CardAccount.id, CardAccount.account_ref))}
        chunks = session.scalars(
            select(ScanChunk.account_ids).where(ScanChunk.scan_id == scan_id).order_by(ScanChunk.number)
        )
        return [[refs[i] for i in json.loads(ids)] for ids in chunks]


def _queued(db: Database, code: str) -> int:
    with unit_of_work(db.engine) as session:
        scan_id = scans.start_scan(
            session, disaster_code=code, mode="dry_run", actor=OPERATOR, policies=POLICIES
        ).id
        session.info.clear()  # no executor: the test plans by hand
    return scan_id


def test_chunks_hold_only_the_covered_accounts_in_id_order(db: Database) -> None:
    load_portfolio(db.engine, _portfolio())
    # Gansu's Linxia prefecture and Minhe by its current code: 622927, 622901 and both Minhe codes.
    code = declare(db.engine, region_codes=["622900", "630222"])
    scan_id = _queued(db, code)
    assert plan_scan(db.engine, scan_id, 5, policies=POLICIES)
    chunks = _chunk_accounts(db, scan_id)
    listed = [ref for chunk in chunks for ref in chunk]
    assert [len(chunk) for chunk in chunks] == [5, 5, 2]
    assert {ref.split("-")[1] for ref in listed} == {"622927", "622901", "632122", "630222"}
    assert listed == sorted(listed, key=lambda ref: int(ref[1:3]))
    with unit_of_work(db.engine) as session:
        scan = session.get(Scan, scan_id)
        assert scan is not None and (scan.chunks_total, scan.accounts_scanned) == (3, 27 - 12)


def test_a_province_and_a_county_select_by_prefix_only(db: Database) -> None:
    load_portfolio(db.engine, _portfolio())
    scan = run_scan(db, declare(db.engine, region_codes=["620000", "653101"]), "dry_run", chunk_size=4)
    # Gansu (62xxxx: 622927, 622901, 620102, 623000) and the county 653101: 15 accounts.
    assert scan.accounts_scanned == 27
    assert scan.reason_counts == {"REGION_NOT_AFFECTED": 27 - 15}
    assert (scan.accounts_eligible, scan.chunks_total) == (15, 4)


def test_a_scan_with_no_covered_account_ends_at_planning(db: Database) -> None:
    load_portfolio(db.engine, _portfolio())
    scan = run_scan(db, declare(db.engine, region_codes=["450000"]))
    assert (scan.status, scan.chunks_total, scan.accounts_scanned) == ("succeeded", 0, 27)
    assert scan.reason_counts == {"REGION_NOT_AFFECTED": 27}
    assert scan.finished_at is not None and scan.percent == 100


def test_an_empty_portfolio_ends_with_zero_counts(db: Database) -> None:
    scan = run_scan(db, declare(db.engine))
    assert (scan.status, scan.chunks_total, scan.accounts_scanned, scan.reason_counts) == (
        "succeeded",
        0,
        0,
        {},
    )


def test_a_chunk_planned_as_an_id_range_scans_as_before(db: Database) -> None:
    load_portfolio(db.engine, _portfolio())
    code = declare(db.engine, region_codes=["622900", "630222"])
    reference = run_scan(db, code, "dry_run", chunk_size=100)
    scan_id = _queued(db, code)
    assert plan_scan(db.engine, scan_id, 100, policies=POLICIES)
    with unit_of_work(db.engine) as session:
        # What the planner wrote before chunks kept their ids: one range over the whole portfolio,
        # and no accounts counted at planning.
        ids = session.scalars(select(CardAccount.id).order_by(CardAccount.id)).all()
        session.execute(
            update(ScanChunk)
            .where(ScanChunk.scan_id == scan_id)
            .values(account_ids=None, first_account_id=ids[0], last_account_id=ids[-1])
        )
        session.execute(update(Scan).where(Scan.id == scan_id).values(accounts_scanned=0))
        chunk_id = session.scalar(select(ScanChunk.id).where(ScanChunk.scan_id == scan_id))
    outcome = process_chunk(
        db.engine, scan_id=scan_id, chunk_id=chunk_id, policies=POLICIES, max_attempts=3, stale_seconds=60
    )
    assert outcome is ChunkOutcome.DONE
    with unit_of_work(db.engine) as session:
        view = scans.get_scan(session, scan_id, policies=POLICIES)
        listed = session.scalar(select(ScanResult.account_id).where(ScanResult.scan_id == scan_id).limit(1))
    assert listed is not None
    fields = ("status", "accounts_scanned", "accounts_eligible", "reason_counts", "total_deferred_amount")
    assert [getattr(view, f) for f in fields] == [getattr(reference, f) for f in fields]


def test_plan_chunks_cuts_in_order() -> None:
    assert plan_chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert plan_chunks([], 2) == []
