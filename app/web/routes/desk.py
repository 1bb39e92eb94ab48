"""The agent desk: the signed-in person's work queue at /agent/, the customer view, contacts with
callbacks, and the plan's agreement to print (CONTRACT.md, "Agent web UI (second edition)")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request
from fastapi.responses import FileResponse, Response

from app.domain.access import Permission
from app.services import contacts, disputes, plans, queue, scans, timeline
from app.services.accounts import get_account_row
from app.services.errors import NotFound
from app.services.principal import Principal
from app.web import i18n, messages
from app.web.common import (
    STATIC_DIR,
    BadForm,
    UserDep,
    business_today,
    can,
    language,
    parse_date_field,
    permitted,
    policies_of,
    policy_in_force,
    redirect,
    render,
    text_field,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS
from app.web.forms import state_for
from app.web.routes.accounts import AccountRef, account_url, render_account
from app.web.security import flash, recent_accounts

router = ui_router()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


# --- the work queue --------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, user: UserDep) -> Response:
    """What waits for this person, by what their role may do."""
    on = business_today(request)
    context: dict[str, Any] = {"recent": recent_accounts(request), "q": "", "on": on}
    with unit_of_work(request) as session:
        if can(user, Permission.WAIVER_CREATE):
            waiting, decided = queue.my_requests(session, requested_by=user.actor)
            context["my_waiting"], context["my_decided"] = waiting, decided
        if can(user, Permission.CONTACT_RECORD):
            context["callbacks"] = contacts.callbacks_due(session, recorded_by=user.actor, on=on)
        if can(user, Permission.DISPUTE_READ) and (
            can(user, Permission.DISPUTE_CREATE) or can(user, Permission.DISPUTE_TRANSITION)
        ):
            context["overdue_disputes"] = disputes.list_disputes(
                session, disaster_code=None, status=None, overdue=True, after_id=0, limit=20
            )
        if can(user, Permission.APPROVAL_DECIDE):
            context["approvals"] = queue.approval_cards(session, exclude_requester=user.actor)
        if can(user, Permission.SCAN_RUN):
            recent = scans.list_scans(session, limit=1000, policies=policies_of(request))
            context["scans"] = list(reversed(recent))[:10]
        if can(user, Permission.AUDIT_READ):
            context["events"] = queue.recent_audit_events(session, limit=20)
    return render(request, "home.html", context, section="home")


# --- the customer view -----------------------------------------------------------------------------


@router.get("/customers/{customer_ref}")
def customer_page(
    request: Request,
    customer_ref: Annotated[str, Path(min_length=1, max_length=64)],
    user: Annotated[Principal, Depends(permitted(Permission.ACCOUNT_READ))],
) -> Response:
    """All the customer's accounts and their relief timeline, newest first."""
    return _customer(request, customer_ref)


@router.get("/accounts/{account_ref}/customer")
def customer_of_account(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.ACCOUNT_READ))],
) -> Response:
    """The customer view reached from an account, so that no page carries the unmasked customer
    reference in a link."""
    with unit_of_work(request) as session:
        customer_ref = get_account_row(session, account_ref).customer_ref
    return _customer(request, customer_ref)


def _customer(request: Request, customer_ref: str) -> Response:
    with unit_of_work(request) as session:
        rows = timeline.customer_accounts(session, customer_ref=customer_ref)
        items = timeline.customer_timeline(session, customer_ref=customer_ref) if rows else []
    if not rows:
        raise NotFound(f"No customer {customer_ref!r}.")
    return render(
        request,
        "customer.html",
        {
            "customer_ref": customer_ref,
            "rows": rows,
            "timeline": items,
            "account_url": account_url,
            "product_names": _product_names(request, {r.product_code for r in rows}),
        },
        section="home",
    )


def _product_names(request: Request, codes: set[str]) -> dict[str, str]:
    policy = policy_in_force(request)
    names: dict[str, str] = {}
    for code in codes:
        product = policy.product_terms(code)
        names[code] = product.name if product is not None else ""
    return names


# --- contacts --------------------------------------------------------------------------------------


@router.post("/accounts/{account_ref}/contacts")
def record_contact(
    request: Request,
    account_ref: AccountRef,
    user: Annotated[Principal, Depends(permitted(Permission.CONTACT_RECORD))],
    channel: Annotated[str, Form(max_length=16)] = "",
    outcome: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    callback_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    lang = language(request)
    sent = {"channel": channel, "outcome": outcome, "note": note, "callback_on": callback_on}
    try:
        callback = parse_date_field(
            callback_on,
            i18n.translate("contact.callback_on", lang),
            lang,
            required=False,
            field="callback_on",
        )
        if not outcome:
            raise BadForm(messages.message("field.choice", lang) or "", "outcome")
        with unit_of_work(request) as session:
            contacts.record_contact(
                session,
                account_ref=account_ref,
                channel=channel,
                outcome=outcome,
                note=text_field(note, max_length=2000) or None,
                callback_on=callback,
                actor=user,
            )
    except ACTION_ERRORS as exc:
        return render_account(request, user, account_ref, state=state_for("contact", sent, exc, lang))
    flash(request, i18n.translate("contact.recorded", lang))
    return redirect(account_url(account_ref) + "#timeline-h")


# --- the agreement to print ------------------------------------------------------------------------


@router.get("/installment-plans/{plan_id}/agreement")
def agreement_page(
    request: Request, plan_id: int, user: Annotated[Principal, Depends(permitted(Permission.PLAN_READ))]
) -> Response:
    """The plan's agreement as a printable page: the terms Art. 70 requires, in plain words, the
    schedule with every installment, the recording reference and signature lines."""
    with unit_of_work(request) as session:
        plan = plans.plan_read(session, plans.get_plan(session, plan_id))
        account = get_account_row(session, plan.account_ref)
        customer_ref = account.customer_ref
        product_code = account.product_code
    policy = policy_in_force(request)
    product = policy.product_terms(product_code)
    servicing = getattr(policy, "servicing", None)
    terms = {
        "grace_days": getattr(servicing, "grace_days", 3),
        "consecutive": getattr(servicing, "break_after_consecutive_missed", 2),
        "total": getattr(servicing, "break_after_total_missed", 3),
    }
    return render(
        request,
        "agreement.html",
        {
            "plan": plan,
            "customer_ref": customer_ref,
            "product_name": product.name if product is not None else product_code,
            "printed_on": business_today(request),
            "breach": terms,
            "account_url": account_url,
        },
        section="home",
    )
