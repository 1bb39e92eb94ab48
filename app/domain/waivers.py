"""Fee and interest waivers: who may apply them at once, and what may be waived.

DOMAIN.md, "Fee and interest waiver": an agent may waive up to 500.00 per request, a supervisor up
to 5,000.00; anything larger, or a second waiver within 365 days (except for disaster reasons),
waits for a supervisor's approval. Waived fees are late fees / penalties (at most the fee balance);
interest only up to the policy's waivable share of the interest balance.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.domain.dates import days_between
from app.domain.errors import InvalidMoney, InvalidWaiver
from app.domain.model import Account
from app.domain.money import ZERO, require_cents, round_money
from app.domain.policy import Policy

__all__ = [
    "ApprovalReason",
    "Authority",
    "WaiverComponents",
    "WaiverDecision",
    "decide_waiver_authority",
    "max_waivable_interest",
    "split_waiver",
]


class Authority(StrEnum):
    """Roles that hold waiver authority of their own."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


class ApprovalReason(StrEnum):
    """Why a waiver waits for a supervisor's approval (the ``why`` of a WaiverDecision)."""

    ROLE_WITHOUT_AUTHORITY = "role_without_authority"
    ABOVE_AUTHORITY_LIMIT = "above_authority_limit"
    REPEAT_WITHIN_WINDOW = "repeat_within_window"


@dataclass(frozen=True, slots=True)
class WaiverDecision:
    """Whether a waiver applies at once or waits for approval, and why (an ApprovalReason value)."""

    needs_approval: bool
    why: str | None


@dataclass(frozen=True, slots=True)
class WaiverComponents:
    """A validated waiver: fees and interest waived, and their total."""

    fee_waived: Decimal
    interest_waived: Decimal
    total: Decimal


def decide_waiver_authority(
    amount: Decimal,
    *,
    role: str,
    policy: Policy,
    prior_waiver_on: date | None,
    today: date,
    reason: str,
) -> WaiverDecision:
    """Decide whether ``role`` may apply a waiver of ``amount`` at once.

    - agent: up to fee_waiver.agent_limit (500.00); supervisor: up to supervisor_limit (5,000.00);
      any other role always needs approval;
    - a second waiver less than repeat_window_days (365) after the prior one needs approval, unless
      ``reason`` is exempt (disaster). Exactly 365 days later counts as a new window.
    The first failing check is reported, in that order. Raises InvalidMoney for amount <= 0.
    """
    value = require_cents(amount, name="amount")
    if value <= 0:
        raise InvalidMoney(f"a waiver must be above 0, got {amount}")
    rules = policy.fee_waiver
    if role == Authority.AGENT:
        limit = rules.agent_limit
    elif role == Authority.SUPERVISOR:
        limit = rules.supervisor_limit
    else:
        return WaiverDecision(needs_approval=True, why=ApprovalReason.ROLE_WITHOUT_AUTHORITY)
    if value > limit:
        return WaiverDecision(needs_approval=True, why=ApprovalReason.ABOVE_AUTHORITY_LIMIT)
    if (
        prior_waiver_on is not None
        and reason not in rules.repeat_exempt_reasons
        and days_between(prior_waiver_on, today) < rules.repeat_window_days
    ):
        return WaiverDecision(needs_approval=True, why=ApprovalReason.REPEAT_WITHIN_WINDOW)
    return WaiverDecision(needs_approval=False, why=None)


def max_waivable_interest(account: Account, policy: Policy) -> Decimal:
    """The interest that may be waived: round(interest_balance x interest_waivable_share), never below 0."""
    return max(ZERO, round_money(account.interest_balance * policy.fee_waiver.interest_waivable_share))


def split_waiver(
    account: Account, fee_amount: Decimal, interest_amount: Decimal, policy: Policy
) -> WaiverComponents:
    """Validate a waiver against the balances and the policy and return its parts.

    Raises InvalidMoney for a negative part or a fraction of a fen, InvalidWaiver when the fees
    exceed the fee balance, the interest exceeds the waivable share, or nothing is waived.
    """
    fee = require_cents(fee_amount, name="fee_amount")
    interest = require_cents(interest_amount, name="interest_amount")
    if fee < 0 or interest < 0:
        raise InvalidMoney("waived amounts cannot be negative", code="waiver.negative")
    if fee > account.fee_balance:
        raise InvalidWaiver(
            f"fees waived {fee} exceed the fee balance {account.fee_balance}",
            code="waiver.fee_above_balance",
            field="fee_amount",
            amount=fee,
            limit=account.fee_balance,
        )
    interest_limit = max_waivable_interest(account, policy)
    if interest > interest_limit:
        raise InvalidWaiver(
            f"interest waived {interest} exceeds the waivable interest {interest_limit}",
            code="waiver.interest_above_waivable",
            field="interest_amount",
            amount=interest,
            limit=interest_limit,
        )
    total = fee + interest
    if total <= 0:
        raise InvalidWaiver("a waiver must waive something", code="waiver.nothing", field="fee_amount")
    return WaiverComponents(fee_waived=fee, interest_waived=interest, total=total)
