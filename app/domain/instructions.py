"""The card system's instruction file (CONTRACT.md, "Instructions for the card system"): what the
card processor must do for the relief granted, ended or reversed on one business date, one row each.

A pure mapping from relief records to rows. Each row's ``instruction_id`` is built from its source
(``<source_type>-<source_id>-<action>``, and for a deferral line its statement date and the date the
line was written), so the same records give the same rows, with the same ids, on every export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.domain.money import ZERO

COLUMNS = (
    "instruction_id",
    "account_ref",
    "action",
    "effective_on",
    "end_on",
    "statement_date",
    "due_date",
    "new_due_date",
    "amount",
    "source_type",
    "source_id",
)


class Action(StrEnum):
    DEFER_DUE_DATE = "DEFER_DUE_DATE"
    WAIVE_INTEREST = "WAIVE_INTEREST"
    WAIVE_LATE_FEE = "WAIVE_LATE_FEE"
    CREDIT_FEES = "CREDIT_FEES"
    CREDIT_INTEREST = "CREDIT_INTEREST"
    REVERSE_CREDIT = "REVERSE_CREDIT"
    START_PLAN = "START_PLAN"
    END_PLAN = "END_PLAN"
    SUSPEND_COLLECTIONS = "SUSPEND_COLLECTIONS"
    RESUME_COLLECTIONS = "RESUME_COLLECTIONS"


class SourceType(StrEnum):
    DEFERRAL = "deferral"
    FEE_WAIVER = "fee_waiver"
    INSTALLMENT_PLAN = "installment_plan"


_ORDER = {action: n for n, action in enumerate(Action)}


@dataclass(frozen=True, slots=True)
class Instruction:
    instruction_id: str
    account_ref: str
    action: Action
    effective_on: date
    end_on: date | None
    statement_date: date | None
    due_date: date | None
    new_due_date: date | None
    amount: Decimal | None
    source_type: SourceType
    source_id: int

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in COLUMNS)


@dataclass(frozen=True, slots=True)
class DeferralLineRecord:
    """A deferral line written (granted, or changed by an extension) on ``granted_on``."""

    deferral_id: int
    account_ref: str
    statement_date: date
    due_date: date
    new_due_date: date
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fee_waived: Decimal
    granted_on: date


@dataclass(frozen=True, slots=True)
class DeferralSpan:
    """A deferral's start (the day it was granted) and end (its last new due date)."""

    deferral_id: int
    account_ref: str
    granted_on: date | None
    end_on: date


@dataclass(frozen=True, slots=True)
class WaiverRecord:
    waiver_id: int
    account_ref: str
    fee_amount: Decimal
    interest_amount: Decimal
    applied_on: date | None
    reversed_on: date | None


@dataclass(frozen=True, slots=True)
class PlanRecord:
    plan_id: int
    account_ref: str
    start_on: date
    last_due_on: date | None
    principal_amount: Decimal
    status: str
    ended_on: date | None
    outstanding: Decimal


def _id(source: SourceType, source_id: int, action: Action, *extra: date) -> str:
    tail = "".join(f"-{day:%Y%m%d}" for day in extra)
    return f"{source.value}-{source_id}-{action.value}{tail}"


def line_instructions(line: DeferralLineRecord) -> list[Instruction]:
    """DEFER_DUE_DATE for the line, and WAIVE_INTEREST / WAIVE_LATE_FEE when they are above zero;
    each in effect from the due date to the new due date."""
    rows = []
    amounts = (
        (Action.DEFER_DUE_DATE, line.deferred_amount, True),
        (Action.WAIVE_INTEREST, line.interest_waived, line.interest_waived > ZERO),
        (Action.WAIVE_LATE_FEE, line.late_fee_waived, line.late_fee_waived > ZERO),
    )
    for action, amount, wanted in amounts:
        if wanted:
            rows.append(
                Instruction(
                    _id(SourceType.DEFERRAL, line.deferral_id, action, line.statement_date, line.granted_on),
                    line.account_ref,
                    action,
                    line.due_date,
                    line.new_due_date,
                    line.statement_date,
                    line.due_date,
                    line.new_due_date,
                    amount,
                    SourceType.DEFERRAL,
                    line.deferral_id,
                )
            )
    return rows


def _bare(
    source: SourceType, source_id: int, account_ref: str, action: Action, on: date, end_on: date | None
) -> Instruction:
    return Instruction(
        _id(source, source_id, action),
        account_ref,
        action,
        on,
        end_on,
        None,
        None,
        None,
        None,
        source,
        source_id,
    )


def _money(
    source: SourceType, source_id: int, account_ref: str, action: Action, on: date, amount: Decimal
) -> Instruction:
    return Instruction(
        _id(source, source_id, action),
        account_ref,
        action,
        on,
        None,
        None,
        None,
        None,
        amount,
        source,
        source_id,
    )


def deferral_instructions(span: DeferralSpan, on: date) -> list[Instruction]:
    """SUSPEND_COLLECTIONS on the day the deferral was granted (with no end date: an extension may
    move it), RESUME_COLLECTIONS on the day it ends."""
    rows = []
    if span.granted_on == on:
        rows.append(
            _bare(
                SourceType.DEFERRAL, span.deferral_id, span.account_ref, Action.SUSPEND_COLLECTIONS, on, None
            )
        )
    if span.end_on == on:
        rows.append(
            _bare(
                SourceType.DEFERRAL, span.deferral_id, span.account_ref, Action.RESUME_COLLECTIONS, on, None
            )
        )
    return rows


def waiver_instructions(waiver: WaiverRecord, on: date) -> list[Instruction]:
    """CREDIT_FEES and CREDIT_INTEREST (those above zero) on the day the waiver was applied;
    REVERSE_CREDIT of both on the day it was reversed."""
    rows = []
    source, source_id, account_ref = SourceType.FEE_WAIVER, waiver.waiver_id, waiver.account_ref
    if waiver.applied_on == on:
        if waiver.fee_amount > ZERO:
            rows.append(_money(source, source_id, account_ref, Action.CREDIT_FEES, on, waiver.fee_amount))
        if waiver.interest_amount > ZERO:
            rows.append(
                _money(source, source_id, account_ref, Action.CREDIT_INTEREST, on, waiver.interest_amount)
            )
    if waiver.reversed_on == on:
        credited = waiver.fee_amount + waiver.interest_amount
        rows.append(_money(source, source_id, account_ref, Action.REVERSE_CREDIT, on, credited))
    return rows


def plan_instructions(plan: PlanRecord, on: date) -> list[Instruction]:
    """START_PLAN (its principal) and SUSPEND_COLLECTIONS, both until the last due date, on the day a
    plan that went ahead starts; END_PLAN (what is outstanding) and RESUME_COLLECTIONS on the day it
    completed, broke or was cancelled."""
    rows = []
    source, source_id, account_ref = SourceType.INSTALLMENT_PLAN, plan.plan_id, plan.account_ref
    if plan.start_on == on and plan.status not in ("pending_approval", "rejected"):
        start = _money(source, source_id, account_ref, Action.START_PLAN, on, plan.principal_amount)
        rows.append(_with_end(start, plan.last_due_on))
        rows.append(_bare(source, source_id, account_ref, Action.SUSPEND_COLLECTIONS, on, plan.last_due_on))
    if plan.ended_on == on and plan.status in ("completed", "broken", "cancelled"):
        rows.append(_money(source, source_id, account_ref, Action.END_PLAN, on, plan.outstanding))
        rows.append(_bare(source, source_id, account_ref, Action.RESUME_COLLECTIONS, on, None))
    return rows


def instructions_for(
    on: date,
    *,
    lines: Iterable[DeferralLineRecord] = (),
    deferrals: Iterable[DeferralSpan] = (),
    waivers: Iterable[WaiverRecord] = (),
    plans: Iterable[PlanRecord] = (),
) -> list[Instruction]:
    """Every instruction of business date ``on``, from the records given (records of other dates
    give none), in a stable order: by account, source, source id, action, statement date."""
    rows: list[Instruction] = []
    for line in lines:
        if line.granted_on == on:
            rows.extend(line_instructions(line))
    for span in deferrals:
        rows.extend(deferral_instructions(span, on))
    for waiver in waivers:
        rows.extend(waiver_instructions(waiver, on))
    for plan in plans:
        rows.extend(plan_instructions(plan, on))
    rows.sort(
        key=lambda r: (
            r.account_ref,
            r.source_type.value,
            r.source_id,
            _ORDER[r.action],
            r.statement_date or date.min,
            r.instruction_id,
        )
    )
    return rows


def _with_end(row: Instruction, end_on: date | None) -> Instruction:
    return Instruction(
        row.instruction_id,
        row.account_ref,
        row.action,
        row.effective_on,
        end_on,
        row.statement_date,
        row.due_date,
        row.new_due_date,
        row.amount,
        row.source_type,
        row.source_id,
    )
