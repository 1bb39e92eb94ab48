"""Eligibility for the relief programs, stored as replayable decisions.

A decision is made from a *snapshot* of everything the rules look at (the account, its statements,
the open disaster events, the enrolments, the region code changes, the plan history, the request
and the day), under the policy in force that day. The snapshot and the outcome are stored in a
``decision`` row, so an auditor can replay the decision later from the snapshot alone
(ARCHITECTURE.md, "Rules of the core"; ``app.services.decisions``).

The parts: ``snapshot`` (what the rules see, and its stored form), ``reading`` (reading it from the
database), ``answers`` (each program's result and offer), ``record`` (the decision row); here the
judging (pure: snapshot and policy in, results out) and the use case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy.orm import Session

from app.domain.deferrals import DeferralResult
from app.domain.eligibility import (
    InstallmentOffer,
    WaiverOffer,
    evaluate_disaster_deferral,
    evaluate_disaster_deferral_for_events,
    evaluate_fee_waiver,
    evaluate_installment_plan,
)
from app.domain.policy import Policy
from app.domain.reasons import Program
from app.domain.regions import is_covered
from app.services import clock
from app.services.eligibility.answers import (
    EligibilityResult,
    ProgramResult,
    Reason,
    deferral_offer,
    installment_offer,
    program_result,
    refusal_reasons,
    schedule_summary,
    waiver_offer,
)
from app.services.eligibility.reading import (
    has_active_plan,
    last_broken_plan_on,
    load_snapshot,
    plan_history,
    read_evaluation,
    snapshot_of,
)
from app.services.eligibility.record import insert_decision, outcome_json, programs_json, store_decision
from app.services.eligibility.snapshot import Snapshot
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "ALL_PROGRAMS",
    "EligibilityResult",
    "ProgramResult",
    "Reason",
    "Snapshot",
    "evaluate_account",
    "has_active_plan",
    "judge",
    "last_broken_plan_on",
    "load_snapshot",
    "outcome_json",
    "plan_history",
    "programs_json",
    "refusal_reasons",
    "schedule_summary",
    "store_decision",
]

ALL_PROGRAMS: tuple[Program, ...] = (
    Program.INSTALLMENT_PLAN,
    Program.FEE_WAIVER,
    Program.DISASTER_DEFERRAL,
)


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
                installment_offer(decision.offer, snapshot, policy)
                if isinstance(decision.offer, InstallmentOffer)
                else None
            )
        elif program == Program.FEE_WAIVER:
            decision = evaluate_fee_waiver(snapshot.account, policy=policy, today=snapshot.today, lang=lang)
            offer = waiver_offer(decision.offer, policy) if isinstance(decision.offer, WaiverOffer) else None
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
                deferral_offer(decision.offer, _eligible_event_code(snapshot, policy, lang), policy)
                if isinstance(decision.offer, DeferralResult)
                else None
            )
        results.append(program_result(decision, offer))
    return results


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
    read = read_evaluation(session, account_ref)
    on = clock.today(session)
    policy = policies.in_force(on)
    snapshot = snapshot_of(
        session,
        read.account_id,
        read.account,
        read.statements,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
        history=read.history,
        context=read.context(policy),
    )
    results = judge(snapshot, policy, lang=lang)
    decision_id = insert_decision(
        session, snapshot=snapshot, results=results, policy=policy, actor=actor, lang=lang
    )
    return EligibilityResult(decision_id=decision_id, policy_version=policy.version, programs=results)
