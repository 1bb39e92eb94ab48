"""Disaster deferrals of one account, with their lines (DOMAIN.md, "Disaster deferral: the amounts")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.persistence.models import Deferral, DisasterEvent
from app.services.accounts import get_account_row

__all__ = ["DeferralLineView", "DeferralView", "list_deferrals"]


@dataclass(frozen=True)
class DeferralLineView:
    statement_date: date
    due_date: date
    new_due_date: date
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fee_waived: Decimal


@dataclass(frozen=True)
class DeferralView:
    id: int
    disaster_code: str
    disaster_name: str
    event_version: int
    policy_version: str
    scan_id: int | None
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fees_waived: Decimal
    created_at: datetime
    updated_at: datetime
    lines: list[DeferralLineView]


def list_deferrals(session: Session, *, account_ref: str) -> list[DeferralView]:
    """Every deferral of the account, oldest first, with its lines by due date; NotFound for no account."""
    account = get_account_row(session, account_ref)
    rows = session.execute(
        select(Deferral, DisasterEvent.code, DisasterEvent.name)
        .join(DisasterEvent, DisasterEvent.id == Deferral.disaster_id)
        .where(Deferral.account_id == account.id)
        .options(selectinload(Deferral.lines))
        .order_by(Deferral.id)
    ).all()
    return [
        DeferralView(
            id=deferral.id,
            disaster_code=code,
            disaster_name=name,
            event_version=deferral.event_version,
            policy_version=deferral.policy_version,
            scan_id=deferral.scan_id,
            deferred_amount=deferral.deferred_amount,
            interest_waived=deferral.interest_waived,
            late_fees_waived=deferral.late_fees_waived,
            created_at=deferral.created_at,
            updated_at=deferral.updated_at,
            lines=[
                DeferralLineView(
                    statement_date=line.statement_date,
                    due_date=line.due_date,
                    new_due_date=line.new_due_date,
                    deferred_amount=line.deferred_amount,
                    interest_waived=line.interest_waived,
                    late_fee_waived=line.late_fee_waived,
                )
                for line in deferral.lines
            ],
        )
        for deferral, code, name in rows
    ]
