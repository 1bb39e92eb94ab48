"""The chunk planner: the accounts of the event's regions, cut into ScanChunk rows.

A scan's work grows with the accounts its event covers, not with the portfolio. One statement reads
the ids of the covered accounts from the region code index (a range of codes per covered province,
prefecture or county, and per former code that maps into them: ``coverage_prefixes``) and counts
the portfolio; the ids are cut into chunks of ``chunk_size`` accounts, each chunk keeping its ids.
The accounts outside the event's regions are counted for ``accounts_scanned`` (and, at the end,
REGION_NOT_AFFECTED) at once: no chunk, no query and no result row for them, as before, when they
were only ever counted.

Planning is idempotent: a scan that already has chunks is left as it is (a redelivered plan task, a
resume). Accounts added after planning are not part of the scan. A scan with no covered account ends
at planning (succeeded, its reasons counted); an empty portfolio ends it with zero counts.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.jobs.context import covered_accounts, default_policies, load_context
from app.jobs.finalize import finalize_scan
from app.persistence.models import Scan, ScanChunk
from app.services.clock import utcnow
from app.services.policies import PolicyStore
from app.services.scans import emit_scan_finished

__all__ = ["plan_chunks", "plan_scan", "unfinished_chunk_ids"]


def plan_chunks(account_ids: list[int], chunk_size: int) -> list[list[int]]:
    """The ids in order, ``chunk_size`` to a chunk."""
    return [account_ids[start : start + chunk_size] for start in range(0, len(account_ids), chunk_size)]


def plan_scan(engine: Engine, scan_id: int, chunk_size: int, *, policies: PolicyStore | None = None) -> bool:
    """Create the scan's chunks and mark it running (once). False when the scan is not to be run.

    ``policies``: where the scan's policy version is found (default: the configured policies).
    """
    with unit_of_work(engine) as session:
        scan = session.scalar(select(Scan).where(Scan.id == scan_id).with_for_update())
        if scan is None or scan.status in ("succeeded", "failed"):
            return False
        has_chunks = session.scalar(select(ScanChunk.id).where(ScanChunk.scan_id == scan_id).limit(1))
        if scan.status == "running" or has_chunks is not None:
            if scan.status == "queued":
                scan.status = "running"
                scan.started_at = scan.started_at or utcnow()
            return True
        now = utcnow()  # the scan starts with its planning
        ctx = load_context(session, scan_id, policies or default_policies())
        account_ids, portfolio = covered_accounts(session, ctx.prefixes)
        chunks = plan_chunks(account_ids, chunk_size)
        _insert_chunks(session, scan_id, chunks)
        session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(
                chunks_total=len(chunks),
                accounts_scanned=portfolio - len(account_ids),
                status="running" if portfolio else "succeeded",
                started_at=now,
                finished_at=None if portfolio else now,
            )
            .execution_options(synchronize_session=False)
        )
        if portfolio and not chunks:
            finalize_scan(session, scan_id)
        elif not portfolio:
            emit_scan_finished(session, scan_id)
        return bool(chunks)


def _insert_chunks(session: Session, scan_id: int, chunks: list[list[int]]) -> None:
    if not chunks:
        return
    session.execute(
        insert(ScanChunk),
        [
            {
                "scan_id": scan_id,
                "number": number,
                "first_account_id": ids[0],
                "last_account_id": ids[-1],
                "account_ids": json.dumps(ids, separators=(",", ":")),
                "status": "pending",
                "attempts": 0,
                "accounts_scanned": 0,
            }
            for number, ids in enumerate(chunks, start=1)
        ],
    )


def unfinished_chunk_ids(engine: Engine, scan_id: int, *, include_running: bool = True) -> list[int]:
    """Ids of the scan's chunks not done yet (pending, failed and, unless told, running), in order."""
    statuses = ("pending", "failed", "running") if include_running else ("pending", "failed")
    with unit_of_work(engine) as session:
        return list(
            session.scalars(
                select(ScanChunk.id)
                .where(ScanChunk.scan_id == scan_id, ScanChunk.status.in_(statuses))
                .order_by(ScanChunk.number)
            )
        )
