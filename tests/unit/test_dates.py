"""Calendar arithmetic: the month-end rule, leap years, days past due."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.dates import (
    add_days,
    add_months,
    days_between,
    days_in_month,
    days_past_due,
    monthly_dates,
)
from app.domain.errors import InvalidDate

FAST = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="jan31_plus_1_leap_year_is_feb29"),
        pytest.param(date(2023, 1, 31), 1, date(2023, 2, 28), id="jan31_plus_1_common_year_is_feb28"),
        pytest.param(date(1900, 1, 31), 1, date(1900, 2, 28), id="1900_is_not_a_leap_year"),
        pytest.param(date(2000, 1, 31), 1, date(2000, 2, 29), id="2000_is_a_leap_year"),
        pytest.param(date(2025, 7, 31), 3, date(2025, 10, 31), id="jul31_plus_3_is_oct31"),
        pytest.param(date(2025, 6, 28), 3, date(2025, 9, 28), id="jun28_plus_3_is_sep28"),
        pytest.param(date(2025, 1, 31), 2, date(2025, 3, 31), id="month_end_restored_from_the_start"),
        pytest.param(date(2025, 3, 31), 1, date(2025, 4, 30), id="mar31_plus_1_is_apr30"),
        pytest.param(date(2025, 8, 31), 1, date(2025, 9, 30), id="aug31_plus_1_is_sep30"),
        pytest.param(date(2025, 12, 15), 1, date(2026, 1, 15), id="crosses_the_year"),
        pytest.param(date(2025, 11, 30), 3, date(2026, 2, 28), id="crosses_the_year_to_february"),
        pytest.param(date(2024, 2, 29), 12, date(2025, 2, 28), id="feb29_plus_a_year"),
        pytest.param(date(2024, 2, 29), 48, date(2028, 2, 29), id="feb29_plus_four_years"),
        pytest.param(date(2025, 5, 17), 0, date(2025, 5, 17), id="zero_months"),
        pytest.param(date(2025, 3, 31), -1, date(2025, 2, 28), id="minus_one_month_to_february"),
        pytest.param(date(2025, 1, 15), -1, date(2024, 12, 15), id="minus_one_month_crosses_the_year"),
        pytest.param(date(2025, 6, 15), -12, date(2024, 6, 15), id="minus_twelve_months"),
        pytest.param(date(2025, 1, 31), 60, date(2030, 1, 31), id="five_years"),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "months"),
    [
        pytest.param(date(9999, 12, 1), 1, id="after_year_9999"),
        pytest.param(date(1, 1, 1), -1, id="before_year_1"),
    ],
)
def test_add_months_refuses_to_leave_the_calendar(start: date, months: int) -> None:
    with pytest.raises(InvalidDate):
        add_months(start, months)


def test_add_days_refuses_to_leave_the_calendar() -> None:
    with pytest.raises(InvalidDate):
        add_days(date(9999, 12, 31), 1)


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [
        pytest.param(2024, 2, 29, id="leap_february"),
        pytest.param(2023, 2, 28, id="common_february"),
        pytest.param(2100, 2, 28, id="century_not_leap"),
        pytest.param(2025, 4, 30, id="april"),
        pytest.param(2025, 12, 31, id="december"),
    ],
)
def test_days_in_month(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        pytest.param(date(2025, 6, 28), date(2025, 9, 28), 92, id="three_months_from_jun28"),
        pytest.param(date(2025, 7, 31), date(2025, 10, 31), 92, id="three_months_from_jul31"),
        pytest.param(date(2024, 2, 1), date(2024, 3, 1), 29, id="leap_february"),
        pytest.param(date(2025, 1, 1), date(2025, 1, 1), 0, id="same_day"),
        pytest.param(date(2025, 1, 2), date(2025, 1, 1), -1, id="backwards"),
    ],
)
def test_days_between_is_end_minus_start(start: date, end: date, days: int) -> None:
    assert days_between(start, end) == days


@pytest.mark.parametrize(
    ("delinquent_since", "on", "days"),
    [
        pytest.param(None, date(2025, 6, 1), 0, id="current_account"),
        pytest.param(date(2025, 5, 2), date(2025, 6, 1), 30, id="thirty_days"),
        pytest.param(date(2025, 5, 1), date(2025, 6, 1), 31, id="thirty_one_days"),
        pytest.param(date(2025, 6, 1), date(2025, 6, 1), 0, id="delinquent_today"),
        pytest.param(date(2025, 7, 1), date(2025, 6, 1), 0, id="delinquent_later_is_not_past_due_yet"),
    ],
)
def test_days_past_due_counts_from_delinquent_since(
    delinquent_since: date | None, on: date, days: int
) -> None:
    assert days_past_due(delinquent_since, on) == days


@FAST
@given(
    start=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), months=st.integers(-600, 600)
)
def test_add_months_never_lands_on_another_month_than_intended(start: date, months: int) -> None:
    result = add_months(start, months)
    assert result.year * 12 + result.month == start.year * 12 + start.month + months
    assert result.day == min(start.day, days_in_month(result.year, result.month))


@FAST
@given(start=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), months=st.integers(0, 120))
def test_add_months_increases_strictly_with_the_months(start: date, months: int) -> None:
    assert add_months(start, months) < add_months(start, months + 1)


@FAST
@given(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)), st.integers(min_value=0, max_value=61)
)
def test_monthly_dates_are_add_months_one_by_one(start: date, count: int) -> None:
    try:
        expected: list[date] | str = [add_months(start, k) for k in range(1, count + 1)]
    except InvalidDate as error:
        expected = str(error)
    try:
        got: list[date] | str = monthly_dates(start, count)
    except InvalidDate as error:
        got = str(error)
    assert got == expected


@pytest.mark.parametrize("year", [1, 1900, 2000, 2023, 2024, 9999])
def test_days_in_month_counts_the_calendar(year: int) -> None:
    for month in range(1, 12):
        assert days_in_month(year, month) == (date(year, month + 1, 1) - date(year, month, 1)).days
    assert days_in_month(year, 12) == 31
