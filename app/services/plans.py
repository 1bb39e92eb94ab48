"""Negotiated installment plans: quotes, creation, online negotiation and the plan lifecycle.

DOMAIN.md, "Installment plan": the restructured principal P = principal + interest is spread over
1..60 monthly installments (equal principal, remainder on the last), fees are waived, the first
installment falls due one month after today. One active plan per account: the account row is
locked first (serialising decisions on PostgreSQL; SQLite serialises writers anyway), and the
database's partial unique index settles whatever still races (409).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.db import core_connection
from app.domain.errors import InvalidTransition
from app.domain.events import EventType
from app.domain.installments import Installment as DomainInstallment
from app.domain.installments import (
    PlanStatus,
    Schedule,
    allowed_terms,
    build_policy_schedule,
    negotiate_term,
    recommended_term,
    select_quote_terms,
    transition_plan,
)
from app.domain.money import ZERO, format_money
from app.domain.policy import Policy
from app.domain.reasons import Program, ReasonCode
from app.persistence.models import CardAccount, Installment, InstallmentPlan
from app.schemas.plans import PlanRead
from app.services import accounts, audit, clock, events
from app.services.eligibility import (
    ProgramResult,
    judge,
    load_snapshot,
    refusal_reasons,
    store_decision,
)
from app.services.errors import Conflict, FieldError, InvalidInput, NotFound, RefusalReason, Refused
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "MAX_QUOTE_TERMS",
    "NegotiationOutcome",
    "PlanQuote",
    "TermQuote",
    "break_plan",
    "cancel_plan",
    "create_plan",
    "emit_plan_event",
    "get_plan",
    "list_plans",
    "negotiate_plan",
    "plan_dict",
    "quote_plans",
]

MAX_QUOTE_TERMS = 12

_AGREEMENT_TEXT = {
    "en": [
        "The amount owed is repaid in {count} monthly installments of {amount} {currency} "
        "(the last one {last} {currency}), the first due on {first_due}.",
        "Fees and penalties of {fees_waived} {currency} are waived.",
        "{accrual}",
        "Until the plan is settled, the cardholder will not apply for new credit cards.",
        "Collection activity is suspended for as long as the installments are paid as agreed.",
    ],
    "zh": [
        "欠款分{count}期按月偿还，每期{amount}元（最后一期{last}元），首期还款日为{first_due}。",
        "减免费用及违约金共{fees_waived}元。",
        "{accrual}",
        "在分期还款结清之前，持卡人承诺不再申请新的信用卡。",
        "只要按约定履行分期还款，银行暂停催收。",
    ],
}
_ACCRUAL_TEXT = {
    "en": {
        True: "No interest or fees accrue on the plan.",
        False: "Interest and fees accrue only as shown in the schedule.",
    },
    "zh": {True: "分期期间不再计收利息和费用。", False: "利息和费用仅按还款计划表所列收取。"},
}


# --- quotes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermQuote:
    """One term's schedule and its figures."""

    term_months: int
    first_amount: Decimal
    last_amount: Decimal
    monthly_fee: Decimal
    total_fee: Decimal
    total_interest: Decimal
    total_amount: Decimal
    installments: tuple[DomainInstallment, ...]

    @property
    def schedule(self) -> list[dict[str, Any]]:
        """The installments as rows (number, due_date, principal, interest, fee, amount)."""
        return [
            {
                "number": item.number,
                "due_date": item.due_date,
                "principal": item.principal,
                "interest": item.interest,
                "fee": item.fee,
                "amount": item.amount,
            }
            for item in self.installments
        ]

    def to_json(self) -> dict[str, Any]:
        """As JSON values, in the fields and order of ``TermQuoteRead`` (money as ``MoneyOut`` text)."""
        return {
            "term_months": self.term_months,
            "first_amount": format_money(self.first_amount),
            "last_amount": format_money(self.last_amount),
            "monthly_fee": format_money(self.monthly_fee),
            "total_fee": format_money(self.total_fee),
            "total_interest": format_money(self.total_interest),
            "total_amount": format_money(self.total_amount),
            "schedule": [
                {
                    "number": item.number,
                    "due_date": item.due_date,
                    "principal": format_money(item.principal),
                    "interest": format_money(item.interest),
                    "fee": format_money(item.fee),
                    "amount": format_money(item.amount),
                }
                for item in self.installments
            ],
        }


@dataclass(frozen=True)
class PlanQuote:
    """Side-by-side schedules for one account (nothing is stored)."""

    account_ref: str
    policy_version: str
    currency: str
    restructured_principal: Decimal
    fees_waived: Decimal
    recommended_term_months: int | None
    quotes: list[TermQuote]

    def to_json(self) -> dict[str, Any]:
        """The answer of POST /v1/quotes/installment-plan as JSON values (``QuoteRead``)."""
        return {
            "account_ref": self.account_ref,
            "policy_version": self.policy_version,
            "currency": self.currency,
            "restructured_principal": format_money(self.restructured_principal),
            "fees_waived": format_money(self.fees_waived),
            "recommended_term_months": self.recommended_term_months,
            "quotes": [quote.to_json() for quote in self.quotes],
        }


def _term_quote(schedule: Schedule) -> TermQuote:
    first, last = schedule.installments[0], schedule.installments[-1]
    return TermQuote(
        term_months=schedule.term_months,
        first_amount=first.amount,
        last_amount=last.amount,
        monthly_fee=first.fee,
        total_fee=schedule.fee_total,
        total_interest=schedule.interest_total,
        total_amount=schedule.amount_total,
        installments=schedule.installments,
    )


def _term_refusal(policy: Policy, lang: str, detail: str) -> Refused:
    code = ReasonCode.TERM_NOT_ALLOWED
    return Refused(detail, [RefusalReason(code=code.value, message=policy.reason_message(code, lang))])


# Built once (building a select costs more than running this one).  Labelled: run as Core, a
# money column's row key would be its database name (``..._fen``), not the attribute's.
_QUOTE_ACCOUNT = select(
    CardAccount.account_ref,
    CardAccount.principal_balance.label("principal_balance"),
    CardAccount.interest_balance.label("interest_balance"),
    CardAccount.fee_balance.label("fee_balance"),
).where(CardAccount.account_ref == bindparam("account_ref"))


def quote_plans(
    session: Session,
    *,
    account_ref: str,
    terms: Sequence[int] | None,
    monthly_income: Decimal | None,
    policies: PolicyStore,
    lang: str,
) -> PlanQuote:
    """Schedules side by side for ``terms`` (default: the policy's quote terms that are allowed for
    this principal, plus the recommended term for ``monthly_income``), starting today.

    Quotes the amounts only; whether the cardholder may sign is the eligibility decision's job.
    Refused (TERM_NOT_ALLOWED) for a term that is not allowed, or when there is nothing to spread.
    """
    account = core_connection(session).execute(_QUOTE_ACCOUNT, {"account_ref": account_ref}).first()
    if account is None:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    on = clock.today(session)
    policy = policies.in_force(on)
    rules = policy.installment
    principal = account.principal_balance + account.interest_balance
    recommended = recommended_term(principal, monthly_income, rules)
    if terms:
        chosen = sorted(set(terms))
        allowed = set(allowed_terms(principal, rules))
        refused = [term for term in chosen if term not in allowed]
        if refused:
            raise _term_refusal(policy, lang, f"These terms cannot be offered for this account: {refused}.")
    else:
        chosen = sorted(set(select_quote_terms(principal, rules)) | ({recommended} if recommended else set()))
        if not chosen:
            # None of the usual terms fits a small principal: show the shortest and longest possible.
            possible = allowed_terms(principal, rules)
            chosen = sorted({possible[0], possible[-1]}) if possible else []
        if not chosen:
            raise _term_refusal(policy, lang, "There is nothing to spread over installments.")
    quotes = [_term_quote(build_policy_schedule(principal, term, on, rules)) for term in chosen]
    return PlanQuote(
        account_ref=account.account_ref,
        policy_version=policy.version,
        currency=policy.currency,
        restructured_principal=principal,
        fees_waived=account.fee_balance,
        recommended_term_months=recommended,
        quotes=quotes,
    )


# --- creating a plan ------------------------------------------------------------------------------


def _require_commitment(commitment_accepted: bool) -> None:
    if not commitment_accepted:
        raise InvalidInput(
            "The cardholder must accept the plan's commitments (no new cards until settled).",
            [
                FieldError(
                    "body.commitment_accepted",
                    "must be true: confirm that the cardholder accepted the agreement's commitments",
                    "plan.commitment",
                )
            ],
            code="plan.commitment",
        )


def _judge_installment(
    session: Session,
    account: CardAccount,
    *,
    policy: Policy,
    on: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
    lang: str,
) -> tuple[Any, ProgramResult]:
    snapshot = load_snapshot(
        session,
        account,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
    )
    (result,) = judge(snapshot, policy, lang=lang, programs=[Program.INSTALLMENT_PLAN])
    return snapshot, result


def _agreement(
    account: CardAccount,
    schedule: Schedule,
    *,
    policy: Policy,
    on: date,
    channel: str,
    recording_ref: str | None,
    commitment_accepted: bool,
    lang: str,
) -> dict[str, Any]:
    first, last = schedule.installments[0], schedule.installments[-1]
    rules = policy.installment
    nothing_accrues = rules.annual_interest_rate == 0 and rules.monthly_fee_rate == 0
    language = "en" if lang == "en" else "zh"
    words = {
        "count": schedule.term_months,
        "amount": format_money(first.amount),
        "last": format_money(last.amount),
        "currency": policy.currency,
        "first_due": first.due_date.isoformat(),
        "fees_waived": format_money(account.fee_balance),
        "accrual": _ACCRUAL_TEXT[language][nothing_accrues],
    }
    return {
        "currency": policy.currency,
        "balance_owed": format_money(
            account.principal_balance + account.interest_balance + account.fee_balance
        ),
        "principal_balance": format_money(account.principal_balance),
        "interest_balance": format_money(account.interest_balance),
        "fees_waived": format_money(account.fee_balance),
        "restructured_principal": format_money(schedule.principal_total),
        "installments_count": schedule.term_months,
        "installment_amount": format_money(first.amount),
        "last_installment_amount": format_money(last.amount),
        "total_repayable": format_money(schedule.amount_total),
        "start_on": on.isoformat(),
        "first_due_on": first.due_date.isoformat(),
        "last_due_on": last.due_date.isoformat(),
        "interest_accrual": "none" if rules.annual_interest_rate == 0 else "per_schedule",
        "fee_accrual": "none" if rules.monthly_fee_rate == 0 else "per_schedule",
        "no_new_cards_until_settled": True,
        "commitment_accepted": commitment_accepted,
        "collection_suspended_while_kept": True,
        "channel": channel,
        "recording_ref": recording_ref,
        "lang": language,
        "terms_text": [line.format(**words) for line in _AGREEMENT_TEXT[language]],
    }


def create_plan(
    session: Session,
    *,
    account_ref: str,
    term_months: int,
    hardship_reason: str | None,
    actor: Principal,
    policies: PolicyStore,
    lang: str,
    channel: str,
    recording_ref: str | None,
    commitment_accepted: bool,
    monthly_income: Decimal | None = None,
) -> InstallmentPlan:
    """Create an active plan of ``term_months`` starting today, if the rules allow it.

    Locks the account row, judges the installment rules (Refused with every reason code, e.g.
    ACCOUNT_STATUS_INELIGIBLE, PLAN_ALREADY_ACTIVE, TERM_NOT_ALLOWED), stores the decision, the plan,
    its schedule and its agreement, and audits it. InvalidInput when the commitments were not
    accepted; Conflict when a concurrent request created an active plan first (unique index).
    """
    _require_commitment(commitment_accepted)
    account = accounts.lock_account_row(session, account_ref)
    on = clock.today(session)
    policy = policies.in_force(on)
    snapshot, result = _judge_installment(
        session,
        account,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=term_months,
        lang=lang,
    )
    if not result.eligible:
        raise Refused("The installment plan is refused by the relief rules.", refusal_reasons(result))
    decision = store_decision(
        session,
        kind="installment_plan",
        snapshot=snapshot,
        results=[result],
        policy=policy,
        actor=actor,
        lang=lang,
    )
    rules = policy.installment
    principal = account.principal_balance + account.interest_balance
    schedule = build_policy_schedule(principal, term_months, on, rules)
    plan = InstallmentPlan(
        account_id=account.id,
        status=PlanStatus.ACTIVE.value,
        method=str(rules.method),
        term_months=term_months,
        hardship_reason=str(hardship_reason),
        start_on=on,
        start_region_code=account.region_code,
        principal_amount=schedule.principal_total,
        fees_waived=account.fee_balance,
        fee_total=schedule.fee_total,
        interest_total=schedule.interest_total,
        total_amount=schedule.amount_total,
        monthly_fee_rate=format(rules.monthly_fee_rate, "f"),
        annual_interest_rate=format(rules.annual_interest_rate, "f"),
        policy_version=policy.version,
        decision_id=decision.id,
        agreement=_agreement(
            account,
            schedule,
            policy=policy,
            on=on,
            channel=channel,
            recording_ref=recording_ref,
            commitment_accepted=commitment_accepted,
            lang=lang,
        ),
        recording_ref=recording_ref,
        channel=channel,
        created_by=actor.actor,
        created_person=actor.person,
        created_at=clock.utcnow(),
    )
    plan.installments = [
        Installment(
            number=item.number,
            due_date=item.due_date,
            principal_amount=item.principal,
            interest_amount=item.interest,
            fee_amount=item.fee,
            amount=item.amount,
        )
        for item in schedule.installments
    ]
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "The account already has an active installment plan (PLAN_ALREADY_ACTIVE); "
            "another request created it first.",
            code="plan.already_active",
        ) from None
    # The plan waives the penalty fees: take them off the account so no later waiver waives them again.
    fee_balance_before = account.fee_balance
    account.fee_balance = ZERO
    session.flush()
    emit_plan_event(session, plan, EventType.PLAN_CREATED)
    audit.record(
        session,
        actor=actor,
        action="installment_plan.created",
        entity_type="installment_plan",
        entity_id=plan.id,
        before={"fee_balance": fee_balance_before},
        after={
            "fee_balance": account.fee_balance,
            "account_ref": account.account_ref,
            "status": plan.status,
            "term_months": plan.term_months,
            "principal_amount": plan.principal_amount,
            "fees_waived": plan.fees_waived,
            "total_amount": plan.total_amount,
            "policy_version": plan.policy_version,
            "decision_id": decision.id,
            "channel": channel,
            "recording_ref": recording_ref,
        },
    )
    return plan


@dataclass(frozen=True)
class NegotiationOutcome:
    """Either the plan created for the proposed term, or the nearest allowed term and its quote."""

    outcome: str  # "accepted" | "counter_offer"
    plan: InstallmentPlan | None
    counter_offer_term_months: int | None
    quote: TermQuote | None
    recommended_term_months: int | None


def negotiate_plan(
    session: Session,
    *,
    account_ref: str,
    proposed_term_months: int,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    actor: Principal,
    policies: PolicyStore,
    lang: str,
    channel: str,
    recording_ref: str | None,
    commitment_accepted: bool,
) -> NegotiationOutcome:
    """Online negotiation: accept the proposed term (and create the plan) when it is allowed, otherwise
    counter-offer the nearest allowed term (ties to the shorter) with its schedule, creating nothing.

    Refused with the reason codes when the account is ineligible for any other reason.
    """
    account = accounts.lock_account_row(session, account_ref)
    on = clock.today(session)
    policy = policies.in_force(on)
    _, result = _judge_installment(
        session,
        account,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=None,
        lang=lang,
    )
    if not result.eligible:
        raise Refused("The installment plan is refused by the relief rules.", refusal_reasons(result))
    principal = account.principal_balance + account.interest_balance
    recommended = recommended_term(principal, monthly_income, policy.installment)
    negotiation = negotiate_term(proposed_term_months, principal, policy.installment)
    if negotiation.accepted:
        plan = create_plan(
            session,
            account_ref=account_ref,
            term_months=proposed_term_months,
            hardship_reason=hardship_reason,
            actor=actor,
            policies=policies,
            lang=lang,
            channel=channel,
            recording_ref=recording_ref,
            commitment_accepted=commitment_accepted,
            monthly_income=monthly_income,
        )
        return NegotiationOutcome("accepted", plan, None, None, recommended)
    if negotiation.term is None:  # pragma: no cover - the eligibility rules refuse this case first
        raise _term_refusal(policy, lang, "There is nothing to spread over installments.")
    quote = _term_quote(build_policy_schedule(principal, negotiation.term, on, policy.installment))
    return NegotiationOutcome("counter_offer", None, negotiation.term, quote, recommended)


# --- reading and lifecycle -------------------------------------------------------------------------


def get_plan(session: Session, plan_id: int) -> InstallmentPlan:
    """The plan with its installments; NotFound when there is none."""
    plan = session.scalar(
        select(InstallmentPlan)
        .where(InstallmentPlan.id == plan_id)
        .options(selectinload(InstallmentPlan.installments))
    )
    if plan is None:
        raise NotFound(f"No installment plan with id {plan_id}.")
    return plan


def list_plans(session: Session, *, account_ref: str) -> list[InstallmentPlan]:
    """The account's plans, newest first, with their installments; NotFound for an unknown account."""
    account = accounts.get_account_row(session, account_ref)
    return list(
        session.scalars(
            select(InstallmentPlan)
            .where(InstallmentPlan.account_id == account.id)
            .options(selectinload(InstallmentPlan.installments))
            .order_by(InstallmentPlan.id.desc())
        )
    )


def _end_plan(
    session: Session, *, plan_id: int, target: PlanStatus, actor: Principal, note: str
) -> InstallmentPlan:
    plan = session.scalar(select(InstallmentPlan).where(InstallmentPlan.id == plan_id).with_for_update())
    if plan is None:
        raise NotFound(f"No installment plan with id {plan_id}.")
    before: dict[str, Any] = {"status": plan.status, "ended_on": plan.ended_on, "end_reason": plan.end_reason}
    try:
        plan.status = transition_plan(plan.status, target.value).value
    except InvalidTransition as exc:
        raise Conflict(
            f"Installment plan {plan_id}: {exc}.",
            code="plan.transition",
            params={"id": plan_id, "status": plan.status},
        ) from None
    plan.ended_on = clock.today(session)
    plan.end_reason = note
    after: dict[str, Any] = {"status": plan.status, "ended_on": plan.ended_on, "end_reason": note}
    if target is PlanStatus.CANCELLED:
        # A cancelled agreement never took effect: the fees it waived are owed again.
        account = session.scalar(
            select(CardAccount).where(CardAccount.id == plan.account_id).with_for_update()
        )
        assert account is not None
        before["fee_balance"] = account.fee_balance
        account.fee_balance = account.fee_balance + plan.fees_waived
        after["fee_balance"] = account.fee_balance
    session.flush()
    emit_plan_event(session, plan, _END_EVENTS[target])
    audit.record(
        session,
        actor=actor,
        action=f"installment_plan.{target.value}",
        entity_type="installment_plan",
        entity_id=plan.id,
        before=before,
        after=after,
    )
    return get_plan(session, plan_id)


_END_EVENTS = {
    PlanStatus.CANCELLED: EventType.PLAN_CANCELLED,
    PlanStatus.BROKEN: EventType.PLAN_BROKEN,
    PlanStatus.COMPLETED: EventType.PLAN_COMPLETED,
}


def emit_plan_event(session: Session, plan: InstallmentPlan, type: EventType) -> str:
    """The plan's event (CONTRACT.md, "Events out"): subject its account_ref, data the plan as
    GET /v1/installment-plans/{id} answers it. Call after the change is flushed, before its audit."""
    data = PlanRead.model_validate(plan_dict(session, plan)).model_dump(mode="json")
    return events.emit(session, type=type, subject=data["account_ref"], data=data)


def cancel_plan(session: Session, *, plan_id: int, actor: Principal, note: str) -> InstallmentPlan:
    """Cancel an active plan (Conflict for any other status)."""
    return _end_plan(session, plan_id=plan_id, target=PlanStatus.CANCELLED, actor=actor, note=note)


def break_plan(session: Session, *, plan_id: int, actor: Principal, note: str) -> InstallmentPlan:
    """Mark an active plan broken (not kept); a new plan is refused for 12 months (RECENT_BROKEN_PLAN)."""
    return _end_plan(session, plan_id=plan_id, target=PlanStatus.BROKEN, actor=actor, note=note)


def plan_dict(
    session: Session,
    plan: InstallmentPlan,
    *,
    account_ref: str | None = None,
    installments: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The plan as the API and the agent UI show it: with its account_ref and schedule (a caller that
    has them for many plans passes the account_ref, and the installments in number order: Installment
    objects or rows with the same attributes)."""
    if account_ref is None:
        account_ref = session.scalar(select(CardAccount.account_ref).where(CardAccount.id == plan.account_id))
    if installments is None:
        installments = session.scalars(
            select(Installment).where(Installment.plan_id == plan.id).order_by(Installment.number)
        ).all()
    return {
        "id": plan.id,
        "account_ref": account_ref,
        "status": plan.status,
        "term_months": plan.term_months,
        "method": plan.method,
        "hardship_reason": plan.hardship_reason,
        "start_on": plan.start_on,
        "principal_amount": plan.principal_amount,
        "fees_waived": plan.fees_waived,
        "fee_total": plan.fee_total,
        "interest_total": plan.interest_total,
        "total_amount": plan.total_amount,
        "monthly_fee_rate": plan.monthly_fee_rate,
        "annual_interest_rate": plan.annual_interest_rate,
        "policy_version": plan.policy_version,
        "decision_id": plan.decision_id,
        "channel": plan.channel,
        "recording_ref": plan.recording_ref,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
        "ended_on": plan.ended_on,
        "end_reason": plan.end_reason,
        "agreement": plan.agreement,
        "schedule": [
            {
                "number": i.number,
                "due_date": i.due_date,
                "principal": i.principal_amount,
                "interest": i.interest_amount,
                "fee": i.fee_amount,
                "amount": i.amount,
                "status": i.status,
                "paid_amount": i.paid_amount,
            }
            for i in installments
        ],
        "completed_on": plan.completed_on,
        "broken_on": plan.broken_on,
        "paid_total": plan.paid_total,
        "outstanding": plan.outstanding,
        "unapplied": plan.unapplied,
    }
