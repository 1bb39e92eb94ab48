"""A plan that the servicing rules end (DOMAIN.md, "Servicing"): completed on the day the last fen
is paid, broken on the day the miss rule fires. Each ending is the plan's status change, its audit
and its event (plan.completed, plan.broken), written for a whole chunk of plans at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from app.domain.events import EventType
from app.domain.installments import PlanStatus, transition_plan
from app.domain.policy import ServicingPolicy
from app.domain.servicing import (
    BreakRule,
    PlanServicing,
)
from app.persistence.models import (
    CardAccount,
    Installment,
    InstallmentPlan,
)
from app.services import audit, events, plans
from app.services.principal import Principal

PLAN = cast(Table, InstallmentPlan.__table__)
INSTALLMENT = cast(Table, Installment.__table__)


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
    statement per chunk, emits each plan's event, and audits them in one event (entity: the run),
    last: the audit chain is locked from there to the commit. A plan no longer active (ended by
    someone else meanwhile) is left as it is. Returns the transitions made.
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
    _emit_endings(session, made)
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


_SHOWN_INSTALLMENTS = (
    select(
        Installment.plan_id,
        Installment.number,
        Installment.due_date,
        Installment.principal_amount,
        Installment.interest_amount,
        Installment.fee_amount,
        Installment.amount,
        Installment.status,
        Installment.paid_amount,
    )
    .where(Installment.plan_id.in_(bindparam("ids", expanding=True)))
    .order_by(Installment.plan_id, Installment.number)
)


def _emit_endings(session: Session, ended: Sequence[Transition]) -> None:
    """Each plan the rules ended commits its event with it (``hardship.plan.completed`` or
    ``hardship.plan.broken``), its data the plan as its GET answers it after this run's figures: the
    plans, their installments (rows, not objects) and accounts read in three queries, the events
    written in one batch."""
    if not ended:
        return
    status = {t.plan_id: t.status for t in ended}
    loaded = session.scalars(
        select(InstallmentPlan)
        .where(InstallmentPlan.id.in_(list(status)))
        .order_by(InstallmentPlan.id)
        .execution_options(populate_existing=True)
    ).all()
    installments: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(_SHOWN_INSTALLMENTS, {"ids": list(status)}):
        installments[row.plan_id].append(row)
    refs: dict[int, str] = dict(
        session.execute(
            select(CardAccount.id, CardAccount.account_ref).where(
                CardAccount.id.in_({plan.account_id for plan in loaded})
            )
        ).all()
    )
    drafts = []
    for plan in loaded:
        shown = plans.plan_read(
            session, plan, account_ref=refs[plan.account_id], installments=installments[plan.id]
        )
        data = shown.model_dump(mode="json")
        drafts.append(events.EventDraft(str(_ENDING_EVENTS[status[plan.id]]), data["account_ref"], data))
    events.emit_many(session, drafts)
