"""The instruction file of one business date (CONTRACT.md, "Instructions for the card system"): a read
over the deferral lines, deferrals, fee waivers and plans recorded on that date, mapped to rows by the
pure ``app.domain.instructions``. The records carry their business dates (``granted_on`` of deferrals
and their lines, ``applied_on`` / ``reversed_on`` of waivers, ``start_on`` / ``ended_on`` of plans), so
the same date gives the same rows on every export."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.domain.instructions import (
    COLUMNS,
    DeferralLineRecord,
    DeferralSpan,
    Instruction,
    PlanRecord,
    WaiverRecord,
    instructions_for,
)
from app.domain.money import format_money
from app.persistence.models import (
    CardAccount,
    Deferral,
    DeferralLine,
    DeferralLineHistory,
    FeeWaiver,
    Installment,
    InstallmentPlan,
)

__all__ = ["COLUMNS", "as_json", "instructions_on"]


def _lines(session: Session, on: date) -> list[DeferralLineRecord]:
    rows = session.execute(
        select(DeferralLine, Deferral.id, CardAccount.account_ref)
        .join(Deferral, Deferral.id == DeferralLine.deferral_id)
        .join(CardAccount, CardAccount.id == Deferral.account_id)
        .where(DeferralLine.granted_on == on)
    ).all()
    return [
        DeferralLineRecord(
            deferral_id=deferral_id,
            account_ref=account_ref,
            statement_date=line.statement_date,
            due_date=line.due_date,
            new_due_date=line.new_due_date,
            deferred_amount=line.deferred_amount,
            interest_waived=line.interest_waived,
            late_fee_waived=line.late_fee_waived,
            granted_on=on,
        )
        for line, deferral_id, account_ref in rows
    ] + [
        DeferralLineRecord(
            deferral_id=old.deferral_id,
            account_ref=account_ref,
            statement_date=old.statement_date,
            due_date=old.due_date,
            new_due_date=old.new_due_date,
            deferred_amount=old.deferred_amount,
            interest_waived=old.interest_waived,
            late_fee_waived=old.late_fee_waived,
            granted_on=on,
        )
        for old, account_ref in session.execute(
            select(DeferralLineHistory, CardAccount.account_ref)
            .join(Deferral, Deferral.id == DeferralLineHistory.deferral_id)
            .join(CardAccount, CardAccount.id == Deferral.account_id)
            .where(DeferralLineHistory.granted_on == on)
        ).all()
    ]


def _spans(session: Session, on: date) -> list[DeferralSpan]:
    end_on = func.max(DeferralLine.new_due_date)
    rows = session.execute(
        select(Deferral.id, CardAccount.account_ref, Deferral.granted_on, end_on)
        .join(CardAccount, CardAccount.id == Deferral.account_id)
        .join(DeferralLine, DeferralLine.deferral_id == Deferral.id)
        .group_by(Deferral.id, CardAccount.account_ref, Deferral.granted_on)
        .having(or_(Deferral.granted_on == on, end_on == on))
    ).all()
    return [DeferralSpan(deferral_id, ref, granted_on, end) for deferral_id, ref, granted_on, end in rows]


def _waivers(session: Session, on: date) -> list[WaiverRecord]:
    rows = session.execute(
        select(FeeWaiver, CardAccount.account_ref)
        .join(CardAccount, CardAccount.id == FeeWaiver.account_id)
        .where(or_(FeeWaiver.applied_on == on, FeeWaiver.reversed_on == on))
    ).all()
    return [
        WaiverRecord(w.id, ref, w.fee_amount, w.interest_amount, w.applied_on, w.reversed_on)
        for w, ref in rows
    ]


def _plans(session: Session, on: date) -> list[PlanRecord]:
    last_due = (
        select(func.max(Installment.due_date))
        .where(Installment.plan_id == InstallmentPlan.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(InstallmentPlan, CardAccount.account_ref, last_due)
        .join(CardAccount, CardAccount.id == InstallmentPlan.account_id)
        .where(or_(InstallmentPlan.start_on == on, InstallmentPlan.ended_on == on))
    ).all()
    return [
        PlanRecord(
            plan_id=plan.id,
            account_ref=ref,
            start_on=plan.start_on,
            last_due_on=last,
            principal_amount=plan.principal_amount,
            status=plan.status,
            ended_on=plan.ended_on,
            outstanding=plan.outstanding,
        )
        for plan, ref, last in rows
    ]


def instructions_on(session: Session, *, on: date) -> list[Instruction]:
    """Every instruction of business date ``on``, in the file's stable order."""
    return instructions_for(
        on,
        lines=_lines(session, on),
        deferrals=_spans(session, on),
        waivers=_waivers(session, on),
        plans=_plans(session, on),
    )


def as_json(row: Instruction) -> dict[str, Any]:
    """One row as JSON values: dates ISO, money a two-decimal string, empty cells null."""
    values: dict[str, Any] = {}
    for name, value in zip(COLUMNS, row.row(), strict=True):
        if isinstance(value, date):
            value = value.isoformat()
        elif name == "amount" and value is not None:
            value = format_money(value)
        elif hasattr(value, "value"):
            value = value.value
        values[name] = value
    return values
