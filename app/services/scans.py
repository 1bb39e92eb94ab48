"""Portfolio scans for a disaster: start, read, list results, resume (DOMAIN.md, "Disaster deferral").

A scan is created ``queued`` in the caller's transaction; the executor (app/jobs: a thread of the
service process, or Celery workers) is dispatched only **after that transaction commits**, so a
worker never looks for a scan that is not there yet. The dispatch hook is registered by app.jobs at
import (services may not import jobs: see the layers contract), and hangs on the session's
``after_commit`` event; a rollback drops it.

Counts: ``accounts_scanned`` counts every account of the portfolio; only the accounts whose region is
covered (``coverage_prefixes``) are evaluated and listed in the results, the others are counted under
REGION_NOT_AFFECTED in ``reason_counts``. In an enroll scan ``accounts_eligible`` and the totals cover
what the scan enrolled now (a repeated enroll scan finds every account ALREADY_ENROLLED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, event, func, literal, select, update
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.domain.events import EventType
from app.domain.reasons import ReasonCode
from app.persistence.models import DisasterEvent, Scan, ScanChunk, ScanResult
from app.schemas.scans import ScanRead
from app.services import audit, events
from app.services.clock import today, utcnow
from app.services.csvout import csv_lines
from app.services.disasters import get_event_row
from app.services.errors import Conflict, FieldError, InvalidInput, NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal
from app.settings import Settings, get_settings

__all__ = [
    "MODES",
    "RESULT_CSV_HEADER",
    "DispatchRequest",
    "ResultView",
    "ScanView",
    "emit_scan_finished",
    "get_scan",
    "iter_results_csv",
    "list_results",
    "list_scans",
    "register_dispatcher",
    "resume_scan",
    "start_scan",
]

log = logging.getLogger("hardship.scans")

MODES = ("dry_run", "enroll")
ACTIVE_STATUSES = ("queued", "running")
RESULT_CSV_HEADER = (
    "account_ref",
    "customer_ref",
    "region_code",
    "eligible",
    "enrolled",
    "reasons",
    "deferred_amount",
    "interest_waived",
    "late_fees_waived",
)
CSV_BATCH = 5000
_PENDING_KEY = "hardship.scan_dispatch"


@dataclass(frozen=True)
class DispatchRequest:
    """What the executor needs to run a committed scan."""

    scan_id: int
    executor: str
    engine: Engine
    policies: PolicyStore
    chunk_size: int
    max_attempts: int
    inline_processes: int = 1  # 0: one per core (see Settings.scan_inline_processes)


_dispatcher: Callable[[DispatchRequest], None] | None = None


def register_dispatcher(dispatcher: Callable[[DispatchRequest], None]) -> None:
    """Called by app.jobs at import: how a committed scan reaches its executor."""
    global _dispatcher
    _dispatcher = dispatcher


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _after_commit(session: Session) -> None:
    pending: list[DispatchRequest] = session.info.pop(_PENDING_KEY, [])
    for request in pending:
        if _dispatcher is None:
            log.error("scan %s committed but no executor is registered (import app.jobs)", request.scan_id)
            continue
        try:
            _dispatcher(request)
        except Exception:
            # The scan stays queued; POST /v1/scans/{id}/resume dispatches it again.
            log.exception("could not dispatch scan %s", request.scan_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _dispatch_after_commit(session: Session, request: DispatchRequest) -> None:
    if not session.info.get("hardship.scan_hooks"):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
        session.info["hardship.scan_hooks"] = True
    session.info.setdefault(_PENDING_KEY, []).append(request)


@dataclass(frozen=True)
class ScanView:
    """A scan as GET /v1/scans/{id} shows it: the contract fields, progress and manifest."""

    id: int
    disaster_code: str
    mode: str
    status: str
    executor: str
    accounts_scanned: int
    accounts_eligible: int
    customers_eligible: int
    accounts_enrolled: int
    total_deferred_amount: Decimal
    total_interest_waived: Decimal
    total_late_fees_waived: Decimal
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    requested_by: str
    error: str | None
    chunks_total: int
    chunks_done: int
    event_version: int
    policy_version: str
    draft: bool
    reason_counts: dict[str, int] = field(default_factory=dict)
    deferrals_extended: int = 0

    @property
    def percent(self) -> int:
        if self.status == "succeeded":
            return 100
        if not self.chunks_total:
            return 0
        return min(100, self.chunks_done * 100 // self.chunks_total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "disaster_code": self.disaster_code,
            "mode": self.mode,
            "status": self.status,
            "accounts_scanned": self.accounts_scanned,
            "accounts_eligible": self.accounts_eligible,
            "customers_eligible": self.customers_eligible,
            "accounts_enrolled": self.accounts_enrolled,
            "total_deferred_amount": self.total_deferred_amount,
            "total_interest_waived": self.total_interest_waived,
            "total_late_fees_waived": self.total_late_fees_waived,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "created_at": self.created_at,
            "requested_by": self.requested_by,
            "executor": self.executor,
            "error": self.error,
            "progress": {
                "chunks_total": self.chunks_total,
                "chunks_done": self.chunks_done,
                "percent": self.percent,
            },
            "manifest": {
                "event_version": self.event_version,
                "policy_version": self.policy_version,
                "draft": self.draft,
                "reason_counts": self.reason_counts,
                "deferrals_extended": self.deferrals_extended,
            },
        }


@lru_cache(maxsize=4)
def _default_store(policy_dir: str | None) -> PolicyStore:
    return PolicyStore.load(policy_dir)


def _is_draft(version: str, policies: PolicyStore | None) -> bool:
    """The scan ran under a draft policy when the version is not adopted (drafts: what-if only)."""
    store = policies or _default_store(get_settings().policy_dir)
    return store.get(version) is None


def start_scan(
    session: Session,
    *,
    disaster_code: str,
    mode: str,
    actor: Principal,
    policies: PolicyStore,
    draft_policy_version: str | None = None,
    settings: Settings | None = None,
) -> Scan:
    """Create a queued scan of the whole portfolio for an event; it runs after the caller commits.

    The scan records the event version and the policy version it judges by: the policy in force
    today, or for a dry run a draft version (a what-if: nothing is enrolled under a draft). Refused:
    an unknown mode or draft (422), enroll with a draft (422), enroll on a closed event (409), a
    second enroll scan while one is queued or running for the same event (409).
    """
    settings = settings or get_settings()
    if mode not in MODES:
        raise InvalidInput("unknown mode", [FieldError("mode", "dry_run or enroll")])
    event_row = get_event_row(session, disaster_code, for_update=True)
    policy_version = _policy_version(session, mode, draft_policy_version, policies)
    if mode == "enroll":
        _refuse_enroll(session, event_row)
    scan = Scan(
        disaster_id=event_row.id,
        mode=mode,
        status="queued",
        executor=settings.scan_executor,
        chunk_size=settings.scan_chunk_size,
        event_version=event_row.version,
        policy_version=policy_version,
        chunks_total=0,
        chunks_done=0,
        accounts_scanned=0,
        accounts_eligible=0,
        customers_eligible=0,
        accounts_enrolled=0,
        total_deferred_amount=Decimal(0),
        total_interest_waived=Decimal(0),
        total_late_fees_waived=Decimal(0),
        reason_counts={},
        requested_by=actor.actor,
        created_at=utcnow(),
    )
    session.add(scan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scan.requested",
        entity_type="scan",
        entity_id=scan.id,
        after={
            "disaster_code": disaster_code,
            "mode": mode,
            "event_version": scan.event_version,
            "policy_version": policy_version,
            "draft": draft_policy_version is not None,
            "executor": scan.executor,
        },
    )
    _dispatch_after_commit(session, _dispatch_request(session, scan.id, scan.executor, policies, settings))
    return scan


def _policy_version(
    session: Session, mode: str, draft_policy_version: str | None, policies: PolicyStore
) -> str:
    """The version a scan judges by: the policy in force today, or a known draft for a dry run."""
    if draft_policy_version is None:
        return policies.in_force(today(session)).version
    if mode != "dry_run":
        raise InvalidInput(
            "a draft policy may only be used in a dry run",
            [FieldError("policy_version", "only with mode dry_run")],
        )
    if policies.get_draft(draft_policy_version) is None:
        known = ", ".join(policies.draft_versions) or "none"
        raise InvalidInput(
            f"no draft policy {draft_policy_version!r} (drafts: {known})",
            [FieldError("policy_version", "not a known draft policy version")],
        )
    return draft_policy_version


def _refuse_enroll(session: Session, event_row: DisasterEvent) -> None:
    """Conflict when the event is closed, or when an enroll scan of it is still queued or running."""
    if event_row.status != "open":
        raise Conflict(f"The disaster {event_row.code!r} is closed; nothing can be enrolled.")
    running = session.scalar(
        select(Scan.id).where(
            Scan.disaster_id == event_row.id,
            Scan.mode == "enroll",
            Scan.status.in_(ACTIVE_STATUSES),
        )
    )
    if running is not None:
        raise Conflict(f"Enroll scan {running} for {event_row.code!r} is still queued or running.")


def _dispatch_request(
    session: Session, scan_id: int, executor: str, policies: PolicyStore, settings: Settings
) -> DispatchRequest:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    chunk_size = session.scalar(select(Scan.chunk_size).where(Scan.id == scan_id))
    return DispatchRequest(
        scan_id=scan_id,
        executor=executor,
        engine=engine,
        policies=policies,
        chunk_size=chunk_size or settings.scan_chunk_size,
        max_attempts=settings.scan_chunk_max_attempts,
        inline_processes=settings.scan_inline_processes,
    )


def resume_scan(
    session: Session,
    *,
    scan_id: int,
    actor: Principal,
    policies: PolicyStore,
    settings: Settings | None = None,
) -> Scan:
    """Re-queue the unfinished chunks of a failed (or stuck) scan; it runs again after commit.

    Failed and running chunks go back to pending with a fresh attempt count: a worker that is in
    fact still on a chunk loses its claim (its attempt number no longer matches) and rolls back, so
    nothing is counted twice. A succeeded scan cannot be resumed (409).
    """
    settings = settings or get_settings()
    scan = session.scalar(select(Scan).where(Scan.id == scan_id).with_for_update())
    if scan is None:
        raise NotFound(f"No scan {scan_id}.")
    if scan.status == "succeeded":
        raise Conflict(f"Scan {scan_id} has already succeeded.")
    before = {"status": scan.status, "error": scan.error}
    requeued = _rowcount(
        session.execute(
            update(ScanChunk)
            .where(ScanChunk.scan_id == scan_id, ScanChunk.status.in_(("failed", "running")))
            .values(status="pending", attempts=0, error=None, started_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    if scan.status == "failed":
        scan.status = "running" if scan.chunks_total else "queued"
    scan.error = None
    scan.finished_at = None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scan.resumed",
        entity_type="scan",
        entity_id=scan_id,
        before=before,
        after={"status": scan.status, "chunks_requeued": requeued},
    )
    _dispatch_after_commit(session, _dispatch_request(session, scan.id, scan.executor, policies, settings))
    return scan


def _view(session: Session, scan: Scan, code: str, policies: PolicyStore | None) -> ScanView:
    extended = 0
    if scan.mode == "enroll":
        extended = (
            session.scalar(
                select(func.count())
                .select_from(ScanResult)
                .where(ScanResult.scan_id == scan.id, ScanResult.eligible.is_(False), ScanResult.enrolled)
            )
            or 0
        )
    return ScanView(
        id=scan.id,
        disaster_code=code,
        mode=scan.mode,
        status=scan.status,
        executor=scan.executor,
        accounts_scanned=scan.accounts_scanned,
        accounts_eligible=scan.accounts_eligible,
        customers_eligible=scan.customers_eligible,
        accounts_enrolled=scan.accounts_enrolled,
        total_deferred_amount=scan.total_deferred_amount,
        total_interest_waived=scan.total_interest_waived,
        total_late_fees_waived=scan.total_late_fees_waived,
        created_at=scan.created_at,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        requested_by=scan.requested_by,
        error=scan.error,
        chunks_total=scan.chunks_total,
        chunks_done=scan.chunks_done,
        event_version=scan.event_version,
        policy_version=scan.policy_version,
        draft=_is_draft(scan.policy_version, policies),
        reason_counts=dict(scan.reason_counts or {}),
        deferrals_extended=extended,
    )


def emit_scan_finished(session: Session, scan_id: int) -> str:
    """``scan.finished`` (succeeded or failed; CONTRACT.md, "Events out"): subject the disaster code,
    data the scan as GET /v1/scans/{id} answers it. Call after the change is flushed, before its audit."""
    view = get_scan(session, scan_id)
    data = ScanRead.model_validate(view.as_dict()).model_dump(mode="json")
    return events.emit(session, type=EventType.SCAN_FINISHED, subject=view.disaster_code, data=data)


def get_scan(session: Session, scan_id: int, *, policies: PolicyStore | None = None) -> ScanView:
    """One scan with its progress and manifest; NotFound otherwise."""
    row = session.execute(
        select(Scan, DisasterEvent.code)
        .join(DisasterEvent, DisasterEvent.id == Scan.disaster_id)
        .where(Scan.id == scan_id)
    ).first()
    if row is None:
        raise NotFound(f"No scan {scan_id}.")
    session.refresh(row[0])
    return _view(session, row[0], row[1], policies)


def list_scans(
    session: Session,
    *,
    disaster_code: str | None = None,
    after_id: int = 0,
    limit: int = 100,
    policies: PolicyStore | None = None,
) -> list[ScanView]:
    """A page of scans, oldest first, optionally for one event."""
    query = (
        select(Scan, DisasterEvent.code)
        .join(DisasterEvent, DisasterEvent.id == Scan.disaster_id)
        .where(Scan.id > after_id)
    )
    if disaster_code is not None:
        query = query.where(DisasterEvent.code == disaster_code)
    rows = session.execute(query.order_by(Scan.id).limit(limit)).all()
    return [_view(session, scan, code, policies) for scan, code in rows]


@dataclass(frozen=True)
class ResultView:
    """One evaluated account of a scan; ``cursor_id`` is its account id (results page on it)."""

    cursor_id: int
    account_ref: str
    customer_ref: str
    region_code: str
    eligible: bool
    enrolled: bool
    reasons: list[str]
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fees_waived: Decimal

    def as_row(self) -> tuple[Any, ...]:
        return (
            self.account_ref,
            self.customer_ref,
            self.region_code,
            self.eligible,
            self.enrolled,
            " ".join(self.reasons),
            self.deferred_amount,
            self.interest_waived,
            self.late_fees_waived,
        )


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in {code.value for code in ReasonCode}:
        raise InvalidInput("unknown reason code", [FieldError("query.reason", "a reason code of DOMAIN.md")])


def _results_query(scan_id: int, eligible: bool | None, reason: str | None, after_id: int, limit: int) -> Any:
    query = select(ScanResult).where(ScanResult.scan_id == scan_id, ScanResult.account_id > after_id)
    if eligible is not None:
        query = query.where(ScanResult.eligible.is_(eligible))
    if reason is not None:
        padded = literal(" ") + ScanResult.reasons + literal(" ")
        query = query.where(padded.like(f"% {reason} %"))
    return query.order_by(ScanResult.account_id).limit(limit)


def _result_view(row: ScanResult) -> ResultView:
    return ResultView(
        cursor_id=row.account_id,
        account_ref=row.account_ref,
        customer_ref=row.customer_ref,
        region_code=row.region_code,
        eligible=row.eligible,
        enrolled=row.enrolled,
        reasons=row.reasons.split() if row.reasons else [],
        deferred_amount=row.deferred_amount,
        interest_waived=row.interest_waived,
        late_fees_waived=row.late_fees_waived,
    )


def list_results(
    session: Session,
    *,
    scan_id: int,
    eligible: bool | None = None,
    reason: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[ResultView]:
    """A page of a scan's evaluated accounts in account order; filter by eligibility or reason code."""
    if session.get(Scan, scan_id) is None:
        raise NotFound(f"No scan {scan_id}.")
    _check_reason(reason)
    rows = session.scalars(_results_query(scan_id, eligible, reason, after_id, limit))
    return [_result_view(row) for row in rows]


def iter_results_csv(
    engine: Engine, *, scan_id: int, eligible: bool | None = None, reason: str | None = None
) -> Iterator[str]:
    """The whole result list as CSV lines, read in keyset batches with its own short sessions.

    For streaming responses: it does not hold the request's session (which is closed before the
    body is sent) nor one long transaction.
    """
    _check_reason(reason)
    yield from csv_lines(RESULT_CSV_HEADER, _iter_result_rows(engine, scan_id, eligible, reason))


def _iter_result_rows(
    engine: Engine, scan_id: int, eligible: bool | None, reason: str | None
) -> Iterator[tuple[Any, ...]]:
    after_id = 0
    while True:
        with unit_of_work(engine) as session:
            batch = [
                _result_view(row)
                for row in session.scalars(_results_query(scan_id, eligible, reason, after_id, CSV_BATCH))
            ]
        for item in batch:
            yield item.as_row()
        if len(batch) < CSV_BATCH:
            return
        after_id = batch[-1].cursor_id
