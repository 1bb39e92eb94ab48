"""Eligibility for the relief programs: every failed rule is reported, in the order of DOMAIN.md.

A refusal is a result, not an exception: a Decision with its reasons (code + plain words from the
policy) and, when eligible, an offer. Each decision carries the policy version it was made under
(ARCHITECTURE.md, "Rules of the core").
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.dates import add_months, days_past_due
from app.domain.deferrals import (
    DeferralResult,
    compute_deferral,
    deferral_leaves_calendar,
    statements_in_window,
)
from app.domain.installments import allowed_terms, recommended_term
from app.domain.model import Account, DisasterEvent, Statement
from app.domain.money import ZERO
from app.domain.policy import Policy
from app.domain.reasons import DEFERRAL_REASON_ORDER, Program, ReasonCode
from app.domain.regions import is_covered
from app.domain.waivers import max_waivable_interest

__all__ = [
    "Decision",
    "InstallmentOffer",
    "Reason",
    "WaiverOffer",
    "delinquent_after",
    "evaluate_disaster_deferral",
    "evaluate_disaster_deferral_for_events",
    "evaluate_fee_waiver",
    "evaluate_installment_plan",
]


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed rule: its code (a ReasonCode value) and its words in the requested language."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one program; ``offer`` only when eligible."""

    program: Program
    eligible: bool
    reasons: tuple[Reason, ...]
    offer: object | None
    policy_version: str = ""

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The codes of the failed rules, in order."""
        return tuple(reason.code for reason in self.reasons)


@dataclass(frozen=True, slots=True)
class InstallmentOffer:
    """What an eligible cardholder may sign: P, the fees waived, and the terms on offer."""

    restructured_principal: Decimal
    fees_waived: Decimal
    min_term: int
    max_term: int
    allowed_terms: tuple[int, ...]
    recommended_term: int | None
    monthly_fee_rate: Decimal


@dataclass(frozen=True, slots=True)
class WaiverOffer:
    """What may be waived: all outstanding fees, and the waivable share of the interest."""

    waivable_fee_amount: Decimal
    waivable_interest_amount: Decimal


def delinquent_after(account: Account, today: date) -> bool:
    """True when the account's delinquency starts after ``today``: its days past due cannot be
    counted (DOMAIN.md, "Data that breaks a rule's arithmetic")."""
    return account.delinquent_since is not None and account.delinquent_since > today


def _decide(
    program: Program,
    failed: Iterable[ReasonCode],
    offer: object | None,
    *,
    policy: Policy,
    lang: str,
) -> Decision:
    reasons = tuple(Reason(code=code.value, message=policy.reason_message(code, lang)) for code in failed)
    return Decision(
        program=program,
        eligible=not reasons,
        reasons=reasons,
        offer=None if reasons else offer,
        policy_version=policy.version,
    )


def evaluate_installment_plan(
    account: Account,
    *,
    policy: Policy,
    today: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
    has_active_plan: bool,
    last_broken_plan_on: date | None,
    lang: str = "zh",
) -> Decision:
    """Judge a negotiated installment plan (DOMAIN.md, "Installment plan", default policy).

    Rules, each reported when it fails, in this order: status active or delinquent
    (ACCOUNT_STATUS_INELIGIBLE); at most 180 days past due today (DELINQUENCY_TOO_LONG); total
    balance at least 1,000.00 (BALANCE_TOO_LOW); a stated hardship reason from the policy's list
    (HARDSHIP_REASON_REQUIRED); no active plan (PLAN_ALREADY_ACTIVE); no plan broken after
    add_months(today, -12) (RECENT_BROKEN_PLAN); the requested term, when given, among the allowed
    terms (TERM_NOT_ALLOWED). When no term at all is possible (P = principal + interest <= 0) the
    term rule fails even without a requested term: there is nothing to spread.
    The offer: P, fees waived (the fee balance), the allowed terms and, with a monthly income, the
    shortest term whose installment is at most 50 % of it.
    Last, DATA_INVALID when the account's delinquency starts after today: days past due cannot be
    counted (DOMAIN.md, "Data that breaks a rule's arithmetic").
    """
    rules = policy.installment
    restructured = account.principal_balance + account.interest_balance
    terms = allowed_terms(restructured, rules)
    failed: list[ReasonCode] = []
    if account.status not in rules.eligible_statuses:
        failed.append(ReasonCode.ACCOUNT_STATUS_INELIGIBLE)
    if days_past_due(account.delinquent_since, today) > rules.max_days_past_due:
        failed.append(ReasonCode.DELINQUENCY_TOO_LONG)
    if account.total_balance < rules.min_total_balance:
        failed.append(ReasonCode.BALANCE_TOO_LOW)
    if hardship_reason is None or hardship_reason not in rules.hardship_reasons:
        failed.append(ReasonCode.HARDSHIP_REASON_REQUIRED)
    if has_active_plan:
        failed.append(ReasonCode.PLAN_ALREADY_ACTIVE)
    if last_broken_plan_on is not None and last_broken_plan_on > add_months(
        today, -rules.broken_plan_lookback_months
    ):
        failed.append(ReasonCode.RECENT_BROKEN_PLAN)
    if not terms or (requested_term is not None and requested_term not in terms):
        failed.append(ReasonCode.TERM_NOT_ALLOWED)
    if delinquent_after(account, today):
        failed.append(ReasonCode.DATA_INVALID)
    offer = None
    if not failed:
        offer = InstallmentOffer(
            restructured_principal=restructured,
            fees_waived=account.fee_balance,
            min_term=terms[0],
            max_term=terms[-1],
            allowed_terms=terms,
            recommended_term=recommended_term(restructured, monthly_income, rules),
            monthly_fee_rate=rules.monthly_fee_rate,
        )
    return _decide(Program.INSTALLMENT_PLAN, failed, offer, policy=policy, lang=lang)


def evaluate_fee_waiver(account: Account, *, policy: Policy, today: date, lang: str = "zh") -> Decision:
    """Judge a fee and interest waiver (DOMAIN.md): status active or delinquent
    (ACCOUNT_STATUS_INELIGIBLE) and fees outstanding (NO_FEES_OUTSTANDING).

    A request beyond the caller's authority is not refused here: it waits for approval
    (see :func:`app.domain.waivers.decide_waiver_authority`). ``today`` is kept for the audit
    snapshot and future rules; the default rules do not depend on it.
    """
    rules = policy.fee_waiver
    failed: list[ReasonCode] = []
    if account.status not in rules.eligible_statuses:
        failed.append(ReasonCode.ACCOUNT_STATUS_INELIGIBLE)
    if account.fee_balance <= 0:
        failed.append(ReasonCode.NO_FEES_OUTSTANDING)
    offer = WaiverOffer(
        waivable_fee_amount=max(ZERO, account.fee_balance),
        waivable_interest_amount=max_waivable_interest(account, policy),
    )
    return _decide(Program.FEE_WAIVER, failed, offer, policy=policy, lang=lang)


def evaluate_disaster_deferral(
    account: Account,
    statements: Iterable[Statement],
    event: DisasterEvent,
    *,
    policy: Policy,
    already_enrolled: bool,
    today: date | None = None,
    lang: str = "zh",
    region_covered: bool | None = None,
) -> Decision:
    """Judge a disaster payment deferral for one event (DOMAIN.md, "Disaster deferral: who is eligible").

    Every failed rule is reported, in this order: the region (mapped to its current code) is
    covered by the event (REGION_NOT_AFFECTED); status active or delinquent
    (ACCOUNT_STATUS_INELIGIBLE); opened_on < occurred_on (OPENED_AFTER_EVENT); at most 30 days past
    due at occurred_on (PRE_EVENT_DELINQUENCY); a statement due in [relief_start, relief_end] with
    unpaid > 0 (NO_AMOUNT_DUE_IN_WINDOW); not already enrolled for this event (ALREADY_ENROLLED);
    data the rules can be applied to (DATA_INVALID, DOMAIN.md "Data that breaks a rule's
    arithmetic"): no statement of the window whose new due date would leave the calendar, and, when
    ``today`` (the business date) is given, no delinquency starting after it.
    The offer, when eligible, is the DeferralResult with the amounts.

    ``region_covered`` is ``is_covered`` of the account's region code for this event and policy,
    when the caller already knows it: a scan judges each distinct region code once, not each account.
    """
    rules = policy.disaster
    statement_list = tuple(statements)
    failed: list[ReasonCode] = []
    if region_covered is None:
        region_covered = is_covered(account.region_code, event.region_codes, policy.region_code_changes)
    if not region_covered:
        failed.append(ReasonCode.REGION_NOT_AFFECTED)
    if account.status not in rules.eligible_statuses:
        failed.append(ReasonCode.ACCOUNT_STATUS_INELIGIBLE)
    if not account.opened_on < event.occurred_on:
        failed.append(ReasonCode.OPENED_AFTER_EVENT)
    if days_past_due(account.delinquent_since, event.occurred_on) > rules.max_days_past_due_at_event:
        failed.append(ReasonCode.PRE_EVENT_DELINQUENCY)
    in_window = statements_in_window(statement_list, event.relief_start, event.relief_end)
    if not in_window:
        failed.append(ReasonCode.NO_AMOUNT_DUE_IN_WINDOW)
    if already_enrolled:
        failed.append(ReasonCode.ALREADY_ENROLLED)
    if deferral_leaves_calendar(in_window, event.deferral_months) or (
        today is not None and delinquent_after(account, today)
    ):
        failed.append(ReasonCode.DATA_INVALID)
    offer: DeferralResult | None = None
    if not failed:
        offer = compute_deferral(
            statement_list,
            relief_start=event.relief_start,
            relief_end=event.relief_end,
            deferral_months=event.deferral_months,
            daily_interest_rate=rules.daily_interest_rate,
            late_fee_rate=rules.late_fee_rate,
        )
    return _decide(Program.DISASTER_DEFERRAL, failed, offer, policy=policy, lang=lang)


def evaluate_disaster_deferral_for_events(
    account: Account,
    statements: Iterable[Statement],
    open_events: Sequence[DisasterEvent],
    enrolled_codes: set[str],
    *,
    policy: Policy,
    today: date | None = None,
    lang: str = "zh",
) -> Decision:
    """Judge a disaster deferral against every open event (DOMAIN.md, the eligibility endpoint).

    No open event covering the customer's region: NO_OPEN_DISASTER. Otherwise the decision of the
    first covering event (in the given order) for which the account is eligible; failing that, the
    union of the covering events' reasons, each code once, in the order of the DOMAIN.md table.
    """
    statement_list = tuple(statements)
    covering = [
        event
        for event in open_events
        if is_covered(account.region_code, event.region_codes, policy.region_code_changes)
    ]
    if not covering:
        return _decide(
            Program.DISASTER_DEFERRAL, [ReasonCode.NO_OPEN_DISASTER], None, policy=policy, lang=lang
        )
    failed: set[str] = set()
    for event in covering:
        decision = evaluate_disaster_deferral(
            account,
            statement_list,
            event,
            policy=policy,
            already_enrolled=event.code in enrolled_codes,
            today=today,
            lang=lang,
        )
        if decision.eligible:
            return decision
        failed.update(decision.reason_codes)
    ordered = [code for code in DEFERRAL_REASON_ORDER if code in failed]
    return _decide(Program.DISASTER_DEFERRAL, ordered, None, policy=policy, lang=lang)
