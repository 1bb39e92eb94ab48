"""Eligibility: every failed rule is reported, in the order of the DOMAIN.md tables."""

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.deferrals import DeferralResult
from app.domain.eligibility import (
    Decision,
    InstallmentOffer,
    WaiverOffer,
    evaluate_disaster_deferral,
    evaluate_disaster_deferral_for_events,
    evaluate_fee_waiver,
    evaluate_installment_plan,
)
from app.domain.model import Account, DisasterEvent, Statement
from app.domain.policy import Policy, parse_policy
from app.domain.reasons import Program

POLICY = parse_policy(
    (Path(__file__).resolve().parents[2] / "app" / "policies" / "v1.toml").read_text(encoding="utf-8")
)
TODAY = date(2025, 6, 15)


def make_account(**overrides: object) -> Account:
    values: dict[str, object] = {
        "account_ref": "ACC-1",
        "customer_ref": "CUS-1",
        "product_code": "STD_CLASSIC",
        "status": "active",
        "region_code": "622927",
        "opened_on": date(2020, 1, 1),
        "credit_limit": Decimal("20000.00"),
        "principal_balance": Decimal("9000.00"),
        "interest_balance": Decimal("500.00"),
        "fee_balance": Decimal("500.00"),
        "delinquent_since": None,
        "last_payment_on": None,
    }
    values.update(overrides)
    return Account(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- installment plan


def judge_installment(account: Account | None = None, **overrides: object) -> Decision:
    arguments: dict[str, object] = {
        "policy": POLICY,
        "today": TODAY,
        "hardship_reason": "unemployment",
        "monthly_income": None,
        "requested_term": None,
        "has_active_plan": False,
        "last_broken_plan_on": None,
    }
    arguments.update(overrides)
    return evaluate_installment_plan(account or make_account(), **arguments)  # type: ignore[arg-type]


def test_an_eligible_installment_plan_comes_with_an_offer() -> None:
    decision = judge_installment(monthly_income=Decimal("2000.00"))
    assert decision.program is Program.INSTALLMENT_PLAN
    assert decision.eligible
    assert decision.reasons == ()
    assert decision.policy_version == "2025.1"
    assert decision.offer == InstallmentOffer(
        restructured_principal=Decimal("9500.00"),
        fees_waived=Decimal("500.00"),
        min_term=1,
        max_term=60,
        allowed_terms=tuple(range(1, 61)),
        recommended_term=10,
        monthly_fee_rate=Decimal("0"),
    )


@pytest.mark.parametrize(
    ("account_changes", "arguments", "codes"),
    [
        pytest.param({}, {}, (), id="eligible"),
        pytest.param({"status": "delinquent"}, {}, (), id="delinquent_status_is_eligible"),
        pytest.param({"status": "closed"}, {}, ("ACCOUNT_STATUS_INELIGIBLE",), id="closed_account"),
        pytest.param({"status": "charged_off"}, {}, ("ACCOUNT_STATUS_INELIGIBLE",), id="charged_off_account"),
        pytest.param({"status": "fraud"}, {}, ("ACCOUNT_STATUS_INELIGIBLE",), id="fraud_account"),
        pytest.param({"delinquent_since": date(2024, 12, 17)}, {}, (), id="180_days_past_due_is_eligible"),
        pytest.param(
            {"delinquent_since": date(2024, 12, 16)},
            {},
            ("DELINQUENCY_TOO_LONG",),
            id="181_days_past_due_is_refused",
        ),
        pytest.param(
            {
                "principal_balance": Decimal("499.99"),
                "interest_balance": Decimal("0"),
                "fee_balance": Decimal("500"),
            },
            {},
            ("BALANCE_TOO_LOW",),
            id="balance_999_99_is_too_low",
        ),
        pytest.param(
            {
                "principal_balance": Decimal("500.00"),
                "interest_balance": Decimal("0"),
                "fee_balance": Decimal("500"),
            },
            {},
            (),
            id="balance_1000_00_is_enough",
        ),
        pytest.param({}, {"hardship_reason": None}, ("HARDSHIP_REASON_REQUIRED",), id="no_hardship_reason"),
        pytest.param(
            {}, {"hardship_reason": "holiday"}, ("HARDSHIP_REASON_REQUIRED",), id="unknown_hardship_reason"
        ),
        pytest.param({}, {"hardship_reason": "other"}, (), id="other_is_a_reason"),
        pytest.param({}, {"has_active_plan": True}, ("PLAN_ALREADY_ACTIVE",), id="plan_already_active"),
        pytest.param(
            {},
            {"last_broken_plan_on": date(2024, 6, 16)},
            ("RECENT_BROKEN_PLAN",),
            id="broken_12_months_less_a_day_ago",
        ),
        pytest.param({}, {"last_broken_plan_on": date(2024, 6, 15)}, (), id="broken_exactly_12_months_ago"),
        pytest.param({}, {"last_broken_plan_on": date(2023, 1, 1)}, (), id="broken_long_ago"),
        pytest.param({}, {"requested_term": 60}, (), id="term_of_60_months"),
        pytest.param({}, {"requested_term": 61}, ("TERM_NOT_ALLOWED",), id="term_of_61_months"),
        pytest.param({}, {"requested_term": 0}, ("TERM_NOT_ALLOWED",), id="term_of_0_months"),
        pytest.param(
            {"principal_balance": Decimal("5999.99"), "interest_balance": Decimal("0")},
            {"requested_term": 60},
            ("TERM_NOT_ALLOWED",),
            id="installment_of_99_99_is_not_allowed",
        ),
        pytest.param(
            {"principal_balance": Decimal("6000.00"), "interest_balance": Decimal("0")},
            {"requested_term": 60},
            (),
            id="installment_of_100_00_is_allowed",
        ),
        pytest.param(
            {
                "principal_balance": Decimal("0"),
                "interest_balance": Decimal("0"),
                "fee_balance": Decimal("1200.00"),
            },
            {},
            ("TERM_NOT_ALLOWED",),
            id="only_fees_leaves_nothing_to_spread",
        ),
    ],
)
def test_installment_plan_rules(
    account_changes: dict[str, object], arguments: dict[str, object], codes: tuple[str, ...]
) -> None:
    decision = judge_installment(make_account(**account_changes), **arguments)
    assert decision.reason_codes == codes
    assert decision.eligible is (not codes)
    assert (decision.offer is None) is bool(codes)


def test_installment_plan_reports_every_failed_rule_in_table_order() -> None:
    account = make_account(
        status="closed",
        delinquent_since=date(2024, 1, 1),
        principal_balance=Decimal("100.00"),
        interest_balance=Decimal("0"),
        fee_balance=Decimal("0"),
    )
    decision = judge_installment(
        account,
        hardship_reason=None,
        has_active_plan=True,
        last_broken_plan_on=date(2025, 1, 1),
        requested_term=12,
        lang="en",
    )
    assert decision.reason_codes == (
        "ACCOUNT_STATUS_INELIGIBLE",
        "DELINQUENCY_TOO_LONG",
        "BALANCE_TOO_LOW",
        "HARDSHIP_REASON_REQUIRED",
        "PLAN_ALREADY_ACTIVE",
        "RECENT_BROKEN_PLAN",
        "TERM_NOT_ALLOWED",
    )
    assert decision.reasons[0].message == POLICY.reason_texts["ACCOUNT_STATUS_INELIGIBLE"].en


def test_reasons_are_worded_in_the_requested_language() -> None:
    chinese = judge_installment(has_active_plan=True)
    english = judge_installment(has_active_plan=True, lang="en")
    assert chinese.reasons[0].message == POLICY.reason_texts["PLAN_ALREADY_ACTIVE"].zh
    assert english.reasons[0].message == POLICY.reason_texts["PLAN_ALREADY_ACTIVE"].en


def test_installment_offer_without_income_recommends_nothing() -> None:
    offer = judge_installment().offer
    assert isinstance(offer, InstallmentOffer)
    assert offer.recommended_term is None


# ---------------------------------------------------------------- fee waiver


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        pytest.param({}, (), id="fees_outstanding"),
        pytest.param({"status": "delinquent"}, (), id="delinquent_with_fees"),
        pytest.param({"status": "closed"}, ("ACCOUNT_STATUS_INELIGIBLE",), id="closed_account"),
        pytest.param({"fee_balance": Decimal("0")}, ("NO_FEES_OUTSTANDING",), id="no_fees"),
        pytest.param({"fee_balance": Decimal("0.01")}, (), id="one_fen_of_fees"),
        pytest.param(
            {"status": "fraud", "fee_balance": Decimal("0")},
            ("ACCOUNT_STATUS_INELIGIBLE", "NO_FEES_OUTSTANDING"),
            id="both_rules_fail_in_order",
        ),
    ],
)
def test_fee_waiver_rules(changes: dict[str, object], codes: tuple[str, ...]) -> None:
    decision = evaluate_fee_waiver(make_account(**changes), policy=POLICY, today=TODAY, lang="zh")
    assert decision.program is Program.FEE_WAIVER
    assert decision.reason_codes == codes
    assert decision.eligible is (not codes)


def test_fee_waiver_offer_has_all_fees_and_the_waivable_interest() -> None:
    decision = evaluate_fee_waiver(make_account(), policy=POLICY, today=TODAY, lang="zh")
    assert decision.offer == WaiverOffer(
        waivable_fee_amount=Decimal("500.00"), waivable_interest_amount=Decimal("0")
    )
    generous = dataclasses.replace(
        POLICY, fee_waiver=dataclasses.replace(POLICY.fee_waiver, interest_waivable_share=Decimal("0.3"))
    )
    decision = evaluate_fee_waiver(
        make_account(interest_balance=Decimal("100.05")), policy=generous, today=TODAY
    )
    assert decision.offer == WaiverOffer(Decimal("500.00"), Decimal("30.02"))  # 30.015 rounds up


# ---------------------------------------------------------------- disaster deferral

EVENT = DisasterEvent(
    code="FLOOD-2025",
    occurred_on=date(2025, 6, 1),
    relief_start=date(2025, 6, 1),
    relief_end=date(2025, 8, 31),
    deferral_months=3,
    region_codes=("622900",),
)
STATEMENTS = (
    Statement(date(2025, 5, 31), date(2025, 6, 28), Decimal("3200.00"), Decimal("320.00"), Decimal("0.00")),
    Statement(
        date(2025, 4, 30), date(2025, 5, 28), Decimal("1000.00"), Decimal("100.00"), Decimal("1000.00")
    ),
)


def judge_deferral(
    account: Account | None = None,
    statements: tuple[Statement, ...] = STATEMENTS,
    event: DisasterEvent = EVENT,
    *,
    already_enrolled: bool = False,
    policy: Policy = POLICY,
) -> Decision:
    return evaluate_disaster_deferral(
        account or make_account(),
        statements,
        event,
        policy=policy,
        already_enrolled=already_enrolled,
        lang="en",
    )


def test_an_eligible_deferral_carries_the_amounts() -> None:
    decision = judge_deferral()
    assert decision.eligible
    assert decision.program is Program.DISASTER_DEFERRAL
    assert isinstance(decision.offer, DeferralResult)
    (line,) = decision.offer.lines
    assert (line.new_due_date, line.interest_waived, line.late_fee_waived) == (
        date(2025, 9, 28),
        Decimal("147.20"),
        Decimal("16.00"),
    )


def _due(day: date, paid: str = "0.00") -> tuple[Statement, ...]:
    return (Statement(date(2025, 5, 1), day, Decimal("100.00"), Decimal("10.00"), Decimal(paid)),)


@pytest.mark.parametrize(
    ("account_changes", "statements", "enrolled", "codes"),
    [
        pytest.param({}, STATEMENTS, False, (), id="eligible"),
        pytest.param(
            {"region_code": "622826"}, STATEMENTS, False, ("REGION_NOT_AFFECTED",), id="other_prefecture"
        ),
        pytest.param(
            {"region_code": "620102"}, STATEMENTS, False, ("REGION_NOT_AFFECTED",), id="same_province_only"
        ),
        pytest.param({"status": "delinquent"}, STATEMENTS, False, (), id="delinquent_status_is_eligible"),
        pytest.param({"status": "closed"}, STATEMENTS, False, ("ACCOUNT_STATUS_INELIGIBLE",), id="closed"),
        pytest.param(
            {"status": "charged_off"}, STATEMENTS, False, ("ACCOUNT_STATUS_INELIGIBLE",), id="charged_off"
        ),
        pytest.param({"status": "fraud"}, STATEMENTS, False, ("ACCOUNT_STATUS_INELIGIBLE",), id="fraud"),
        pytest.param({"opened_on": date(2025, 5, 31)}, STATEMENTS, False, (), id="opened_the_day_before"),
        pytest.param(
            {"opened_on": date(2025, 6, 1)},
            STATEMENTS,
            False,
            ("OPENED_AFTER_EVENT",),
            id="opened_on_the_day",
        ),
        pytest.param(
            {"opened_on": date(2025, 6, 2)}, STATEMENTS, False, ("OPENED_AFTER_EVENT",), id="opened_after"
        ),
        pytest.param(
            {"delinquent_since": date(2025, 5, 2)}, STATEMENTS, False, (), id="30_days_past_due_is_eligible"
        ),
        pytest.param(
            {"delinquent_since": date(2025, 5, 1)},
            STATEMENTS,
            False,
            ("PRE_EVENT_DELINQUENCY",),
            id="31_days_past_due_is_ineligible",
        ),
        pytest.param(
            {"delinquent_since": date(2025, 7, 1)}, STATEMENTS, False, (), id="delinquent_since_the_disaster"
        ),
        pytest.param({}, _due(date(2025, 6, 1)), False, (), id="due_on_relief_start"),
        pytest.param({}, _due(date(2025, 8, 31)), False, (), id="due_on_relief_end"),
        pytest.param(
            {}, _due(date(2025, 5, 31)), False, ("NO_AMOUNT_DUE_IN_WINDOW",), id="due_before_window"
        ),
        pytest.param({}, _due(date(2025, 9, 1)), False, ("NO_AMOUNT_DUE_IN_WINDOW",), id="due_after_window"),
        pytest.param(
            {}, _due(date(2025, 7, 1), paid="100.00"), False, ("NO_AMOUNT_DUE_IN_WINDOW",), id="paid_in_full"
        ),
        pytest.param({}, (), False, ("NO_AMOUNT_DUE_IN_WINDOW",), id="no_statements"),
        pytest.param({}, STATEMENTS, True, ("ALREADY_ENROLLED",), id="already_enrolled"),
    ],
)
def test_disaster_deferral_rules(
    account_changes: dict[str, object],
    statements: tuple[Statement, ...],
    enrolled: bool,
    codes: tuple[str, ...],
) -> None:
    decision = judge_deferral(make_account(**account_changes), statements, already_enrolled=enrolled)
    assert decision.reason_codes == codes
    assert decision.eligible is (not codes)
    assert (decision.offer is None) is bool(codes)


def test_disaster_deferral_reports_every_failed_rule_in_table_order() -> None:
    account = make_account(
        region_code="110105", status="closed", opened_on=date(2025, 6, 2), delinquent_since=date(2025, 1, 1)
    )
    decision = judge_deferral(account, (), already_enrolled=True)
    assert decision.reason_codes == (
        "REGION_NOT_AFFECTED",
        "ACCOUNT_STATUS_INELIGIBLE",
        "OPENED_AFTER_EVENT",
        "PRE_EVENT_DELINQUENCY",
        "NO_AMOUNT_DUE_IN_WINDOW",
        "ALREADY_ENROLLED",
    )
    assert [reason.message for reason in decision.reasons] == [
        POLICY.reason_texts[code].en for code in decision.reason_codes
    ]


MINHE_EVENT = dataclasses.replace(EVENT, code="QH-2025", region_codes=("630222",))


def test_minhe_under_its_old_code_is_covered_through_the_change_table() -> None:
    account = make_account(region_code="632122")
    assert judge_deferral(account, event=MINHE_EVENT).eligible
    no_table = dataclasses.replace(POLICY, region_code_changes={})
    assert judge_deferral(account, event=MINHE_EVENT, policy=no_table).reason_codes == (
        "REGION_NOT_AFFECTED",
    )


def judge_events(events: list[DisasterEvent], enrolled: set[str], account: Account | None = None) -> Decision:
    return evaluate_disaster_deferral_for_events(
        account or make_account(), STATEMENTS, events, enrolled, policy=POLICY, lang="zh"
    )


def test_no_open_event_covering_the_region_is_no_open_disaster() -> None:
    assert judge_events([], set()).reason_codes == ("NO_OPEN_DISASTER",)
    assert judge_events([MINHE_EVENT], set()).reason_codes == ("NO_OPEN_DISASTER",)
    decision = judge_events([], set())
    assert decision.reasons[0].message == POLICY.reason_texts["NO_OPEN_DISASTER"].zh
    assert not decision.eligible


def test_the_first_eligible_covering_event_decides() -> None:
    second = dataclasses.replace(EVENT, code="QUAKE-2025", region_codes=("620000",))
    decision = judge_events([MINHE_EVENT, EVENT, second], {"FLOOD-2025"})
    assert decision.eligible
    assert isinstance(decision.offer, DeferralResult)
    assert decision.offer.deferred_amount == Decimal("3200.00")


def test_without_an_eligible_event_the_reasons_of_the_covering_events_are_merged() -> None:
    late = dataclasses.replace(EVENT, code="LATE-2025", occurred_on=date(2020, 1, 1))
    decision = judge_events([MINHE_EVENT, late, EVENT], {"FLOOD-2025"})
    assert not decision.eligible
    assert decision.offer is None
    assert decision.reason_codes == ("OPENED_AFTER_EVENT", "ALREADY_ENROLLED")


def test_decisions_are_deterministic() -> None:
    assert judge_deferral() == judge_deferral()
    assert judge_installment(monthly_income=Decimal("3000.00")) == judge_installment(
        monthly_income=Decimal("3000.00")
    )


@pytest.mark.parametrize("region", ["622901", "622900", "620000", "110101", "62290X"])
@pytest.mark.parametrize("status", ["active", "closed"])
def test_a_region_judged_once_gives_the_decision_judged_per_account(region: str, status: str) -> None:
    """A scan passes ``region_covered`` from one is_covered call per distinct region code."""
    from app.domain.regions import is_covered

    account = make_account(region_code=region, status=status)
    covered = is_covered(region, EVENT.region_codes, POLICY.region_code_changes)
    given = evaluate_disaster_deferral(
        account, STATEMENTS, EVENT, policy=POLICY, already_enrolled=False, lang="en", region_covered=covered
    )
    assert given == judge_deferral(account)
