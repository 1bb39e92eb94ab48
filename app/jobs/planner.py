"""The chunk planner: split the portfolio by account id range into ScanChunk rows.

One set-based query finds the first id of every block of ``chunk_size`` accounts (a window
function), so chunks hold ``chunk_size`` accounts each whatever the gaps in the ids. Planning is
idempotent: a scan that already has chunks is left as it is (a redelivered plan task, a resume).
Accounts added after planning (higher ids) are not part of the scan.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.persistence.models import CardAccount, Scan, ScanChunk
from app.services.clock import utcnow
from app.services.scans import emit_scan_finished

__all__ = ["chunk_bounds", "plan_scan", "unfinished_chunk_ids"]


def chunk_bounds(session: Session, chunk_size: int) -> list[tuple[int, int]]:
    """[(first_account_id, last_account_id)] covering every account, chunk_size accounts each."""
    numbered = select(
        CardAccount.id.label("id"),
        func.row_number().over(order_by=CardAccount.id).label("rn"),
    ).subquery()
    firsts = list(
        session.scalars(
            select(numbered.c.id).where((numbered.c.rn - 1) % chunk_size == 0).order_by(numbered.c.id)
        )
    )
    if not firsts:
        return []
    last_id = session.scalar(select(func.max(CardAccount.id)))
    assert last_id is not None
    ends = [following - 1 for following in firsts[1:]] + [last_id]
    return list(zip(firsts, ends, strict=True))


def plan_scan(engine: Engine, scan_id: int, chunk_size: int) -> bool:
    """Create the scan's chunks and mark it running (once). False when the scan is not to be run.

    An empty portfolio ends the scan at once as succeeded with zero counts.
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
        bounds = chunk_bounds(session, chunk_size)
        now = utcnow()
        if bounds:
            session.execute(
                insert(ScanChunk),
                [
                    {
                        "scan_id": scan_id,
                        "number": number,
                        "first_account_id": first,
                        "last_account_id": last,
                        "status": "pending",
                        "attempts": 0,
                        "accounts_scanned": 0,
                    }
                    for number, (first, last) in enumerate(bounds, start=1)
                ],
            )
        session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(
                chunks_total=len(bounds),
                status="running" if bounds else "succeeded",
                started_at=now,
                finished_at=None if bounds else now,
            )
            .execution_options(synchronize_session=False)
        )
        if not bounds:
            emit_scan_finished(session, scan_id)
        return bool(bounds)


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
