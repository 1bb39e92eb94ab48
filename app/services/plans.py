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
from app.domain.money import ZERO
from app.domain.policy import Policy
from app.domain.reasons import Program, ReasonCode
from app.persistence.models import CardAccount, Installment, InstallmentPlan
from app.schemas.common import Attributes
from app.schemas.plans import PlanRead
from app.services import accounts, audit, clock, events
from app.services.agreements import plan_agreement
from app.services.decide import Decided, decide
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
    "plan_read",
    "quote_plans",
]

MAX_QUOTE_TERMS = 12

# --- quotes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermQuote:
    """One term's schedule and its figures, as ``TermQuoteRead`` reads them."""

    term_months: int
    first_amount: Decimal
    last_amount: Decimal
    monthly_fee: Decimal
    total_fee: Decimal
    total_interest: Decimal
    total_amount: Decimal
    schedule: tuple[DomainInstallment, ...]


@dataclass(frozen=True)
class PlanQuote:
    """Side-by-side schedules for one account (nothing is stored), as ``QuoteRead`` reads them."""

    account_ref: str
    policy_version: str
    currency: str
    restructured_principal: Decimal
    fees_waived: Decimal
    recommended_term_months: int | None
    quotes: list[TermQuote]


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
        schedule=schedule.installments,
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
    clock.PINNED_ON_COLUMN,  # the business date's pin in the same round trip
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
    on = clock.today_given_pin(session, account.pinned_on)
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
    decided = decide(
        session,
        account_ref=account_ref,
        program=Program.INSTALLMENT_PLAN,
        policies=policies,
        lang=lang,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=term_months,
    )
    return _write_plan(
        session,
        decided,
        term_months=term_months,
        actor=actor,
        channel=channel,
        recording_ref=recording_ref,
        commitment_accepted=commitment_accepted,
    )


def _write_plan(
    session: Session,
    decided: Decided,
    *,
    term_months: int,
    actor: Principal,
    channel: str,
    recording_ref: str | None,
    commitment_accepted: bool,
) -> InstallmentPlan:
    """Store the decision, then the plan with its schedule and agreement; the plan waives the penalty
    fees, so they come off the account (no later waiver waives them again). Emitted and audited."""
    decision = decided.store(session, actor=actor)
    account, policy, on = decided.account, decided.policy, decided.on
    schedule = build_policy_schedule(decided.restructured_principal, term_months, on, policy.installment)
    agreement = plan_agreement(
        account,
        schedule,
        policy=policy,
        on=on,
        channel=channel,
        recording_ref=recording_ref,
        commitment_accepted=commitment_accepted,
        lang=decided.lang,
    )
    plan = _plan_row(
        decided,
        schedule,
        decision_id=decision.id,
        agreement=agreement,
        channel=channel,
        recording_ref=recording_ref,
        actor=actor,
    )
    _insert_plan(session, plan)
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


def _plan_row(
    decided: Decided,
    schedule: Schedule,
    *,
    decision_id: int,
    agreement: dict[str, Any],
    channel: str,
    recording_ref: str | None,
    actor: Principal,
) -> InstallmentPlan:
    """The active plan and its installments as rows (not yet added to the session)."""
    rules = decided.policy.installment
    plan = InstallmentPlan(
        account_id=decided.account.id,
        status=PlanStatus.ACTIVE.value,
        method=str(rules.method),
        term_months=schedule.term_months,
        hardship_reason=str(decided.snapshot.hardship_reason),
        start_on=decided.on,
        start_region_code=decided.account.region_code,
        principal_amount=schedule.principal_total,
        fees_waived=decided.account.fee_balance,
        fee_total=schedule.fee_total,
        interest_total=schedule.interest_total,
        total_amount=schedule.amount_total,
        monthly_fee_rate=format(rules.monthly_fee_rate, "f"),
        annual_interest_rate=format(rules.annual_interest_rate, "f"),
        policy_version=decided.policy.version,
        decision_id=decision_id,
        agreement=agreement,
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
    return plan


def _insert_plan(session: Session, plan: InstallmentPlan) -> None:
    """Insert the plan; Conflict when a concurrent request created the account's active plan first
    (the partial unique index settles what the account lock did not)."""
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

    Refused with the reason codes when the account is ineligible for any other reason. The rules are
    judged once: with the proposed term when it can be accepted (the decision stored with the plan),
    without a term otherwise (a term that is not allowed is countered, not refused).
    """

    def proposed_if_allowed(account: CardAccount, policy: Policy) -> int | None:
        principal = account.principal_balance + account.interest_balance
        accepted = negotiate_term(proposed_term_months, principal, policy.installment).accepted
        return proposed_term_months if accepted else None

    decided = decide(
        session,
        account_ref=account_ref,
        program=Program.INSTALLMENT_PLAN,
        policies=policies,
        lang=lang,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=proposed_if_allowed,
    )
    principal, rules = decided.restructured_principal, decided.policy.installment
    recommended = recommended_term(principal, monthly_income, rules)
    if decided.snapshot.requested_term is not None:
        _require_commitment(commitment_accepted)
        plan = _write_plan(
            session,
            decided,
            term_months=proposed_term_months,
            actor=actor,
            channel=channel,
            recording_ref=recording_ref,
            commitment_accepted=commitment_accepted,
        )
        return NegotiationOutcome("accepted", plan, None, None, recommended)
    counter = negotiate_term(proposed_term_months, principal, rules).term
    if counter is None:  # pragma: no cover - the eligibility rules refuse this case first
        raise _term_refusal(decided.policy, lang, "There is nothing to spread over installments.")
    quote = _term_quote(build_policy_schedule(principal, counter, decided.on, rules))
    return NegotiationOutcome("counter_offer", None, counter, quote, recommended)


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
    data = plan_read(session, plan).model_dump(mode="json")
    return events.emit(session, type=type, subject=data["account_ref"], data=data)


def cancel_plan(session: Session, *, plan_id: int, actor: Principal, note: str) -> InstallmentPlan:
    """Cancel an active plan (Conflict for any other status)."""
    return _end_plan(session, plan_id=plan_id, target=PlanStatus.CANCELLED, actor=actor, note=note)


def break_plan(session: Session, *, plan_id: int, actor: Principal, note: str) -> InstallmentPlan:
    """Mark an active plan broken (not kept); a new plan is refused for 12 months (RECENT_BROKEN_PLAN)."""
    return _end_plan(session, plan_id=plan_id, target=PlanStatus.BROKEN, actor=actor, note=note)


def plan_read(
    session: Session,
    plan: InstallmentPlan,
    *,
    account_ref: str | None = None,
    installments: Sequence[Any] | None = None,
) -> PlanRead:
    """The plan as the API, its events and the agent UI show it (``PlanRead``): its own columns, its
    account_ref and its installments as the schedule. A caller that has them for many plans passes the
    account_ref and the installments in number order (Installment objects, or rows with the same
    attributes)."""
    if account_ref is None:
        account_ref = session.scalar(select(CardAccount.account_ref).where(CardAccount.id == plan.account_id))
    if installments is None:
        installments = session.scalars(
            select(Installment).where(Installment.plan_id == plan.id).order_by(Installment.number)
        ).all()
    schedule = [
        Attributes(item, principal=item.principal_amount, interest=item.interest_amount, fee=item.fee_amount)
        for item in installments
    ]
    return PlanRead.model_validate(Attributes(plan, account_ref=account_ref, schedule=schedule))
