"""The snapshot of a decision: everything the rules look at for one account on one day, and its
stored form (the ``inputs`` of a decision row, from which ``app.services.decisions`` replays it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.model import Account, DisasterEvent, Statement
from app.domain.money import format_money, parse_money

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """Everything the rules see for one account on one day (the ``inputs`` of a decision)."""

    account: Account
    statements: tuple[Statement, ...]
    open_events: tuple[DisasterEvent, ...]
    enrolled_codes: frozenset[str]
    region_code_changes: dict[str, str]
    has_active_plan: bool
    last_broken_plan_on: date | None
    hardship_reason: str | None
    monthly_income: Decimal | None
    requested_term: int | None
    today: date

    def to_json(self) -> dict[str, Any]:
        a = self.account
        return {
            "account": {
                "account_ref": a.account_ref,
                "customer_ref": a.customer_ref,
                "product_code": a.product_code,
                "status": a.status,
                "region_code": a.region_code,
                "opened_on": a.opened_on.isoformat(),
                "credit_limit": format_money(a.credit_limit),
                "principal_balance": format_money(a.principal_balance),
                "interest_balance": format_money(a.interest_balance),
                "fee_balance": format_money(a.fee_balance),
                "delinquent_since": _iso(a.delinquent_since),
                "last_payment_on": _iso(a.last_payment_on),
            },
            "statements": [
                {
                    "statement_date": s.statement_date.isoformat(),
                    "due_date": s.due_date.isoformat(),
                    "statement_balance": format_money(s.statement_balance),
                    "minimum_due": format_money(s.minimum_due),
                    "paid_amount": format_money(s.paid_amount),
                }
                for s in self.statements
            ],
            "open_events": [
                {
                    "code": e.code,
                    "occurred_on": e.occurred_on.isoformat(),
                    "relief_start": e.relief_start.isoformat(),
                    "relief_end": e.relief_end.isoformat(),
                    "deferral_months": e.deferral_months,
                    "region_codes": list(e.region_codes),
                }
                for e in self.open_events
            ],
            "enrolled_disaster_codes": sorted(self.enrolled_codes),
            "region_code_changes": dict(sorted(self.region_code_changes.items())),
            "has_active_plan": self.has_active_plan,
            "last_broken_plan_on": _iso(self.last_broken_plan_on),
            "hardship_reason": self.hardship_reason,
            "monthly_income": None if self.monthly_income is None else format_money(self.monthly_income),
            "requested_term_months": self.requested_term,
            "today": self.today.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        a = data["account"]
        account = Account(
            account_ref=a["account_ref"],
            customer_ref=a["customer_ref"],
            product_code=a["product_code"],
            status=a["status"],
            region_code=a["region_code"],
            opened_on=date.fromisoformat(a["opened_on"]),
            credit_limit=parse_money(a["credit_limit"]),
            principal_balance=parse_money(a["principal_balance"]),
            interest_balance=parse_money(a["interest_balance"]),
            fee_balance=parse_money(a["fee_balance"]),
            delinquent_since=_date_or_none(a["delinquent_since"]),
            last_payment_on=_date_or_none(a["last_payment_on"]),
        )
        statements = tuple(
            Statement(
                statement_date=date.fromisoformat(s["statement_date"]),
                due_date=date.fromisoformat(s["due_date"]),
                statement_balance=parse_money(s["statement_balance"]),
                minimum_due=parse_money(s["minimum_due"]),
                paid_amount=parse_money(s["paid_amount"]),
            )
            for s in data["statements"]
        )
        events = tuple(
            DisasterEvent(
                code=e["code"],
                occurred_on=date.fromisoformat(e["occurred_on"]),
                relief_start=date.fromisoformat(e["relief_start"]),
                relief_end=date.fromisoformat(e["relief_end"]),
                deferral_months=int(e["deferral_months"]),
                region_codes=tuple(e["region_codes"]),
            )
            for e in data["open_events"]
        )
        income = data.get("monthly_income")
        return cls(
            account=account,
            statements=statements,
            open_events=events,
            enrolled_codes=frozenset(data.get("enrolled_disaster_codes", [])),
            region_code_changes=dict(data.get("region_code_changes", {})),
            has_active_plan=bool(data["has_active_plan"]),
            last_broken_plan_on=_date_or_none(data.get("last_broken_plan_on")),
            hardship_reason=data.get("hardship_reason"),
            monthly_income=None if income is None else parse_money(income),
            requested_term=data.get("requested_term_months"),
            today=date.fromisoformat(data["today"]),
        )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date_or_none(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
