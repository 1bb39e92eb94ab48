"""Servicing runs: every active plan and deferral brought to the business date (DOMAIN.md, "Servicing").

A run reads the active plans in chunks of plan ids, with their installments and the account's
payments in a few set-based queries per chunk, asks the domain where each plan stands
(``app.domain.servicing.service_plan``), and writes only what differs from what is stored, in bulk.
A plan that the rules complete or break goes through :func:`end_plans_by_rules`, the one place
where a run changes a plan's status. Deferrals whose last new due date has passed are completed.

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

from sqlalchemy import BigInteger, Table, bindparam, func, select, text, type_coerce, update
from sqlalchemy.orm import Session, selectinload

from app.domain.errors import DomainError
from app.domain.events import EventType
from app.domain.installments import PlanStatus, transition_plan
from app.domain.money import from_fen, to_fen
from app.domain.policy import ServicingPolicy
from app.domain.servicing import (
    BreakRule,
    PlanServicing,
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
from app.services import audit, clock, plans
from app.services.errors import NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "RunSummary",
    "Transition",
    "end_plans_by_rules",
    "get_run",
    "record_payment",
    "run_servicing",
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


# --- the transition -------------------------------------------------------------------------------


def _end_reason(result: PlanServicing, rules: ServicingPolicy) -> str:
    if result.status is PlanStatus.COMPLETED:
        assert result.completed_on is not None
        return f"Completed on {result.completed_on.isoformat()}: every installment paid in full."
    assert result.broken_on is not None
    if result.break_rule is BreakRule.CONSECUTIVE:
        why = (
            f"{rules.break_after_consecutive_missed} installment(s) in a row not paid in full within "
            f"{rules.grace_days} grace day(s)"
        )
    else:
        why = (
            f"{rules.break_after_total_missed} installment(s) in all not paid in full within "
            f"{rules.grace_days} grace day(s)"
        )
    return f"Broken on {result.broken_on.isoformat()} by the servicing rules: {why}."


@dataclass(frozen=True)
class Transition:
    """A plan the rules ended: its new status, days and reason."""

    plan_id: int
    status: PlanStatus
    ended_on: date
    completed_on: date | None
    broken_on: date | None
    end_reason: str


_LOCK_ACTIVE = (
    select(PLAN.c.id)
    .where(PLAN.c.id.in_(bindparam("ids", expanding=True)), PLAN.c.status == PlanStatus.ACTIVE.value)
    .with_for_update()
)
_END_PLAN = (
    update(PLAN)
    .where(PLAN.c.id == bindparam("b_id"), PLAN.c.status == PlanStatus.ACTIVE.value)
    .values(
        status=bindparam("b_status"),
        ended_on=bindparam("b_ended_on"),
        end_reason=bindparam("b_reason"),
        completed_on=bindparam("b_completed_on"),
        broken_on=bindparam("b_broken_on"),
    )
)


def transition_for(plan_id: int, result: PlanServicing, rules: ServicingPolicy) -> Transition:
    """The transition of a plan the rules ended (active -> completed or broken)."""
    target = transition_plan(PlanStatus.ACTIVE.value, result.status.value)
    ended_on = result.ended_on
    assert ended_on is not None
    return Transition(
        plan_id, target, ended_on, result.completed_on, result.broken_on, _end_reason(result, rules)
    )


def end_plans_by_rules(
    session: Session, *, transitions: Sequence[Transition], actor: Principal, run_id: int
) -> list[Transition]:
    """The one place a servicing run changes plans' status: active -> completed or broken.

    Sets ``ended_on`` to the day the rules ended each plan (``completed_on`` or ``broken_on``; a
    broken plan counts for RECENT_BROKEN_PLAN from then) and ``end_reason`` saying why, in one
    statement per chunk, and audits them in one event (entity: the run). A plan no longer active
    (ended by someone else meanwhile) is left as it is. Returns the transitions made.
    """
    if not transitions:
        return []
    still_active = set(session.scalars(_LOCK_ACTIVE, {"ids": [t.plan_id for t in transitions]}))
    made = [t for t in transitions if t.plan_id in still_active]
    if not made:
        return []
    session.execute(
        _END_PLAN,
        [
            {
                "b_id": t.plan_id,
                "b_status": t.status.value,
                "b_ended_on": t.ended_on,
                "b_reason": t.end_reason,
                "b_completed_on": t.completed_on,
                "b_broken_on": t.broken_on,
            }
            for t in made
        ],
    )
    audit.record(
        session,
        actor=actor,
        action="installment_plan.ended_by_servicing",
        entity_type="servicing_run",
        entity_id=run_id,
        after={
            "plans": [
                {
                    "id": t.plan_id,
                    "status": t.status.value,
                    "ended_on": t.ended_on,
                    "end_reason": t.end_reason,
                }
                for t in made
            ]
        },
    )
    return made


_ENDING_EVENTS = {PlanStatus.COMPLETED: EventType.PLAN_COMPLETED, PlanStatus.BROKEN: EventType.PLAN_BROKEN}


def _emit_endings(session: Session, ended: Sequence[Transition]) -> None:
    """Each plan the rules ended commits its event with it (``hardship.plan.completed`` or
    ``hardship.plan.broken``), its data the plan as its GET answers it after this run's figures."""
    if not ended:
        return
    status = {t.plan_id: t.status for t in ended}
    loaded = session.scalars(
        select(InstallmentPlan)
        .where(InstallmentPlan.id.in_(list(status)))
        .options(selectinload(InstallmentPlan.installments))
        .order_by(InstallmentPlan.id)
        .execution_options(populate_existing=True)
    )
    for plan in loaded:
        plans.emit_plan_event(session, plan, _ENDING_EVENTS[status[plan.id]])


# --- a run ----------------------------------------------------------------------------------------


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
    .where(PLAN.c.status == PlanStatus.ACTIVE.value, PLAN.c.id > bindparam("after"))
    .order_by(PLAN.c.id)
    .limit(bindparam("size"))
)
_CHUNK = (PLAN.c.status == PlanStatus.ACTIVE.value) & PLAN.c.id.between(bindparam("lo"), bindparam("hi"))
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
_UPDATE_PLAN = (
    update(PLAN)
    .where(PLAN.c.id == bindparam("b_id"))
    .values(
        paid_total_fen=bindparam("b_paid", type_=BigInteger()),
        outstanding_fen=bindparam("b_outstanding", type_=BigInteger()),
        unapplied_fen=bindparam("b_unapplied", type_=BigInteger()),
        installments_judged=bindparam("b_judged"),
        installments_on_time=bindparam("b_on_time"),
        servicing_error=bindparam("b_error"),
    )
)
_UPDATE_INSTALLMENT = (
    update(INSTALLMENT)
    .where(INSTALLMENT.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), paid_fen=bindparam("b_paid", type_=BigInteger()))
)


class _Rules:
    """The servicing parameters of each policy version, looked up once per run."""

    def __init__(self, policies: PolicyStore) -> None:
        self._policies = policies
        self._cache: dict[str, ServicingPolicy | None] = {}

    def of(self, version: str) -> ServicingPolicy | None:
        if version not in self._cache:
            policy = self._policies.get(version)
            self._cache[version] = None if policy is None else policy.servicing
        return self._cache[version]


def _service_chunk(
    session: Session,
    plans: Sequence[Any],
    *,
    as_of: date,
    rules: _Rules,
    actor: Principal,
    summary: RunSummary,
) -> None:
    bounds = {"lo": plans[0][0], "hi": plans[-1][0]}
    connection = session.connection()  # plain Core rows: no ORM result processing per row
    installments: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(_INSTALLMENTS, bounds):
        installments[row[0]].append(row)
    payments: dict[int, list[ReceivedPayment]] = defaultdict(list)
    for plan_id, paid_on, payment_ref, fen in connection.execute(_PAYMENTS, {**bounds, "as_of": as_of}):
        payments[plan_id].append(ReceivedPayment(paid_on, payment_ref, from_fen(fen)))

    plan_updates: list[dict[str, Any]] = []
    installment_updates: list[dict[str, Any]] = []
    transitions: list[Transition] = []
    for plan_id, start_on, policy_version, paid, outstanding, unapplied, judged, on_time, error in plans:
        summary.plans_examined += 1
        stored = installments.get(plan_id, [])
        policy_rules = rules.of(policy_version)
        try:
            if policy_rules is None:
                raise DomainError(f"policy version {policy_version!r} is not known to this service")
            result = service_plan(
                [ScheduledInstallment(row[2], row[3], from_fen(row[4])) for row in stored],
                start_on=start_on,
                payments=payments.get(plan_id, ()),
                rules=policy_rules,
                as_of=as_of,
            )
        except (DomainError, ArithmeticError, ValueError) as exc:
            problem = f"{as_of.isoformat()}: {exc}"[:2000]
            summary.plans_failed += 1
            summary.failures.append((plan_id, problem))
            if problem != error:
                plan_updates.append(
                    {
                        "b_id": plan_id,
                        "b_paid": paid,
                        "b_outstanding": outstanding,
                        "b_unapplied": unapplied,
                        "b_judged": judged,
                        "b_on_time": on_time,
                        "b_error": problem,
                    }
                )
            continue
        figures = (
            to_fen(result.paid_total),
            to_fen(result.outstanding),
            to_fen(result.unapplied),
            result.judged,
            result.paid_on_time,
        )
        if figures != (paid, outstanding, unapplied, judged, on_time) or error is not None:
            plan_updates.append(
                {
                    "b_id": plan_id,
                    "b_paid": figures[0],
                    "b_outstanding": figures[1],
                    "b_unapplied": figures[2],
                    "b_judged": figures[3],
                    "b_on_time": figures[4],
                    "b_error": None,
                }
            )
        by_number = {state.number: state for state in result.installments}
        for row in stored:
            state = by_number[row[2]]
            paid_fen = to_fen(state.paid_amount)
            if state.status.value != row[5] or paid_fen != row[6]:
                installment_updates.append(
                    {"b_id": row[1], "b_status": state.status.value, "b_paid": paid_fen}
                )
        if result.status is not PlanStatus.ACTIVE:
            assert policy_rules is not None
            transitions.append(transition_for(plan_id, result, policy_rules))
    ended = end_plans_by_rules(session, transitions=transitions, actor=actor, run_id=summary.id)
    for made in ended:
        if made.status is PlanStatus.COMPLETED:
            summary.plans_completed += 1
        else:
            summary.plans_broken += 1
    if plan_updates:
        connection.execute(_UPDATE_PLAN, plan_updates)
    if installment_updates:
        connection.execute(_UPDATE_INSTALLMENT, installment_updates)
    _emit_endings(session, ended)
    changed = {row["b_id"] for row in plan_updates}
    summary.plans_updated += len(changed)
    summary.installments_updated += len(installment_updates)


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
    """Bring every active plan and deferral to the business date; record and audit the run.

    Returns the run's summary (``failures`` lists the plans whose data the rules could not apply,
    with the problem, which is also kept on each plan).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SERVICING_LOCK_ID})
    as_of = clock.today(session)
    run = ServicingRun(as_of=as_of, requested_by=actor.actor, started_at=clock.utcnow())
    session.add(run)
    session.flush()
    summary = RunSummary(id=run.id, as_of=as_of, started_at=run.started_at)
    rules = _Rules(policies)
    after = 0
    while True:
        plans = session.connection().execute(_ACTIVE_PLANS, {"after": after, "size": chunk_size}).all()
        if not plans:
            break
        _service_chunk(session, plans, as_of=as_of, rules=rules, actor=actor, summary=summary)
        after = plans[-1][0]
    _complete_deferrals(session, as_of=as_of, summary=summary)
    summary.finished_at = clock.utcnow()
    for name, value in summary.to_dict().items():
        if name not in ("id", "as_of", "started_at"):
            setattr(run, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="servicing_run.finished",
        entity_type="servicing_run",
        entity_id=run.id,
        after={
            **summary.to_dict(),
            "failed_plan_ids": [plan_id for plan_id, _ in summary.failures[:100]],
        },
    )
    return summary


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
