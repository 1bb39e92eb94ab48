"""One chunk of a scan: claim it, evaluate its accounts, write the results, count them.

Protocol (safe with any number of workers, crashes and redelivered tasks):

1. **Claim** in a short transaction of its own: ``UPDATE scan_chunk SET status='running',
   attempts=attempts+1, started_at=now WHERE id=:id AND (status='pending' OR (status='running'
   AND started_at < now - stale))``. Exactly one worker wins; its attempt number is its claim.
2. **Work** in ONE transaction: a few set-based queries (the chunk's account count; the accounts of
   the covered regions; their statements due in the relief window; their deferrals for the event),
   the pure domain (``evaluate_disaster_deferral``) for each account, then bulk inserts: ScanResult
   rows and, when enrolling, ``INSERT ... ON CONFLICT DO NOTHING`` on the deferrals (the unique
   (account_id, disaster_id) settles races; only what was really inserted, read back by an indexed
   query, is counted) and their lines. On PostgreSQL the results and lines go in with ``COPY`` and
   the deferrals with one ``INSERT ... SELECT FROM unnest(...)`` (see ``_bulk_insert``). The chunk
   is marked done only if the claim still holds (``WHERE attempts = :mine``), else everything rolls
   back; the scan's counters grow by ``x = x + :n`` (atomic across workers). The chunk that
   completes the scan computes ``customers_eligible`` with one ``COUNT(DISTINCT customer_ref)`` and
   the reason counts, and marks the scan succeeded.
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
import logging
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CursorResult,
    Date,
    Engine,
    Table,
    TableClause,
    and_,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy import insert as insert_into
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.domain.deferrals import DeferralLine as DomainLine
from app.domain.deferrals import DeferralResult
from app.domain.eligibility import evaluate_disaster_deferral
from app.domain.model import Account, DisasterEvent, Statement
from app.domain.money import ZERO
from app.domain.policy import Policy
from app.domain.reasons import ReasonCode
from app.domain.regions import coverage_prefixes
from app.persistence.models import (
    CardAccount,
    Deferral,
    DeferralLine,
    DeferralLineHistory,
    DisasterAmendment,
    DisasterRegion,
    ScanChunk,
    ScanResult,
)
from app.persistence.models import DisasterEvent as EventRow
from app.persistence.models import Scan as ScanRow
from app.persistence.models import Statement as StatementRow
from app.persistence.types import Money
from app.services import audit, events
from app.services.clock import today, utcnow
from app.services.deferrals import GrantedDeferral, extended_event_drafts, granted_event_drafts
from app.services.disasters import region_codes_of, to_domain_event
from app.services.policies import PolicyStore
from app.services.principal import SYSTEM
from app.services.regions import region_code_changes
from app.services.scans import emit_scan_finished

__all__ = ["ChunkOutcome", "finalize_scan", "process_chunk", "resolve_policy"]

log = logging.getLogger("hardship.jobs.chunk")

ACCOUNT_T = cast(Table, CardAccount.__table__)
STATEMENT_T = cast(Table, StatementRow.__table__)
DEFERRAL_T = cast(Table, Deferral.__table__)
LINE_T = cast(Table, DeferralLine.__table__)
RESULT_T = cast(Table, ScanResult.__table__)
HISTORY_T = cast(Table, DeferralLineHistory.__table__)
HISTORY_COLUMNS = (
    "deferral_id",
    "statement_date",
    "due_date",
    "new_due_date",
    "deferred_fen",
    "interest_waived_fen",
    "late_fee_waived_fen",
    "granted_on",
)


def _raw(table: Table) -> TableClause:
    """The table with its Money columns as plain integers: bulk writes pass fen and skip the
    per-value conversion of the Money type (a large share of a chunk's time otherwise)."""
    return sa_table(
        table.name,
        *(column(c.name, BigInteger() if isinstance(c.type, Money) else c.type) for c in table.columns),
    )


RAW_RESULT, RAW_DEFERRAL, RAW_LINE = _raw(RESULT_T), _raw(DEFERRAL_T), _raw(LINE_T)


def _cents(fen: int) -> Decimal:
    """Integer fen -> Decimal with two places (exact for any int of the database): the very value
    ``require_cents`` gives (0 as ``ZERO``, i.e. 0.00, not 0E-2)."""
    return Decimal(fen).scaleb(-2) if fen else ZERO


_new = object.__new__
_set = object.__setattr__


def _statement(
    statement_date: date, due_date: date, balance_fen: int, minimum_fen: int, paid_fen: int
) -> Statement:
    """A domain Statement from database values, without the per-value checks of its constructor.

    The checks (a Decimal, finite, whole fen, stored as 0.00-style with two places) hold by
    construction for integer fen from a BIGINT column and :func:`_cents` produces exactly the value
    ``require_cents`` would store, so the object equals ``Statement(...)`` field for field; the
    checks were a large share of a chunk's time. tests/unit/test_scan_chunk_values.py compares both.
    """
    statement = _new(Statement)
    _set(statement, "statement_date", statement_date)
    _set(statement, "due_date", due_date)
    _set(statement, "statement_balance", _cents(balance_fen))
    _set(statement, "minimum_due", _cents(minimum_fen))
    _set(statement, "paid_amount", _cents(paid_fen))
    return statement


def _account(
    account_ref: str,
    customer_ref: str,
    product_code: str,
    status: str,
    region_code: str,
    opened_on: date,
    credit_limit_fen: int,
    principal_balance_fen: int,
    interest_balance_fen: int,
    fee_balance_fen: int,
    delinquent_since: date | None,
    last_payment_on: date | None,
) -> Account:
    """A domain Account from an account row (see :func:`_statement` for why the checks are skipped)."""
    account = _new(Account)
    _set(account, "account_ref", account_ref)
    _set(account, "customer_ref", customer_ref)
    _set(account, "product_code", product_code)
    _set(account, "status", status)
    _set(account, "region_code", region_code)
    _set(account, "opened_on", opened_on)
    _set(account, "credit_limit", _cents(credit_limit_fen))
    _set(account, "principal_balance", _cents(principal_balance_fen))
    _set(account, "interest_balance", _cents(interest_balance_fen))
    _set(account, "fee_balance", _cents(fee_balance_fen))
    _set(account, "delinquent_since", delinquent_since)
    _set(account, "last_payment_on", last_payment_on)
    return account


def _fen(amount: Decimal) -> int:
    """A domain amount (whole fen, two places) as integer fen for a raw column."""
    return int(amount.scaleb(2))


def _copy_type(table: TableClause, name: str) -> str:
    """The PostgreSQL type name of a column, as binary COPY needs it ("varchar", "timestamptz")."""
    compiled = table.c[name].type.compile(dialect=postgresql.dialect()).lower().split("(")[0].strip()
    return {"timestamp with time zone": "timestamptz"}.get(compiled, compiled)


def _copy_rows(
    session: Session, table: TableClause, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: ``COPY table (columns) FROM STDIN`` in the binary format (less to format on our
    side and to parse on the server's than text), with ``rows`` (amounts in integer fen)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_copy_type(table, name) for name in columns])
        for row in rows:
            copy.write_row(row)


def _bulk_insert(
    session: Session,
    table: TableClause,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    conflict: str | None = None,
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``; amounts in integer fen).

    PostgreSQL: one ``COPY``. Other databases: one executemany; ``conflict`` (None for a plain
    insert, "" for any unique constraint, or e.g. "(account_id, disaster_id)") adds ``ON CONFLICT
    ... DO NOTHING``. On PostgreSQL a conflict is an error instead: every caller writes rows that can
    only conflict with a concurrent attempt whose chunk then fails and is retried (see
    :func:`_insert_deferrals` and the scan results), which gives the same outcome as skipping them.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_rows(session, table, columns, rows)
        return
    insert = _insert(session)(table)
    if conflict is not None:
        elements = [name.strip() for name in conflict.strip("()").split(",") if name.strip()]
        insert = insert.on_conflict_do_nothing(index_elements=elements or None)
    session.execute(insert, [dict(zip(columns, row, strict=True)) for row in rows])


def _raw_money(column_: Any) -> Any:
    return type_coerce(column_, BigInteger)


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


def resolve_policy(policies: PolicyStore, version: str) -> Policy:
    """The adopted policy of that version, or the draft (dry runs only); LookupError otherwise."""
    policy = policies.get(version) or policies.get_draft(version)
    if policy is None:
        raise LookupError(f"policy version {version!r} is not known to this worker")
    return policy


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


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


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


@dataclasses.dataclass
class _Context:
    scan: ScanRow
    event_row: EventRow
    event: DisasterEvent
    policy: Policy
    prefixes: tuple[str, ...]
    granted_on: date  # the business date: when what this chunk grants is granted
    now: datetime = dataclasses.field(default_factory=utcnow)


def _load_context(session: Session, scan_id: int, policies: PolicyStore) -> _Context:
    scan = session.get(ScanRow, scan_id)
    assert scan is not None
    event_row = session.get(EventRow, scan.disaster_id)
    assert event_row is not None
    event = to_domain_event(event_row, region_codes_of(session, event_row.id))
    if event_row.version != scan.event_version:
        # The event was amended after the scan started: a scan judges by the version it recorded
        # for its whole life, so every chunk sees the same rules. Amended regions and dates are
        # then picked up by the next scan.
        event = _event_at_version(session, event_row, scan.event_version)
    base = resolve_policy(policies, scan.policy_version)
    changes = region_code_changes(session, base)
    policy = dataclasses.replace(base, region_code_changes=MappingProxyType(changes))
    return _Context(
        scan, event_row, event, policy, coverage_prefixes(event.region_codes, changes), today(session)
    )


def _event_at_version(session: Session, event_row: EventRow, version: int) -> DisasterEvent:
    """The event as it was at ``version``: undo the later amendments (they only ever widen)."""
    relief_end = event_row.relief_end
    months = event_row.deferral_months
    for amendment in session.scalars(
        select(DisasterAmendment)
        .where(DisasterAmendment.disaster_id == event_row.id, DisasterAmendment.version > version)
        .order_by(DisasterAmendment.version.desc())
    ):
        changes = amendment.changes or {}
        if "relief_end" in changes:
            relief_end = date.fromisoformat(changes["relief_end"]["from"])
        if "deferral_months" in changes:
            months = int(changes["deferral_months"]["from"])
    codes = session.scalars(
        select(DisasterRegion.region_code).where(
            DisasterRegion.disaster_id == event_row.id, DisasterRegion.added_in_version <= version
        )
    )
    return DisasterEvent(
        code=event_row.code,
        occurred_on=event_row.occurred_on,
        relief_start=event_row.relief_start,
        relief_end=relief_end,
        deferral_months=months,
        region_codes=tuple(sorted(codes)),
    )


def _work(
    session: Session,
    scan_id: int,
    chunk_id: int,
    attempt: int,
    policies: PolicyStore,
    delay_seconds: float,
) -> None:
    chunk = session.get(ScanChunk, chunk_id)
    assert chunk is not None
    ctx = _load_context(session, scan_id, policies)
    first, last = chunk.first_account_id, chunk.last_account_id
    in_chunk = ACCOUNT_T.c.id.between(first, last)
    covered = or_(*[ACCOUNT_T.c.region_code.like(prefix + "%") for prefix in ctx.prefixes])

    scanned = session.scalar(select(func.count()).select_from(ACCOUNT_T).where(in_chunk)) or 0
    accounts = session.execute(
        select(
            ACCOUNT_T.c.id,
            ACCOUNT_T.c.account_ref,
            ACCOUNT_T.c.customer_ref,
            ACCOUNT_T.c.product_code,
            ACCOUNT_T.c.status,
            ACCOUNT_T.c.region_code,
            ACCOUNT_T.c.opened_on,
            _raw_money(ACCOUNT_T.c.credit_limit_fen).label("credit_limit_fen"),
            _raw_money(ACCOUNT_T.c.principal_balance_fen).label("principal_balance_fen"),
            _raw_money(ACCOUNT_T.c.interest_balance_fen).label("interest_balance_fen"),
            _raw_money(ACCOUNT_T.c.fee_balance_fen).label("fee_balance_fen"),
            ACCOUNT_T.c.delinquent_since,
            ACCOUNT_T.c.last_payment_on,
        )
        .where(in_chunk, covered)
        .order_by(ACCOUNT_T.c.id)
    ).all()
    statements: dict[int, list[Statement]] = defaultdict(list)
    for line in session.execute(
        select(
            STATEMENT_T.c.account_id,
            STATEMENT_T.c.statement_date,
            STATEMENT_T.c.due_date,
            _raw_money(STATEMENT_T.c.statement_balance_fen).label("statement_balance_fen"),
            _raw_money(STATEMENT_T.c.minimum_due_fen).label("minimum_due_fen"),
            _raw_money(STATEMENT_T.c.paid_amount_fen).label("paid_amount_fen"),
        )
        .select_from(STATEMENT_T.join(ACCOUNT_T, ACCOUNT_T.c.id == STATEMENT_T.c.account_id))
        .where(
            in_chunk,
            STATEMENT_T.c.account_id.between(first, last),
            covered,
            _due_date(session).between(ctx.event.relief_start, ctx.event.relief_end),
        )
    ):
        statements[line[0]].append(_statement(*line[1:]))
    existing: dict[int, tuple[int, int]] = {
        row.account_id: (row.id, row.event_version)
        for row in session.execute(
            select(DEFERRAL_T.c.id, DEFERRAL_T.c.account_id, DEFERRAL_T.c.event_version).where(
                DEFERRAL_T.c.disaster_id == ctx.event_row.id, DEFERRAL_T.c.account_id.between(first, last)
            )
        )
    }
    if delay_seconds:
        time.sleep(delay_seconds)  # test only: a window in which a test kills the worker

    enroll = ctx.scan.mode == "enroll"
    verdicts: dict[int, _Verdict] = {}
    offers: dict[int, DeferralResult] = {}
    extensions: dict[int, tuple[int, DeferralResult]] = {}
    for account_id, *account_values in accounts:
        account = _account(*account_values)
        account_statements = statements.get(account_id, [])
        enrolled_before = existing.get(account_id)
        decision = evaluate_disaster_deferral(
            account,
            account_statements,
            ctx.event,
            policy=ctx.policy,
            already_enrolled=enrolled_before is not None,
        )
        offer = decision.offer if isinstance(decision.offer, DeferralResult) else None
        verdicts[account_id] = _Verdict(
            account_id,
            account.account_ref,
            account.customer_ref,
            account.region_code,
            decision.eligible,
            decision.reason_codes,
            offer,
        )
        if offer is not None:
            offers[account_id] = offer
        elif (
            enroll
            and enrolled_before is not None
            and enrolled_before[1] < ctx.scan.event_version
            and decision.reason_codes == (ALREADY,)
        ):
            again = evaluate_disaster_deferral(
                account, account_statements, ctx.event, policy=ctx.policy, already_enrolled=False
            )
            if isinstance(again.offer, DeferralResult):
                extensions[account_id] = (enrolled_before[0], again.offer)

    drafts: list[events.EventDraft] = []
    if enroll and offers:
        inserted = _insert_deferrals(session, ctx, offers)
        for account_id in offers:
            verdict = verdicts[account_id]
            if account_id in inserted:
                verdict.enrolled = True
            else:  # enrolled meanwhile by another scan: not ours to count
                verdict.eligible, verdict.reasons, verdict.offer = False, (ALREADY,), None
        drafts.extend(
            granted_event_drafts(
                disaster_code=ctx.event_row.code,
                disaster_name=ctx.event_row.name,
                event_version=ctx.scan.event_version,
                policy_version=ctx.scan.policy_version,
                scan_id=ctx.scan.id,
                created_at=ctx.now,
                granted=[
                    GrantedDeferral(deferral_id, verdicts[account_id].account_ref, offers[account_id])
                    for account_id, deferral_id in inserted.items()
                ],
            )
        )
    if extensions:
        extended = _extend_deferrals(session, ctx, extensions)
        for account_id in extended:
            verdicts[account_id].enrolled = True
            verdicts[account_id].offer = extensions[account_id][1]
        drafts.extend(extended_event_drafts(session, [extensions[a][0] for a in extended]))
    # Each deferral granted or extended commits its event with it (CONTRACT.md, "Events out").
    _bulk_insert(session, events.RAW_OUTBOX, events.OUTBOX_COLUMNS, events.prepare_events(session, drafts))
    _bulk_insert(
        session,
        RAW_RESULT,
        RESULT_COLUMNS,
        [verdict.row(scan_id) for verdict in verdicts.values()],
        conflict="",
    )

    counted = [verdict.offer for verdict in verdicts.values() if verdict.eligible and verdict.offer]
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


RESULT_COLUMNS = (
    "scan_id",
    "account_id",
    "account_ref",
    "customer_ref",
    "region_code",
    "eligible",
    "enrolled",
    "reasons",
    "deferred_fen",
    "interest_waived_fen",
    "late_fees_waived_fen",
)
DEFERRAL_COLUMNS = (
    "account_id",
    "disaster_id",
    "scan_id",
    "event_version",
    "policy_version",
    "deferred_fen",
    "interest_waived_fen",
    "late_fees_waived_fen",
    "created_at",
    "updated_at",
    "granted_on",
)
LINE_COLUMNS = (
    "deferral_id",
    "statement_date",
    "due_date",
    "new_due_date",
    "deferred_fen",
    "interest_waived_fen",
    "late_fee_waived_fen",
    "granted_on",
)


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
            _fen(offer.deferred_amount) if offer else 0,
            _fen(offer.interest_waived) if offer else 0,
            _fen(offer.late_fees_waived) if offer else 0,
        )


def _deferral_row(ctx: _Context, account_id: int, offer: DeferralResult, now: datetime) -> tuple[Any, ...]:
    return (
        account_id,
        ctx.event_row.id,
        ctx.scan.id,
        ctx.scan.event_version,
        ctx.scan.policy_version,
        _fen(offer.deferred_amount),
        _fen(offer.interest_waived),
        _fen(offer.late_fees_waived),
        now,
        now,
        ctx.granted_on,
    )


def _line_rows(
    deferral_id: int, lines: tuple[DomainLine, ...] | list[DomainLine], granted_on: date
) -> list[tuple[Any, ...]]:
    return [
        (
            deferral_id,
            line.statement_date,
            line.due_date,
            line.new_due_date,
            _fen(line.deferred_amount),
            _fen(line.interest_waived),
            _fen(line.late_fee_waived),
            granted_on,
        )
        for line in lines
    ]


def _insert_deferrals(session: Session, ctx: _Context, offers: dict[int, DeferralResult]) -> dict[int, int]:
    """Insert the deferrals with their lines; {account id: deferral id} of those really inserted.

    PostgreSQL: the ids are drawn from the deferral sequence in one query and deferrals and lines go
    in with ``COPY``. The accounts were read as not enrolled in this transaction; should another scan
    of the same event enroll one meanwhile (the service allows one enroll scan per event at a time,
    so only a race can), the unique (account_id, disaster_id) fails this attempt and the retried
    chunk lists the account as ALREADY_ENROLLED: nothing is enrolled twice, the totals stay exact.

    Other databases: ``INSERT ... ON CONFLICT DO NOTHING`` in one executemany, then one indexed read
    of the rows this scan now owns in the chunk's id range: only this transaction can have written
    them (a chunk is done at most once), so they are exactly what was really inserted.
    """
    now = ctx.now
    if session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(
            select(func.nextval(func.pg_get_serial_sequence("deferral", "id"))).select_from(
                func.generate_series(1, len(offers))
            )
        ).all()
        ours = dict(zip(offers, ids, strict=True))
        _copy_rows(
            session,
            RAW_DEFERRAL,
            ("id", *DEFERRAL_COLUMNS),
            [
                (ours[account_id], *_deferral_row(ctx, account_id, offer, now))
                for account_id, offer in offers.items()
            ],
        )
    else:
        _bulk_insert(
            session,
            RAW_DEFERRAL,
            DEFERRAL_COLUMNS,
            [_deferral_row(ctx, account_id, offer, now) for account_id, offer in offers.items()],
            conflict="(account_id, disaster_id)",
        )
        inserted = session.execute(
            select(DEFERRAL_T.c.id, DEFERRAL_T.c.account_id).where(
                DEFERRAL_T.c.disaster_id == ctx.event_row.id,
                DEFERRAL_T.c.account_id.between(min(offers), max(offers)),
                DEFERRAL_T.c.scan_id == ctx.scan.id,
            )
        ).all()
        ours = {account_id: deferral_id for deferral_id, account_id in inserted if account_id in offers}
    lines = [
        line
        for account_id, deferral_id in ours.items()
        for line in _line_rows(deferral_id, offers[account_id].lines, ctx.granted_on)
    ]
    _bulk_insert(session, RAW_LINE, LINE_COLUMNS, lines)
    return ours


def _extend_deferrals(
    session: Session, ctx: _Context, extensions: dict[int, tuple[int, DeferralResult]]
) -> list[int]:
    """Upsert the recomputed lines of deferrals from an earlier event version whose lines changed.

    Returns the account ids whose deferral changed. Lines are matched by statement date; a line
    that is not recomputed is kept; totals are recomputed from the lines in SQL.
    """
    deferral_ids = [deferral_id for deferral_id, _ in extensions.values()]
    stored: dict[int, set[tuple[Any, ...]]] = defaultdict(set)
    for row in session.execute(
        select(
            LINE_T.c.deferral_id,
            LINE_T.c.statement_date,
            LINE_T.c.due_date,
            LINE_T.c.new_due_date,
            LINE_T.c.deferred_fen,
            LINE_T.c.interest_waived_fen,
            LINE_T.c.late_fee_waived_fen,
        ).where(LINE_T.c.deferral_id.in_(deferral_ids))
    ):
        stored[row.deferral_id].add(tuple(row)[1:])
    changed: list[int] = []
    upserts: list[tuple[Any, ...]] = []
    for account_id, (deferral_id, offer) in extensions.items():
        # Only the new or changed lines are written (and dated: the instruction file lists them).
        fresh = [
            line
            for line in offer.lines
            if (
                line.statement_date,
                line.due_date,
                line.new_due_date,
                line.deferred_amount,
                line.interest_waived,
                line.late_fee_waived,
            )
            not in stored[deferral_id]
        ]
        if fresh:
            changed.append(account_id)
            upserts.extend(_line_rows(deferral_id, fresh, ctx.granted_on))
    if not changed:
        return []
    # Keep the lines about to change as they were (the instruction file of their day keeps them).
    replaced = [(row[0], row[1]) for row in upserts]
    session.execute(
        insert_into(HISTORY_T).from_select(
            [*HISTORY_COLUMNS, "replaced_on"],
            select(*(LINE_T.c[name] for name in HISTORY_COLUMNS), literal(ctx.granted_on, Date)).where(
                tuple_(LINE_T.c.deferral_id, LINE_T.c.statement_date).in_(replaced)
            ),
        )
    )
    insert = _insert(session)(RAW_LINE)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["deferral_id", "statement_date"],
            set_={
                name: insert.excluded[name]
                for name in (
                    "due_date",
                    "new_due_date",
                    "deferred_fen",
                    "interest_waived_fen",
                    "late_fee_waived_fen",
                    "granted_on",
                )
            },
        ),
        [dict(zip(LINE_COLUMNS, row, strict=True)) for row in upserts],
    )
    changed_ids = [extensions[account_id][0] for account_id in changed]
    line = LINE_T.alias("line")

    def line_sum(column: str) -> Any:
        return (
            select(func.coalesce(func.sum(line.c[column]), 0))
            .where(line.c.deferral_id == DEFERRAL_T.c.id)
            .scalar_subquery()
        )

    session.execute(
        update(DEFERRAL_T)
        .where(DEFERRAL_T.c.id.in_(changed_ids))
        .values(
            deferred_fen=line_sum("deferred_fen"),
            interest_waived_fen=line_sum("interest_waived_fen"),
            late_fees_waived_fen=line_sum("late_fee_waived_fen"),
            event_version=ctx.scan.event_version,
            updated_at=utcnow(),
        )
    )
    return changed


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
