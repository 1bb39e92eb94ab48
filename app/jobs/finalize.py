"""The end of a scan: once every chunk is done, count the distinct customers and the reasons, and
mark the scan succeeded (audited)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.reasons import ReasonCode
from app.persistence.models import Scan as ScanRow
from app.persistence.models import ScanResult
from app.services import audit
from app.services.clock import utcnow
from app.services.principal import SYSTEM
from app.services.scans import emit_scan_finished

__all__ = ["finalize_scan"]


def finalize_scan(session: Session, scan_id: int) -> None:
    """End a scan whose chunks are all done: distinct customers, reason counts, succeeded."""
    scan = session.get(ScanRow, scan_id)
    assert scan is not None
    session.refresh(scan)
    customers = (
        session.scalar(
            select(func.count(func.distinct(ScanResult.customer_ref))).where(
                ScanResult.scan_id == scan_id, ScanResult.eligible.is_(True)
            )
        )
        or 0
    )
    reason_counts: Counter[str] = Counter()
    listed = 0
    for reasons, count in session.execute(
        select(ScanResult.reasons, func.count())
        .where(ScanResult.scan_id == scan_id)
        .group_by(ScanResult.reasons)
    ):
        listed += count
        for code in (reasons or "").split():
            reason_counts[code] += count
    not_covered = scan.accounts_scanned - listed
    if not_covered > 0:
        reason_counts[ReasonCode.REGION_NOT_AFFECTED.value] += not_covered
    ordered = {code.value: reason_counts[code.value] for code in ReasonCode if reason_counts[code.value]}
    scan.customers_eligible = customers
    scan.reason_counts = ordered
    scan.status = "succeeded"
    scan.finished_at = utcnow()
    session.flush()
    emit_scan_finished(session, scan_id)
    audit.record(
        session,
        actor=SYSTEM,
        action="scan.succeeded",
        entity_type="scan",
        entity_id=scan_id,
        after={
            "mode": scan.mode,
            "accounts_scanned": scan.accounts_scanned,
            "accounts_eligible": scan.accounts_eligible,
            "customers_eligible": customers,
            "accounts_enrolled": scan.accounts_enrolled,
            "total_deferred_amount": scan.total_deferred_amount,
            "total_interest_waived": scan.total_interest_waived,
            "total_late_fees_waived": scan.total_late_fees_waived,
            "reason_counts": ordered,
        },
    )
