"""The shared vocabulary: codes and values other systems depend on (CONTRACT.md)."""

import pytest

from app.domain.reasons import (
    DEFERRAL_REASON_ORDER,
    FEE_WAIVER_REASON_ORDER,
    INSTALLMENT_REASON_ORDER,
    AccountStatus,
    HardshipReason,
    Program,
    ReasonCode,
    ScheduleMethod,
)


def test_reason_codes_are_their_names() -> None:
    assert all(code.value == code.name for code in ReasonCode)
    assert {code.value for code in ReasonCode} == {
        "REGION_NOT_AFFECTED",
        "ACCOUNT_STATUS_INELIGIBLE",
        "OPENED_AFTER_EVENT",
        "PRE_EVENT_DELINQUENCY",
        "NO_AMOUNT_DUE_IN_WINDOW",
        "ALREADY_ENROLLED",
        "NO_OPEN_DISASTER",
        "DELINQUENCY_TOO_LONG",
        "BALANCE_TOO_LOW",
        "HARDSHIP_REASON_REQUIRED",
        "PLAN_ALREADY_ACTIVE",
        "RECENT_BROKEN_PLAN",
        "TERM_NOT_ALLOWED",
        "NO_FEES_OUTSTANDING",
        "DATA_INVALID",
    }


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        pytest.param(Program, {"installment_plan", "fee_waiver", "disaster_deferral"}, id="programs"),
        pytest.param(
            AccountStatus, {"active", "delinquent", "closed", "charged_off", "fraud"}, id="account_statuses"
        ),
        pytest.param(
            HardshipReason,
            {"unemployment", "illness", "disaster", "income_reduction", "bereavement", "other"},
            id="hardship_reasons",
        ),
        pytest.param(ScheduleMethod, {"equal_principal", "annuity"}, id="schedule_methods"),
    ],
)
def test_enum_values_are_stable(enum: type, values: set[str]) -> None:
    assert {member.value for member in enum} == values  # type: ignore[attr-defined]


def test_enum_members_compare_equal_to_their_text() -> None:
    assert Program.FEE_WAIVER == "fee_waiver"
    assert ReasonCode.TERM_NOT_ALLOWED == "TERM_NOT_ALLOWED"
    assert "charged_off" in {AccountStatus.CHARGED_OFF}


def test_rule_orders_follow_the_domain_tables_and_share_no_code_across_a_table() -> None:
    for order in (DEFERRAL_REASON_ORDER, INSTALLMENT_REASON_ORDER, FEE_WAIVER_REASON_ORDER):
        assert len(set(order)) == len(order)
    assert DEFERRAL_REASON_ORDER[0] is ReasonCode.REGION_NOT_AFFECTED
    assert DEFERRAL_REASON_ORDER[-2:] == (ReasonCode.ALREADY_ENROLLED, ReasonCode.DATA_INVALID)
    assert INSTALLMENT_REASON_ORDER[-2:] == (ReasonCode.TERM_NOT_ALLOWED, ReasonCode.DATA_INVALID)
    used = {*DEFERRAL_REASON_ORDER, *INSTALLMENT_REASON_ORDER, *FEE_WAIVER_REASON_ORDER}
    assert set(ReasonCode) - used == {ReasonCode.NO_OPEN_DISASTER}
