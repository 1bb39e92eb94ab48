"""Servicing runs: every active plan and deferral brought to the business date (DOMAIN.md, "Servicing").

A run cuts the active plans into chunks of plan ids. A chunk reads its plans, their installments
and the accounts' payments in three set-based queries, asks the domain where each plan stands
(``app.domain.servicing.service_plan``), and writes only what differs from what is stored: one
statement per table (on PostgreSQL an ``UPDATE ... FROM unnest(...)`` of the changed rows). A plan
that the rules complete or break goes through :func:`end_plans_by_rules`, the one place where a run
changes a plan's status. Deferrals whose last new due date has passed are completed.

:func:`run_servicing` does it all in the caller's transaction. On PostgreSQL app/jobs/servicing.py
runs the same chunks in several processes (:func:`start_run`, :func:`service_chunk` in each
process and transaction, :func:`finish_run`): chunks are independent (disjoint plans), so the
result is the same.

Runs are idempotent (the same date again writes nothing) and path-independent (daily runs end where
one run at the end does): the domain computes every figure from scratch and judges an ended plan
as of its end day. Data that makes the rules impossible to apply never fails a run: the problem is
kept on that plan (``servicing_error``) and counted, and the run goes on.

Each plan is serviced under its own policy version (the rules its agreement stated).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, Table, bindparam, func, select, text, type_coerce, update
from sqlalchemy.orm import Session

from app.domain.errors import DomainError
from app.domain.installments import PlanStatus
from app.domain.money import from_fen, to_fen
from app.domain.policy import ServicingPolicy
from app.domain.servicing import (
    ReceivedPayment,
    ScheduledInstallment,
    service_deferral,
    service_plan,
)
from app.persistence.models import (
    CardAccount,
    Deferral,
    DeferralLine,
    Installment,
    InstallmentPlan,
    Payment,
    ServicingRun,
)
from app.services import audit, clock
from app.services.errors import NotFound
from app.services.plan_endings import Transition, end_plans_by_rules, transition_for
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SERVICING_LOCK_ID",
    "ChunkWrites",
    "RulesByVersion",
    "RunSummary",
    "Transition",
    "chunk_bounds",
    "end_plans_by_rules",
    "finish_run",
    "get_run",
    "record_payment",
    "run_servicing",
    "service_chunk",
    "start_run",
]

DEFAULT_CHUNK_SIZE = 2000
# Serialises servicing runs on PostgreSQL: a second run waits, then finds nothing left to change.
SERVICING_LOCK_ID = 0x5E71C1

PLAN = cast(Table, InstallmentPlan.__table__)
INSTALLMENT = cast(Table, Installment.__table__)
PAYMENT = cast(Table, Payment.__table__)
DEFERRAL = cast(Table, Deferral.__table__)
DEFERRAL_LINE = cast(Table, DeferralLine.__table__)


def _fen(column: Any) -> Any:
    return type_coerce(column, BigInteger)


_CHUNK_COUNTS = (
    "plans_examined",
    "plans_updated",
    "plans_completed",
    "plans_broken",
    "plans_failed",
    "installments_updated",
)


@dataclass
class RunSummary:
    """What a run did; the fields of the servicing_run row."""

    id: int
    as_of: date
    plans_examined: int = 0
    plans_updated: int = 0
    plans_completed: int = 0
    plans_broken: int = 0
    plans_failed: int = 0
    installments_updated: int = 0
    deferrals_examined: int = 0
    deferrals_completed: int = 0
    started_at: Any = None
    finished_at: Any = None
    failures: list[tuple[int, str]] = field(default_factory=list)

    def add(self, chunk: RunSummary) -> None:
        """Count in what one chunk of this run did (its plans' counts and failures)."""
        for name in _CHUNK_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(chunk, name))
        self.failures.extend(chunk.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "as_of": self.as_of,
            "plans_examined": self.plans_examined,
            "plans_updated": self.plans_updated,
            "plans_completed": self.plans_completed,
            "plans_broken": self.plans_broken,
            "plans_failed": self.plans_failed,
            "installments_updated": self.installments_updated,
            "deferrals_examined": self.deferrals_examined,
            "deferrals_completed": self.deferrals_completed,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


# --- payments -------------------------------------------------------------------------------------


def record_payment(
    session: Session, *, account_ref: str, payment_ref: str, paid_on: date, amount: Decimal
) -> Payment:
    """Store one payment of the card system for an account (NotFound for an unknown account)."""
    account_id = session.scalar(select(CardAccount.id).where(CardAccount.account_ref == account_ref))
    if account_id is None:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    payment = Payment(
        payment_ref=payment_ref,
        account_id=account_id,
        paid_on=paid_on,
        amount=amount,
        imported_at=clock.utcnow(),
    )
    session.add(payment)
    session.flush()
    return payment


# --- a run ----------------------------------------------------------------------------------------


_ACTIVE_IDS = select(PLAN.c.id).where(PLAN.c.status == PlanStatus.ACTIVE.value).order_by(PLAN.c.id)
_CHUNK = (PLAN.c.status == PlanStatus.ACTIVE.value) & PLAN.c.id.between(bindparam("lo"), bindparam("hi"))
_ACTIVE_PLANS = (
    select(
        PLAN.c.id,
        PLAN.c.start_on,
        PLAN.c.policy_version,
        _fen(PLAN.c.paid_total_fen),
        _fen(PLAN.c.outstanding_fen),
        _fen(PLAN.c.unapplied_fen),
        PLAN.c.installments_judged,
        PLAN.c.installments_on_time,
        PLAN.c.servicing_error,
    )
    .where(_CHUNK)
    .order_by(PLAN.c.id)
)
_INSTALLMENTS = (
    select(
        INSTALLMENT.c.plan_id,
        INSTALLMENT.c.id,
        INSTALLMENT.c.number,
        INSTALLMENT.c.due_date,
        _fen(INSTALLMENT.c.amount_fen),
        INSTALLMENT.c.status,
        _fen(INSTALLMENT.c.paid_fen),
    )
    .join(PLAN, PLAN.c.id == INSTALLMENT.c.plan_id)
    .where(_CHUNK)
    .order_by(INSTALLMENT.c.plan_id, INSTALLMENT.c.number)
)
_PAYMENTS = (
    select(PLAN.c.id, PAYMENT.c.paid_on, PAYMENT.c.payment_ref, _fen(PAYMENT.c.amount_fen))
    .join(PLAN, PLAN.c.account_id == PAYMENT.c.account_id)
    .where(_CHUNK, PAYMENT.c.paid_on >= PLAN.c.start_on, PAYMENT.c.paid_on <= bindparam("as_of"))
)
# The changed rows of a chunk, written with one statement per table. PostgreSQL: UPDATE ... FROM the
# arrays of the new values (unnest: a few parameters however many rows). Elsewhere (SQLite, one
# writer at a time): executemany by primary key.
_PLAN_COLUMNS = (
    "paid_total_fen",
    "outstanding_fen",
    "unapplied_fen",
    "installments_judged",
    "installments_on_time",
    "servicing_error",
)
_PG_UPDATE_PLANS = text(
    "UPDATE installment_plan AS p SET paid_total_fen = v.paid, outstanding_fen = v.outstanding, "
    "unapplied_fen = v.unapplied, installments_judged = v.judged, installments_on_time = v.on_time, "
    "servicing_error = v.error "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:paid_total_fen AS bigint[]), "
    "CAST(:outstanding_fen AS bigint[]), CAST(:unapplied_fen AS bigint[]), "
    "CAST(:installments_judged AS integer[]), CAST(:installments_on_time AS integer[]), "
    "CAST(:servicing_error AS text[])) AS v(id, paid, outstanding, unapplied, judged, on_time, error) "
    "WHERE p.id = v.id"
)
_PG_UPDATE_INSTALLMENTS = text(
    "UPDATE installment AS i SET status = v.status, paid_fen = v.paid "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]), CAST(:paid AS bigint[])) "
    "AS v(id, status, paid) WHERE i.id = v.id"
)
_UPDATE_PLAN = (
    update(PLAN)
    .where(PLAN.c.id == bindparam("b_id"))
    .values(
        paid_total_fen=bindparam("b_paid_total_fen", type_=BigInteger()),
        outstanding_fen=bindparam("b_outstanding_fen", type_=BigInteger()),
        unapplied_fen=bindparam("b_unapplied_fen", type_=BigInteger()),
        installments_judged=bindparam("b_installments_judged"),
        installments_on_time=bindparam("b_installments_on_time"),
        servicing_error=bindparam("b_servicing_error"),
    )
)
_UPDATE_INSTALLMENT = (
    update(INSTALLMENT)
    .where(INSTALLMENT.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), paid_fen=bindparam("b_paid", type_=BigInteger()))
)


class RulesByVersion:
    """The servicing parameters of each policy version, looked up once per run."""

    def __init__(self, policies: PolicyStore) -> None:
        self._policies = policies
        self._cache: dict[str, ServicingPolicy | None] = {}

    def of(self, version: str) -> ServicingPolicy | None:
        if version not in self._cache:
            policy = self._policies.get(version)
            self._cache[version] = None if policy is None else policy.servicing
        return self._cache[version]


# A plan's stored figures, in the order of _ACTIVE_PLANS from paid_total_fen to servicing_error (and
# of _PLAN_COLUMNS); an installment's change: (id, status, paid fen).
PlanFigures = tuple[int, int, int, int, int, str | None]


@dataclass
class ChunkWrites:
    """What a chunk changes: the plans' new figures, the installments' new status and paid amount,
    and the plans the rules ended."""

    plans: list[tuple[int, PlanFigures]] = field(default_factory=list)
    installments: list[tuple[int, str, int]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


def chunk_bounds(session: Session, chunk_size: int) -> list[tuple[int, int]]:
    """The active plans cut into chunks of ``chunk_size`` plans: (first id, last id) of each."""
    ids = session.connection().execute(_ACTIVE_IDS).scalars().all()
    return [(ids[at], ids[min(at + chunk_size, len(ids)) - 1]) for at in range(0, len(ids), chunk_size)]


def service_chunk(
    session: Session,
    bounds: tuple[int, int],
    *,
    as_of: date,
    rules: RulesByVersion,
    actor: Principal,
    summary: RunSummary,
) -> None:
    """Bring the active plans with ids in ``bounds`` to ``as_of``, in the caller's transaction, and
    count what was done in ``summary``: read them, compute them, write what differs."""
    plans, installments, payments = _read_chunk(session, bounds, as_of)
    writes = ChunkWrites()
    for plan in plans:
        _service_one(
            plan, installments.get(plan[0], []), payments.get(plan[0], ()), as_of, rules, writes, summary
        )
    _write_chunk(session, writes, actor=actor, summary=summary)


def _read_chunk(
    session: Session, bounds: tuple[int, int], as_of: date
) -> tuple[Sequence[Any], dict[int, list[Any]], dict[int, list[ReceivedPayment]]]:
    """The chunk's active plans, their installments by plan and the payments that count by plan."""
    params = {"lo": bounds[0], "hi": bounds[1]}
    connection = session.connection()  # plain Core rows: no ORM result processing per row
    plans = connection.execute(_ACTIVE_PLANS, params).all()
    installments: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(_INSTALLMENTS, params):
        installments[row[0]].append(row)
    payments: dict[int, list[ReceivedPayment]] = defaultdict(list)
    for plan_id, paid_on, payment_ref, fen in connection.execute(_PAYMENTS, {**params, "as_of": as_of}):
        payments[plan_id].append(ReceivedPayment(paid_on, payment_ref, from_fen(fen)))
    return plans, installments, payments


def _service_one(
    plan: Any,
    stored: list[Any],
    payments: Sequence[ReceivedPayment],
    as_of: date,
    rules: RulesByVersion,
    writes: ChunkWrites,
    summary: RunSummary,
) -> None:
    """Where one plan stands on ``as_of``: what differs from what is stored goes into ``writes``; a
    plan whose data the rules cannot apply keeps the problem (its figures as they were)."""
    plan_id, start_on, policy_version, *figures = plan
    kept = cast(PlanFigures, tuple(figures))
    summary.plans_examined += 1
    policy_rules = rules.of(policy_version)
    try:
        if policy_rules is None:
            raise DomainError(f"policy version {policy_version!r} is not known to this service")
        result = service_plan(
            [ScheduledInstallment(row[2], row[3], from_fen(row[4])) for row in stored],
            start_on=start_on,
            payments=payments,
            rules=policy_rules,
            as_of=as_of,
        )
    except (DomainError, ArithmeticError, ValueError) as exc:
        problem = f"{as_of.isoformat()}: {exc}"[:2000]
        summary.plans_failed += 1
        summary.failures.append((plan_id, problem))
        if problem != kept[5]:
            writes.plans.append((plan_id, (*kept[:5], problem)))
        return
    new: PlanFigures = (
        to_fen(result.paid_total),
        to_fen(result.outstanding),
        to_fen(result.unapplied),
        result.judged,
        result.paid_on_time,
        None,
    )
    if new != kept:
        writes.plans.append((plan_id, new))
    by_number = {state.number: state for state in result.installments}
    for row in stored:
        state = by_number[row[2]]
        paid_fen = to_fen(state.paid_amount)
        if state.status.value != row[5] or paid_fen != row[6]:
            writes.installments.append((row[1], state.status.value, paid_fen))
    if result.status is not PlanStatus.ACTIVE:
        writes.transitions.append(transition_for(plan_id, result, policy_rules))


def _write_chunk(session: Session, writes: ChunkWrites, *, actor: Principal, summary: RunSummary) -> None:
    """The chunk's figures first, then the plans the rules ended (their events see the figures)."""
    connection = session.connection()
    if writes.plans:
        _update_plans(connection, writes.plans)
    if writes.installments:
        _update_installments(connection, writes.installments)
    summary.plans_updated += len(writes.plans)
    summary.installments_updated += len(writes.installments)
    for made in end_plans_by_rules(session, transitions=writes.transitions, actor=actor, run_id=summary.id):
        if made.status is PlanStatus.COMPLETED:
            summary.plans_completed += 1
        else:
            summary.plans_broken += 1


def _update_plans(connection: Connection, rows: list[tuple[int, PlanFigures]]) -> None:
    if connection.dialect.name == "postgresql":
        columns = zip(*(figures for _, figures in rows), strict=True)
        values = {name: list(column) for name, column in zip(_PLAN_COLUMNS, columns, strict=True)}
        connection.execute(_PG_UPDATE_PLANS, {"ids": [plan_id for plan_id, _ in rows], **values})
        return
    connection.execute(
        _UPDATE_PLAN,
        [
            {"b_id": plan_id, **{f"b_{name}": v for name, v in zip(_PLAN_COLUMNS, figures, strict=True)}}
            for plan_id, figures in rows
        ],
    )


def _update_installments(connection: Connection, rows: list[tuple[int, str, int]]) -> None:
    if connection.dialect.name == "postgresql":
        ids, statuses, paid = (list(column) for column in zip(*rows, strict=True))
        connection.execute(_PG_UPDATE_INSTALLMENTS, {"ids": ids, "statuses": statuses, "paid": paid})
        return
    connection.execute(
        _UPDATE_INSTALLMENT, [{"b_id": i, "b_status": status, "b_paid": paid} for i, status, paid in rows]
    )


_DEFERRALS_DUE = (
    select(DEFERRAL.c.id, func.max(DEFERRAL_LINE.c.new_due_date))
    .join(DEFERRAL_LINE, DEFERRAL_LINE.c.deferral_id == DEFERRAL.c.id)
    .where(DEFERRAL.c.status == "active")
    .group_by(DEFERRAL.c.id)
    .having(func.max(DEFERRAL_LINE.c.new_due_date) < bindparam("as_of"))
)
_COMPLETE_DEFERRAL = (
    update(DEFERRAL)
    .where(DEFERRAL.c.id == bindparam("b_id"), DEFERRAL.c.status == "active")
    .values(status="completed", completed_on=bindparam("b_on"))
)


def _complete_deferrals(session: Session, *, as_of: date, summary: RunSummary) -> None:
    """Deferrals whose last new due date has passed become completed, from the day after it."""
    summary.deferrals_examined = int(
        session.scalar(select(func.count()).select_from(DEFERRAL).where(DEFERRAL.c.status == "active")) or 0
    )
    rows = []
    for deferral_id, last_due in session.execute(_DEFERRALS_DUE, {"as_of": as_of}):
        outcome = service_deferral([last_due], as_of=as_of)
        if outcome.completed:
            rows.append({"b_id": deferral_id, "b_on": outcome.completed_on})
    if rows:
        session.execute(_COMPLETE_DEFERRAL, rows)
    summary.deferrals_completed = len(rows)


def run_servicing(
    session: Session,
    *,
    actor: Principal,
    policies: PolicyStore,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> RunSummary:
    """Bring every active plan and deferral to the business date; record and audit the run, all in
    the caller's transaction, one chunk after another (app/jobs/servicing.py runs the chunks in
    several processes, each in its own transaction).

    Returns the run's summary (``failures`` lists the plans whose data the rules could not apply,
    with the problem, which is also kept on each plan).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SERVICING_LOCK_ID})
    summary = start_run(session, actor=actor)
    rules = RulesByVersion(policies)
    for bounds in chunk_bounds(session, chunk_size):
        service_chunk(session, bounds, as_of=summary.as_of, rules=rules, actor=actor, summary=summary)
    finish_run(session, summary, actor=actor)
    return summary


def start_run(session: Session, *, actor: Principal) -> RunSummary:
    """Record a run as of the business date (not finished yet); its summary, with nothing counted."""
    as_of = clock.today(session)
    run = ServicingRun(as_of=as_of, requested_by=actor.actor, started_at=clock.utcnow())
    session.add(run)
    session.flush()
    return RunSummary(id=run.id, as_of=as_of, started_at=run.started_at)


def finish_run(session: Session, summary: RunSummary, *, actor: Principal) -> None:
    """After the plans: complete the deferrals due, record the run's counts and audit it."""
    _complete_deferrals(session, as_of=summary.as_of, summary=summary)
    summary.finished_at = clock.utcnow()
    values = {k: v for k, v in summary.to_dict().items() if k not in ("id", "as_of", "started_at")}
    session.execute(update(ServicingRun).where(ServicingRun.id == summary.id).values(**values))
    audit.record(
        session,
        actor=actor,
        action="servicing_run.finished",
        entity_type="servicing_run",
        entity_id=summary.id,
        after={
            **summary.to_dict(),
            "failed_plan_ids": [plan_id for plan_id, _ in summary.failures[:100]],
        },
    )


def get_run(session: Session, run_id: int) -> RunSummary:
    """A recorded run (NotFound when there is none)."""
    run = session.get(ServicingRun, run_id)
    if run is None:
        raise NotFound(f"No servicing run with id {run_id}.")
    return RunSummary(
        id=run.id,
        as_of=run.as_of,
        plans_examined=run.plans_examined,
        plans_updated=run.plans_updated,
        plans_completed=run.plans_completed,
        plans_broken=run.plans_broken,
        plans_failed=run.plans_failed,
        installments_updated=run.installments_updated,
        deferrals_examined=run.deferrals_examined,
        deferrals_completed=run.deferrals_completed,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def plan_summaries(session: Session, plan_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Where each of these plans stands, for a page that lists them: the servicing figures and the
    installments' statuses in order (paid, late, missed at a glance)."""
    if not plan_ids:
        return {}
    p = InstallmentPlan
    summaries: dict[int, dict[str, Any]] = {
        row.id: {
            "paid_total": row.paid_total,
            "outstanding": row.outstanding,
            "unapplied": row.unapplied,
            "completed_on": row.completed_on,
            "broken_on": row.broken_on,
            "end_reason": row.end_reason,
            "servicing_error": row.servicing_error,
            "installments": [],
        }
        for row in session.execute(
            select(
                p.id,
                p.paid_total.label("paid_total"),
                p.outstanding.label("outstanding"),
                p.unapplied.label("unapplied"),
                p.completed_on,
                p.broken_on,
                p.end_reason,
                p.servicing_error,
            ).where(p.id.in_(plan_ids))
        )
    }
    for plan_id, number, status in session.execute(
        select(Installment.plan_id, Installment.number, Installment.status)
        .where(Installment.plan_id.in_(plan_ids))
        .order_by(Installment.plan_id, Installment.number)
    ):
        summaries[plan_id]["installments"].append({"number": number, "status": status})
    return summaries
