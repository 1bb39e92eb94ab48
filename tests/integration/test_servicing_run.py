"""Servicing runs on the database: figures written, transitions, idempotence, a bad plan that does not
stop the run, deferrals completing, and path independence (daily runs end where one run does)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.domain.access import Role
from app.domain.dates import add_months
from app.domain.money import from_fen
from app.jobs import servicing as servicing_jobs
from app.persistence.models import (
    AuditEvent,
    Deferral,
    DeferralLine,
    DisasterEvent,
    Installment,
    InstallmentPlan,
    ServicingRun,
)
from app.services import clock, servicing
from app.services.eligibility import plan_history
from app.services.policies import PolicyStore
from app.services.principal import Principal
from tests.conftest import Database, truncate_all
from tests.factories import make_account, make_deferral

POLICIES = PolicyStore.load()
OPERATOR = Principal(kind="key", id=1, name="test-operator", role=Role.BATCH_OPERATOR)
START = date(2025, 1, 15)


@pytest.fixture
def set_today(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """Set the business date (noon UTC is 20:00 in Shanghai: the same calendar day)."""
    holder = {"on": START}
    monkeypatch.setattr(
        clock,
        "utcnow",
        lambda: datetime(holder["on"].year, holder["on"].month, holder["on"].day, 12, tzinfo=UTC),
    )

    def set_(on: date) -> None:
        holder["on"] = on

    return set_


def make_plan(session: Session, account_ref: str, amounts: list[str], *, start_on: date = START) -> int:
    """An active plan of ``amounts`` (monthly from one month after ``start_on``) on a new account."""
    account = make_account(session, account_ref)
    total = sum((Decimal(a) for a in amounts), Decimal(0))
    plan = InstallmentPlan(
        account_id=account.id,
        status="active",
        method="equal_principal",
        term_months=len(amounts),
        hardship_reason="illness",
        start_on=start_on,
        start_region_code=account.region_code,
        principal_amount=total,
        fees_waived=Decimal("0.00"),
        fee_total=Decimal("0.00"),
        interest_total=Decimal("0.00"),
        total_amount=total,
        monthly_fee_rate="0",
        annual_interest_rate="0",
        policy_version="2025.1",
        channel="agent",
        created_by="test",
        created_at=clock.utcnow(),
    )
    plan.installments = [
        Installment(
            number=k,
            due_date=add_months(start_on, k),
            principal_amount=Decimal(a),
            interest_amount=Decimal("0.00"),
            fee_amount=Decimal("0.00"),
            amount=Decimal(a),
        )
        for k, a in enumerate(amounts, 1)
    ]
    session.add(plan)
    session.flush()
    return plan.id


def pay(session: Session, account_ref: str, on: str, amount: str, ref: str | None = None) -> None:
    servicing.record_payment(
        session,
        account_ref=account_ref,
        payment_ref=ref or f"{account_ref}-{on}-{amount}",
        paid_on=date.fromisoformat(on),
        amount=Decimal(amount),
    )


def run(db: Database) -> servicing.RunSummary:
    with unit_of_work(db.engine) as s:
        return servicing.run_servicing(s, actor=OPERATOR, policies=POLICIES, chunk_size=2)


def state(db: Database) -> list[tuple[Any, ...]]:
    """Everything servicing writes, plan by plan."""
    with unit_of_work(db.engine) as s:
        plans = s.execute(
            select(
                InstallmentPlan.id,
                InstallmentPlan.status,
                InstallmentPlan.completed_on,
                InstallmentPlan.broken_on,
                InstallmentPlan.ended_on,
                InstallmentPlan.end_reason,
                InstallmentPlan.paid_total,
                InstallmentPlan.outstanding,
                InstallmentPlan.unapplied,
                InstallmentPlan.installments_judged,
                InstallmentPlan.installments_on_time,
                InstallmentPlan.servicing_error,
            ).order_by(InstallmentPlan.id)
        ).all()
        installments = s.execute(
            select(
                Installment.plan_id, Installment.number, Installment.status, Installment.paid_amount
            ).order_by(Installment.plan_id, Installment.number)
        ).all()
        deferrals = s.execute(
            select(Deferral.id, Deferral.status, Deferral.completed_on).order_by(Deferral.id)
        ).all()
    return [tuple(row) for row in [*plans, *installments, *deferrals]]


def test_a_run_writes_each_plans_figures_and_installment_statuses(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        plan_id = make_plan(s, "A-1", ["100.00", "100.00", "100.00"])
        pay(s, "A-1", "2025-02-18", "100.00")
        pay(s, "A-1", "2025-03-10", "50.00")
    set_today(date(2025, 3, 1))

    summary = run(db)

    assert (summary.as_of, summary.plans_examined, summary.plans_updated) == (date(2025, 3, 1), 1, 1)
    assert summary.installments_updated == 1  # the payment of 03-10 is after the business date
    with unit_of_work(db.engine) as s:
        plan = s.get(InstallmentPlan, plan_id)
        assert plan is not None
        assert (plan.status, plan.paid_total, plan.outstanding, plan.unapplied) == (
            "active",
            Decimal("100.00"),
            Decimal("200.00"),
            Decimal("0.00"),
        )
        rows = s.execute(
            select(Installment.status, Installment.paid_amount).where(Installment.plan_id == plan_id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("paid", Decimal("100.00")),
            ("due", Decimal("0.00")),
            ("due", Decimal("0.00")),
        ]
        run_row = s.scalars(select(ServicingRun)).one()
        assert (run_row.as_of, run_row.plans_examined, run_row.finished_at is not None) == (
            date(2025, 3, 1),
            1,
            True,
        )


def test_running_again_on_the_same_date_changes_nothing(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        make_plan(s, "A-1", ["100.00", "100.00"])
        make_plan(s, "A-2", ["100.00", "100.00"])
        pay(s, "A-1", "2025-02-18", "150.00")
    set_today(date(2025, 3, 25))
    first = run(db)
    before = state(db)

    again = run(db)

    assert state(db) == before
    assert (again.plans_updated, again.installments_updated, again.plans_completed, again.plans_broken) == (
        0,
        0,
        0,
        0,
    )
    assert first.plans_broken == 1  # two misses in a row on 03-19


def test_a_plan_breaks_on_the_miss_day_with_its_reason_and_counts_as_recently_broken(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        plan_id = make_plan(s, "A-1", ["100.00", "100.00", "100.00"])
        account_id = s.get(InstallmentPlan, plan_id).account_id  # type: ignore[union-attr]
    set_today(date(2025, 3, 18))
    assert run(db).plans_broken == 0
    set_today(date(2025, 3, 19))

    summary = run(db)

    assert summary.plans_broken == 1
    with unit_of_work(db.engine) as s:
        plan = s.get(InstallmentPlan, plan_id)
        assert plan is not None
        assert (plan.status, plan.broken_on, plan.ended_on, plan.completed_on) == (
            "broken",
            date(2025, 3, 19),
            date(2025, 3, 19),
            None,
        )
        assert plan.end_reason is not None and "2 installment(s) in a row" in plan.end_reason
        assert plan_history(s, account_id) == (False, date(2025, 3, 19))
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "installment_plan.ended_by_servicing")
        ).one()
        assert event.entity_type == "servicing_run" and event.entity_id == str(summary.id)
        assert [(p["id"], p["status"], p["ended_on"]) for p in event.after["plans"]] == [
            (plan_id, "broken", "2025-03-19")
        ]
    # A broken plan is not serviced any more: later payments change nothing.
    with unit_of_work(db.engine) as s:
        pay(s, "A-1", "2025-03-20", "300.00")
    before = state(db)
    set_today(date(2025, 6, 1))
    assert run(db).plans_examined == 0
    assert state(db) == before


def test_a_plan_completes_on_the_day_of_its_last_fen_and_keeps_what_was_left(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        plan_id = make_plan(s, "A-1", ["100.00", "100.00"])
        pay(s, "A-1", "2025-02-01", "120.00")
        pay(s, "A-1", "2025-02-20", "90.00")
    set_today(date(2025, 4, 1))

    summary = run(db)

    assert summary.plans_completed == 1
    with unit_of_work(db.engine) as s:
        plan = s.get(InstallmentPlan, plan_id)
        assert plan is not None
        assert (plan.status, plan.completed_on, plan.ended_on) == (
            "completed",
            date(2025, 2, 20),
            date(2025, 2, 20),
        )
        assert (plan.paid_total, plan.outstanding, plan.unapplied) == (
            Decimal("200.00"),
            Decimal("0.00"),
            Decimal("10.00"),
        )
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "installment_plan.ended_by_servicing")
        ).one()
        assert [(p["id"], p["status"]) for p in event.after["plans"]] == [(plan_id, "completed")]


def test_one_bad_plan_is_recorded_and_the_run_goes_on(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        bad = make_plan(s, "A-1", ["100.00", "100.00"])
        good = make_plan(s, "A-2", ["100.00", "100.00"])
        pay(s, "A-2", "2025-02-01", "100.00")
        # Both installments of the bad plan fall due on the same day: the rules cannot order them.
        s.execute(update(Installment).where(Installment.plan_id == bad).values(due_date=date(2025, 2, 15)))
    set_today(date(2025, 3, 1))

    summary = run(db)

    assert (summary.plans_examined, summary.plans_failed) == (2, 1)
    assert [plan_id for plan_id, _ in summary.failures] == [bad]
    with unit_of_work(db.engine) as s:
        bad_plan, good_plan = s.get(InstallmentPlan, bad), s.get(InstallmentPlan, good)
        assert bad_plan is not None and good_plan is not None
        assert bad_plan.status == "active"
        assert bad_plan.servicing_error is not None and "not after installment 1" in bad_plan.servicing_error
        assert good_plan.paid_total == Decimal("100.00") and good_plan.servicing_error is None
    # Fixed data: the next run services it and clears the problem.
    with unit_of_work(db.engine) as s:
        s.execute(
            update(Installment)
            .where(Installment.plan_id == bad, Installment.number == 2)
            .values(due_date=date(2025, 3, 15))
        )
    assert run(db).plans_failed == 0
    with unit_of_work(db.engine) as s:
        assert s.get(InstallmentPlan, bad).servicing_error is None  # type: ignore[union-attr]


def test_a_deferral_completes_once_its_last_new_due_date_has_passed(
    db: Database, set_today: Callable[[date], None]
) -> None:
    last = date(2025, 6, 28)
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1")
        event = DisasterEvent(
            code="EV-1",
            name="flood",
            kind="flood",
            occurred_on=date(2025, 1, 20),
            relief_start=date(2025, 1, 21),
            relief_end=date(2025, 3, 31),
            deferral_months=3,
            status="open",
            version=1,
            created_by="test",
            created_at=clock.utcnow(),
        )
        s.add(event)
        s.flush()
        deferral_id = make_deferral(s, account, event).id
        for statement_date, new_due in ((date(2025, 2, 8), date(2025, 5, 28)), (date(2025, 3, 8), last)):
            s.add(
                DeferralLine(
                    deferral_id=deferral_id,
                    statement_date=statement_date,
                    due_date=add_months(new_due, -3),
                    new_due_date=new_due,
                    deferred_amount=Decimal("50.00"),
                    interest_waived=Decimal("0.00"),
                    late_fee_waived=Decimal("0.00"),
                )
            )
    set_today(last)
    assert run(db).deferrals_completed == 0
    set_today(last + timedelta(days=1))

    summary = run(db)

    assert (summary.deferrals_examined, summary.deferrals_completed) == (1, 1)
    with unit_of_work(db.engine) as s:
        row = s.get(Deferral, deferral_id)
        assert row is not None and (row.status, row.completed_on) == ("completed", last + timedelta(days=1))
    assert run(db).deferrals_completed == 0


# --- path independence on the database ------------------------------------------------------------

AMOUNTS = st.lists(st.integers(min_value=1, max_value=30_000), min_size=1, max_size=6)
PAYMENTS = st.lists(
    st.tuples(st.integers(min_value=-5, max_value=200), st.integers(min_value=1, max_value=40_000)),
    max_size=8,
)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(AMOUNTS, PAYMENTS), min_size=1, max_size=3), st.integers(min_value=150, max_value=366)
)
def test_daily_runs_end_exactly_where_one_run_at_the_end_does(
    db: Database,
    set_today: Callable[[date], None],
    plans: list[tuple[list[int], list[tuple[int, int]]]],
    span: int,
) -> None:
    def load() -> None:
        truncate_all(db.engine)
        with unit_of_work(db.engine) as s:
            for index, (amounts, payments) in enumerate(plans):
                ref = f"A-{index}"
                make_plan(s, ref, [str(from_fen(a)) for a in amounts])
                for number, (offset, fen) in enumerate(payments):
                    on = START + timedelta(days=offset)
                    pay(s, ref, on.isoformat(), str(from_fen(fen)), ref=f"{ref}-P{number}")

    end = START + timedelta(days=span)
    load()
    day = START
    while day <= end:
        set_today(day)
        run(db)
        day += timedelta(days=1)
    daily = state(db)

    load()
    set_today(end)
    run(db)
    assert state(db) == daily
    # And once more on the same day: nothing changes.
    run(db)
    assert state(db) == daily


# --- chunks in processes --------------------------------------------------------------------------

COUNTS = (
    "plans_examined",
    "plans_updated",
    "plans_completed",
    "plans_broken",
    "plans_failed",
    "installments_updated",
    "deferrals_examined",
    "deferrals_completed",
)


def load_generated(db: Database, *, plans: int = 30, seed: int = 12) -> None:
    """``plans`` plans of 1 to 6 installments with up to 8 payments each, drawn from ``seed``; one
    plan's installments fall due on the same day (the rules cannot apply: a failure)."""
    rng = random.Random(seed)
    truncate_all(db.engine)
    with unit_of_work(db.engine) as s:
        for index in range(plans):
            ref = f"A-{index}"
            amounts = [rng.randint(1, 30_000) for _ in range(rng.randint(1, 6))]
            plan_id = make_plan(s, ref, [str(from_fen(a)) for a in amounts])
            for number in range(rng.randint(0, 8)):
                on = START + timedelta(days=rng.randint(-5, 200))
                pay(s, ref, on.isoformat(), str(from_fen(rng.randint(1, 40_000))), ref=f"{ref}-P{number}")
            if index == 7:
                s.execute(
                    update(Installment)
                    .where(Installment.plan_id == plan_id)
                    .values(due_date=date(2025, 2, 15))
                )


def test_chunks_in_processes_end_where_one_transaction_does(
    db: Database, set_today: Callable[[date], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    def in_processes() -> servicing.RunSummary:
        return servicing_jobs.run_servicing(
            db.engine, actor=OPERATOR, policies=POLICIES, chunk_size=4, processes=2
        )

    if db.name != "postgresql":  # one writer at a time: the run is one transaction
        load_generated(db, plans=3)
        set_today(START + timedelta(days=60))
        assert in_processes().plans_examined == 3
        return
    pools: list[int] = []
    chunks_in_processes = servicing_jobs._chunks_in_processes

    def counted(*args: Any, **kwargs: Any) -> None:
        pools.append(kwargs["processes"])
        chunks_in_processes(*args, **kwargs)

    monkeypatch.setattr(servicing_jobs, "_chunks_in_processes", counted)
    days = [START + timedelta(days=n) for n in (45, 130, 420)]

    load_generated(db)
    single = []
    for day in days:
        set_today(day)
        summary = run(db)
        single.append(([getattr(summary, name) for name in COUNTS], summary.failures, state(db)))

    load_generated(db)
    for day, (counts, failures, expected) in zip(days, single, strict=True):
        set_today(day)
        summary = in_processes()
        assert [getattr(summary, name) for name in COUNTS] == counts
        assert summary.failures == failures and len(failures) == 1
        assert state(db) == expected
    assert single[0][0][1] > 0 and sum(c[0][2] + c[0][3] for c in single) > 0  # figures written, plans ended
    again = in_processes()
    assert (again.plans_updated, again.installments_updated, again.plans_completed) == (0, 0, 0)
    assert state(db) == single[-1][2]
    # A run of at least two chunks (of 4 plans) for each of the 2 processes runs in them; a smaller
    # one in this process.
    examined = [*(c[0][0] for c in single), again.plans_examined]
    assert pools == [2 for n in examined if n > 12] and len(pools) >= 2
    with unit_of_work(db.engine) as s:
        runs = s.scalars(select(ServicingRun).order_by(ServicingRun.id)).all()
        assert all(r.finished_at is not None for r in runs)
        assert [r.plans_examined for r in runs] == examined
