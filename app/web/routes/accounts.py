"""Finding an account, the account page (snapshot, statements, arrangements, eligibility with every
reason), quotes side by side, creating a plan, and asking for a fee waiver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.domain.access import Permission
from app.domain.contacts import MAX_CALLBACK_DAYS, ContactChannel, ContactOutcome
from app.domain.policy import Policy
from app.domain.reasons import HardshipReason
from app.domain.waivers import authority_limit
from app.services import accounts, contacts, deferrals, eligibility, plans, servicing, timeline, waivers
from app.services.clock import utcnow
from app.services.principal import Principal
from app.web import i18n, messages
from app.web.common import (
    BadForm,
    RowId,
    can,
    language,
    parse_int_field,
    parse_money_field,
    permitted,
    policies_of,
    policy_in_force,
    redirect,
    render,
    text_field,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS, back_url, describe, flash_error
from app.web.forms import EMPTY, FormState, state_for
from app.web.security import PREFIX, flash, recent_accounts, remember_account

router = ui_router()
AccountRef = Annotated[str, Path(min_length=1, max_length=64)]
HARDSHIP_REASONS = [r.value for r in HardshipReason]
PLAN_CHANNELS = ("agent_phone", "agent_branch")
# The bureaus and reasons an agent may choose for a dispute (the policy's defaults first).
DISPUTE_BUREAUS = ("PBOC_CRC", "BAIHANG", "PUDAO", "EQUIFAX", "EXPERIAN", "TRANSUNION")
DISPUTE_REASONS = ("DISASTER_RELIEF", "HARDSHIP_ARRANGEMENT", "DATA_ERROR", "IDENTITY_FRAUD")


def account_url(account_ref: str, **query: str) -> str:
    url = f"{PREFIX}/accounts/{quote(account_ref, safe='')}"
    filled = {k: v for k, v in query.items() if v}
    return url + (f"?{urlencode(filled)}" if filled else "")


# --- start page and search -------------------------------------------------------------------------


@router.get("/search")
def search(
    request: Request, user: Annotated[Principal, Depends(permitted(Permission.ACCOUNT_READ))], q: str = ""
) -> Response:
    query = q.strip()[:64]
    if not query:
        return render(
            request,
            "home.html",
            {"recent": recent_accounts(request), "q": "", "search_error": "search.empty"},
            section="home",
        )
    with unit_of_work(request) as session:
        hits = accounts.find_accounts(session, query)
    exact = [h for h in hits if h.account_ref == query]
    if exact:
        return redirect(account_url(exact[0].account_ref))
    return render(
        request,
        "search.html",
        {"q": query, "hits": hits, "limited": len(hits) >= 50, "recent": recent_accounts(request)},
        section="home",
    )


# --- the account page ------------------------------------------------------------------------------


def _eligibility_inputs(request: Request, reason: str, income: str, term: str) -> tuple[dict[str, Any], str]:
    """The agent's inputs for the eligibility check, and a message when one cannot be read."""
    lang = language(request)
    values: dict[str, Any] = {
        "hardship_reason": reason if reason in HARDSHIP_REASONS else None,
        "monthly_income": None,
        "requested_term": None,
    }
    try:
        values["monthly_income"] = parse_money_field(income, i18n.translate("elig.income", lang), lang)
        values["requested_term"] = parse_int_field(
            term, i18n.translate("elig.term", lang), lang, low=1, high=600
        )
    except BadForm as exc:
        return values, exc.message
    return values, ""


@router.get("/accounts/{account_ref}")
def account_page(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.ACCOUNT_READ))],
    reason: str = "",
    income: str = "",
    term: str = "",
) -> Response:
    return render_account(request, user, account_ref, reason=reason, income=income, term=term)


def render_account(
    request: Request,
    user: Principal,
    account_ref: str,
    *,
    reason: str = "",
    income: str = "",
    term: str = "",
    state: FormState = EMPTY,
) -> Response:
    """The account page; with a refused form's ``state``, the same page again (422) with that form's
    values and errors."""
    lang = language(request)
    inputs, input_error = _eligibility_inputs(request, reason, income, term)
    if state.failed and not reason:
        # A refused form keeps the reason it was sent with for the eligibility cards too.
        sent_reason = state.v("reason")
        if sent_reason in HARDSHIP_REASONS:
            reason = sent_reason
            inputs["hardship_reason"] = sent_reason
    with unit_of_work(request) as session:
        view = accounts.view_account(session, account_ref)
        records = _account_records(session, user, view)
        result = None
        if can(user, Permission.ELIGIBILITY_EVALUATE):
            # Every check an agent sees is stored as a replayable decision, like the API's.
            result = eligibility.evaluate_account(
                session,
                account_ref=account_ref,
                actor=user,
                policies=policies_of(request),
                lang=lang,
                **inputs,
            )
    remember_account(request, account_ref)
    policy = policy_in_force(request)
    plans_list = view.arrangements["installment_plans"]
    pending_waivers = [
        w
        for w in (records["waivers"] or view.arrangements["fee_waivers"])
        if _status(w) == "pending_approval"
    ]
    return render(
        request,
        "account.html",
        {
            **records,
            "state": state,
            "active_plan": next((p for p in plans_list if p["status"] == "active"), None),
            "pending_waivers": pending_waivers,
            "programs": {p.program: p for p in result.programs} if result is not None else {},
            "product_name": _product_name(policy, view.account.product_code),
            "channels": [c.value for c in ContactChannel],
            "outcomes": [o.value for o in ContactOutcome],
            "bureaus": DISPUTE_BUREAUS,
            "dispute_reasons": DISPUTE_REASONS,
            "a": view,
            "arr": view.arrangements,
            "result": result,
            "reasons": HARDSHIP_REASONS,
            "form": {"reason": reason if reason in HARDSHIP_REASONS else "", "income": income, "term": term},
            "input_error": input_error,
            "waiver_limit": _waiver_limit(user.role.value, policy),
            "dispute_defaults": {
                "bureau": policy.disputes.bureau,
                "reason_code": policy.disputes.reason_code,
                "period_start": (view.account.delinquent_since or view.as_of).isoformat(),
                "period_end": view.as_of.isoformat(),
            },
            "as_of": utcnow(),
            "account_url": account_url,
            "callback_min": view.as_of.isoformat(),
            "callback_max": (view.as_of + timedelta(days=MAX_CALLBACK_DAYS)).isoformat(),
        },
        section="home",
        status_code=422 if state.failed else 200,
    )


def _account_records(session: Session, user: Principal, view: accounts.AccountView) -> dict[str, Any]:
    """What the account page shows beside the account, each part as far as the user may read it."""
    ref = view.account.account_ref

    def readable(permission: Permission, read: Callable[[], list[Any]]) -> list[Any]:
        return read() if can(user, permission) else []

    return {
        "other_accounts": [
            r for r in accounts.accounts_of_customer(session, view.account.customer_ref) if r != ref
        ],
        # Where each plan stands (paid, late, missed at a glance; a broken plan's reason).
        "plan_servicing": servicing.plan_summaries(
            session, [p["id"] for p in view.arrangements["installment_plans"]]
        ),
        "waivers": readable(Permission.WAIVER_READ, lambda: waivers.list_waivers(session, account_ref=ref)),
        "deferrals": readable(
            Permission.DEFERRAL_READ, lambda: deferrals.list_deferrals(session, account_ref=ref)
        ),
        "timeline": readable(
            Permission.WAIVER_READ, lambda: timeline.account_timeline(session, account_ref=ref)
        ),
        "contacts": readable(
            Permission.CONTACT_READ, lambda: contacts.list_contacts(session, account_ref=ref)
        ),
    }


def _status(row: Any) -> str:
    return str(row["status"] if isinstance(row, dict) else getattr(row, "status", ""))


def _product_name(policy: Any, code: str) -> str:
    product = policy.product_terms(code)
    return product.name if product is not None else ""


def _waiver_limit(role: str, policy: Policy) -> Decimal | None:
    """The role's own waiver authority, as the domain rule applies it (app.domain.waivers)."""
    return authority_limit(role, policy)


# --- quotes and plans ------------------------------------------------------------------------------


@router.get("/accounts/{account_ref}/quotes")
def quotes_page(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.QUOTE))],
    income: str = "",
    reason: str = "",
) -> Response:
    return render_quotes(request, account_ref, income=income, reason=reason)


def render_quotes(
    request: Request, account_ref: str, *, income: str = "", reason: str = "", state: FormState = EMPTY
) -> Response:
    """The quotes page; with a refused plan form's ``state``, the same page again (422) keeping the
    chosen term, reason, channel, recording reference and both commitments."""
    lang = language(request)
    income_error = ""
    try:
        monthly_income = parse_money_field(income, i18n.translate("elig.income", lang), lang)
    except BadForm as exc:
        monthly_income, income_error = None, exc.message
    policy = policy_in_force(request)
    with unit_of_work(request) as session:
        view = accounts.view_account(session, account_ref)
        quote_error: BaseException | None = None
        try:
            quoted = plans.quote_plans(
                session,
                account_ref=account_ref,
                terms=None,
                monthly_income=monthly_income,
                policies=policies_of(request),
                lang=lang,
            )
        except ACTION_ERRORS as exc:
            quoted, quote_error = None, exc
    remember_account(request, account_ref)
    columns: list[dict[str, Any]] = []
    if quoted is not None:
        by_term = {q.term_months: q for q in quoted.quotes}
        for term in sorted(set(policy.installment.quote_terms) | set(by_term)):
            columns.append(
                {
                    "term": term,
                    "quote": by_term.get(term),
                    "recommended": term == quoted.recommended_term_months,
                }
            )
    refusal = describe(quote_error, lang) if quote_error is not None else None
    return render(
        request,
        "quotes.html",
        {
            "a": view,
            "quoted": quoted,
            "columns": columns,
            "active_plan": any(p["status"] == "active" for p in view.arrangements["installment_plans"]),
            "refusal": refusal,
            "form": {"income": income, "reason": reason if reason in HARDSHIP_REASONS else ""},
            "income_error": income_error,
            "reasons": HARDSHIP_REASONS,
            "channels": PLAN_CHANNELS,
            "account_url": account_url,
            "state": state,
        },
        section="home",
        status_code=422 if state.failed else 200,
    )


@router.post("/accounts/{account_ref}/plans")
def create_plan(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.PLAN_CREATE))],
    term_months: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    income: Annotated[str, Form(max_length=32)] = "",
    channel: Annotated[str, Form(max_length=16)] = "agent_phone",
    recording_ref: Annotated[str, Form(max_length=128)] = "",
    commitment: Annotated[str, Form(max_length=8)] = "",
    terms_read: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    lang = language(request)
    sent = {
        "term_months": term_months,
        "reason": reason,
        "channel": channel,
        "recording_ref": recording_ref,
        "terms_read": terms_read,
        "commitment": commitment,
    }
    try:
        term = parse_int_field(
            term_months,
            i18n.translate("plan.create.term", lang),
            lang,
            low=1,
            high=600,
            required=True,
            field="term_months",
        )
        monthly_income = parse_money_field(income, i18n.translate("elig.income", lang), lang)
        if reason not in HARDSHIP_REASONS:
            raise BadForm(messages.message("waiver.reason_required", lang) or "", "reason")
        if channel not in PLAN_CHANNELS:
            raise BadForm(messages.message("field.choice", lang) or "", "channel")
        recording = text_field(recording_ref, max_length=128) or None
        if channel == "agent_phone" and not recording:
            raise BadForm(messages.message("plan.recording", lang) or "", "recording_ref")
        if terms_read != "yes":
            raise BadForm(messages.message("plan.read_terms", lang) or "", "terms_read")
        if commitment != "yes":
            raise BadForm(messages.message("plan.commitment", lang) or "", "commitment")
        with unit_of_work(request) as session:
            plan = plans.create_plan(
                session,
                account_ref=account_ref,
                term_months=term or 0,
                hardship_reason=reason or None,
                actor=user,
                policies=policies_of(request),
                lang=lang,
                channel=channel,
                recording_ref=recording,
                commitment_accepted=True,
                monthly_income=monthly_income,
            )
            plan_id = plan.id
    except ACTION_ERRORS as exc:
        state = state_for("plan", sent, exc, lang)
        return render_quotes(request, account_ref, income=income, reason=reason, state=state)
    flash(request, i18n.translate("plan.created", lang, id=plan_id))
    return redirect(f"{PREFIX}/plans/{plan_id}")


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request, plan_id: RowId, user: Annotated[Principal, Depends(permitted(Permission.PLAN_READ))]
) -> Response:
    return render_plan(request, plan_id)


def render_plan(request: Request, plan_id: int, *, state: FormState = EMPTY) -> Response:
    with unit_of_work(request) as session:
        plan = plans.plan_read(session, plans.get_plan(session, plan_id))
    recorded = policies_of(request).get(plan.policy_version)
    rules = (recorded or policy_in_force(request)).servicing
    return render(
        request,
        "plan.html",
        {"plan": plan, "account_url": account_url, "rules": rules, "state": state},
        section="home",
        status_code=422 if state.failed else 200,
    )


@router.post("/plans/{plan_id}/cancel")
def cancel_plan(
    request: Request,
    plan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.PLAN_MANAGE))],
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    return _end_plan(request, plan_id, user, note, confirm, broken=False)


@router.post("/plans/{plan_id}/break")
def break_plan(
    request: Request,
    plan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.PLAN_MANAGE))],
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    return _end_plan(request, plan_id, user, note, confirm, broken=True)


def _end_plan(
    request: Request, plan_id: int, user: Principal, note: str, confirm: str, *, broken: bool
) -> Response:
    """Cancel or break a plan: a note and a ticked confirmation, so that one click changes nothing."""
    lang = language(request)
    name = "break" if broken else "cancel"
    try:
        text = text_field(note, max_length=2000)
        if not text:
            raise BadForm(messages.message("field.note_required", lang) or "", "note")
        if confirm != "yes":
            raise BadForm(messages.message("field.confirm", lang) or "", "confirm")
        with unit_of_work(request) as session:
            end = plans.break_plan if broken else plans.cancel_plan
            end(session, plan_id=plan_id, actor=user, note=text)
    except ACTION_ERRORS as exc:
        return render_plan(
            request, plan_id, state=state_for(name, {"note": note, "confirm": confirm}, exc, lang)
        )
    flash(request, i18n.translate("plan.broken" if broken else "plan.cancelled", lang))
    return redirect(f"{PREFIX}/plans/{plan_id}")


# --- fee waivers -----------------------------------------------------------------------------------


@router.post("/accounts/{account_ref}/waivers")
def request_waiver(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.WAIVER_CREATE))],
    fee_amount: Annotated[str, Form(max_length=32)] = "",
    interest_amount: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    lang = language(request)
    sent = {"fee_amount": fee_amount, "interest_amount": interest_amount, "reason": reason, "note": note}
    try:
        fees = parse_money_field(
            fee_amount, i18n.translate("waiver.fee", lang), lang, field="fee_amount"
        ) or Decimal("0")
        interest = parse_money_field(
            interest_amount, i18n.translate("waiver.interest", lang), lang, field="interest_amount"
        ) or Decimal("0")
        if reason not in HARDSHIP_REASONS:
            raise BadForm(messages.message("waiver.reason_required", lang) or "", "reason")
        with unit_of_work(request) as session:
            waiver = waivers.request_waiver(
                session,
                account_ref=account_ref,
                fee_amount=fees,
                interest_amount=interest,
                hardship_reason=reason or None,
                note=text_field(note, max_length=2000) or None,
                actor=user,
                policies=policies_of(request),
                lang=lang,
            )
            waiver_id, status = waiver.id, waiver.status
    except ACTION_ERRORS as exc:
        return render_account(request, user, account_ref, state=state_for("waiver", sent, exc, lang))
    if status == "applied":
        flash(request, i18n.translate("waiver.applied", lang, id=waiver_id))
    else:
        flash(request, i18n.translate("waiver.sent", lang, id=waiver_id), "warn")
    return redirect(account_url(account_ref) + "#arrangements")


@router.post("/waivers/{waiver_id}/reverse")
def reverse_waiver(
    request: Request,
    waiver_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.APPROVAL_DECIDE))],
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Supervisors undo an applied waiver (the API's POST /v1/fee-waivers/{id}/reverse), with a note
    and a ticked confirmation."""
    lang = language(request)
    try:
        if not text_field(note, max_length=2000):
            raise BadForm(messages.message("field.note_required", lang) or "", "note")
        if confirm != "yes":
            raise BadForm(messages.message("field.confirm", lang) or "", "confirm")
        with unit_of_work(request) as session:
            waivers.reverse_waiver(
                session, waiver_id=waiver_id, actor=user, note=text_field(note, max_length=2000) or None
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(back_url(request))
    flash(request, i18n.translate("waiver.reversed", lang, id=waiver_id))
    return redirect(back_url(request))
