"""Installment plans: exact schedules, allowed terms, recommendation, negotiation, lifecycle."""

import dataclasses
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.dates import add_months
from app.domain.errors import DomainError, InvalidMoney, InvalidRate, InvalidTerm, InvalidTransition
from app.domain.installments import (
    NegotiationResult,
    PlanStatus,
    allowed_terms,
    build_policy_schedule,
    build_schedule,
    negotiate_term,
    recommended_term,
    select_quote_terms,
    transition_plan,
)
from app.domain.money import from_fen
from app.domain.policy import InstallmentPolicy

FAST = settings(max_examples=300, deadline=None)
DEFAULT = InstallmentPolicy()


def amounts(values: list[Decimal] | tuple[Decimal, ...]) -> list[str]:
    return [str(value) for value in values]


def test_equal_principal_puts_the_remainder_on_the_last_installment() -> None:
    schedule = build_schedule(Decimal("1000.00"), 3, date(2025, 1, 15))
    assert amounts([item.principal for item in schedule.installments]) == ["333.33", "333.33", "333.34"]
    assert schedule.principal_total == Decimal("1000.00")
    assert schedule.amount_total == Decimal("1000.00")
    assert schedule.fee_total == Decimal("0.00")
    assert schedule.interest_total == Decimal("0.00")
    assert schedule.term_months == 3
    assert schedule.largest_amount == Decimal("333.34")


def test_exact_division_gives_equal_installments() -> None:
    schedule = build_schedule(Decimal("12000.00"), 12, date(2025, 1, 15))
    assert {item.amount for item in schedule.installments} == {Decimal("1000.00")}


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            date(2025, 1, 31),
            [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)],
            id="jan31_start_keeps_the_month_end",
        ),
        pytest.param(
            date(2024, 1, 31),
            [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)],
            id="leap_year_february_29",
        ),
        pytest.param(
            date(2025, 11, 30),
            [date(2025, 12, 30), date(2026, 1, 30), date(2026, 2, 28), date(2026, 3, 30)],
            id="crosses_the_year",
        ),
    ],
)
def test_due_dates_are_counted_from_the_start_date(start: date, expected: list[date]) -> None:
    schedule = build_schedule(Decimal("4000.00"), 4, start)
    assert [item.due_date for item in schedule.installments] == expected
    assert [item.number for item in schedule.installments] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("principal", "rate", "fee"),
    [
        pytest.param("1000.00", "0.006", "6.00", id="plain_fee"),
        pytest.param("1001.00", "0.0005", "0.50", id="fee_below_half_a_fen_rounds_down"),
        pytest.param("1010.00", "0.0005", "0.51", id="fee_of_half_a_fen_rounds_up"),
        pytest.param("1000.00", "0", "0.00", id="hardship_default_no_fee"),
    ],
)
def test_fee_per_period_is_principal_times_rate_rounded_half_up(principal: str, rate: str, fee: str) -> None:
    schedule = build_schedule(Decimal(principal), 4, date(2025, 1, 15), monthly_fee_rate=Decimal(rate))
    assert {item.fee for item in schedule.installments} == {Decimal(fee)}
    assert schedule.fee_total == Decimal(fee) * 4
    assert schedule.amount_total == Decimal(principal) + Decimal(fee) * 4


def test_annuity_gives_equal_payments_and_the_last_takes_the_rest() -> None:
    schedule = build_schedule(
        Decimal("12000.00"), 12, date(2025, 1, 15), annual_interest_rate=Decimal("0.12"), method="annuity"
    )
    first = schedule.installments[0]
    assert (first.amount, first.interest, first.principal) == (
        Decimal("1066.19"),
        Decimal("120.00"),
        Decimal("946.19"),
    )
    assert {item.amount for item in schedule.installments[:-1]} == {Decimal("1066.19")}
    assert abs(schedule.installments[-1].amount - Decimal("1066.19")) <= Decimal("0.10")
    assert schedule.principal_total == Decimal("12000.00")
    assert schedule.amount_total == schedule.principal_total + schedule.interest_total


def test_annuity_with_no_interest_is_equal_principal() -> None:
    annuity = build_schedule(Decimal("1000.00"), 3, date(2025, 1, 15), method="annuity")
    equal = build_schedule(Decimal("1000.00"), 3, date(2025, 1, 15))
    assert annuity == equal


def test_equal_principal_with_interest_charges_the_declining_balance() -> None:
    schedule = build_schedule(Decimal("1200.00"), 3, date(2025, 1, 15), annual_interest_rate=Decimal("0.12"))
    assert amounts([item.interest for item in schedule.installments]) == ["12.00", "8.00", "4.00"]
    assert amounts([item.amount for item in schedule.installments]) == ["412.00", "408.00", "404.00"]


@pytest.mark.parametrize(
    ("principal", "term", "options", "error"),
    [
        pytest.param(Decimal("1000.00"), 0, {}, InvalidTerm, id="term_of_zero_months"),
        pytest.param(Decimal("1000.00"), -1, {}, InvalidTerm, id="negative_term"),
        pytest.param(Decimal("1000.00"), 61, {}, InvalidTerm, id="term_beyond_60_months"),
        pytest.param(Decimal("0.00"), 12, {}, InvalidTerm, id="nothing_to_spread"),
        pytest.param(Decimal("-100.00"), 12, {}, InvalidTerm, id="negative_principal"),
        pytest.param(Decimal("100.001"), 2, {}, InvalidMoney, id="fraction_of_a_fen"),
        pytest.param(1000.0, 2, {}, InvalidMoney, id="float_principal"),
        pytest.param(
            Decimal("1000.00"), 2, {"monthly_fee_rate": Decimal("-0.01")}, InvalidRate, id="negative_fee"
        ),
        pytest.param(Decimal("1000.00"), 2, {"annual_interest_rate": 0.12}, InvalidRate, id="float_rate"),
        pytest.param(Decimal("1000.00"), 2, {"method": "balloon"}, DomainError, id="unknown_method"),
    ],
)
def test_build_schedule_refuses_unanswerable_questions(
    principal: Decimal, term: int, options: dict[str, object], error: type[DomainError]
) -> None:
    with pytest.raises(error):
        build_schedule(principal, term, date(2025, 1, 15), **options)  # type: ignore[arg-type]


def test_build_policy_schedule_uses_the_policy_terms() -> None:
    policy = dataclasses.replace(DEFAULT, monthly_fee_rate=Decimal("0.001"))
    schedule = build_policy_schedule(Decimal("1000.00"), 2, date(2025, 1, 15), policy)
    assert schedule.fee_total == Decimal("2.00")


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        pytest.param("10000.00", tuple(range(1, 61)), id="every_term_up_to_60"),
        pytest.param("6000.00", tuple(range(1, 61)), id="60_months_of_exactly_100_00"),
        pytest.param("5999.99", tuple(range(1, 60)), id="60_months_would_be_99_99"),
        pytest.param("200.00", (1, 2), id="installment_of_100_00_is_allowed"),
        pytest.param("199.99", (1,), id="installment_of_99_99_is_not"),
        pytest.param("100.00", (1,), id="exactly_the_minimum_one_installment"),
        pytest.param("99.99", (), id="below_the_minimum_no_term_at_all"),
        pytest.param("0.01", (), id="one_fen"),
        pytest.param("0.00", (), id="nothing_owed"),
        pytest.param("-5.00", (), id="credit_balance"),
    ],
)
def test_allowed_terms_keep_every_installment_at_least_the_minimum(
    principal: str, expected: tuple[int, ...]
) -> None:
    assert allowed_terms(Decimal(principal), DEFAULT) == expected


def test_allowed_terms_respect_the_policy_bounds() -> None:
    policy = dataclasses.replace(DEFAULT, min_term_months=3, max_term_months=24)
    assert allowed_terms(Decimal("10000.00"), policy) == tuple(range(3, 25))
    assert allowed_terms(Decimal("99.99"), policy) == ()


@pytest.mark.parametrize(
    ("principal", "income", "expected"),
    [
        pytest.param("12000.00", "2000.00", 12, id="half_of_income_pays_12_months"),
        pytest.param("12000.00", "1999.98", 13, id="one_fen_less_needs_13_months"),
        pytest.param("12000.00", "30000.00", 1, id="rich_enough_for_one_payment"),
        pytest.param("12000.00", "100.00", None, id="nothing_fits"),
        pytest.param("12000.00", "0.00", None, id="no_income"),
        pytest.param("12000.00", None, None, id="income_not_given"),
        pytest.param("1000.00", "666.68", 3, id="judged_on_the_largest_installment"),
        pytest.param("1000.00", "666.66", 4, id="largest_installment_one_fen_too_big"),
    ],
)
def test_recommended_term_is_the_shortest_affordable(
    principal: str, income: str | None, expected: int | None
) -> None:
    monthly_income = None if income is None else Decimal(income)
    assert recommended_term(Decimal(principal), monthly_income, DEFAULT) == expected


@pytest.mark.parametrize(
    ("requested", "principal", "expected"),
    [
        pytest.param(12, "10000.00", NegotiationResult(True, 12), id="allowed_term_is_accepted"),
        pytest.param(61, "10000.00", NegotiationResult(False, 60), id="too_long_proposes_60"),
        pytest.param(0, "10000.00", NegotiationResult(False, 1), id="zero_proposes_1"),
        pytest.param(60, "5999.99", NegotiationResult(False, 59), id="installment_too_small_proposes_59"),
        pytest.param(6, "199.99", NegotiationResult(False, 1), id="small_debt_proposes_one_payment"),
        pytest.param(6, "0.00", NegotiationResult(False, None), id="nothing_owed"),
    ],
)
def test_negotiate_term(requested: int, principal: str, expected: NegotiationResult) -> None:
    assert negotiate_term(requested, Decimal(principal), DEFAULT) == expected


def test_negotiate_term_proposes_the_nearest_bound_of_the_policy() -> None:
    policy = dataclasses.replace(DEFAULT, min_term_months=1, max_term_months=4)
    assert negotiate_term(5, Decimal("10000.00"), policy) == NegotiationResult(False, 4)
    gap = dataclasses.replace(DEFAULT, min_term_months=3, max_term_months=3)
    assert negotiate_term(1, Decimal("10000.00"), gap) == NegotiationResult(False, 3)


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        pytest.param("100000.00", (6, 12, 24, 36, 60), id="all_quote_terms"),
        pytest.param("3000.00", (6, 12, 24), id="only_terms_with_100_00_installments"),
        pytest.param("500.00", (), id="too_small_for_six_months"),
    ],
)
def test_select_quote_terms(principal: str, expected: tuple[int, ...]) -> None:
    assert select_quote_terms(Decimal(principal), DEFAULT) == expected


_PLAN_ALLOWED = {("active", "completed"), ("active", "broken"), ("active", "cancelled")}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(current.value, target.value, id=f"{current.value}_to_{target.value}")
        for current in PlanStatus
        for target in PlanStatus
    ],
)
def test_plan_transitions(current: str, target: str) -> None:
    if (current, target) in _PLAN_ALLOWED:
        assert transition_plan(current, target) == PlanStatus(target)
    else:
        with pytest.raises(InvalidTransition):
            transition_plan(current, target)


def test_plan_transition_from_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        transition_plan("paused", "active")


principals = st.integers(min_value=1, max_value=10**11).map(from_fen)
terms = st.integers(min_value=1, max_value=60)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
fee_rates = st.sampled_from(["0", "0.0005", "0.006", "0.0125"]).map(Decimal)
annual_rates = st.sampled_from(["0.0001", "0.036", "0.1825", "0.24", "0.36"]).map(Decimal)


def _check_schedule(principal: Decimal, term: int, start: date, **options: object) -> None:
    schedule = build_schedule(principal, term, start, **options)  # type: ignore[arg-type]
    items = schedule.installments
    assert len(items) == term
    assert sum((item.principal for item in items), Decimal(0)) == principal
    assert schedule.principal_total == principal
    assert schedule.amount_total == sum((item.amount for item in items), Decimal(0))
    assert schedule.interest_total == sum((item.interest for item in items), Decimal(0))
    assert schedule.fee_total == sum((item.fee for item in items), Decimal(0))
    assert schedule.amount_total == schedule.principal_total + schedule.interest_total + schedule.fee_total
    for item in items:
        assert min(item.principal, item.interest, item.fee, item.amount) >= 0
        assert item.amount == item.principal + item.interest + item.fee
        assert item.due_date == add_months(start, item.number)
    assert all(earlier.due_date < later.due_date for earlier, later in pairwise(items))
    assert build_schedule(principal, term, start, **options) == schedule  # type: ignore[arg-type]


@FAST
@given(principal=principals, term=terms, start=starts, fee_rate=fee_rates)
def test_equal_principal_schedule_adds_up_exactly(
    principal: Decimal, term: int, start: date, fee_rate: Decimal
) -> None:
    _check_schedule(principal, term, start, monthly_fee_rate=fee_rate)
    schedule = build_schedule(principal, term, start, monthly_fee_rate=fee_rate)
    parts = [item.principal for item in schedule.installments]
    assert len(set(parts[:-1])) <= 1


@FAST
@given(principal=principals, term=terms, start=starts, fee_rate=fee_rates, annual_rate=annual_rates)
def test_annuity_schedule_adds_up_exactly(
    principal: Decimal, term: int, start: date, fee_rate: Decimal, annual_rate: Decimal
) -> None:
    _check_schedule(
        principal, term, start, monthly_fee_rate=fee_rate, annual_interest_rate=annual_rate, method="annuity"
    )


@FAST
@given(principal=principals, term=terms, start=starts, annual_rate=annual_rates)
def test_equal_principal_with_interest_adds_up_exactly(
    principal: Decimal, term: int, start: date, annual_rate: Decimal
) -> None:
    _check_schedule(principal, term, start, annual_interest_rate=annual_rate)


@FAST
@given(principal=principals)
def test_allowed_terms_are_consecutive_and_meet_the_minimum(principal: Decimal) -> None:
    terms_allowed = allowed_terms(principal, DEFAULT)
    # No exception below the minimum (DOMAIN.md): not even one installment.
    assert (terms_allowed == ()) == (principal < DEFAULT.min_installment_amount)
    assert terms_allowed == tuple(range(1, len(terms_allowed) + 1))
    for term in terms_allowed:
        first = build_schedule(principal, term, date(2025, 1, 15)).installments[0]
        assert first.principal >= DEFAULT.min_installment_amount


# --- shortcuts give the answers of the plain definitions ---------------------------------------------

policies = st.builds(
    InstallmentPolicy,
    min_term_months=st.integers(min_value=1, max_value=12),
    max_term_months=st.integers(min_value=1, max_value=60),
    min_installment_amount=st.integers(min_value=0, max_value=50_000).map(from_fen),
    monthly_fee_rate=st.sampled_from([Decimal(0), Decimal("0.006"), Decimal("0.0123")]),
    annual_interest_rate=st.sampled_from([Decimal(0), Decimal("0.12"), Decimal("0.2399")]),
    method=st.sampled_from(["equal_principal", "annuity"]),
    max_income_share=st.sampled_from([Decimal("0.5"), Decimal("0.333"), Decimal(1)]),
)
principals = st.integers(min_value=-100, max_value=10**9).map(from_fen)


@FAST
@given(principals, policies)
def test_allowed_terms_are_the_terms_whose_installment_principal_reaches_the_minimum(
    principal: Decimal, policy: InstallmentPolicy
) -> None:
    if principal <= 0:
        expected: tuple[int, ...] = ()
    else:
        fen, minimum = int(principal * 100), int(policy.min_installment_amount * 100)
        low, high = max(1, policy.min_term_months), min(policy.max_term_months, 60)
        expected = tuple(n for n in range(low, high + 1) if fen // n >= minimum)
    assert allowed_terms(principal, policy) == expected


@FAST
@given(principals, st.integers(min_value=0, max_value=10**8).map(from_fen), policies)
def test_recommended_term_is_the_first_allowed_term_whose_largest_installment_fits(
    principal: Decimal, income: Decimal, policy: InstallmentPolicy
) -> None:
    """Whatever terms the recommendation skips without building their schedule."""
    affordable = income * policy.max_income_share
    expected = None
    if income > 0:
        for term in allowed_terms(principal, policy):
            schedule = build_policy_schedule(principal, term, date(2025, 1, 31), policy)
            if schedule.largest_amount <= affordable:
                expected = term
                break
    assert recommended_term(principal, income, policy) == expected
