"""Negotiated installment plans: schedules, allowed terms, recommendation, plan lifecycle.

DOMAIN.md, "Installment plan: amounts": the restructured principal P is spread over 1..60 monthly
installments (Art. 70 of the Chinese card rules: at most five years). Equal-principal: installments
1..n-1 carry floor(P/n) to the fen and the last the remainder; the fee per period is
round_half_up(P x monthly_fee_rate). With an annual interest rate the annuity method gives equal
payments. The k-th due date is add_months(start_on, k), computed from the start date, so a plan
started on Jan 31 falls due on Feb 28, Mar 31, Apr 30... and the parts always add up to P exactly.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext
from enum import StrEnum

from app.domain.dates import monthly_dates
from app.domain.errors import DomainError, InvalidTerm, InvalidTransition
from app.domain.money import (
    ZERO,
    from_fen,
    require_money,
    require_rate,
    round_money,
    split_equal_principal,
    to_fen,
)
from app.domain.policy import ABSOLUTE_MAX_TERM_MONTHS, InstallmentPolicy
from app.domain.reasons import ScheduleMethod

__all__ = [
    "MAX_TERM_MONTHS",
    "Installment",
    "NegotiationResult",
    "PlanStatus",
    "Schedule",
    "ScheduleMethod",
    "allowed_terms",
    "build_policy_schedule",
    "build_schedule",
    "negotiate_term",
    "recommended_term",
    "select_quote_terms",
    "transition_plan",
]

MAX_TERM_MONTHS = ABSOLUTE_MAX_TERM_MONTHS
# Working precision for the annuity formula and per-period interest, before the one rounding.
_PRECISION = 40
# Exact products of amounts (as money.py's 60 digits) without entering a local context.
_WIDE = Context(prec=60)


@dataclass(frozen=True, slots=True)
class Installment:
    """One monthly installment: amount = principal + interest + fee."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    """A repayment schedule; each total is the sum of the rounded installment parts."""

    principal_total: Decimal
    fee_total: Decimal
    interest_total: Decimal
    amount_total: Decimal
    installments: tuple[Installment, ...]

    @property
    def term_months(self) -> int:
        """Number of installments."""
        return len(self.installments)

    @property
    def largest_amount(self) -> Decimal:
        """The largest installment amount (what affordability is judged on)."""
        return max(installment.amount for installment in self.installments)


@dataclass(frozen=True, slots=True)
class NegotiationResult:
    """The outcome of a term request: the term itself if allowed, else the nearest allowed one."""

    accepted: bool
    term: int | None


class PlanStatus(StrEnum):
    """Lifecycle of an installment plan."""

    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"


_PLAN_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.ACTIVE: frozenset({PlanStatus.COMPLETED, PlanStatus.BROKEN, PlanStatus.CANCELLED}),
}


def _require_term(term_months: int) -> int:
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        raise InvalidTerm(f"term must be a whole number of months, got {term_months!r}")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise InvalidTerm(f"term must be 1 to {MAX_TERM_MONTHS} months, got {term_months}")
    return term_months


def _compute_parts(
    principal: Decimal,
    term_months: int,
    *,
    monthly_fee_rate: Decimal,
    annual_interest_rate: Decimal,
    method: str,
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(principal, interest, fee) of each installment, without dates; inputs already validated."""
    with localcontext() as context:
        context.prec = _PRECISION
        fee = round_money(principal * monthly_fee_rate)
        monthly_rate = annual_interest_rate / 12
        if method == ScheduleMethod.ANNUITY and monthly_rate > 0:
            payment = round_money(principal * monthly_rate / (1 - (1 + monthly_rate) ** -term_months))
            parts: list[tuple[Decimal, Decimal, Decimal]] = []
            balance = principal
            for _ in range(term_months - 1):
                interest = round_money(balance * monthly_rate)
                # Never below 0, never more than what is left: tiny principals cannot overshoot.
                principal_part = min(max(payment - interest, ZERO), balance)
                parts.append((principal_part, interest, fee))
                balance -= principal_part
            parts.append((balance, round_money(balance * monthly_rate), fee))
            return parts
        balance = principal
        parts = []
        for principal_part in split_equal_principal(principal, term_months):
            interest = round_money(balance * monthly_rate) if monthly_rate > 0 else ZERO
            parts.append((principal_part, interest, fee))
            balance -= principal_part
        return parts


def _validate_schedule_inputs(
    principal: Decimal,
    term_months: int,
    monthly_fee_rate: Decimal,
    annual_interest_rate: Decimal,
    method: str,
) -> tuple[Decimal, Decimal, Decimal]:
    _require_term(term_months)
    amount = require_money(principal, name="principal")
    if amount <= 0:
        raise InvalidTerm(f"there is nothing to spread: principal is {principal}")
    amount = from_fen(to_fen(amount))
    if method not in tuple(ScheduleMethod):
        raise DomainError(f"unknown schedule method {method!r}")
    return (
        amount,
        require_rate(monthly_fee_rate, name="monthly_fee_rate"),
        require_rate(annual_interest_rate, name="annual_interest_rate"),
    )


def build_schedule(
    principal: Decimal,
    term_months: int,
    start_on: date,
    *,
    monthly_fee_rate: Decimal = Decimal(0),
    annual_interest_rate: Decimal = Decimal(0),
    method: str = ScheduleMethod.EQUAL_PRINCIPAL,
) -> Schedule:
    """Build the schedule of ``principal`` over ``term_months`` installments from ``start_on``.

    Equal principal (DOMAIN.md): parts 1..n-1 = floor(P/n) to the fen, the last the remainder;
    interest, when annual_interest_rate > 0, = round(outstanding x annual/12) each month.
    Annuity (annual_interest_rate > 0): payment = round(P r / (1 - (1 + r)^-n)) with r = annual/12
    at 40-digit precision, interest = round(balance x r), principal = payment - interest, the last
    installment takes the remaining balance exactly. With a zero rate the annuity is equal principal.
    Fee per period = round(P x monthly_fee_rate). Installment k falls due on add_months(start_on, k).
    Raises InvalidTerm for a term outside 1..60 or principal <= 0, InvalidMoney for a fraction of a
    fen, InvalidRate for a negative rate.
    """
    amount, fee_rate, interest_rate = _validate_schedule_inputs(
        principal, term_months, monthly_fee_rate, annual_interest_rate, method
    )
    parts = _compute_parts(
        amount, term_months, monthly_fee_rate=fee_rate, annual_interest_rate=interest_rate, method=method
    )
    installments: list[Installment] = []
    principal_total = fee_total = interest_total = amount_total = ZERO
    # One pass: each total is the sum of the installments' parts in order (from ZERO).
    due_dates = monthly_dates(start_on, len(parts))
    for number, (principal_part, interest, fee) in enumerate(parts, start=1):
        amount = principal_part + interest + fee
        installments.append(Installment(number, due_dates[number - 1], principal_part, interest, fee, amount))
        principal_total += principal_part
        fee_total += fee
        interest_total += interest
        amount_total += amount
    return Schedule(
        principal_total=principal_total,
        fee_total=fee_total,
        interest_total=interest_total,
        amount_total=amount_total,
        installments=tuple(installments),
    )


def build_policy_schedule(
    principal: Decimal, term_months: int, start_on: date, policy: InstallmentPolicy
) -> Schedule:
    """Build a schedule with the policy's fee rate, interest rate and method."""
    return build_schedule(
        principal,
        term_months,
        start_on,
        monthly_fee_rate=policy.monthly_fee_rate,
        annual_interest_rate=policy.annual_interest_rate,
        method=policy.method,
    )


def allowed_terms(principal: Decimal, policy: InstallmentPolicy) -> tuple[int, ...]:
    """Terms n in min_term..max_term (never above 60) whose installment principal is at least the minimum.

    The rule (DOMAIN.md): floor(P/n) to the fen >= min_installment_amount, with no exception: a
    principal below the minimum gets no term at all (TERM_NOT_ALLOWED for every term), not even one
    month. Nothing for P <= 0.
    """
    amount = require_money(principal, name="principal")
    if amount <= 0:
        return ()
    principal_fen = to_fen(amount)
    minimum_fen = to_fen(policy.min_installment_amount)
    low = max(1, policy.min_term_months)
    high = min(policy.max_term_months, MAX_TERM_MONTHS)
    # floor(P/n) >= m  <=>  n <= floor(P/m) for a minimum m > 0 (every n when m <= 0): a range.
    top = high if minimum_fen <= 0 else min(high, principal_fen // minimum_fen)
    return tuple(range(low, top + 1))


def recommended_term(
    principal: Decimal, monthly_income: Decimal | None, policy: InstallmentPolicy
) -> int | None:
    """The shortest allowed term whose largest installment is at most max_income_share x income.

    DOMAIN.md: "If monthly income is given, offer the shortest term whose installment is at most
    50 % of it." None when no income (or none above 0) is given, or when no allowed term fits.
    """
    if monthly_income is None:
        return None
    income = require_money(monthly_income, name="monthly_income")
    if income <= 0:
        return None
    affordable = income * policy.max_income_share
    fee_rate = require_rate(policy.monthly_fee_rate, name="monthly_fee_rate")
    interest_rate = require_rate(policy.annual_interest_rate, name="annual_interest_rate")
    amount = require_money(principal, name="principal")  # the check allowed_terms makes first
    for term in allowed_terms(principal, policy):
        # The principal parts add up to P and interest and fees are never negative, so the largest
        # installment is at least P / term: a term with P > affordable x term cannot fit, and its
        # schedule need not be computed (the answer is the same, found without the short terms).
        if amount > _WIDE.multiply(affordable, term):
            continue
        parts = _compute_parts(
            amount,
            term,
            monthly_fee_rate=fee_rate,
            annual_interest_rate=interest_rate,
            method=policy.method,
        )
        if max(sum(part, ZERO) for part in parts) <= affordable:
            return term
    return None


def negotiate_term(requested: int, principal: Decimal, policy: InstallmentPolicy) -> NegotiationResult:
    """Accept the requested term if allowed; else propose the nearest allowed term (ties -> the shorter)."""
    terms = allowed_terms(principal, policy)
    if not terms:
        return NegotiationResult(accepted=False, term=None)
    if requested in terms:
        return NegotiationResult(accepted=True, term=requested)
    nearest = min(terms, key=lambda term: (abs(term - requested), term))
    return NegotiationResult(accepted=False, term=nearest)


def select_quote_terms(principal: Decimal, policy: InstallmentPolicy) -> tuple[int, ...]:
    """The policy's quote terms (6, 12, 24, 36, 60 by default) that are allowed for this principal."""
    terms = set(allowed_terms(principal, policy))
    return tuple(term for term in policy.quote_terms if term in terms)


def transition_plan(current: str, target: str) -> PlanStatus:
    """Move a plan from ``current`` to ``target``: only an active plan may complete, break or be cancelled."""
    try:
        source, destination = PlanStatus(current), PlanStatus(target)
    except ValueError as error:
        raise InvalidTransition(f"unknown plan status in {current!r} -> {target!r}") from error
    if destination not in _PLAN_TRANSITIONS.get(source, frozenset()):
        raise InvalidTransition(f"a plan cannot go from {source.value} to {destination.value}")
    return destination
