"""Servicing rules (DOMAIN.md, "Servicing: plans followed to their end"), at every boundary, plus
properties: path independence, money conservation, nothing negative."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.dates import add_months
from app.domain.installments import PlanStatus
from app.domain.money import from_fen
from app.domain.policy import PolicyError, ServicingPolicy, parse_policy
from app.domain.servicing import (
    BreakRule,
    InstallmentStatus,
    InvalidServicingData,
    PlanServicing,
    ReceivedPayment,
    ScheduledInstallment,
    break_day,
    installment_status,
    miss_day,
    service_deferral,
    service_plan,
)
from tests.unit.test_policy import DEFAULT_POLICY_PATH

RULES = ServicingPolicy()  # grace 3, broken at 2 in a row or 3 in all
START = date(2025, 1, 15)
D, P, L, M = (
    InstallmentStatus.DUE,
    InstallmentStatus.PAID,
    InstallmentStatus.PAID_LATE,
    InstallmentStatus.MISSED,
)


def schedule(*amounts: str, start: date = START) -> list[ScheduledInstallment]:
    """Monthly installments from one month after ``start`` (2025-02-15, 03-15, 04-15, ...)."""
    return [
        ScheduledInstallment(k, add_months(start, k), Decimal(amount)) for k, amount in enumerate(amounts, 1)
    ]


def pay(on: str, amount: str, ref: str | None = None) -> ReceivedPayment:
    return ReceivedPayment(date.fromisoformat(on), ref or f"P-{on}-{amount}", Decimal(amount))


def run(
    installments: list[ScheduledInstallment],
    payments: list[ReceivedPayment],
    as_of: str,
    *,
    ended_on: str | None = None,
    rules: ServicingPolicy = RULES,
) -> PlanServicing:
    return service_plan(
        installments,
        start_on=START,
        payments=payments,
        rules=rules,
        as_of=date.fromisoformat(as_of),
        ended_on=date.fromisoformat(ended_on) if ended_on else None,
    )


def statuses(result: PlanServicing) -> list[InstallmentStatus]:
    return [item.status for item in result.installments]


THREE = schedule("100.00", "100.00", "100.00")  # due 02-15, 03-15, 04-15; miss days 02-19, 03-19, 04-19
FIVE = schedule("100.00", "100.00", "100.00", "100.00", "100.00")  # ... 05-15, 06-15


@dataclass(frozen=True)
class Case:
    id: str
    installments: list[ScheduledInstallment]
    payments: list[ReceivedPayment]
    as_of: str
    plan: PlanStatus
    statuses: list[InstallmentStatus]
    paid: list[str]
    completed_on: str | None = None
    broken_on: str | None = None
    unapplied: str = "0.00"
    rule: BreakRule | None = None


CASES = [
    Case(
        "nothing paid, the day before the miss day: due",
        THREE,
        [],
        "2025-02-18",
        PlanStatus.ACTIVE,
        [D, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "nothing paid, on the miss day itself: missed",
        THREE,
        [],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [M, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "nothing paid, before the due date: due",
        THREE,
        [],
        "2025-02-15",
        PlanStatus.ACTIVE,
        [D, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "paid in full the day before the miss day: paid",
        THREE,
        [pay("2025-02-18", "100.00")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [P, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "paid in full on the miss day: paid_late",
        THREE,
        [pay("2025-02-19", "100.00")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [L, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "paid one fen short in time: missed, with what was paid",
        THREE,
        [pay("2025-02-18", "99.99")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [M, D, D],
        ["99.99", "0.00", "0.00"],
    ),
    Case(
        "one fen short, before the miss day: still due",
        THREE,
        [pay("2025-02-18", "99.99")],
        "2025-02-18",
        PlanStatus.ACTIVE,
        [D, D, D],
        ["99.99", "0.00", "0.00"],
    ),
    Case(
        "covered to the fen by two payments: paid",
        THREE,
        [pay("2025-02-10", "60.00"), pay("2025-02-18", "40.00")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [P, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "the missing fen paid after the miss day: paid_late",
        THREE,
        [pay("2025-02-18", "99.99"), pay("2025-02-25", "0.01")],
        "2025-02-25",
        PlanStatus.ACTIVE,
        [L, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "paid early, before the due date: paid",
        THREE,
        [pay("2025-01-20", "100.00")],
        "2025-03-01",
        PlanStatus.ACTIVE,
        [P, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "oldest first: a payment fills the missed installment before the current one",
        THREE,
        [pay("2025-03-10", "150.00")],
        "2025-03-18",
        PlanStatus.ACTIVE,
        [L, D, D],
        ["100.00", "50.00", "0.00"],
    ),
    Case(
        "two misses in a row, the day before the second miss day: active",
        THREE,
        [],
        "2025-03-18",
        PlanStatus.ACTIVE,
        [M, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "two misses in a row: broken on the second miss day",
        THREE,
        [],
        "2025-03-19",
        PlanStatus.BROKEN,
        [M, M, D],
        ["0.00", "0.00", "0.00"],
        broken_on="2025-03-19",
        rule=BreakRule.CONSECUTIVE,
    ),
    Case(
        "broken: judged as of the break day, later miss days do not count",
        THREE,
        [],
        "2025-12-31",
        PlanStatus.BROKEN,
        [M, M, D],
        ["0.00", "0.00", "0.00"],
        broken_on="2025-03-19",
        rule=BreakRule.CONSECUTIVE,
    ),
    Case(
        "a late payment on the second miss day still counts that miss: broken",
        THREE,
        [pay("2025-03-19", "200.00")],
        "2025-03-19",
        PlanStatus.BROKEN,
        [L, L, D],
        ["100.00", "100.00", "0.00"],
        broken_on="2025-03-19",
        rule=BreakRule.CONSECUTIVE,
    ),
    Case(
        "a miss, then one paid in time resets the count in a row",
        FIVE,
        [pay("2025-03-10", "200.00")],
        "2025-04-19",
        PlanStatus.ACTIVE,
        [L, P, M, D, D],
        ["100.00", "100.00", "0.00", "0.00", "0.00"],
    ),
    Case(
        "miss, paid, miss, paid, miss: broken by the total on the third miss day",
        FIVE,
        [pay("2025-03-10", "200.00"), pay("2025-05-10", "200.00")],
        "2025-06-19",
        PlanStatus.BROKEN,
        [L, P, L, P, M],
        ["100.00", "100.00", "100.00", "100.00", "0.00"],
        broken_on="2025-06-19",
        rule=BreakRule.TOTAL,
    ),
    Case(
        "miss, paid, miss, paid: the day before the third miss day still active",
        FIVE,
        [pay("2025-03-10", "200.00"), pay("2025-05-10", "200.00")],
        "2025-06-18",
        PlanStatus.ACTIVE,
        [L, P, L, P, D],
        ["100.00", "100.00", "100.00", "100.00", "0.00"],
    ),
    Case(
        "completed on the day of the payment covering the last fen",
        THREE,
        [pay("2025-02-10", "100.00"), pay("2025-03-10", "100.00"), pay("2025-04-10", "100.00")],
        "2025-04-10",
        PlanStatus.COMPLETED,
        [P, P, P],
        ["100.00", "100.00", "100.00"],
        completed_on="2025-04-10",
    ),
    Case(
        "one fen short of completion: still active",
        THREE,
        [pay("2025-02-10", "100.00"), pay("2025-03-10", "100.00"), pay("2025-04-10", "99.99")],
        "2025-04-18",
        PlanStatus.ACTIVE,
        [P, P, D],
        ["100.00", "100.00", "99.99"],
    ),
    Case(
        "completed the day before the break day, one installment late",
        THREE,
        [pay("2025-03-18", "300.00")],
        "2025-06-01",
        PlanStatus.COMPLETED,
        [L, P, P],
        ["100.00", "100.00", "100.00"],
        completed_on="2025-03-18",
    ),
    Case(
        "last fen paid on the break day: broken, not completed",
        THREE,
        [pay("2025-03-19", "300.00")],
        "2025-06-01",
        PlanStatus.BROKEN,
        [L, L, P],
        ["100.00", "100.00", "100.00"],
        broken_on="2025-03-19",
        rule=BreakRule.CONSECUTIVE,
    ),
    Case(
        "paid off at once: completed that day, the rest unapplied",
        THREE,
        [pay("2025-01-20", "350.00")],
        "2025-01-20",
        PlanStatus.COMPLETED,
        [P, P, P],
        ["100.00", "100.00", "100.00"],
        completed_on="2025-01-20",
        unapplied="50.00",
    ),
    Case(
        "a second payment on the completion day is unapplied",
        THREE,
        [pay("2025-01-20", "300.00", "P-1"), pay("2025-01-20", "20.00", "P-2")],
        "2025-02-01",
        PlanStatus.COMPLETED,
        [P, P, P],
        ["100.00", "100.00", "100.00"],
        completed_on="2025-01-20",
        unapplied="20.00",
    ),
    Case(
        "payments after completion are not the plan's",
        THREE,
        [pay("2025-01-20", "300.00"), pay("2025-02-20", "80.00")],
        "2025-03-01",
        PlanStatus.COMPLETED,
        [P, P, P],
        ["100.00", "100.00", "100.00"],
        completed_on="2025-01-20",
    ),
    Case(
        "payments after the break day are not the plan's",
        THREE,
        [pay("2025-03-20", "300.00")],
        "2025-04-01",
        PlanStatus.BROKEN,
        [M, M, D],
        ["0.00", "0.00", "0.00"],
        broken_on="2025-03-19",
        rule=BreakRule.CONSECUTIVE,
    ),
    Case(
        "payments before the start date are not the plan's",
        THREE,
        [pay("2025-01-14", "300.00")],
        "2025-02-18",
        PlanStatus.ACTIVE,
        [D, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "a payment on the start date is the plan's",
        THREE,
        [pay("2025-01-15", "100.00")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [P, D, D],
        ["100.00", "0.00", "0.00"],
    ),
    Case(
        "payments dated after the business date are not applied yet",
        THREE,
        [pay("2025-02-20", "100.00")],
        "2025-02-19",
        PlanStatus.ACTIVE,
        [M, D, D],
        ["0.00", "0.00", "0.00"],
    ),
    Case(
        "uneven amounts: the last carries the remainder",
        schedule("333.33", "333.33", "333.34"),
        [pay("2025-02-01", "666.66"), pay("2025-04-01", "333.33")],
        "2025-04-18",
        PlanStatus.ACTIVE,
        [P, P, D],
        ["333.33", "333.33", "333.33"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_servicing_rules_at_their_boundaries(case: Case) -> None:
    result = run(case.installments, case.payments, case.as_of)

    assert result.status is case.plan
    assert statuses(result) == case.statuses
    assert [str(item.paid_amount) for item in result.installments] == case.paid
    assert result.completed_on == (date.fromisoformat(case.completed_on) if case.completed_on else None)
    assert result.broken_on == (date.fromisoformat(case.broken_on) if case.broken_on else None)
    assert str(result.unapplied) == case.unapplied
    assert result.break_rule is case.rule
    scheduled = sum((item.amount for item in case.installments), Decimal(0))
    assert result.paid_total == sum((item.paid_amount for item in result.installments), Decimal(0))
    assert result.outstanding == scheduled - result.paid_total


def test_the_miss_day_is_due_date_plus_grace_plus_one() -> None:
    assert miss_day(date(2025, 2, 15), 3) == date(2025, 2, 19)
    assert miss_day(date(2025, 2, 28), 0) == date(2025, 3, 1)


def test_with_no_grace_the_day_after_the_due_date_is_the_miss_day() -> None:
    no_grace = ServicingPolicy(grace_days=0)
    assert statuses(run(THREE, [pay("2025-02-15", "100.00")], "2025-02-16", rules=no_grace))[0] is P
    assert statuses(run(THREE, [pay("2025-02-16", "100.00")], "2025-02-16", rules=no_grace))[0] is L
    assert statuses(run(THREE, [], "2025-02-16", rules=no_grace))[0] is M
    assert statuses(run(THREE, [], "2025-02-15", rules=no_grace))[0] is D


def test_a_policy_breaking_at_the_first_miss_breaks_on_that_miss_day() -> None:
    strict = ServicingPolicy(break_after_consecutive_missed=1)
    result = run(THREE, [], "2025-02-19", rules=strict)
    assert (result.status, result.broken_on) == (PlanStatus.BROKEN, date(2025, 2, 19))
    assert run(THREE, [], "2025-02-18", rules=strict).status is PlanStatus.ACTIVE


def test_a_plan_ended_otherwise_ignores_payments_after_its_end() -> None:
    result = run(
        THREE, [pay("2025-02-10", "100.00"), pay("2025-02-20", "100.00")], "2025-05-01", ended_on="2025-02-12"
    )
    assert result.status is PlanStatus.ACTIVE
    assert result.paid_total == Decimal("100.00")
    assert statuses(result) == [P, D, D]


def test_misses_are_counted_as_of_the_judged_day() -> None:
    result = run(FIVE, [pay("2025-03-10", "200.00")], "2025-04-19")
    assert (result.misses, result.consecutive_misses) == (2, 1)
    assert (result.judged, result.paid_on_time) == (3, 1)


@pytest.mark.parametrize(
    ("installments", "payments", "message"),
    [
        ([], [], "no installments"),
        (
            [
                ScheduledInstallment(1, date(2025, 2, 15), Decimal("1")),
                ScheduledInstallment(2, date(2025, 2, 15), Decimal("1")),
            ],
            [],
            "not after installment 1",
        ),
        (
            [
                ScheduledInstallment(1, date(2025, 2, 15), Decimal("1")),
                ScheduledInstallment(1, date(2025, 3, 15), Decimal("1")),
            ],
            [],
            "appears twice",
        ),
        (schedule("0.00"), [], "must be positive"),
        (schedule("-1.00"), [], "must be positive"),
        (schedule("1.001"), [], "fraction of a fen"),
        (schedule("1.00"), [pay("2025-02-01", "0.00")], "payment"),
    ],
    ids=[
        "no installments",
        "due dates not increasing",
        "number twice",
        "zero amount",
        "negative amount",
        "fraction of a fen",
        "zero payment",
    ],
)
def test_data_that_breaks_the_rules_arithmetic_is_refused(
    installments: list[ScheduledInstallment], payments: list[ReceivedPayment], message: str
) -> None:
    with pytest.raises(InvalidServicingData, match=message):
        run(installments, payments, "2025-06-01")


def test_the_packaged_policy_holds_the_servicing_defaults() -> None:
    policy = parse_policy(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    assert policy.servicing == ServicingPolicy(
        grace_days=3, break_after_consecutive_missed=2, break_after_total_missed=3
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("grace_days = -1", "servicing.grace_days"),
        ("break_after_consecutive_missed = 0", "servicing.break_after_consecutive_missed"),
        ('break_after_total_missed = "3"', "servicing.break_after_total_missed"),
        ("graceful = 3", "servicing.graceful: unknown key"),
    ],
)
def test_bad_servicing_parameters_are_refused_naming_the_key(line: str, message: str) -> None:
    key = line.split(" = ")[0]
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    if re.search(rf"^{key} = ", text, flags=re.MULTILINE):
        text = re.sub(rf"^{key} = .*$", line, text, flags=re.MULTILINE)
    else:
        text = text.replace("[servicing]\n", f"[servicing]\n{line}\n")
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)


MISS_DAYS = [date(2025, month, 19) for month in (2, 3, 4, 5, 6)]  # RULES: 2 in a row or 3 in all
NOTHING: list[date | None] = [None] * 5
# Installments 1 and 3 covered after their miss days, 2 and 4 in time, 5 not at all.
LATE_AND_IN_TIME: list[date | None] = [
    date(2025, 2, 25),
    date(2025, 3, 1),
    date(2025, 4, 25),
    date(2025, 5, 1),
    None,
]


@pytest.mark.parametrize(
    ("covered", "until", "expected"),
    [
        pytest.param(NOTHING, date(2025, 3, 18), (None, None), id="one-miss-is-no-break"),
        pytest.param(
            NOTHING, date(2025, 3, 19), (date(2025, 3, 19), BreakRule.CONSECUTIVE), id="two-in-a-row"
        ),
        pytest.param(
            LATE_AND_IN_TIME, date(2025, 6, 19), (date(2025, 6, 19), BreakRule.TOTAL), id="three-in-all"
        ),
        pytest.param(LATE_AND_IN_TIME, date(2025, 6, 18), (None, None), id="the-third-miss-day-not-yet-come"),
        pytest.param(
            [date(2025, 2, 19), date(2025, 3, 19), None, None, None],
            date(2025, 3, 19),
            (date(2025, 3, 19), BreakRule.CONSECUTIVE),
            id="covered-on-its-miss-day-is-a-miss",
        ),
        pytest.param(
            [date(2025, month, 1) for month in (2, 3, 4, 5, 6)],
            date(2026, 1, 1),
            (None, None),
            id="all-in-time",
        ),
    ],
)
def test_the_break_day_is_the_first_miss_day_that_reaches_a_miss_limit(
    covered: list[date | None], until: date, expected: tuple[date | None, BreakRule | None]
) -> None:
    assert break_day(MISS_DAYS, covered, until=until, rules=RULES) == expected


@pytest.mark.parametrize(
    ("covered_on", "judged_on", "expected"),
    [
        pytest.param(date(2025, 2, 18), date(2025, 3, 1), P, id="covered-before-the-miss-day"),
        pytest.param(date(2025, 2, 19), date(2025, 3, 1), L, id="covered-on-the-miss-day"),
        pytest.param(None, date(2025, 2, 19), M, id="not-covered-on-the-miss-day"),
        pytest.param(None, date(2025, 2, 18), D, id="not-covered-before-the-miss-day"),
    ],
)
def test_an_installment_status_from_the_day_it_was_covered(
    covered_on: date | None, judged_on: date, expected: InstallmentStatus
) -> None:
    assert installment_status(covered_on, date(2025, 2, 19), judged_on) is expected


def test_a_deferral_completes_the_day_after_its_last_new_due_date() -> None:
    dates = [date(2025, 3, 28), date(2025, 4, 30)]
    assert service_deferral(dates, as_of=date(2025, 4, 30)).completed is False
    done = service_deferral(dates, as_of=date(2025, 5, 1))
    assert (done.completed, done.completed_on) == (True, date(2025, 5, 1))
    assert service_deferral(dates, as_of=date(2026, 1, 1)).completed_on == date(2025, 5, 1)
    with pytest.raises(InvalidServicingData):
        service_deferral([], as_of=date(2025, 5, 1))


# --- properties -----------------------------------------------------------------------------------

HORIZON = 420  # days after the start that the generated histories cover


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[ScheduledInstallment], list[ReceivedPayment], ServicingPolicy]:
    count = draw(st.integers(min_value=1, max_value=12))
    amounts = draw(st.lists(st.integers(min_value=1, max_value=50_000), min_size=count, max_size=count))
    installments = [
        ScheduledInstallment(k, add_months(START, k), from_fen(fen)) for k, fen in enumerate(amounts, 1)
    ]
    payments = [
        ReceivedPayment(START + timedelta(days=offset), f"R{index:03d}", from_fen(fen))
        for index, (offset, fen) in enumerate(
            draw(
                st.lists(
                    st.tuples(
                        st.integers(min_value=-20, max_value=HORIZON),
                        st.integers(min_value=1, max_value=60_000),
                    ),
                    max_size=25,
                )
            )
        )
    ]
    rules = ServicingPolicy(
        grace_days=draw(st.integers(min_value=0, max_value=10)),
        break_after_consecutive_missed=draw(st.integers(min_value=1, max_value=3)),
        break_after_total_missed=draw(st.integers(min_value=1, max_value=4)),
    )
    return installments, payments, rules


def _at(
    history: tuple[list[ScheduledInstallment], list[ReceivedPayment], ServicingPolicy], on: date
) -> PlanServicing:
    installments, payments, rules = history
    return service_plan(installments, start_on=START, payments=payments, rules=rules, as_of=on)


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(min_value=0, max_value=HORIZON), st.integers(min_value=0, max_value=HORIZON))
def test_stepping_day_by_day_ends_where_one_computation_at_the_end_does(
    history: tuple[list[ScheduledInstallment], list[ReceivedPayment], ServicingPolicy], first: int, span: int
) -> None:
    """A run on each day from D1 to D2 (an ended plan is left as it is) equals one run at D2."""
    d1 = START + timedelta(days=first)
    d2 = d1 + timedelta(days=span)
    state = _at(history, d1)
    day = d1
    while day < d2:
        day += timedelta(days=1)
        if state.status is PlanStatus.ACTIVE:
            state = _at(history, day)
    assert state == _at(history, d2)


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(min_value=-5, max_value=HORIZON + 60))
def test_money_is_conserved_and_nothing_is_negative(
    history: tuple[list[ScheduledInstallment], list[ReceivedPayment], ServicingPolicy], offset: int
) -> None:
    installments, payments, _ = history
    on = START + timedelta(days=offset)
    result = _at(history, on)
    end = min(on, result.ended_on) if result.ended_on else on
    own = sum((p.amount for p in payments if START <= p.paid_on <= end), Decimal(0))
    paid = sum((item.paid_amount for item in result.installments), Decimal(0))
    scheduled = sum((item.amount for item in installments), Decimal(0))

    assert paid + result.unapplied == own == result.payments_total
    assert paid == result.paid_total
    assert result.paid_total + result.outstanding == scheduled
    assert min(result.paid_total, result.outstanding, result.unapplied) >= 0
    assert 0 <= result.misses <= result.judged <= len(installments) and result.paid_on_time >= 0
    for item, state in zip(installments, result.installments, strict=True):
        assert Decimal(0) <= state.paid_amount <= item.amount
        assert (state.status in (P, L)) == (state.paid_amount == item.amount)
    assert (result.unapplied > 0) <= (result.outstanding == 0)
    if result.status is PlanStatus.COMPLETED:
        assert result.outstanding == 0 and result.broken_on is None
    if result.status is PlanStatus.BROKEN:
        assert result.completed_on is None and result.broken_on is not None and result.broken_on <= on


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(min_value=0, max_value=HORIZON), st.randoms())
def test_the_order_the_payments_arrive_in_does_not_matter(
    history: tuple[list[ScheduledInstallment], list[ReceivedPayment], ServicingPolicy],
    offset: int,
    rng: random.Random,
) -> None:
    installments, payments, rules = history
    shuffled = list(payments)
    rng.shuffle(shuffled)
    on = START + timedelta(days=offset)
    assert _at((installments, shuffled, rules), on) == _at(history, on)
