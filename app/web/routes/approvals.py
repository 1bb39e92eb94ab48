"""The supervisors' approvals queue: approve or reject with a note (never one's own request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi import Query as FastApiQuery
from fastapi.responses import Response

from app.domain.access import Permission
from app.services import approvals, queue
from app.services.errors import Forbidden
from app.services.principal import Principal
from app.web import i18n, messages
from app.web.common import (
    MAX_ROW_ID,
    BadForm,
    RowId,
    language,
    permitted,
    policies_of,
    redirect,
    render,
    text_field,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS
from app.web.forms import EMPTY, FormState, state_for
from app.web.security import PREFIX, flash

router = ui_router()
PAGE_SIZE = 50


@router.get("/approvals")
def approvals_page(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.APPROVAL_DECIDE))],
    status: str = "pending",
    after: Annotated[int, FastApiQuery(ge=0, le=MAX_ROW_ID)] = 0,
) -> Response:
    return render_approvals(request, user, status=status, after=after)


def render_approvals(
    request: Request, user: Principal, *, status: str = "pending", after: int = 0, state: FormState = EMPTY
) -> Response:
    """The queue; each pending card with how long it has waited, the requester's note, the hardship
    reason and the account's relief in the last 365 days."""
    status_filter = status if status in approvals.STATUSES else None
    with unit_of_work(request) as session:
        rows = approvals.list_approvals(
            session, status=status_filter, after_id=max(0, after), limit=PAGE_SIZE
        )
        items = approvals.approval_dicts(session, rows)
        cards = {c.id: c for c in queue.approval_cards(session, limit=PAGE_SIZE)}
    next_after = rows[-1].id if len(rows) == PAGE_SIZE else None
    return render(
        request,
        "approvals.html",
        {
            "items": items,
            "status": status_filter or "",
            "statuses": approvals.STATUSES,
            "next_after": next_after,
            "after": after,
            "me": user.actor,
            "me_person": user.person,
            "cards": cards,
            "state": state,
        },
        section="approvals",
        status_code=422 if state.failed else 200,
    )


def _decide(
    request: Request, approval_id: int, note: str, confirm: str, user: Principal, *, approve: bool
) -> Response:
    """Approve or reject: a note and a ticked confirmation, so that one click decides nothing."""
    lang = language(request)
    text = text_field(note, max_length=2000) or None
    try:
        if text is None:
            raise BadForm(messages.message("field.note_required", lang) or "", "note")
        if confirm != "yes":
            raise BadForm(messages.message("field.confirm", lang) or "", "confirm")
        with unit_of_work(request) as session:
            if approve:
                approvals.approve(
                    session,
                    approval_id=approval_id,
                    actor=user,
                    note=text,
                    policies=policies_of(request),
                )
            else:
                approvals.reject(session, approval_id=approval_id, actor=user, note=text)
    except Forbidden as exc:
        words = messages.message(exc.code, lang) if exc.code else None
        flash(request, i18n.translate("approvals.own_refused", lang) + "\n" + (words or ""), "error")
        return redirect(f"{PREFIX}/approvals")
    except ACTION_ERRORS as exc:
        state = state_for(f"decide-{approval_id}", {"note": note, "confirm": confirm}, exc, lang)
        return render_approvals(request, user, state=state)
    key = "approvals.approved" if approve else "approvals.rejected"
    flash(request, i18n.translate(key, lang, id=approval_id))
    return redirect(f"{PREFIX}/approvals")


@router.post("/approvals/{approval_id}/approve")
def approve(
    request: Request,
    approval_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.APPROVAL_DECIDE))],
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    return _decide(request, approval_id, note, confirm, user, approve=True)


@router.post("/approvals/{approval_id}/reject")
def reject(
    request: Request,
    approval_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.APPROVAL_DECIDE))],
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    return _decide(request, approval_id, note, confirm, user, approve=False)
