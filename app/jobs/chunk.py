"""One chunk of a scan: claim it, evaluate its accounts, write the results, count them.

The planner (app/jobs/planner.py) gave each chunk the ids of up to ``chunk_size`` accounts of the
event's regions; the accounts outside them were counted once by the planner and cost a chunk
nothing.

Protocol (safe with any number of workers, crashes and redelivered tasks):

1. **Claim** in a short transaction of its own: ``UPDATE scan_chunk SET status='running',
   attempts=attempts+1, started_at=now WHERE id=:id AND (status='pending' OR (status='running'
   AND started_at < now - stale))``. Exactly one worker wins; its attempt number is its claim.
2. **Work** in ONE transaction, in three steps:
   - *read* (:func:`_read`): the chunk's accounts by id, their statements due in the relief window,
     their deferrals for the event: three indexed queries;
   - *decide* (:func:`_decide`): the pure domain (``evaluate_disaster_deferral``) for each account;
     an account whose data breaks a rule's arithmetic is refused with DATA_INVALID like any other
     refusal, and the scan goes on;
   - *write* (:func:`write_deferrals` when enrolling, then :func:`_write_results` and
     :func:`_count`): the deferrals and their lines, a ScanResult row per account (``COPY`` on
     PostgreSQL, see app/jobs/rows.py), then the chunk is marked done only if the claim still holds
     (``WHERE attempts = :mine``), else everything rolls back; the scan's counters grow by ``x = x +
     :n`` (atomic across workers). The chunk that completes the scan computes
     ``customers_eligible`` and the reason counts (app/jobs/finalize.py) and marks it succeeded.
3. **Failure**: the work rolls back; the chunk goes back to pending, or after
   ``scan_chunk_max_attempts`` attempts is failed and so is the scan, with the reason.

A worker killed in step 2 leaves the chunk ``running`` with nothing written; once it is stale,
another worker claims it again (attempt 2) and the totals stay exact.

Amendments: an enroll scan under a later event version recomputes the deferral of each account
enrolled under an earlier version (ALREADY_ENROLLED, otherwise still eligible); when its lines
change (longer deferral, wider window) the lines are upserted by statement date and the totals
recomputed from the lines: the deferral is extended, never duplicated; lines of statements that no
longer qualify are kept (a deferral is never shrunk). Such accounts are listed with
``enrolled = true`` and reason ALREADY_ENROLLED, and counted in the manifest's ``deferrals_extended``,
not in the scan's enrollment totals.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Date, Engine, and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.domain.deferrals import DeferralResult
from app.domain.eligibility import evaluate_disaster_deferral
from app.domain.model import Statement
from app.domain.money import ZERO
from app.domain.reasons import ReasonCode
from app.domain.regions import is_covered
from app.jobs.context import ScanContext, covered, load_context, resolve_policy
from app.jobs.deferral_writes import extend_deferrals as _extend_deferrals
from app.jobs.deferral_writes import insert_deferrals as _insert_deferrals
from app.jobs.finalize import finalize_scan
from app.jobs.rows import (
    ACCOUNT_T,
    DEFERRAL_T,
    RAW_RESULT,
    RESULT_COLUMNS,
    STATEMENT_T,
    account_value,
    bulk_insert,
    fen,
    ids_in,
    raw_money,
    statement_value,
)
from app.persistence.models import Scan as ScanRow
from app.persistence.models import ScanChunk
from app.services import audit, events
from app.services.clock import utcnow
from app.services.deferrals import GrantedDeferral, extended_event_drafts, granted_event_drafts
from app.services.policies import PolicyStore
from app.services.principal import SYSTEM
from app.services.scans import emit_scan_finished

__all__ = ["ChunkOutcome", "finalize_scan", "process_chunk", "resolve_policy", "write_deferrals"]

log = logging.getLogger("hardship.jobs.chunk")

ALREADY = ReasonCode.ALREADY_ENROLLED.value


class ChunkOutcome(StrEnum):
    DONE = "done"  # this call did the chunk
    ALREADY_DONE = "already_done"  # someone else did it
    BUSY = "busy"  # another worker holds a fresh claim: try again later
    RETRY = "retry"  # this attempt failed; the chunk is pending again
    FAILED = "failed"  # out of attempts: the chunk and the scan are failed
    SKIPPED = "skipped"  # the scan is not running (failed, or gone)
    LOST = "lost"  # the claim was taken over while working; nothing was written


class LostClaim(Exception):
    """Another worker re-claimed the chunk (ours looked stale, or the scan was resumed)."""


def _due_date(session: Session) -> Any:
    """statement.due_date for the window filter. On SQLite (no statistics after a bulk import) the
    unary plus keeps the planner on the (account_id, statement_date) index for the chunk's id range
    instead of walking ix_statement_due_date, i.e. most of the table, once per chunk."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column("+statement.due_date", Date)
    return STATEMENT_T.c.due_date


def _rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (or inserted by an INSERT)."""
    return int(cast(CursorResult[Any], result).rowcount)


def _claim(engine: Engine, scan_id: int, chunk_id: int, stale_seconds: float) -> tuple[ChunkOutcome, int]:
    with unit_of_work(engine) as session:
        status = session.scalar(select(ScanRow.status).where(ScanRow.id == scan_id))
        if status != "running":
            done = session.scalar(select(ScanChunk.status).where(ScanChunk.id == chunk_id)) == "done"
            return (ChunkOutcome.ALREADY_DONE if done else ChunkOutcome.SKIPPED), 0
        now = utcnow()
        claimed = _rowcount(
            session.execute(
                update(ScanChunk)
                .where(
                    ScanChunk.id == chunk_id,
                    or_(
                        ScanChunk.status == "pending",
                        and_(
                            ScanChunk.status == "running",
                            ScanChunk.started_at < now - timedelta(seconds=stale_seconds),
                        ),
                    ),
                )
                .values(status="running", attempts=ScanChunk.attempts + 1, started_at=now, error=None)
                .execution_options(synchronize_session=False)
            )
        )
        chunk_status, attempts = session.execute(
            select(ScanChunk.status, ScanChunk.attempts).where(ScanChunk.id == chunk_id)
        ).one()
        if claimed == 1:
            return ChunkOutcome.DONE, attempts
        if chunk_status == "done":
            return ChunkOutcome.ALREADY_DONE, 0
        if chunk_status == "failed":
            return ChunkOutcome.SKIPPED, 0
        return ChunkOutcome.BUSY, 0


def process_chunk(
    engine: Engine,
    *,
    scan_id: int,
    chunk_id: int,
    policies: PolicyStore,
    max_attempts: int,
    stale_seconds: float,
    delay_seconds: float = 0.0,
) -> ChunkOutcome:
    """Claim and do one chunk (see the module docstring); never raises for a failing chunk."""
    claim, attempt = _claim(engine, scan_id, chunk_id, stale_seconds)
    if claim is not ChunkOutcome.DONE:
        return claim
    try:
        with unit_of_work(engine) as session:
            _work(session, scan_id, chunk_id, attempt, policies, delay_seconds)
        return ChunkOutcome.DONE
    except LostClaim:
        log.warning("scan %s chunk %s: claim %s was taken over; rolled back", scan_id, chunk_id, attempt)
        return ChunkOutcome.LOST
    except Exception as exc:
        log.exception("scan %s chunk %s attempt %s failed", scan_id, chunk_id, attempt)
        return _record_failure(engine, scan_id, chunk_id, attempt, max_attempts, exc)


def _describe(exc: BaseException) -> str:
    """A short reason for the scan's error field: the type and the first line, never SQL parameters."""
    first_line = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:500]


def _record_failure(
    engine: Engine, scan_id: int, chunk_id: int, attempt: int, max_attempts: int, exc: BaseException
) -> ChunkOutcome:
    reason = _describe(exc)
    with unit_of_work(engine) as session:
        final = attempt >= max_attempts
        changed = _rowcount(
            session.execute(
                update(ScanChunk)
                .where(ScanChunk.id == chunk_id, ScanChunk.status == "running", ScanChunk.attempts == attempt)
                .values(
                    status="failed" if final else "pending",
                    error=reason,
                    finished_at=utcnow() if final else None,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if changed != 1:
            return ChunkOutcome.LOST
        if not final:
            return ChunkOutcome.RETRY
        number = session.scalar(select(ScanChunk.number).where(ScanChunk.id == chunk_id))
        message = f"chunk {number} failed {attempt} times: {reason}"
        failed = _rowcount(
            session.execute(
                update(ScanRow)
                .where(ScanRow.id == scan_id, ScanRow.status == "running")
                .values(status="failed", error=message, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        )
        if failed:
            emit_scan_finished(session, scan_id)
            audit.record(
                session,
                actor=SYSTEM,
                action="scan.failed",
                entity_type="scan",
                entity_id=scan_id,
                after={"error": message},
            )
        return ChunkOutcome.FAILED


def _work(
    session: Session,
    scan_id: int,
    chunk_id: int,
    attempt: int,
    policies: PolicyStore,
    delay_seconds: float,
) -> None:
    """The chunk's transaction: read, decide, write (see the module docstring)."""
    chunk = session.get(ScanChunk, chunk_id)
    assert chunk is not None
    ctx = load_context(session, scan_id, policies)
    account_ids, scanned = _chunk_accounts(session, ctx, chunk)
    batch = _read(session, ctx, account_ids)
    if delay_seconds:
        time.sleep(delay_seconds)  # test only: a window in which a test kills the worker
    decided = _decide(ctx, batch)
    if ctx.scan.mode == "enroll":
        write_deferrals(session, ctx, decided)
    _write_results(session, scan_id, decided)
    _count(session, ctx, chunk_id, attempt, scanned, decided)


def _chunk_accounts(session: Session, ctx: ScanContext, chunk: ScanChunk) -> tuple[list[int], int]:
    """The ids of the accounts the chunk evaluates, and how many accounts it counts as scanned.

    A chunk planned with its account ids (the planner counted the accounts outside the event's
    regions once) evaluates and counts those. A chunk planned before account ids were kept holds an
    id range: it evaluates the covered accounts of the range and counts every account in it.
    """
    if chunk.account_ids is not None:
        ids: list[int] = json.loads(chunk.account_ids)
        return ids, len(ids)
    in_range = ACCOUNT_T.c.id.between(chunk.first_account_id, chunk.last_account_id)
    scanned = session.scalar(select(func.count()).select_from(ACCOUNT_T).where(in_range)) or 0
    query = select(ACCOUNT_T.c.id).where(in_range, covered(ctx.prefixes)).order_by(ACCOUNT_T.c.id)
    ids = list(session.scalars(query))
    return ids, scanned


@dataclasses.dataclass
class _Batch:
    """What a chunk reads: its account rows (id first, then the columns of ``account_value``), their
    statements due in the relief window, and their deferrals for the event (id, event version)."""

    accounts: list[Any]
    statements: dict[int, list[Statement]]
    existing: dict[int, tuple[int, int]]


_ACCOUNT_COLUMNS = (
    ACCOUNT_T.c.id,
    ACCOUNT_T.c.account_ref,
    ACCOUNT_T.c.customer_ref,
    ACCOUNT_T.c.product_code,
    ACCOUNT_T.c.status,
    ACCOUNT_T.c.region_code,
    ACCOUNT_T.c.opened_on,
    raw_money(ACCOUNT_T.c.credit_limit_fen).label("credit_limit_fen"),
    raw_money(ACCOUNT_T.c.principal_balance_fen).label("principal_balance_fen"),
    raw_money(ACCOUNT_T.c.interest_balance_fen).label("interest_balance_fen"),
    raw_money(ACCOUNT_T.c.fee_balance_fen).label("fee_balance_fen"),
    ACCOUNT_T.c.delinquent_since,
    ACCOUNT_T.c.last_payment_on,
)
_STATEMENT_COLUMNS = (
    STATEMENT_T.c.account_id,
    STATEMENT_T.c.statement_date,
    STATEMENT_T.c.due_date,
    raw_money(STATEMENT_T.c.statement_balance_fen).label("statement_balance_fen"),
    raw_money(STATEMENT_T.c.minimum_due_fen).label("minimum_due_fen"),
    raw_money(STATEMENT_T.c.paid_amount_fen).label("paid_amount_fen"),
)


def _read(session: Session, ctx: ScanContext, account_ids: list[int]) -> _Batch:
    """The chunk's accounts, their statements due in the relief window and their deferrals for the
    event: three queries on the primary key and the (account_id, ...) indexes."""
    if not account_ids:
        return _Batch([], {}, {})
    accounts = session.execute(
        select(*_ACCOUNT_COLUMNS).where(ids_in(session, ACCOUNT_T.c.id, account_ids)).order_by(ACCOUNT_T.c.id)
    ).all()
    statements: dict[int, list[Statement]] = defaultdict(list)
    for line in session.execute(
        select(*_STATEMENT_COLUMNS).where(
            ids_in(session, STATEMENT_T.c.account_id, account_ids),
            _due_date(session).between(ctx.event.relief_start, ctx.event.relief_end),
        )
    ):
        statements[line[0]].append(statement_value(*line[1:]))
    existing: dict[int, tuple[int, int]] = {
        row.account_id: (row.id, row.event_version)
        for row in session.execute(
            select(DEFERRAL_T.c.id, DEFERRAL_T.c.account_id, DEFERRAL_T.c.event_version).where(
                DEFERRAL_T.c.disaster_id == ctx.event_row.id,
                ids_in(session, DEFERRAL_T.c.account_id, account_ids),
            )
        )
    }
    return _Batch(list(accounts), statements, existing)


@dataclasses.dataclass
class _Decided:
    """The chunk's verdicts by account id, the new deferrals to write (``offers``) and, for an
    enroll scan under a later event version, the deferrals to extend (deferral id, new amounts)."""

    verdicts: dict[int, _Verdict]
    offers: dict[int, DeferralResult]
    extensions: dict[int, tuple[int, DeferralResult]]


def _decide(ctx: ScanContext, batch: _Batch) -> _Decided:
    """Judge each account with the pure domain rules, exactly as the eligibility endpoint does."""
    enroll = ctx.scan.mode == "enroll"
    decided = _Decided({}, {}, {})
    # A chunk's accounts share a few region codes: each is judged once (the same domain rule).
    coverage: dict[str, bool] = {}
    for account_id, *account_values in batch.accounts:
        account = account_value(*account_values)
        account_statements = batch.statements.get(account_id, [])
        enrolled_before = batch.existing.get(account_id)
        region_covered = coverage.get(account.region_code)
        if region_covered is None:
            region_covered = coverage[account.region_code] = is_covered(
                account.region_code, ctx.event.region_codes, ctx.policy.region_code_changes
            )
        decision = evaluate_disaster_deferral(
            account,
            account_statements,
            ctx.event,
            policy=ctx.policy,
            already_enrolled=enrolled_before is not None,
            today=ctx.today,
            region_covered=region_covered,
        )
        offer = decision.offer if isinstance(decision.offer, DeferralResult) else None
        decided.verdicts[account_id] = _Verdict(
            account_id,
            account.account_ref,
            account.customer_ref,
            account.region_code,
            decision.eligible,
            decision.reason_codes,
            offer,
        )
        if offer is not None:
            decided.offers[account_id] = offer
        elif (
            enroll
            and enrolled_before is not None
            and enrolled_before[1] < ctx.scan.event_version
            and decision.reason_codes == (ALREADY,)
        ):
            again = evaluate_disaster_deferral(
                account,
                account_statements,
                ctx.event,
                policy=ctx.policy,
                already_enrolled=False,
                today=ctx.today,
                region_covered=region_covered,
            )
            if isinstance(again.offer, DeferralResult):
                decided.extensions[account_id] = (enrolled_before[0], again.offer)
    return decided


def write_deferrals(session: Session, ctx: ScanContext, decided: _Decided) -> None:
    """Enroll: write the deferrals (with their lines) of the eligible accounts, and extend those of
    accounts enrolled under an earlier version of the event; mark what was written on the verdicts.

    An account enrolled meanwhile by another scan is not ours to count: it is listed as
    ALREADY_ENROLLED. Every deferral an enroll scan writes or changes goes through here.
    """
    verdicts = decided.verdicts
    granted: Sequence[events.EventDraft] | events.EventBatch = ()
    extended: list[events.EventDraft] = []
    if decided.offers:
        inserted = _insert_deferrals(session, ctx, decided.offers)
        for account_id in decided.offers:
            verdict = verdicts[account_id]
            if account_id in inserted:
                verdict.enrolled = True
            else:
                verdict.eligible, verdict.reasons, verdict.offer = False, (ALREADY,), None
        granted = granted_event_drafts(
            disaster_code=ctx.event_row.code,
            disaster_name=ctx.event_row.name,
            event_version=ctx.scan.event_version,
            policy_version=ctx.scan.policy_version,
            scan_id=ctx.scan.id,
            created_at=ctx.now,
            granted=[
                GrantedDeferral(deferral_id, verdicts[account_id].account_ref, decided.offers[account_id])
                for account_id, deferral_id in inserted.items()
            ],
        )
    if decided.extensions:
        extended_ids = _extend_deferrals(session, ctx, decided.extensions)
        for account_id in extended_ids:
            verdicts[account_id].enrolled = True
            verdicts[account_id].offer = decided.extensions[account_id][1]
        extended = extended_event_drafts(session, [decided.extensions[a][0] for a in extended_ids])
    # Each deferral granted or extended commits its event with it (CONTRACT.md, "Events out").
    events.write_events(session, granted, extended)


def _write_results(session: Session, scan_id: int, decided: _Decided) -> None:
    """One ScanResult row per evaluated account, in account order."""
    bulk_insert(
        session,
        RAW_RESULT,
        RESULT_COLUMNS,
        [verdict.row(scan_id) for verdict in decided.verdicts.values()],
        conflict="",
    )


def _count(
    session: Session, ctx: ScanContext, chunk_id: int, attempt: int, scanned: int, decided: _Decided
) -> None:
    """Mark the chunk done if our claim still holds (else LostClaim: all rolls back), add its counts
    and totals to the scan, and finalize the scan when this was its last chunk."""
    scan_id = ctx.scan.id
    enroll = ctx.scan.mode == "enroll"
    counted = [verdict.offer for verdict in decided.verdicts.values() if verdict.eligible and verdict.offer]
    finished = _rowcount(
        session.execute(
            update(ScanChunk)
            .where(ScanChunk.id == chunk_id, ScanChunk.status == "running", ScanChunk.attempts == attempt)
            .values(status="done", finished_at=utcnow(), accounts_scanned=scanned, error=None)
            .execution_options(synchronize_session=False)
        )
    )
    if finished != 1:
        raise LostClaim(chunk_id)
    session.execute(
        update(ScanRow)
        .where(ScanRow.id == scan_id)
        .values(
            chunks_done=ScanRow.chunks_done + 1,
            accounts_scanned=ScanRow.accounts_scanned + scanned,
            accounts_eligible=ScanRow.accounts_eligible + len(counted),
            accounts_enrolled=ScanRow.accounts_enrolled + (len(counted) if enroll else 0),
            total_deferred_amount=ScanRow.total_deferred_amount
            + sum((offer.deferred_amount for offer in counted), ZERO),
            total_interest_waived=ScanRow.total_interest_waived
            + sum((offer.interest_waived for offer in counted), ZERO),
            total_late_fees_waived=ScanRow.total_late_fees_waived
            + sum((offer.late_fees_waived for offer in counted), ZERO),
        )
        .execution_options(synchronize_session=False)
    )
    done, total, status = session.execute(
        select(ScanRow.chunks_done, ScanRow.chunks_total, ScanRow.status).where(ScanRow.id == scan_id)
    ).one()
    if status == "running" and done >= total:
        finalize_scan(session, scan_id)


@dataclasses.dataclass(slots=True)
class _Verdict:
    """One account's outcome in this chunk, written as its scan_result row."""

    account_id: int
    account_ref: str
    customer_ref: str
    region_code: str
    eligible: bool
    reasons: tuple[str, ...]
    offer: DeferralResult | None  # the amounts listed (and counted when eligible)
    enrolled: bool = False

    def row(self, scan_id: int) -> tuple[Any, ...]:
        offer = self.offer
        return (
            scan_id,
            self.account_id,
            self.account_ref,
            self.customer_ref,
            self.region_code,
            self.eligible,
            self.enrolled,
            " ".join(self.reasons),
            fen(offer.deferred_amount) if offer else 0,
            fen(offer.interest_waived) if offer else 0,
            fen(offer.late_fees_waived) if offer else 0,
        )
