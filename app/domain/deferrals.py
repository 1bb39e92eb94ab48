"""Disaster payment deferral amounts (DOMAIN.md, "Disaster deferral: the amounts (exact)").

For each statement due inside the relief window [relief_start, relief_end] with an unpaid amount:
- deferred_amount = unpaid amount;
- new_due_date = due_date + deferral_months (month-end rule of :func:`add_months`);
- interest_waived = round_half_up(deferred x daily_interest_rate x days(new_due_date - due_date));
- late_fee_waived = round_half_up(max(0, minimum_due - paid) x late_fee_rate).
Totals are the sums of the rounded line values. Defaults: 0.05 % a day (the old PBOC cap) and 5 % of
the unpaid part of the minimum payment (common contractual-penalty practice), from the policy.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.dates import add_months, days_between
from app.domain.errors import InvalidTerm
from app.domain.model import Statement
from app.domain.money import ZERO, require_rate, round_money

__all__ = [
    "DeferralLine",
    "DeferralResult",
    "compute_deferral",
    "deferral_leaves_calendar",
    "statements_in_window",
]


@dataclass(frozen=True, slots=True)
class DeferralLine:
    """One deferred statement."""

    statement_date: date
    due_date: date
    new_due_date: date
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fee_waived: Decimal


@dataclass(frozen=True, slots=True)
class DeferralResult:
    """An account's deferral: its lines and their totals (each total is the sum of the lines)."""

    lines: tuple[DeferralLine, ...]
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fees_waived: Decimal


def statements_in_window(
    statements: Iterable[Statement], relief_start: date, relief_end: date
) -> tuple[Statement, ...]:
    """Statements due in [relief_start, relief_end] (both inclusive) with unpaid > 0, by due date."""
    selected = [
        statement
        for statement in statements
        if relief_start <= statement.due_date <= relief_end and statement.unpaid_amount > 0
    ]
    return tuple(sorted(selected, key=lambda statement: (statement.due_date, statement.statement_date)))


def deferral_leaves_calendar(statements: Iterable[Statement], deferral_months: int) -> bool:
    """True when deferring one of ``statements`` by ``deferral_months`` would give a due date outside
    years 1..9999 (a due date of 9999-12-31, say): no deferral can be computed for that account
    (DOMAIN.md, "Data that breaks a rule's arithmetic")."""
    # The year test of add_months without building the date (this runs for every account of a scan).
    for statement in statements:
        due = statement.due_date
        if not 1 <= due.year + (due.month - 1 + deferral_months) // 12 <= 9999:
            return True
    return False


def compute_deferral(
    statements: Iterable[Statement],
    *,
    relief_start: date,
    relief_end: date,
    deferral_months: int,
    daily_interest_rate: Decimal,
    late_fee_rate: Decimal,
) -> DeferralResult:
    """Defer every statement due in the window with an unpaid amount (see the module docstring).

    No statement in the window gives an empty result with zero totals. Raises InvalidTerm for
    deferral_months < 1 and InvalidRate for a negative or non-Decimal rate.
    """
    if isinstance(deferral_months, bool) or not isinstance(deferral_months, int) or deferral_months < 1:
        raise InvalidTerm(f"deferral_months must be at least 1, got {deferral_months!r}")
    interest_rate = require_rate(daily_interest_rate, name="daily_interest_rate")
    fee_rate = require_rate(late_fee_rate, name="late_fee_rate")
    lines: list[DeferralLine] = []
    for statement in statements_in_window(statements, relief_start, relief_end):
        deferred = statement.unpaid_amount
        new_due_date = add_months(statement.due_date, deferral_months)
        days = days_between(statement.due_date, new_due_date)
        unpaid_minimum = max(ZERO, statement.minimum_due - statement.paid_amount)
        lines.append(
            DeferralLine(
                statement_date=statement.statement_date,
                due_date=statement.due_date,
                new_due_date=new_due_date,
                deferred_amount=deferred,
                interest_waived=round_money(deferred * interest_rate * days),
                late_fee_waived=round_money(unpaid_minimum * fee_rate),
            )
        )
    return DeferralResult(
        lines=tuple(lines),
        deferred_amount=sum((line.deferred_amount for line in lines), ZERO),
        interest_waived=sum((line.interest_waived for line in lines), ZERO),
        late_fees_waived=sum((line.late_fee_waived for line in lines), ZERO),
    )
