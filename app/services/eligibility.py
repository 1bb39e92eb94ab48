"""Eligibility for the relief programs, stored as replayable decisions.

A decision is made from a *snapshot* of everything the rules look at (the account, its statements,
the open disaster events, the enrolments, the region code changes, the plan history, the request
and the day), under the policy in force that day. The snapshot and the outcome are stored in a
``decision`` row, so an auditor can replay the decision later from the snapshot alone
(ARCHITECTURE.md, "Rules of the core"; ``app.services.decisions``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, case, func, insert, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from app.db import core_connection
from app.domain.deferrals import DeferralResult
from app.domain.eligibility import (
    Decision,
    InstallmentOffer,
    WaiverOffer,
    evaluate_disaster_deferral,
    evaluate_disaster_deferral_for_events,
    evaluate_fee_waiver,
    evaluate_installment_plan,
)
from app.domain.installments import Schedule, build_policy_schedule
from app.domain.model import Account, DisasterEvent, Statement
from app.domain.money import format_money, parse_money
from app.domain.policy import Policy
from app.domain.reasons import Program
from app.domain.regions import is_covered
from app.persistence import mappers, models
from app.services import audit, clock, regions
from app.services.errors import NotFound, RefusalReason
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "ALL_PROGRAMS",
    "EligibilityResult",
    "ProgramResult",
    "Snapshot",
    "evaluate_account",
    "has_active_plan",
    "judge",
    "last_broken_plan_on",
    "load_snapshot",
    "outcome_json",
    "plan_history",
    "refusal_reasons",
    "schedule_summary",
    "store_decision",
]

ALL_PROGRAMS: tuple[Program, ...] = (
    Program.INSTALLMENT_PLAN,
    Program.FEE_WAIVER,
    Program.DISASTER_DEFERRAL,
)


@dataclass(frozen=True)
class ProgramResult:
    """One program's answer; ``offer`` is JSON-ready (money as two-decimal strings) and only when eligible."""

    program: str
    eligible: bool
    reasons: list[tuple[str, str]]
    offer: dict[str, Any] | None


@dataclass(frozen=True)
class EligibilityResult:
    """The stored decision's id, the policy version it was made under and each program's answer."""

    decision_id: int
    policy_version: str
    programs: list[ProgramResult]

    def to_json(self) -> dict[str, Any]:
        """The answer of POST .../eligibility as JSON values, in the fields and order of
        ``EligibilityRead`` (the offers are JSON-ready already)."""
        return {
            "decision_id": self.decision_id,
            "policy_version": self.policy_version,
            "programs": [
                {
                    "program": p.program,
                    "eligible": p.eligible,
                    "reasons": [{"code": code, "message": message} for code, message in p.reasons],
                    "offer": p.offer,
                }
                for p in self.programs
            ],
        }


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


# --- reading the inputs ------------------------------------------------------------------------------


def has_active_plan(session: Session, account_id: int) -> bool:
    """True when the account has an active installment plan."""
    return plan_history(session, account_id)[0]


def last_broken_plan_on(session: Session, account_id: int) -> date | None:
    """The day the account's most recently broken plan was broken, if any."""
    return plan_history(session, account_id)[1]


def plan_history(session: Session, account_id: int) -> tuple[bool, date | None]:
    """(has an active plan, the day its last broken plan was broken): one query."""
    plan = models.InstallmentPlan
    row = session.execute(
        select(
            func.count(case((plan.status == "active", 1))),
            func.max(case((plan.status == "broken", plan.ended_on))),
        ).where(plan.account_id == account_id)
    ).one()
    return row[0] > 0, row[1]


# The parts of ``_CONTEXT``, the decision's inputs besides the account: one query, one round trip.
_OPEN_EVENT_REGION, _ENROLLED_CODE, _OPERATOR_CODE_CHANGE = 0, 1, 2


def _context_query() -> Any:
    """The open events with their regions, the codes of the events the account (``account_id``) is
    enrolled in, and the operators' region code changes, as one UNION ALL of rows
    (part, event id, code, occurred_on, relief_start, relief_end, deferral_months, value): ``value``
    is an event's region code, or a change's new code (``code`` being its old code)."""
    event, region = models.DisasterEvent, models.DisasterRegion
    deferral, change = models.Deferral, models.RegionCodeChange
    missing = (null(), null(), null(), null(), null())
    open_event_regions: Any = (
        select(
            literal_column(str(_OPEN_EVENT_REGION)).label("part"),
            event.id.label("event_id"),
            event.code.label("code"),
            event.occurred_on.label("occurred_on"),
            event.relief_start.label("relief_start"),
            event.relief_end.label("relief_end"),
            event.deferral_months.label("deferral_months"),
            region.region_code.label("value"),
        )
        .join(region, region.disaster_id == event.id)
        .where(event.status == "open")
    )
    enrolled_codes: Any = (
        select(literal_column(str(_ENROLLED_CODE)), null(), event.code, *missing)
        .join(deferral, deferral.disaster_id == event.id)
        .where(deferral.account_id == bindparam("account_id"))
    )
    operator_changes: Any = select(
        literal_column(str(_OPERATOR_CODE_CHANGE)), null(), change.old_code, *missing[:4], change.new_code
    )
    union = union_all(open_event_regions, enrolled_codes, operator_changes)
    c = union.selected_columns
    # The events in the order the rules see them (occurred_on, id), each with its codes sorted.
    return union.order_by(c.part, c.occurred_on, c.event_id, c.value)


def _statements_query() -> Any:
    s = models.Statement
    return (
        select(*mappers.DOMAIN_STATEMENT_COLUMNS)
        .where(s.account_id == bindparam("account_id"))
        .order_by(s.statement_date)
    )


def _account_with_statements_query() -> Any:
    a, s, plan = models.CardAccount, models.Statement, models.InstallmentPlan
    active_plan = select(plan.id).where(plan.account_id == a.id, plan.status == "active").exists()
    last_broken = (
        select(func.max(plan.ended_on))
        .where(plan.account_id == a.id, plan.status == "broken")
        .scalar_subquery()
    )
    return (
        select(
            a.id,
            *mappers.DOMAIN_ACCOUNT_COLUMNS,
            active_plan,
            last_broken,
            *mappers.DOMAIN_STATEMENT_COLUMNS,
        )
        .outerjoin(s, s.account_id == a.id)
        .where(a.account_ref == bindparam("account_ref"))
        .order_by(s.statement_date)
    )


# The statements of an evaluation, built once: building a select and its cache key cost more
# than running it.  They run on the session's connection, as Core (``core_connection``).
_CONTEXT = _context_query()
_STATEMENTS = _statements_query()
_ACCOUNT_WITH_STATEMENTS = _account_with_statements_query()
_INSERT_DECISION = insert(models.Decision).returning(models.Decision.id)


def _decision_context(
    session: Session, account_id: int, policy: Policy
) -> tuple[tuple[DisasterEvent, ...], frozenset[str], dict[str, str]]:
    """The open events with their regions (an event without regions covers nothing), the codes of
    the events the account is enrolled in, and the region code changes (the policy's with the
    operators', ``regions.merge_code_changes``): one query."""
    grouped: dict[int, tuple[Any, list[str]]] = {}
    enrolled: list[str] = []
    operator_changes: list[tuple[str, str]] = []
    for row in core_connection(session).execute(_CONTEXT, {"account_id": account_id}):
        part = row[0]
        if part == _OPEN_EVENT_REGION:
            grouped.setdefault(row[1], (row, []))[1].append(row[7])
        elif part == _ENROLLED_CODE:
            enrolled.append(row[2])
        else:
            operator_changes.append((row[2], row[7]))
    events = tuple(
        DisasterEvent(
            code=row[2],
            occurred_on=row[3],
            relief_start=row[4],
            relief_end=row[5],
            deferral_months=row[6],
            region_codes=tuple(codes),
        )
        for row, codes in grouped.values()
    )
    return events, frozenset(enrolled), regions.merge_code_changes(policy, operator_changes)


def _statements(session: Session, account_id: int) -> tuple[Statement, ...]:
    rows = core_connection(session).execute(_STATEMENTS, {"account_id": account_id}).all()
    return tuple(mappers.statement_from_values(row) for row in rows)


def load_snapshot(
    session: Session,
    account: models.CardAccount,
    *,
    policy: Policy,
    on: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
) -> Snapshot:
    """Read everything the rules look at for ``account`` (a row the caller loaded, or locked)."""
    return _snapshot(
        session,
        account.id,
        mappers.to_domain_account(account),
        _statements(session, account.id),
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
    )


def _snapshot(
    session: Session,
    account_id: int,
    account: Account,
    statements: tuple[Statement, ...],
    *,
    policy: Policy,
    on: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
    history: tuple[bool, date | None] | None = None,
) -> Snapshot:
    active_plan, last_broken = plan_history(session, account_id) if history is None else history
    open_events, enrolled_codes, region_code_changes = _decision_context(session, account_id, policy)
    return Snapshot(
        account=account,
        statements=statements,
        open_events=open_events,
        enrolled_codes=enrolled_codes,
        region_code_changes=region_code_changes,
        has_active_plan=active_plan,
        last_broken_plan_on=last_broken,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
        today=on,
    )


def _account_with_statements(
    session: Session, account_ref: str
) -> tuple[int, Account, tuple[Statement, ...], tuple[bool, date | None]]:
    """The account (as the domain sees it), its statements in date order and its plan history
    (as ``plan_history``), in one query."""
    rows = core_connection(session).execute(_ACCOUNT_WITH_STATEMENTS, {"account_ref": account_ref}).all()
    if not rows:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    first = rows[0]
    account = mappers.account_from_values(first[1:13])
    history = (bool(first[13]), first[14])
    statements = tuple(mappers.statement_from_values(row[15:20]) for row in rows if row[15] is not None)
    return first[0], account, statements, history


# --- judging (pure: snapshot + policy in, results out) ------------------------------------------------


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


def _installment_offer(offer: InstallmentOffer, snapshot: Snapshot, policy: Policy) -> dict[str, Any]:
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


def _waiver_offer(offer: WaiverOffer, policy: Policy) -> dict[str, Any]:
    return {
        "currency": policy.currency,
        "waivable_fee_amount": format_money(offer.waivable_fee_amount),
        "waivable_interest_amount": format_money(offer.waivable_interest_amount),
        "agent_limit": format_money(policy.fee_waiver.agent_limit),
        "supervisor_limit": format_money(policy.fee_waiver.supervisor_limit),
    }


def _deferral_offer(offer: DeferralResult, disaster_code: str | None, policy: Policy) -> dict[str, Any]:
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


def _eligible_event_code(snapshot: Snapshot, policy: Policy, lang: str) -> str | None:
    """The first covering open event the account is eligible for (the one the domain's answer is for)."""
    for event in snapshot.open_events:
        if not is_covered(snapshot.account.region_code, event.region_codes, policy.region_code_changes):
            continue
        decision = evaluate_disaster_deferral(
            snapshot.account,
            snapshot.statements,
            event,
            policy=policy,
            already_enrolled=event.code in snapshot.enrolled_codes,
            today=snapshot.today,
            lang=lang,
        )
        if decision.eligible:
            return event.code
    return None


def _result(decision: Decision, offer: dict[str, Any] | None) -> ProgramResult:
    return ProgramResult(
        program=str(decision.program),
        eligible=decision.eligible,
        reasons=[(reason.code, reason.message) for reason in decision.reasons],
        offer=offer if decision.eligible else None,
    )


def judge(
    snapshot: Snapshot,
    policy: Policy,
    *,
    lang: str,
    programs: Sequence[Program] = ALL_PROGRAMS,
) -> list[ProgramResult]:
    """Apply the rules of ``policy`` to ``snapshot`` for each program, in the order given.

    The snapshot's region code changes (the policy's table plus the operators' additions, as they
    were on the day) replace the policy's own table, so a replay sees exactly what the decision saw.
    """
    policy = dataclasses.replace(
        policy, region_code_changes=MappingProxyType(dict(snapshot.region_code_changes))
    )
    results: list[ProgramResult] = []
    for program in programs:
        if program == Program.INSTALLMENT_PLAN:
            decision = evaluate_installment_plan(
                snapshot.account,
                policy=policy,
                today=snapshot.today,
                hardship_reason=snapshot.hardship_reason,
                monthly_income=snapshot.monthly_income,
                requested_term=snapshot.requested_term,
                has_active_plan=snapshot.has_active_plan,
                last_broken_plan_on=snapshot.last_broken_plan_on,
                lang=lang,
            )
            offer = (
                _installment_offer(decision.offer, snapshot, policy)
                if isinstance(decision.offer, InstallmentOffer)
                else None
            )
        elif program == Program.FEE_WAIVER:
            decision = evaluate_fee_waiver(snapshot.account, policy=policy, today=snapshot.today, lang=lang)
            offer = _waiver_offer(decision.offer, policy) if isinstance(decision.offer, WaiverOffer) else None
        else:
            decision = evaluate_disaster_deferral_for_events(
                snapshot.account,
                snapshot.statements,
                snapshot.open_events,
                set(snapshot.enrolled_codes),
                policy=policy,
                today=snapshot.today,
                lang=lang,
            )
            offer = (
                _deferral_offer(decision.offer, _eligible_event_code(snapshot, policy, lang), policy)
                if isinstance(decision.offer, DeferralResult)
                else None
            )
        results.append(_result(decision, offer))
    return results


def outcome_json(results: Sequence[ProgramResult], *, lang: str) -> dict[str, Any]:
    """The stored outcome of a decision: each program with its reasons (codes and words) and offer."""
    return {
        "lang": lang,
        "programs": [
            {
                "program": r.program,
                "eligible": r.eligible,
                "reasons": [{"code": code, "message": message} for code, message in r.reasons],
                "offer": r.offer,
            }
            for r in results
        ],
    }


def refusal_reasons(result: ProgramResult) -> list[RefusalReason]:
    """A program's reasons as the reasons of a 422 refusal."""
    return [RefusalReason(code=code, message=message) for code, message in result.reasons]


def store_decision(
    session: Session,
    *,
    kind: str,
    snapshot: Snapshot,
    results: Sequence[ProgramResult],
    policy: Policy,
    actor: Principal,
    lang: str,
) -> models.Decision:
    """Write the decision row (inputs snapshot, outcome, policy version) and its audit event (the
    decision comes with a state change: a plan, a waiver)."""
    row = models.Decision(
        account_ref=snapshot.account.account_ref,
        kind=kind,
        policy_version=policy.version,
        decided_on=snapshot.today,
        inputs=snapshot.to_json(),
        outcome=outcome_json(results, lang=lang),
        actor=actor.actor,
        created_at=clock.utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="decision.recorded",
        entity_type="decision",
        entity_id=row.id,
        after={
            "account_ref": row.account_ref,
            "kind": kind,
            "policy_version": policy.version,
            "programs": {
                r.program: {"eligible": r.eligible, "reasons": [c for c, _ in r.reasons]} for r in results
            },
        },
    )
    return row


def _insert_decision(
    session: Session,
    *,
    snapshot: Snapshot,
    results: Sequence[ProgramResult],
    policy: Policy,
    actor: Principal,
    lang: str,
) -> int:
    """Write the decision row of a bare evaluation; returns its id.

    No audit event: an evaluation changes no state, and its decision row is itself the record
    (inputs, outcome, policy version, actor, time), replayable by ``app.services.decisions``.
    Appending it to the hash-chained audit trail would also serialise every evaluation on the
    chain's lock.  One Core INSERT ... RETURNING, without the ORM's unit of work."""
    decision_id: int = (
        core_connection(session)
        .execute(
            _INSERT_DECISION,
            {
                "account_ref": snapshot.account.account_ref,
                "kind": "eligibility",
                "policy_version": policy.version,
                "decided_on": snapshot.today,
                "inputs": snapshot.to_json(),
                "outcome": outcome_json(results, lang=lang),
                "actor": actor.actor,
                "created_at": clock.utcnow(),
            },
        )
        .scalar_one()
    )
    return decision_id


# --- the use case ---------------------------------------------------------------------------------


def evaluate_account(
    session: Session,
    *,
    account_ref: str,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
    lang: str,
    actor: Principal,
    policies: PolicyStore,
) -> EligibilityResult:
    """Judge installment_plan, fee_waiver and disaster_deferral for one account and store the decision.

    The policy is the one in force today; the decision row keeps the inputs snapshot so that
    ``app.services.decisions.replay_decision`` can re-run it. NotFound for an unknown account.
    """
    account_id, account, statements, history = _account_with_statements(session, account_ref)
    on = clock.today(session)
    policy = policies.in_force(on)
    snapshot = _snapshot(
        session,
        account_id,
        account,
        statements,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
        history=history,
    )
    results = judge(snapshot, policy, lang=lang)
    decision_id = _insert_decision(
        session, snapshot=snapshot, results=results, policy=policy, actor=actor, lang=lang
    )
    return EligibilityResult(decision_id=decision_id, policy_version=policy.version, programs=results)
