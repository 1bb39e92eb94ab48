"""The answer shapes of an evaluation: each program's result with its reasons and its offer (JSON-ready:
money as two-decimal strings), and the evaluation's result.  Their JSON is that of the schemas
``ProgramRead`` and ``EligibilityRead`` (``app.schemas.eligibility``), read from their attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from app.domain.deferrals import DeferralResult
from app.domain.eligibility import Decision, InstallmentOffer, WaiverOffer
from app.domain.installments import Schedule, build_policy_schedule
from app.domain.money import format_money
from app.domain.policy import Policy
from app.services.eligibility.snapshot import Snapshot
from app.services.errors import RefusalReason

__all__ = [
    "EligibilityResult",
    "ProgramResult",
    "Reason",
    "deferral_offer",
    "installment_offer",
    "program_result",
    "refusal_reasons",
    "schedule_summary",
    "waiver_offer",
]


class Reason(NamedTuple):
    """A failed rule: its code and its words (a pair, as the web UI unpacks it)."""

    code: str
    message: str


@dataclass(frozen=True)
class ProgramResult:
    """One program's answer; ``offer`` is JSON-ready (money as two-decimal strings) and only when eligible."""

    program: str
    eligible: bool
    reasons: list[Reason]
    offer: dict[str, Any] | None


@dataclass(frozen=True)
class EligibilityResult:
    """The stored decision's id, the policy version it was made under and each program's answer."""

    decision_id: int
    policy_version: str
    programs: list[ProgramResult]


def schedule_summary(schedule: Schedule) -> dict[str, Any]:
    """First and last installment, totals: what a cardholder compares between terms."""
    first, last = schedule.installments[0], schedule.installments[-1]
    return {
        "term_months": schedule.term_months,
        "first_amount": format_money(first.amount),
        "last_amount": format_money(last.amount),
        "first_due_date": first.due_date.isoformat(),
        "last_due_date": last.due_date.isoformat(),
        "total_fee": format_money(schedule.fee_total),
        "total_interest": format_money(schedule.interest_total),
        "total_amount": format_money(schedule.amount_total),
    }


def installment_offer(offer: InstallmentOffer, snapshot: Snapshot, policy: Policy) -> dict[str, Any]:
    term = snapshot.requested_term or offer.recommended_term
    summary = None
    if term is not None and term in offer.allowed_terms:
        schedule = build_policy_schedule(
            offer.restructured_principal, term, snapshot.today, policy.installment
        )
        summary = schedule_summary(schedule)
    return {
        "currency": policy.currency,
        "restructured_principal": format_money(offer.restructured_principal),
        "fees_waived": format_money(offer.fees_waived),
        "min_term_months": offer.min_term,
        "max_term_months": offer.max_term,
        "allowed_terms": list(offer.allowed_terms),
        "recommended_term_months": offer.recommended_term,
        "monthly_fee_rate": format(offer.monthly_fee_rate, "f"),
        "annual_interest_rate": format(policy.installment.annual_interest_rate, "f"),
        "method": str(policy.installment.method),
        "quote": summary,
    }


def waiver_offer(offer: WaiverOffer, policy: Policy) -> dict[str, Any]:
    return {
        "currency": policy.currency,
        "waivable_fee_amount": format_money(offer.waivable_fee_amount),
        "waivable_interest_amount": format_money(offer.waivable_interest_amount),
        "agent_limit": format_money(policy.fee_waiver.agent_limit),
        "supervisor_limit": format_money(policy.fee_waiver.supervisor_limit),
    }


def deferral_offer(offer: DeferralResult, disaster_code: str | None, policy: Policy) -> dict[str, Any]:
    return {
        "currency": policy.currency,
        "disaster_code": disaster_code,
        "deferred_amount": format_money(offer.deferred_amount),
        "interest_waived": format_money(offer.interest_waived),
        "late_fees_waived": format_money(offer.late_fees_waived),
        "lines": [
            {
                "statement_date": line.statement_date.isoformat(),
                "due_date": line.due_date.isoformat(),
                "new_due_date": line.new_due_date.isoformat(),
                "deferred_amount": format_money(line.deferred_amount),
                "interest_waived": format_money(line.interest_waived),
                "late_fee_waived": format_money(line.late_fee_waived),
            }
            for line in offer.lines
        ],
    }


def program_result(decision: Decision, offer: dict[str, Any] | None) -> ProgramResult:
    """The domain's decision for one program as its answer (the offer only when eligible)."""
    return ProgramResult(
        program=str(decision.program),
        eligible=decision.eligible,
        reasons=[Reason(reason.code, reason.message) for reason in decision.reasons],
        offer=offer if decision.eligible else None,
    )


def refusal_reasons(result: ProgramResult) -> list[RefusalReason]:
    """A program's reasons as the reasons of a 422 refusal."""
    return [RefusalReason(code=code, message=message) for code, message in result.reasons]
