"""Disaster deferral amounts, exact to the fen (DOMAIN.md worked examples)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.dates import add_months
from app.domain.deferrals import DeferralResult, compute_deferral, statements_in_window
from app.domain.errors import DomainError, InvalidRate, InvalidTerm
from app.domain.model import Statement
from app.domain.money import from_fen

FAST = settings(max_examples=300, deadline=None)
RATE = Decimal("0.0005")
LATE = Decimal("0.05")
WINDOW = {"relief_start": date(2025, 6, 1), "relief_end": date(2025, 8, 31)}


def statement(due: date, balance: str, minimum: str = "0.00", paid: str = "0.00") -> Statement:
    return Statement(
        statement_date=due.replace(day=1),
        due_date=due,
        statement_balance=Decimal(balance),
        minimum_due=Decimal(minimum),
        paid_amount=Decimal(paid),
    )


def defer(statements: list[Statement], months: int = 3) -> DeferralResult:
    return compute_deferral(
        statements, deferral_months=months, daily_interest_rate=RATE, late_fee_rate=LATE, **WINDOW
    )


def test_worked_example_unpaid_3200_due_jun28_deferred_three_months() -> None:
    result = defer([statement(date(2025, 6, 28), "3200.00", minimum="320.00")])
    (line,) = result.lines
    assert line.new_due_date == date(2025, 9, 28)
    assert (line.new_due_date - line.due_date).days == 92
    assert line.deferred_amount == Decimal("3200.00")
    assert line.interest_waived == Decimal("147.20")  # 3200 x 0.0005 x 92
    assert line.late_fee_waived == Decimal("16.00")  # 320 x 0.05
    assert (result.deferred_amount, result.interest_waived, result.late_fees_waived) == (
        Decimal("3200.00"),
        Decimal("147.20"),
        Decimal("16.00"),
    )


def test_worked_example_month_end_jul31_plus_three_months_is_oct31() -> None:
    result = defer([statement(date(2025, 7, 31), "1500.50", minimum="150.05", paid="100.00")])
    (line,) = result.lines
    assert line.new_due_date == date(2025, 10, 31)
    assert line.deferred_amount == Decimal("1400.50")
    assert line.interest_waived == Decimal("64.42")  # 1400.50 x 0.0005 x 92 = 64.423
    assert line.late_fee_waived == Decimal("2.50")  # 50.05 x 0.05 = 2.5025


def test_totals_are_sums_of_the_rounded_lines() -> None:
    result = defer(
        [
            statement(date(2025, 7, 28), "1000.01", minimum="100.01"),
            statement(date(2025, 6, 28), "3200.00", minimum="320.00"),
        ]
    )
    assert [line.due_date for line in result.lines] == [date(2025, 6, 28), date(2025, 7, 28)]
    assert result.deferred_amount == Decimal("4200.01")
    assert result.interest_waived == sum((line.interest_waived for line in result.lines), Decimal(0))
    assert result.late_fees_waived == Decimal("16.00") + Decimal("5.00")  # 100.01 x 0.05 = 5.0005


@pytest.mark.parametrize(
    ("minimum", "paid", "late_fee"),
    [
        pytest.param("0.10", "0.00", "0.01", id="half_a_fen_rounds_up"),
        pytest.param("0.09", "0.00", "0.00", id="below_half_a_fen_rounds_down"),
        pytest.param("320.00", "320.00", "0.00", id="minimum_paid_no_late_fee"),
        pytest.param("320.00", "500.00", "0.00", id="more_than_minimum_paid"),
        pytest.param("320.00", "319.99", "0.00", id="one_fen_short"),
        pytest.param("320.00", "300.00", "1.00", id="part_of_minimum_unpaid"),
    ],
)
def test_late_fee_waived_is_five_percent_of_the_unpaid_minimum(
    minimum: str, paid: str, late_fee: str
) -> None:
    (line,) = defer([statement(date(2025, 6, 28), "3200.00", minimum=minimum, paid=paid)]).lines
    assert line.late_fee_waived == Decimal(late_fee)


@pytest.mark.parametrize(
    ("due", "balance", "paid", "selected"),
    [
        pytest.param(date(2025, 5, 31), "100.00", "0.00", False, id="due_the_day_before_the_window"),
        pytest.param(date(2025, 6, 1), "100.00", "0.00", True, id="due_on_relief_start_inclusive"),
        pytest.param(date(2025, 8, 31), "100.00", "0.00", True, id="due_on_relief_end_inclusive"),
        pytest.param(date(2025, 9, 1), "100.00", "0.00", False, id="due_the_day_after_the_window"),
        pytest.param(date(2025, 7, 1), "100.00", "100.00", False, id="paid_in_full"),
        pytest.param(date(2025, 7, 1), "100.00", "150.00", False, id="overpaid"),
        pytest.param(date(2025, 7, 1), "100.00", "99.99", True, id="one_fen_unpaid"),
        pytest.param(date(2025, 7, 1), "0.00", "0.00", False, id="empty_statement"),
    ],
)
def test_statements_in_window(due: date, balance: str, paid: str, selected: bool) -> None:
    chosen = statements_in_window([statement(due, balance, paid=paid)], **WINDOW)
    assert bool(chosen) is selected


def test_no_statement_in_the_window_gives_zero_totals() -> None:
    result = defer([statement(date(2025, 5, 28), "3200.00")])
    assert result == DeferralResult(
        lines=(), deferred_amount=Decimal(0), interest_waived=Decimal(0), late_fees_waived=Decimal(0)
    )
    assert str(result.deferred_amount) == "0.00"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({"deferral_months": 0}, InvalidTerm, id="zero_months"),
        pytest.param({"daily_interest_rate": Decimal("-0.0005")}, InvalidRate, id="negative_rate"),
        pytest.param({"late_fee_rate": 0.05}, InvalidRate, id="float_rate"),
    ],
)
def test_compute_deferral_refuses_bad_parameters(
    options: dict[str, object], error: type[DomainError]
) -> None:
    arguments: dict[str, object] = {
        "deferral_months": 3,
        "daily_interest_rate": RATE,
        "late_fee_rate": LATE,
        **WINDOW,
        **options,
    }
    with pytest.raises(error):
        compute_deferral([statement(date(2025, 6, 28), "3200.00")], **arguments)  # type: ignore[arg-type]


statements_strategy = st.lists(
    st.builds(
        lambda due, balance_fen, minimum_share, paid_fen: Statement(
            statement_date=due.replace(day=1),
            due_date=due,
            statement_balance=from_fen(balance_fen),
            minimum_due=from_fen(balance_fen * minimum_share // 100),
            paid_amount=from_fen(paid_fen),
        ),
        due=st.dates(min_value=date(2025, 5, 1), max_value=date(2025, 9, 30)),
        balance_fen=st.integers(min_value=0, max_value=10**10),
        minimum_share=st.integers(min_value=0, max_value=100),
        paid_fen=st.integers(min_value=0, max_value=10**10),
    ),
    max_size=8,
)


@FAST
@given(
    statements=statements_strategy,
    months=st.integers(min_value=1, max_value=12),
    rate=st.sampled_from(["0", "0.0005", "0.00049315"]).map(Decimal),
)
def test_deferral_totals_equal_the_sums_of_the_lines(
    statements: list[Statement], months: int, rate: Decimal
) -> None:
    result = compute_deferral(
        statements, deferral_months=months, daily_interest_rate=rate, late_fee_rate=LATE, **WINDOW
    )
    assert result.deferred_amount == sum((line.deferred_amount for line in result.lines), Decimal(0))
    assert result.interest_waived == sum((line.interest_waived for line in result.lines), Decimal(0))
    assert result.late_fees_waived == sum((line.late_fee_waived for line in result.lines), Decimal(0))
    for line in result.lines:
        assert line.deferred_amount > 0
        assert line.interest_waived >= 0
        assert line.late_fee_waived >= 0
        assert line.new_due_date == add_months(line.due_date, months)
        assert line.new_due_date > line.due_date
        assert WINDOW["relief_start"] <= line.due_date <= WINDOW["relief_end"]
    assert (
        compute_deferral(
            statements, deferral_months=months, daily_interest_rate=rate, late_fee_rate=LATE, **WINDOW
        )
        == result
    )
