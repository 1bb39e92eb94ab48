"""Deciding one relief program for one account: the sequence every relief request starts with.

Lock the account row (decisions on one account are serialised; SQLite serialises writers anyway),
read the business date and the policy in force, load the snapshot the rules see, judge the one
program (the pure rules of ``app.domain.eligibility``) and refuse with every reason they give,
followed by the caller's own (a waiver's missing hardship reason). The use case that asked (a plan,
a negotiation, a waiver) then stores the decision with the change it makes (``Decided.store``), so
the decision row and the change land in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from app.domain.policy import Policy
from app.domain.reasons import Program, ReasonCode
from app.persistence.models import CardAccount, Decision
from app.services import accounts, clock
from app.services.eligibility import (
    ProgramResult,
    Snapshot,
    judge,
    load_snapshot,
    refusal_reasons,
    store_decision,
)
from app.services.errors import RefusalReason, Refused
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = ["Decided", "TermChoice", "decide"]

# The term to judge, chosen from the locked account under the policy in force (online negotiation
# judges the proposed term only when it can be accepted).
TermChoice = Callable[[CardAccount, Policy], int | None]

_REFUSED = {
    Program.INSTALLMENT_PLAN: "The installment plan is refused by the relief rules.",
    Program.FEE_WAIVER: "The fee waiver is refused by the relief rules.",
}


@dataclass(frozen=True)
class Decided:
    """An eligible request: the locked account, the day and policy it was judged on, what the rules
    saw and their answer (eligible, with its offer)."""

    program: Program
    account: CardAccount
    on: date
    policy: Policy
    snapshot: Snapshot
    result: ProgramResult
    lang: str

    @property
    def restructured_principal(self) -> Decimal:
        """What an installment plan spreads: principal + interest (DOMAIN.md, "Installment plan")."""
        return self.account.principal_balance + self.account.interest_balance

    def store(self, session: Session, *, actor: Principal) -> Decision:
        """Write the decision row (inputs snapshot, outcome, policy version; its kind is the program)
        and its audit event."""
        return store_decision(
            session,
            kind=self.program.value,
            snapshot=self.snapshot,
            results=[self.result],
            policy=self.policy,
            actor=actor,
            lang=self.lang,
        )


def decide(
    session: Session,
    *,
    account_ref: str,
    program: Program,
    policies: PolicyStore,
    lang: str,
    hardship_reason: str | None,
    monthly_income: Decimal | None = None,
    requested_term: int | TermChoice | None = None,
    also_refused: Sequence[ReasonCode] = (),
) -> Decided:
    """Lock the account, load its snapshot and judge ``program`` under the policy in force today.

    NotFound for an unknown account; Refused (422) with the rules' reason codes, then those of
    ``also_refused`` (their words in ``lang``), when the request is not eligible. Nothing is
    stored: the caller stores the decision with its change (``Decided.store``).
    """
    account = accounts.lock_account_row(session, account_ref)
    on = clock.today(session)
    policy = policies.in_force(on)
    term = requested_term(account, policy) if callable(requested_term) else requested_term
    snapshot = load_snapshot(
        session,
        account,
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=term,
    )
    (result,) = judge(snapshot, policy, lang=lang, programs=[program])
    reasons = refusal_reasons(result)
    reasons += [
        RefusalReason(code=code.value, message=policy.reason_message(code, lang)) for code in also_refused
    ]
    if reasons:
        raise Refused(_REFUSED[program], reasons)
    return Decided(program, account, on, policy, snapshot, result, lang)
