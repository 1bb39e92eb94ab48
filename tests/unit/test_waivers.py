"""Waiver authority tiers, the repeat rule with its disaster exemption, and waiver validation."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.domain.errors import DomainError, InvalidMoney, InvalidWaiver
from app.domain.model import Account
from app.domain.policy import Policy
from app.domain.waivers import (
    ApprovalReason,
    Authority,
    WaiverComponents,
    WaiverDecision,
    decide_waiver_authority,
    split_waiver,
)

TODAY = date(2025, 6, 15)
POLICY = Policy(version="test", effective_on=date(2020, 1, 1))
APPLIES = WaiverDecision(needs_approval=False, why=None)


def decide(amount: str, role: str, *, prior: date | None = None, reason: str = "illness") -> WaiverDecision:
    return decide_waiver_authority(
        Decimal(amount), role=role, policy=POLICY, prior_waiver_on=prior, today=TODAY, reason=reason
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
            APPLIES,
            id="disaster_is_exempt_from_repeat",
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
