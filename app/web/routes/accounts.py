"""Finding an account, the account page (snapshot, statements, arrangements, eligibility with every
reason), quotes side by side, creating a plan, and asking for a fee waiver."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Form, Path, Request
from fastapi.responses import Response

from app.domain.access import Permission
from app.domain.policy import Policy
from app.domain.reasons import HardshipReason
from app.domain.waivers import authority_limit
from app.services import accounts, deferrals, eligibility, plans, waivers
from app.services.clock import utcnow
from app.services.principal import Principal
from app.web import i18n
from app.web.common import (
    BadForm,
    RowId,
    UserDep,
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
from app.web.security import PREFIX, flash, recent_accounts, remember_account

router = ui_router()
AccountRef = Annotated[str, Path(min_length=1, max_length=64)]
HARDSHIP_REASONS = [r.value for r in HardshipReason]
PLAN_CHANNELS = ("agent_phone", "agent_branch")


def account_url(account_ref: str, **query: str) -> str:
    url = f"{PREFIX}/accounts/{quote(account_ref, safe='')}"
    filled = {k: v for k, v in query.items() if v}
    return url + (f"?{urlencode(filled)}" if filled else "")


# --- start page and search -------------------------------------------------------------------------


@router.get("/")
def home(request: Request, user: UserDep) -> Response:
    return render(request, "home.html", {"recent": recent_accounts(request), "q": ""}, section="home")


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
    lang = language(request)
    inputs, input_error = _eligibility_inputs(request, reason, income, term)
    with unit_of_work(request) as session:
        view = accounts.view_account(session, account_ref)
        data = view.as_dict()
        other_accounts = [
            r for r in accounts.accounts_of_customer(session, view.account.customer_ref) if r != account_ref
        ]
        waiver_rows = (
            waivers.list_waivers(session, account_ref=account_ref)
            if can(user, Permission.WAIVER_READ)
            else []
        )
        deferral_rows = (
            deferrals.list_deferrals(session, account_ref=account_ref)
            if can(user, Permission.DEFERRAL_READ)
            else []
        )
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
    return render(
        request,
        "account.html",
        {
            "a": data,
            "arr": data["arrangements"],
            "waivers": waiver_rows,
            "deferrals": deferral_rows,
            "other_accounts": other_accounts,
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
        },
        section="home",
    )


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
    lang = language(request)
    income_error = ""
    try:
        monthly_income = parse_money_field(income, i18n.translate("elig.income", lang), lang)
    except BadForm as exc:
        monthly_income, income_error = None, exc.message
    policy = policy_in_force(request)
    with unit_of_work(request) as session:
        view = accounts.view_account(session, account_ref)
        data = view.as_dict()
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
            "a": data,
            "quoted": quoted,
            "columns": columns,
            "active_plan": any(p["status"] == "active" for p in data["arrangements"]["installment_plans"]),
            "refusal": refusal,
            "form": {"income": income, "reason": reason if reason in HARDSHIP_REASONS else ""},
            "income_error": income_error,
            "reasons": HARDSHIP_REASONS,
            "channels": PLAN_CHANNELS,
            "account_url": account_url,
        },
        section="home",
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
    back = f"{account_url(account_ref)}/quotes?" + urlencode({"income": income, "reason": reason})
    try:
        term = parse_int_field(
            term_months, i18n.translate("plan.create.term", lang), lang, low=1, high=600, required=True
        )
        monthly_income = parse_money_field(income, i18n.translate("elig.income", lang), lang)
        if channel not in PLAN_CHANNELS:
            raise BadForm(i18n.translate("plan.create.channel", lang))
        recording = text_field(recording_ref, max_length=128) or None
        if channel == "agent_phone" and not recording:
            raise BadForm(i18n.translate("plan.create.recording", lang))
        if terms_read != "yes":
            raise BadForm(i18n.translate("plan.create.read_terms", lang))
        if commitment != "yes":
            raise BadForm(i18n.translate("plan.create.commitment", lang))
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
        flash_error(request, exc)
        return redirect(back)
    flash(request, i18n.translate("plan.created", lang, id=plan_id))
    return redirect(f"{PREFIX}/plans/{plan_id}")


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request, plan_id: RowId, user: Annotated[Principal, Depends(permitted(Permission.PLAN_READ))]
) -> Response:
    with unit_of_work(request) as session:
        plan = plans.plan_dict(session, plans.get_plan(session, plan_id))
    return render(request, "plan.html", {"plan": plan, "account_url": account_url}, section="home")


@router.post("/plans/{plan_id}/cancel")
def cancel_plan(
    request: Request,
    plan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.PLAN_MANAGE))],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _end_plan(request, plan_id, user, note, broken=False)


@router.post("/plans/{plan_id}/break")
def break_plan(
    request: Request,
    plan_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.PLAN_MANAGE))],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _end_plan(request, plan_id, user, note, broken=True)


def _end_plan(request: Request, plan_id: int, user: Principal, note: str, *, broken: bool) -> Response:
    lang = language(request)
    try:
        text = text_field(note, max_length=2000)
        if not text:
            raise BadForm(i18n.translate("plan.break_reason" if broken else "plan.cancel_reason", lang))
        with unit_of_work(request) as session:
            end = plans.break_plan if broken else plans.cancel_plan
            end(session, plan_id=plan_id, actor=user, note=text)
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(f"{PREFIX}/plans/{plan_id}")
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
    try:
        fees = parse_money_field(fee_amount, i18n.translate("waiver.fee", lang), lang) or Decimal("0")
        interest = parse_money_field(
            interest_amount, i18n.translate("waiver.interest", lang), lang
        ) or Decimal("0")
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
        flash_error(request, exc)
        return redirect(account_url(account_ref) + "#waiver")
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
) -> Response:
    """Supervisors undo an applied waiver (the API's POST /v1/fee-waivers/{id}/reverse)."""
    lang = language(request)
    try:
        with unit_of_work(request) as session:
            waivers.reverse_waiver(
                session, waiver_id=waiver_id, actor=user, note=text_field(note, max_length=2000) or None
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(back_url(request))
    flash(request, i18n.translate("waiver.reversed", lang, id=waiver_id))
    return redirect(back_url(request))
