"""Servicing: a plan followed to its end, from its installments, the account's payments and a date.

DOMAIN.md, "Servicing: plans followed to their end (exact)":

- A plan's payments are the account's payments dated on or after its start date, on or before the
  business date and, once the plan has ended, not after its end date. They are applied in
  (``paid_on``, ``payment_ref``) order to the installments in due-date order, oldest unpaid first,
  each filled to its ``amount`` before the next; what is left after the last one is ``unapplied``.
- An installment's miss day is ``due_date + grace_days + 1``. It is **paid** when payments dated
  before its miss day cover it in full, **paid_late** when only a payment dated on or after its
  miss day covers it in full, **missed** when it is not covered in full and the date has reached its
  miss day, **due** otherwise.
- Walking the installments in order, each one not covered in full by payments dated before its miss
  day is a miss on that day. The plan is **broken** on the first miss day at which the misses in a
  row reach ``break_after_consecutive_missed`` or all misses reach ``break_after_total_missed`` (an
  installment covered in time resets the count in a row), if that day has come.
- The plan is **completed** on the ``paid_on`` of the payment that covers its last unpaid fen, if
  that comes before any break day. A break day never comes after the completion day (every
  installment is covered by then), so a plan whose last fen is paid on its break day is broken.

Because payments are applied oldest installment first, installment k is covered in full exactly
when the running total of the plan's payments reaches the sum of the amounts of installments 1..k:
the day that happens is the whole story of that installment. Once the plan has ended (broken or
completed) everything is judged as of its end day, so the answer on any later date is the same:
computing at D2 from scratch equals stepping day by day (path independence).

Values in, values out: the date is an argument, nothing here reads the clock.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import accumulate, pairwise

from app.domain.dates import add_days
from app.domain.errors import DomainError
from app.domain.installments import PlanStatus
from app.domain.money import ZERO, from_fen, to_fen
from app.domain.policy import ServicingPolicy

__all__ = [
    "BreakRule",
    "DeferralServicing",
    "InstallmentServicing",
    "InstallmentStatus",
    "InvalidServicingData",
    "PlanServicing",
    "ReceivedPayment",
    "ScheduledInstallment",
    "break_day",
    "installment_status",
    "miss_day",
    "service_deferral",
    "service_plan",
]


class InvalidServicingData(DomainError):
    """A plan or deferral whose stored data makes the servicing rules impossible to apply
    (no installments, due dates out of order, an amount that is not positive)."""


class InstallmentStatus(StrEnum):
    """Where one installment stands (DOMAIN.md, "Servicing")."""

    DUE = "due"
    PAID = "paid"
    PAID_LATE = "paid_late"
    MISSED = "missed"


class BreakRule(StrEnum):
    """Which miss rule broke the plan (both may fire on the same day: consecutive is named first)."""

    CONSECUTIVE = "consecutive"
    TOTAL = "total"


@dataclass(frozen=True, slots=True)
class ScheduledInstallment:
    """One installment as the plan's schedule fixed it."""

    number: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    """One payment of the account, as the card system sent it."""

    paid_on: date
    payment_ref: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InstallmentServicing:
    """One installment's status and the part of the payments applied to it."""

    number: int
    status: InstallmentStatus
    paid_amount: Decimal
    miss_day: date
    covered_on: date | None


@dataclass(frozen=True, slots=True)
class PlanServicing:
    """Where a plan stands on ``as_of`` (judged as of its end day once it has ended)."""

    status: PlanStatus
    completed_on: date | None
    broken_on: date | None
    break_rule: BreakRule | None
    paid_total: Decimal
    outstanding: Decimal
    unapplied: Decimal
    payments_total: Decimal
    misses: int
    consecutive_misses: int
    judged: int
    installments: tuple[InstallmentServicing, ...]

    @property
    def paid_on_time(self) -> int:
        """Judged installments (whose miss day has come, or all of a completed plan) paid in time."""
        return self.judged - self.misses

    @property
    def ended_on(self) -> date | None:
        """The day the rules ended the plan (completed or broken), if they did."""
        return self.completed_on or self.broken_on


@dataclass(frozen=True, slots=True)
class DeferralServicing:
    """A deferral is completed the day after its last new due date has passed."""

    completed: bool
    completed_on: date | None


def miss_day(due_date: date, grace_days: int) -> date:
    """The day an installment not yet covered in full counts as missed: ``due_date + grace_days + 1``."""
    return add_days(due_date, grace_days + 1)


def _positive_fen(amount: Decimal, what: str) -> int:
    if type(amount) is Decimal and amount.as_tuple().exponent == -2 and amount > 0:
        return int(amount.scaleb(2))  # the common case: an amount read from fen
    try:
        fen = to_fen(amount)
    except DomainError as error:
        raise InvalidServicingData(f"{what}: {error}") from error
    if fen <= 0:
        raise InvalidServicingData(f"{what} must be positive, got {amount}")
    return fen


def _checked_schedule(installments: Sequence[ScheduledInstallment]) -> list[ScheduledInstallment]:
    if not installments:
        raise InvalidServicingData("the plan has no installments")
    ordered = sorted(installments, key=lambda item: item.number)
    for before, after in pairwise(ordered):
        if after.number == before.number:
            raise InvalidServicingData(f"installment {after.number} appears twice")
        if after.due_date <= before.due_date:
            raise InvalidServicingData(
                f"installment {after.number} falls due on {after.due_date.isoformat()}, "
                f"not after installment {before.number} ({before.due_date.isoformat()})"
            )
    return ordered


def _cover_days(targets: Sequence[int], payments: Sequence[tuple[date, int]]) -> list[date | None]:
    """For each running target (sum of amounts 1..k), the day the running total of payments reaches it."""
    covered: list[date | None] = [None] * len(targets)
    k, running = 0, 0
    for paid_on, fen in payments:
        running += fen
        while k < len(targets) and running >= targets[k]:
            covered[k] = paid_on
            k += 1
        if k == len(targets):
            break
    return covered


def service_plan(
    installments: Sequence[ScheduledInstallment],
    *,
    start_on: date,
    payments: Iterable[ReceivedPayment],
    rules: ServicingPolicy,
    as_of: date,
    ended_on: date | None = None,
) -> PlanServicing:
    """Where the plan stands on ``as_of`` (DOMAIN.md, "Servicing"; see the module docstring).

    ``payments`` are the account's payments (any order, any dates: the rule picks the plan's);
    ``ended_on`` is the day the plan was ended otherwise (cancelled, or broken by hand), if it was.
    InvalidServicingData when the schedule or a payment makes the rules impossible to apply.
    """
    schedule = _checked_schedule(installments)
    amounts = [_positive_fen(item.amount, f"installment {item.number}") for item in schedule]
    targets = list(accumulate(amounts))
    miss_days = [miss_day(item.due_date, rules.grace_days) for item in schedule]

    window_end = as_of if ended_on is None else min(as_of, ended_on)
    ordered = _plan_payments(payments, start_on=start_on, until=window_end)
    covered = _cover_days(targets, ordered)
    broken_on, break_rule = break_day(miss_days, covered, until=window_end, rules=rules)
    completed_on = covered[-1] if broken_on is None else None

    # Judge everything as of the end day once the plan has ended: later payments are not its own.
    end_day = broken_on or completed_on
    judged_on = window_end if end_day is None else min(window_end, end_day)
    payments_fen = sum(fen for paid_on, fen in ordered if paid_on <= judged_on)
    scheduled_fen = targets[-1]
    paid_fen = min(payments_fen, scheduled_fen)
    # A completed plan's installments are all settled: each one counts as judged (paid or paid_late).
    settled = broken_on is None and completed_on is not None
    judgement = _judge_installments(
        schedule, amounts, miss_days, covered, payments_fen=payments_fen, judged_on=judged_on, settled=settled
    )

    if broken_on is not None:
        status_of_plan = PlanStatus.BROKEN
    elif completed_on is not None:
        status_of_plan = PlanStatus.COMPLETED
    else:
        status_of_plan = PlanStatus.ACTIVE
    return PlanServicing(
        status=status_of_plan,
        completed_on=completed_on,
        broken_on=broken_on,
        break_rule=break_rule,
        paid_total=from_fen(paid_fen),
        outstanding=from_fen(scheduled_fen - paid_fen),
        unapplied=from_fen(payments_fen - paid_fen) if payments_fen > paid_fen else ZERO,
        payments_total=from_fen(payments_fen),
        misses=judgement.misses,
        consecutive_misses=judgement.streak,
        judged=judgement.judged,
        installments=judgement.installments,
    )


def _plan_payments(
    payments: Iterable[ReceivedPayment], *, start_on: date, until: date
) -> list[tuple[date, int]]:
    """The plan's payments (dated from ``start_on`` to ``until``) as (paid_on, fen), in the order they
    are applied: by (``paid_on``, ``payment_ref``)."""
    ordered = sorted(
        (
            (paid.paid_on, paid.payment_ref, _positive_fen(paid.amount, f"payment {paid.payment_ref}"))
            for paid in payments
            if start_on <= paid.paid_on <= until
        ),
        key=lambda item: (item[0], item[1]),
    )
    return [(paid_on, fen) for paid_on, _, fen in ordered]


def break_day(
    miss_days: Sequence[date], covered: Sequence[date | None], *, until: date, rules: ServicingPolicy
) -> tuple[date | None, BreakRule | None]:
    """The day the plan breaks and the rule that breaks it, if that day has come by ``until``.

    Walks the miss days that have come, in order: an installment not covered (``covered``: the day
    each one was covered in full, or None) before its miss day is a miss on that day; the plan breaks
    on the first miss at which the misses in a row reach ``break_after_consecutive_missed`` or all
    misses reach ``break_after_total_missed`` (one covered in time resets the count in a row)."""
    consecutive = total = 0
    for k, day in enumerate(miss_days):
        if day > until:
            break
        cover = covered[k]
        if cover is not None and cover < day:
            consecutive = 0
            continue
        consecutive += 1
        total += 1
        if consecutive >= rules.break_after_consecutive_missed:
            return day, BreakRule.CONSECUTIVE
        if total >= rules.break_after_total_missed:
            return day, BreakRule.TOTAL
    return None, None


def installment_status(covered_on: date | None, miss_on: date, judged_on: date) -> InstallmentStatus:
    """An installment judged on ``judged_on``: paid when covered in full before its miss day
    ``miss_on``, paid_late when covered on or after it, missed when not covered and the miss day has
    come, due otherwise (``covered_on``: the day it was covered in full by then, or None)."""
    if covered_on is not None:
        return InstallmentStatus.PAID if covered_on < miss_on else InstallmentStatus.PAID_LATE
    if judged_on >= miss_on:
        return InstallmentStatus.MISSED
    return InstallmentStatus.DUE


@dataclass(frozen=True, slots=True)
class _Judgement:
    installments: tuple[InstallmentServicing, ...]
    misses: int
    streak: int
    judged: int


def _judge_installments(
    schedule: Sequence[ScheduledInstallment],
    amounts: Sequence[int],
    miss_days: Sequence[date],
    covered: Sequence[date | None],
    *,
    payments_fen: int,
    judged_on: date,
    settled: bool,
) -> _Judgement:
    """Each installment's status and paid part as of ``judged_on``, and the misses among those
    judged (their miss day has come, or all of a settled plan): in all, and in a row at the end."""
    states: list[InstallmentServicing] = []
    before = 0
    misses = streak = judged = 0
    for k, item in enumerate(schedule):
        paid_part = max(0, min(amounts[k], payments_fen - before))
        before += amounts[k]
        cover = covered[k]
        if cover is not None and cover > judged_on:
            cover = None
        day = miss_days[k]
        status = installment_status(cover, day, judged_on)
        if day <= judged_on or settled:
            judged += 1
            if status is InstallmentStatus.PAID:
                streak = 0
            else:
                misses += 1
                streak += 1
        states.append(InstallmentServicing(item.number, status, from_fen(paid_part), day, cover))
    return _Judgement(tuple(states), misses, streak, judged)


def service_deferral(new_due_dates: Iterable[date], *, as_of: date) -> DeferralServicing:
    """A deferral is completed once its last new due date has passed (DOMAIN.md, "Servicing"): from
    the day after that date. InvalidServicingData for a deferral without lines."""
    last = max(new_due_dates, default=None)
    if last is None:
        raise InvalidServicingData("the deferral has no lines")
    done_on = add_days(last, 1)
    if as_of >= done_on:
        return DeferralServicing(completed=True, completed_on=done_on)
    return DeferralServicing(completed=False, completed_on=None)
