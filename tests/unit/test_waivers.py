"""Waiver authority tiers, the repeat rule with its disaster exemption, and waiver validation."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import DomainError, InvalidMoney, InvalidWaiver
from app.domain.model import Account, DisasterEvent
from app.domain.money import from_fen
from app.domain.policy import Policy
from app.domain.waivers import (
    ApprovalReason,
    Authority,
    WaiverComponents,
    WaiverDecision,
    authority_limit,
    authority_window_start,
    decide_waiver_authority,
    disaster_covers_account,
    split_waiver,
)

TODAY = date(2025, 6, 15)
POLICY = Policy(version="test", effective_on=date(2020, 1, 1))
APPLIES = WaiverDecision(needs_approval=False, why=None)


def decide(
    amount: str,
    role: str,
    *,
    prior: date | None = None,
    reason: str = "illness",
    covered: bool = False,
    waived: str = "0.00",
) -> WaiverDecision:
    return decide_waiver_authority(
        Decimal(amount),
        role=role,
        policy=POLICY,
        prior_waiver_on=prior,
        today=TODAY,
        reason=reason,
        waived_in_window=Decimal(waived),
        disaster_covers_account=covered,
    )


@pytest.mark.parametrize(
    ("amount", "role", "expected"),
    [
        pytest.param("500.00", "agent", APPLIES, id="agent_500_00_applies_at_once"),
        pytest.param(
            "500.01",
            "agent",
            WaiverDecision(True, ApprovalReason.ABOVE_AUTHORITY_LIMIT),
            id="agent_500_01_waits",
        ),
        pytest.param("0.01", "agent", APPLIES, id="agent_one_fen"),
        pytest.param("500.01", "supervisor", APPLIES, id="supervisor_500_01_applies_at_once"),
        pytest.param("5000.00", "supervisor", APPLIES, id="supervisor_5000_00_applies_at_once"),
        pytest.param(
            "5000.01",
            "supervisor",
            WaiverDecision(True, ApprovalReason.ABOVE_AUTHORITY_LIMIT),
            id="supervisor_5000_01_waits",
        ),
        pytest.param(
            "1.00",
            "channel",
            WaiverDecision(True, ApprovalReason.ROLE_WITHOUT_AUTHORITY),
            id="channel_always_waits",
        ),
        pytest.param(
            "1.00",
            "admin",
            WaiverDecision(True, ApprovalReason.ROLE_WITHOUT_AUTHORITY),
            id="admin_always_waits",
        ),
        pytest.param(
            "1.00",
            "batch_operator",
            WaiverDecision(True, ApprovalReason.ROLE_WITHOUT_AUTHORITY),
            id="batch_operator_always_waits",
        ),
    ],
)
def test_authority_tiers(amount: str, role: str, expected: WaiverDecision) -> None:
    assert decide(amount, role) == expected


def test_authority_accepts_the_enum() -> None:
    assert decide("500.00", Authority.AGENT) == APPLIES


REPEAT = WaiverDecision(True, ApprovalReason.REPEAT_WITHIN_WINDOW)


@pytest.mark.parametrize(
    ("prior", "reason", "role", "amount", "expected"),
    [
        pytest.param(None, "illness", "agent", "100.00", APPLIES, id="first_waiver"),
        pytest.param(TODAY, "illness", "agent", "100.00", REPEAT, id="second_waiver_the_same_day"),
        pytest.param(
            TODAY - timedelta(days=364),
            "illness",
            "agent",
            "100.00",
            REPEAT,
            id="second_waiver_after_364_days",
        ),
        pytest.param(
            TODAY - timedelta(days=365),
            "illness",
            "agent",
            "100.00",
            APPLIES,
            id="second_waiver_after_365_days",
        ),
        pytest.param(
            TODAY - timedelta(days=10),
            "illness",
            "supervisor",
            "100.00",
            REPEAT,
            id="supervisor_repeat_also_waits",
        ),
        pytest.param(
            TODAY - timedelta(days=10),
            "disaster",
            "agent",
            "100.00",
            REPEAT,
            id="the_word_disaster_alone_exempts_nothing",
        ),
        pytest.param(
            TODAY - timedelta(days=10),
            "disaster",
            "agent",
            "500.01",
            WaiverDecision(True, ApprovalReason.ABOVE_AUTHORITY_LIMIT),
            id="disaster_exemption_does_not_lift_the_limit",
        ),
        pytest.param(
            TODAY - timedelta(days=10),
            "illness",
            "agent",
            "500.01",
            WaiverDecision(True, ApprovalReason.ABOVE_AUTHORITY_LIMIT),
            id="limit_reported_before_repeat",
        ),
    ],
)
def test_second_waiver_within_365_days_waits_unless_disaster(
    prior: date | None, reason: str, role: str, amount: str, expected: WaiverDecision
) -> None:
    assert decide(amount, role, prior=prior, reason=reason) == expected


def test_authority_limits_come_from_the_policy() -> None:
    policy = dataclasses.replace(
        POLICY, fee_waiver=dataclasses.replace(POLICY.fee_waiver, agent_limit=Decimal("200.00"))
    )
    decision = decide_waiver_authority(
        Decimal("200.01"), role="agent", policy=policy, prior_waiver_on=None, today=TODAY, reason="other"
    )
    assert decision.needs_approval


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(Decimal("0.00"), id="zero"),
        pytest.param(Decimal("-1.00"), id="negative"),
        pytest.param(Decimal("1.001"), id="fraction_of_a_fen"),
        pytest.param(100.0, id="float"),
    ],
)
def test_authority_refuses_amounts_that_are_not_a_waiver(amount: Decimal) -> None:
    with pytest.raises(InvalidMoney):
        decide_waiver_authority(
            amount, role="agent", policy=POLICY, prior_waiver_on=None, today=TODAY, reason="x"
        )


def make_account(fees: str = "300.00", interest: str = "100.01") -> Account:
    return Account(
        account_ref="ACC-1",
        customer_ref="CUS-1",
        product_code="STD_CLASSIC",
        status="active",
        region_code="622927",
        opened_on=date(2020, 1, 1),
        credit_limit=Decimal("20000.00"),
        principal_balance=Decimal("9000.00"),
        interest_balance=Decimal(interest),
        fee_balance=Decimal(fees),
        delinquent_since=None,
        last_payment_on=None,
    )


HALF_INTEREST = dataclasses.replace(
    POLICY, fee_waiver=dataclasses.replace(POLICY.fee_waiver, interest_waivable_share=Decimal("0.5"))
)


@pytest.mark.parametrize(
    ("fee", "interest", "policy", "expected"),
    [
        pytest.param("300.00", "0.00", POLICY, ("300.00", "0.00", "300.00"), id="all_fees"),
        pytest.param("120.50", "0.00", POLICY, ("120.50", "0.00", "120.50"), id="part_of_the_fees"),
        pytest.param(
            "300.00", "50.01", HALF_INTEREST, ("300.00", "50.01", "350.01"), id="half_interest_rounded_up"
        ),
        pytest.param("0.00", "10.00", HALF_INTEREST, ("0.00", "10.00", "10.00"), id="interest_only"),
    ],
)
def test_split_waiver_within_the_balances(
    fee: str, interest: str, policy: Policy, expected: tuple[str, str, str]
) -> None:
    components = split_waiver(make_account(), Decimal(fee), Decimal(interest), policy)
    assert components == WaiverComponents(*(Decimal(value) for value in expected))


@pytest.mark.parametrize(
    ("fee", "interest", "policy", "error"),
    [
        pytest.param("300.01", "0.00", POLICY, InvalidWaiver, id="more_than_the_fee_balance"),
        pytest.param("0.00", "0.01", POLICY, InvalidWaiver, id="interest_not_waivable_by_default"),
        pytest.param("0.00", "50.02", HALF_INTEREST, InvalidWaiver, id="more_than_the_waivable_share"),
        pytest.param("0.00", "0.00", POLICY, InvalidWaiver, id="nothing_waived"),
        pytest.param("-1.00", "0.00", POLICY, InvalidMoney, id="negative_fee"),
        pytest.param("1.001", "0.00", POLICY, InvalidMoney, id="fraction_of_a_fen"),
    ],
)
def test_split_waiver_refuses_too_much(
    fee: str, interest: str, policy: Policy, error: type[DomainError]
) -> None:
    with pytest.raises(error):
        split_waiver(make_account(), Decimal(fee), Decimal(interest), policy)


@pytest.mark.parametrize(
    ("reason", "covered", "expected"),
    [
        pytest.param("disaster", True, APPLIES, id="disaster_covering_the_account_exempts"),
        pytest.param("disaster", False, REPEAT, id="disaster_reason_without_a_covering_disaster_waits"),
        pytest.param("illness", True, REPEAT, id="covered_account_other_reason_waits"),
    ],
)
def test_disaster_exemption_needs_a_disaster_that_covers_the_account(
    reason: str, covered: bool, expected: WaiverDecision
) -> None:
    prior = TODAY - timedelta(days=10)
    assert decide("60.00", "agent", prior=prior, reason=reason, covered=covered) == expected


ABOVE = WaiverDecision(True, ApprovalReason.ABOVE_AUTHORITY_LIMIT)


@pytest.mark.parametrize(
    ("role", "waived", "amount", "expected"),
    [
        pytest.param("agent", "0.00", "500.00", APPLIES, id="agent_nothing_before"),
        pytest.param("agent", "400.00", "100.00", APPLIES, id="agent_reaches_the_limit_exactly"),
        pytest.param("agent", "400.00", "100.01", ABOVE, id="agent_one_fen_over_in_the_window"),
        pytest.param("agent", "500.00", "0.01", ABOVE, id="agent_limit_used_up"),
        pytest.param("supervisor", "4500.00", "500.00", APPLIES, id="supervisor_reaches_the_limit"),
        pytest.param("supervisor", "4500.00", "500.01", ABOVE, id="supervisor_over_in_the_window"),
    ],
)
def test_the_limit_covers_the_persons_waivers_in_the_authority_window(
    role: str, waived: str, amount: str, expected: WaiverDecision
) -> None:
    assert decide(amount, role, waived=waived) == expected


@pytest.mark.parametrize(
    ("days", "today", "start"),
    [
        pytest.param(30, date(2025, 6, 30), date(2025, 6, 1), id="thirty_days_today_included"),
        pytest.param(1, date(2025, 6, 30), date(2025, 6, 30), id="one_day_is_today"),
        pytest.param(30, date(2025, 3, 1), date(2025, 1, 31), id="across_february"),
    ],
)
def test_the_authority_window_counts_back_from_the_business_date(days: int, today: date, start: date) -> None:
    policy = dataclasses.replace(
        POLICY, fee_waiver=dataclasses.replace(POLICY.fee_waiver, authority_window_days=days)
    )
    assert authority_window_start(today, policy) == start


def test_the_default_authority_window_is_30_days() -> None:
    assert POLICY.fee_waiver.authority_window_days == 30


@given(
    role=st.sampled_from(["agent", "supervisor"]),
    parts=st.lists(st.integers(min_value=1, max_value=600_000).map(from_fen), min_size=1, max_size=8),
)
def test_splitting_a_request_never_gets_past_the_limit(role: str, parts: list[Decimal]) -> None:
    """Applied one after another by one person, the parts that apply at once never add up to more
    than the limit: whatever the split, what passes without a checker stays within the authority."""
    limit = authority_limit(role, POLICY)
    assert limit is not None
    waived = Decimal("0.00")
    for part in parts:
        decision = decide(str(part), role, waived=str(waived))
        if not decision.needs_approval:
            waived += part
        assert waived <= limit
    if sum(parts) <= limit:
        assert waived == sum(parts)  # within the limit every part applies


def _event(codes: tuple[str, ...], start: date, end: date) -> DisasterEvent:
    return DisasterEvent(
        code="EQ",
        occurred_on=start,
        relief_start=start,
        relief_end=end,
        deferral_months=3,
        region_codes=codes,
    )


@pytest.mark.parametrize(
    ("region", "events", "deferral", "expected"),
    [
        pytest.param("622927", [_event(("622900",), TODAY, TODAY)], False, True, id="covered_in_window"),
        pytest.param(
            "622927",
            [_event(("622900",), TODAY - timedelta(days=30), TODAY - timedelta(days=1))],
            False,
            False,
            id="relief_window_over",
        ),
        pytest.param(
            "622927",
            [_event(("622900",), TODAY + timedelta(days=1), TODAY + timedelta(days=9))],
            False,
            False,
            id="relief_window_not_begun",
        ),
        pytest.param("110101", [_event(("622900",), TODAY, TODAY)], False, False, id="region_not_covered"),
        pytest.param("110101", [], True, True, id="a_deferral_covers"),
        pytest.param("110101", [], False, False, id="no_disaster_at_all"),
        pytest.param("632122", [_event(("630222",), TODAY, TODAY)], False, True, id="old_code_mapped"),
    ],
)
def test_a_disaster_covers_the_account(
    region: str, events: list[DisasterEvent], deferral: bool, expected: bool
) -> None:
    assert (
        disaster_covers_account(
            region,
            open_events=events,
            region_code_changes={"632122": "630222"},
            has_deferral=deferral,
            today=TODAY,
        )
        is expected
    )
