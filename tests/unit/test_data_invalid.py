"""DATA_INVALID: an account whose data makes a rule impossible to apply is refused, never an error
(DOMAIN.md, "Data that breaks a rule's arithmetic")."""

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.dates import add_months
from app.domain.deferrals import DeferralResult, deferral_leaves_calendar
from app.domain.eligibility import (
    Decision,
    evaluate_disaster_deferral,
    evaluate_disaster_deferral_for_events,
)
from app.domain.errors import InvalidDate
from app.domain.model import DisasterEvent, Statement
from tests.unit.test_eligibility import EVENT, POLICY, TODAY, judge_events, judge_installment, make_account

OPEN_ENDED = dataclasses.replace(EVENT, relief_end=date(9999, 12, 31))


def _statement(due: date) -> Statement:
    return Statement(
        date(due.year, due.month, 1), due, Decimal("1000.00"), Decimal("100.00"), Decimal("0.00")
    )


def judge(
    statements: tuple[Statement, ...],
    *,
    today: date | None = None,
    event: DisasterEvent = OPEN_ENDED,
    **account: object,
) -> Decision:
    return evaluate_disaster_deferral(
        make_account(**account), statements, event, policy=POLICY, already_enrolled=False, today=today
    )


@pytest.mark.parametrize(
    ("due", "codes"),
    [
        pytest.param(date(9999, 12, 31), ("DATA_INVALID",), id="9999-12-31 + 3 months"),
        pytest.param(date(9999, 10, 1), ("DATA_INVALID",), id="9999-10-01 + 3 months"),
        pytest.param(date(9999, 9, 30), (), id="9999-09-30 + 3 months is 9999-12-30"),
    ],
)
def test_a_deferral_that_would_leave_the_calendar_is_data_invalid(due: date, codes: tuple[str, ...]) -> None:
    decision = judge((_statement(date(2025, 6, 28)), _statement(due)))
    assert decision.reason_codes == codes
    assert decision.eligible is (not codes)
    assert (decision.offer is None) is bool(codes)
    if codes:
        assert decision.reasons[0].message == POLICY.reason_texts["DATA_INVALID"].zh


def test_data_invalid_is_listed_with_the_other_failed_rules_last() -> None:
    decision = judge((_statement(date(9999, 12, 31)),), status="closed")
    assert decision.reason_codes == ("ACCOUNT_STATUS_INELIGIBLE", "DATA_INVALID")


def test_a_statement_outside_the_window_breaks_nothing() -> None:
    assert judge((_statement(date(2025, 6, 28)), _statement(date(9999, 12, 31))), event=EVENT).eligible


def test_a_delinquency_that_starts_after_the_business_date_is_data_invalid() -> None:
    statements = (_statement(date(2025, 6, 28)),)
    after = {"status": "delinquent", "delinquent_since": date(2025, 6, 16)}
    assert judge(statements, today=TODAY, event=EVENT, **after).reason_codes == ("DATA_INVALID",)
    on_the_day = {"status": "delinquent", "delinquent_since": TODAY}
    assert judge(statements, today=TODAY, event=EVENT, **on_the_day).eligible
    # Without the business date (a caller that does not know it), the check is not made.
    assert judge(statements, event=EVENT, **after).eligible


def test_the_eligibility_answer_over_open_events_passes_the_business_date() -> None:
    account = make_account(status="delinquent", delinquent_since=date(2025, 7, 1))
    assert judge_events([EVENT], set(), account).eligible
    decision = evaluate_disaster_deferral_for_events(
        account, (_statement(date(2025, 6, 28)),), [EVENT], set(), policy=POLICY, today=TODAY
    )
    assert decision.reason_codes == ("DATA_INVALID",)


def test_an_installment_plan_for_a_delinquency_starting_after_today_is_data_invalid() -> None:
    later = make_account(status="delinquent", delinquent_since=date(2025, 6, 16))
    assert judge_installment(later).reason_codes == ("DATA_INVALID",)
    assert judge_installment(later, hardship_reason=None).reason_codes == (
        "HARDSHIP_REASON_REQUIRED",
        "DATA_INVALID",
    )
    assert judge_installment(make_account(status="delinquent", delinquent_since=TODAY)).eligible


@given(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.integers(min_value=-200_000, max_value=200_000),
)
def test_leaving_the_calendar_is_exactly_when_add_months_cannot(due: date, months: int) -> None:
    try:
        add_months(due, months)
        fails = False
    except InvalidDate:
        fails = True
    assert deferral_leaves_calendar([_statement(due)], months) is fails


def test_an_eligible_deferral_near_the_end_of_the_calendar_still_has_its_amounts() -> None:
    decision = judge((_statement(date(9999, 9, 30)),))
    assert isinstance(decision.offer, DeferralResult)
    assert decision.offer.lines[0].new_due_date == date(9999, 12, 30)
