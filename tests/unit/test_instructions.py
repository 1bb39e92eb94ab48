"""The card system's instructions from relief records (CONTRACT.md, "Instructions for the card
system"): which rows each kind of record gives on a business date, and their stable order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.domain.instructions import (
    Action,
    DeferralLineRecord,
    DeferralSpan,
    Instruction,
    PlanRecord,
    WaiverRecord,
    deferral_instructions,
    instructions_for,
    plan_instructions,
    waiver_instructions,
)

ON = date(2025, 7, 1)
OTHER = date(2025, 6, 30)


def waiver(
    fee: str = "30.00", interest: str = "12.50", applied: date | None = ON, reversed_on: date | None = None
) -> WaiverRecord:
    return WaiverRecord(7, "ACC-1", Decimal(fee), Decimal(interest), applied, reversed_on)


def plan(status: str = "active", start: date = ON, ended: date | None = None) -> PlanRecord:
    return PlanRecord(
        3, "ACC-1", start, date(2026, 6, 15), Decimal("1200.00"), status, ended, Decimal("400.00")
    )


def actions(rows: list[Instruction]) -> list[tuple[Action, date | None, Decimal | None]]:
    return [(row.action, row.end_on, row.amount) for row in rows]


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        pytest.param(
            DeferralSpan(5, "ACC-1", ON, date(2025, 10, 15)), [Action.SUSPEND_COLLECTIONS], id="granted"
        ),
        pytest.param(DeferralSpan(5, "ACC-1", OTHER, ON), [Action.RESUME_COLLECTIONS], id="ends"),
        pytest.param(DeferralSpan(5, "ACC-1", None, date(2025, 10, 15)), [], id="another-day"),
    ],
)
def test_a_deferral_suspends_collections_when_granted_and_resumes_them_when_it_ends(
    span: DeferralSpan, expected: list[Action]
) -> None:
    rows = deferral_instructions(span, ON)
    assert [row.action for row in rows] == expected
    assert all(row.end_on is None and row.amount is None for row in rows)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            waiver(),
            [(Action.CREDIT_FEES, None, Decimal("30.00")), (Action.CREDIT_INTEREST, None, Decimal("12.50"))],
            id="applied",
        ),
        pytest.param(
            waiver(interest="0.00"), [(Action.CREDIT_FEES, None, Decimal("30.00"))], id="no-interest"
        ),
        pytest.param(
            waiver(applied=OTHER, reversed_on=ON),
            [(Action.REVERSE_CREDIT, None, Decimal("42.50"))],
            id="reversed",
        ),
        pytest.param(waiver(applied=OTHER), [], id="another-day"),
    ],
)
def test_a_waiver_credits_what_it_waived_and_a_reversal_takes_back_both(
    record: WaiverRecord, expected: list[tuple[Action, date | None, Decimal | None]]
) -> None:
    assert actions(waiver_instructions(record, ON)) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            plan(),
            [
                (Action.START_PLAN, date(2026, 6, 15), Decimal("1200.00")),
                (Action.SUSPEND_COLLECTIONS, date(2026, 6, 15), None),
            ],
            id="starts",
        ),
        pytest.param(plan(status="pending_approval"), [], id="waiting-for-approval"),
        pytest.param(plan(status="rejected"), [], id="rejected"),
        pytest.param(
            plan(status="broken", start=OTHER, ended=ON),
            [(Action.END_PLAN, None, Decimal("400.00")), (Action.RESUME_COLLECTIONS, None, None)],
            id="broken",
        ),
        pytest.param(plan(status="active", start=OTHER, ended=ON), [], id="ended-on-but-active"),
    ],
)
def test_a_plan_starts_and_ends_with_collections_suspended_between(
    record: PlanRecord, expected: list[tuple[Action, date | None, Decimal | None]]
) -> None:
    assert actions(plan_instructions(record, ON)) == expected


def test_the_day_s_instructions_come_in_a_stable_order_with_ids_from_their_source() -> None:
    line = DeferralLineRecord(
        5,
        "ACC-0",
        date(2025, 6, 5),
        date(2025, 6, 25),
        date(2025, 9, 25),
        Decimal("100.00"),
        Decimal("0"),
        Decimal("0"),
        ON,
    )
    rows = instructions_for(
        ON,
        lines=[line],
        deferrals=[DeferralSpan(5, "ACC-0", ON, date(2025, 9, 25))],
        waivers=[waiver()],
        plans=[plan()],
    )
    assert [row.instruction_id for row in rows] == [
        "deferral-5-DEFER_DUE_DATE-20250605-20250701",
        "deferral-5-SUSPEND_COLLECTIONS",
        "fee_waiver-7-CREDIT_FEES",
        "fee_waiver-7-CREDIT_INTEREST",
        "installment_plan-3-START_PLAN",
        "installment_plan-3-SUSPEND_COLLECTIONS",
    ]
    assert instructions_for(OTHER, lines=[line], waivers=[waiver()], plans=[plan()]) == []
