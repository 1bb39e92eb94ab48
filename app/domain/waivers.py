"""Fee and interest waivers: who may apply them at once, and what may be waived.

DOMAIN.md, "Fee and interest waiver": an agent may waive up to 500.00 per request, a supervisor up
to 5,000.00; anything larger, or a second waiver within 365 days (except for disaster reasons),
waits for a supervisor's approval. DOMAIN.md, "Waiver controls": the limit covers one person's
waivers on one account over the authority window, and only a disaster that covers the account
exempts from the 365-day rule. Waived fees are late fees / penalties (at most the fee balance);
interest only up to the policy's waivable share of the interest balance.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from app.domain.dates import days_between
from app.domain.errors import InvalidMoney, InvalidWaiver
from app.domain.model import Account, DisasterEvent
from app.domain.money import ZERO, require_cents, round_money
from app.domain.policy import Policy
from app.domain.regions import is_covered

__all__ = [
    "ApprovalReason",
    "Authority",
    "WaiverComponents",
    "WaiverDecision",
    "authority_limit",
    "authority_window_start",
    "decide_waiver_authority",
    "disaster_covers_account",
    "max_waivable_interest",
    "split_waiver",
    "within_authority",
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


def authority_limit(role: str, policy: Policy) -> Decimal | None:
    """The role's own waiver authority (agent 500.00, supervisor 5,000.00), None for other roles."""
    rules = policy.fee_waiver
    if role == Authority.AGENT:
        return rules.agent_limit
    if role == Authority.SUPERVISOR:
        return rules.supervisor_limit
    return None


def authority_window_start(today: date, policy: Policy) -> date:
    """The first day of the authority window: waivers applied on or after it count towards the limit
    (DOMAIN.md, "Waiver controls": the last ``authority_window_days``, today included)."""
    return today - timedelta(days=policy.fee_waiver.authority_window_days - 1)


def within_authority(amount: Decimal, *, role: str, policy: Policy, waived_in_window: Decimal = ZERO) -> bool:
    """True when ``role`` may apply ``amount`` at once as far as the limit goes: what this person
    already waived on this account in the authority window plus this request stays within the
    role's limit (DOMAIN.md, "Waiver controls"), so splitting a request changes nothing."""
    limit = authority_limit(role, policy)
    return limit is not None and waived_in_window + amount <= limit


def disaster_covers_account(
    region_code: str,
    *,
    open_events: Iterable[DisasterEvent],
    region_code_changes: Mapping[str, str],
    has_deferral: bool,
    today: date,
) -> bool:
    """DOMAIN.md, "Waiver controls": a disaster covers the account when its region is covered by an
    open event whose relief window contains the business date, or the account has a deferral."""
    if has_deferral:
        return True
    return any(
        event.relief_start <= today <= event.relief_end
        and is_covered(region_code, event.region_codes, region_code_changes)
        for event in open_events
    )


def decide_waiver_authority(
    amount: Decimal,
    *,
    role: str,
    policy: Policy,
    prior_waiver_on: date | None,
    today: date,
    reason: str,
    waived_in_window: Decimal = ZERO,
    disaster_covers_account: bool = False,
) -> WaiverDecision:
    """Decide whether ``role`` may apply a waiver of ``amount`` at once.

    - agent: up to fee_waiver.agent_limit (500.00); supervisor: up to supervisor_limit (5,000.00);
      any other role always needs approval. The limit covers ``waived_in_window`` (this person's
      applied waivers on this account in the last authority_window_days) plus this request;
    - a second waiver less than repeat_window_days (365) after the prior one needs approval, unless
      ``reason`` is exempt (disaster) **and** a disaster covers the account (DOMAIN.md, "Waiver
      controls": the word alone exempts nothing). Exactly 365 days later counts as a new window.
    The first failing check is reported, in that order. Raises InvalidMoney for amount <= 0.
    """
    value = require_cents(amount, name="amount")
    if value <= 0:
        raise InvalidMoney(f"a waiver must be above 0, got {amount}")
    rules = policy.fee_waiver
    if authority_limit(role, policy) is None:
        return WaiverDecision(needs_approval=True, why=ApprovalReason.ROLE_WITHOUT_AUTHORITY)
    if not within_authority(value, role=role, policy=policy, waived_in_window=max(ZERO, waived_in_window)):
        return WaiverDecision(needs_approval=True, why=ApprovalReason.ABOVE_AUTHORITY_LIMIT)
    exempt = reason in rules.repeat_exempt_reasons and disaster_covers_account
    if (
        prior_waiver_on is not None
        and not exempt
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
