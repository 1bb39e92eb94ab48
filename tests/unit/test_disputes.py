"""Credit-report disputes: every lifecycle transition, the 20-day deadline, the disputed period."""

from datetime import date

import pytest

from app.domain.disputes import (
    DisputeStatus,
    disaster_dispute_period,
    dispute_due_by,
    is_overdue,
    transition_dispute,
)
from app.domain.errors import InvalidTerm, InvalidTransition
from app.domain.model import DisasterEvent

ALLOWED = {
    ("submitted", "under_review"),
    ("submitted", "withdrawn"),
    ("under_review", "corrected"),
    ("under_review", "rejected"),
    ("under_review", "withdrawn"),
}
ALL_PAIRS = [(current.value, target.value) for current in DisputeStatus for target in DisputeStatus]


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(current, target, id=f"{current}_to_{target}")
        for current, target in ALL_PAIRS
        if (current, target) in ALLOWED
    ],
)
def test_allowed_dispute_transitions(current: str, target: str) -> None:
    assert transition_dispute(current, target) == DisputeStatus(target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(current, target, id=f"{current}_to_{target}_is_refused")
        for current, target in ALL_PAIRS
        if (current, target) not in ALLOWED
    ],
)
def test_refused_dispute_transitions(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition):
        transition_dispute(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param("submitted", "closed", id="unknown_target"),
        pytest.param("draft", "submitted", id="unknown_current"),
    ],
)
def test_unknown_dispute_statuses_are_refused(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition):
        transition_dispute(current, target)


@pytest.mark.parametrize(
    ("submitted_on", "due_days", "due_by"),
    [
        pytest.param(date(2024, 1, 1), 20, date(2024, 1, 21), id="pboc_20_days"),
        pytest.param(date(2024, 2, 20), 20, date(2024, 3, 11), id="across_leap_february"),
        pytest.param(date(2023, 2, 20), 20, date(2023, 3, 12), id="across_common_february"),
        pytest.param(date(2025, 12, 20), 30, date(2026, 1, 19), id="us_30_days_across_the_year"),
    ],
)
def test_dispute_due_by(submitted_on: date, due_days: int, due_by: date) -> None:
    assert dispute_due_by(submitted_on, due_days) == due_by


def test_dispute_due_by_refuses_zero_days() -> None:
    with pytest.raises(InvalidTerm):
        dispute_due_by(date(2024, 1, 1), 0)


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        pytest.param("submitted", date(2024, 1, 21), False, id="submitted_on_the_due_day"),
        pytest.param("submitted", date(2024, 1, 22), True, id="submitted_a_day_late"),
        pytest.param("under_review", date(2024, 1, 22), True, id="under_review_a_day_late"),
        pytest.param("corrected", date(2024, 3, 1), False, id="corrected_is_closed"),
        pytest.param("rejected", date(2024, 3, 1), False, id="rejected_is_closed"),
        pytest.param("withdrawn", date(2024, 3, 1), False, id="withdrawn_is_closed"),
    ],
)
def test_is_overdue_only_for_open_disputes_after_the_due_day(status: str, today: date, overdue: bool) -> None:
    assert is_overdue(status, date(2024, 1, 21), today) is overdue


EVENT = DisasterEvent(
    code="JSS-2023",
    occurred_on=date(2023, 12, 18),
    relief_start=date(2023, 12, 18),
    relief_end=date(2024, 3, 31),
    deferral_months=3,
    region_codes=("622927",),
)


@pytest.mark.parametrize(
    ("delinquent_since", "period"),
    [
        pytest.param(None, None, id="current_account"),
        pytest.param(date(2023, 12, 17), None, id="delinquent_before_the_disaster"),
        pytest.param(date(2023, 12, 18), (date(2023, 12, 18), date(2024, 3, 31)), id="delinquent_on_the_day"),
        pytest.param(
            date(2024, 1, 28), (date(2024, 1, 28), date(2024, 3, 31)), id="delinquent_during_relief"
        ),
        pytest.param(
            date(2024, 3, 31), (date(2024, 3, 31), date(2024, 3, 31)), id="delinquent_on_relief_end"
        ),
        pytest.param(date(2024, 4, 1), None, id="delinquent_after_relief"),
    ],
)
def test_disaster_dispute_period(delinquent_since: date | None, period: tuple[date, date] | None) -> None:
    assert disaster_dispute_period(delinquent_since, EVENT) == period
