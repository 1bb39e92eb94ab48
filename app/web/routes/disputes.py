"""Credit-report disputes: record one for an account, the list with overdue ones highlighted, status
changes for supervisors, and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Path, Request
from fastapi import Query as FastApiQuery
from fastapi.responses import Response

from app.domain.access import Permission
from app.domain.disputes import DisputeStatus
from app.services import disputes
from app.services.csvout import csv_text
from app.services.principal import Principal
from app.web import i18n, messages
from app.web.common import (
    MAX_ROW_ID,
    BadForm,
    RowId,
    language,
    parse_date_field,
    permitted,
    policies_of,
    redirect,
    render,
    text_field,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS, back_url, flash_error
from app.web.forms import state_for
from app.web.routes.accounts import account_url, render_account
from app.web.security import PREFIX, flash

router = ui_router()
PAGE_SIZE = 100
STATUSES = tuple(s.value for s in DisputeStatus)
# The moves a supervisor may offer from each status (the domain state machine refuses any other).
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    "submitted": ("under_review", "withdrawn"),
    "under_review": ("corrected", "rejected", "withdrawn"),
}


@dataclass(frozen=True)
class Filters:
    disaster_code: str | None
    status: str | None
    overdue: bool | None


def _filters(disaster_code: str, status: str, overdue: str) -> Filters:
    return Filters(
        disaster_code=disaster_code.strip()[:64] or None,
        status=status if status in STATUSES else None,
        overdue=True if overdue == "1" else None,
    )


@router.get("/disputes")
def disputes_page(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.DISPUTE_READ))],
    disaster_code: str = "",
    status: str = "",
    overdue: str = "",
    after: Annotated[int, FastApiQuery(ge=0, le=MAX_ROW_ID)] = 0,
) -> Response:
    filters = _filters(disaster_code, status, overdue)
    with unit_of_work(request) as session:
        items = disputes.list_disputes(
            session,
            disaster_code=filters.disaster_code,
            status=filters.status,
            overdue=filters.overdue,
            after_id=max(0, after),
            limit=PAGE_SIZE,
        )
    query = {"disaster_code": disaster_code, "status": status, "overdue": overdue}
    next_query = urlencode({**query, "after": items[-1].id}) if len(items) == PAGE_SIZE else None
    return render(
        request,
        "disputes.html",
        {
            "items": items,
            "form": query,
            "statuses": STATUSES,
            "next_statuses": NEXT_STATUSES,
            "overdue_count": sum(1 for d in items if d.overdue),
            "next_query": next_query,
            "csv_query": urlencode({k: v for k, v in query.items() if v}),
            "account_url": account_url,
        },
        section="disputes",
    )


@router.get("/disputes.csv")
def disputes_csv(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.DISPUTE_READ))],
    disaster_code: str = "",
    status: str = "",
    overdue: str = "",
) -> Response:
    filters = _filters(disaster_code, status, overdue)
    with unit_of_work(request) as session:
        rows = disputes.dispute_csv_rows(
            session, disaster_code=filters.disaster_code, status=filters.status, overdue=filters.overdue
        )
    name = f"credit-disputes-{disaster_code.strip() or 'all'}.csv"
    return Response(
        csv_text(disputes.DISPUTE_CSV_HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_safe_filename(name)}"'},
    )


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


@router.post("/accounts/{account_ref}/disputes")
def create_dispute(
    request: Request,
    account_ref: Annotated[str, Path(min_length=1, max_length=64)],
    user: Annotated[Principal, Depends(permitted(Permission.DISPUTE_CREATE))],
    bureau: Annotated[str, Form(max_length=32)] = "",
    reason_code: Annotated[str, Form(max_length=64)] = "",
    period_start: Annotated[str, Form(max_length=10)] = "",
    period_end: Annotated[str, Form(max_length=10)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    lang = language(request)
    sent = {
        "bureau": bureau,
        "reason_code": reason_code,
        "period_start": period_start,
        "period_end": period_end,
        "description": description,
    }
    try:
        start = parse_date_field(
            period_start, i18n.translate("disputes.period_start", lang), lang, field="period_start"
        )
        end = parse_date_field(
            period_end, i18n.translate("disputes.period_end", lang), lang, field="period_end"
        )
        assert start is not None and end is not None
        with unit_of_work(request) as session:
            view = disputes.create_dispute(
                session,
                account_ref=account_ref,
                bureau=text_field(bureau, max_length=32),
                reason_code=text_field(reason_code, max_length=64),
                period_start=start,
                period_end=end,
                description=text_field(description, max_length=2000) or None,
                evidence_refs=None,
                actor=user,
                policies=policies_of(request),
            )
    except ACTION_ERRORS as exc:
        return render_account(request, user, account_ref, state=state_for("dispute", sent, exc, lang))
    flash(request, i18n.translate("disputes.created", lang, id=view.id))
    return redirect(account_url(account_ref) + "#arrangements")


@router.post("/disputes/{dispute_id}/transition")
def transition(
    request: Request,
    dispute_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.DISPUTE_TRANSITION))],
    target_status: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A status change asks to confirm (a ticked box), so that one click changes nothing."""
    lang = language(request)
    try:
        if confirm != "yes":
            raise BadForm(messages.message("field.confirm", lang) or "", "confirm")
        with unit_of_work(request) as session:
            disputes.transition_dispute(
                session,
                dispute_id=dispute_id,
                target_status=target_status,
                note=text_field(note, max_length=2000) or None,
                actor=user,
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(back_url(request, f"{PREFIX}/disputes"))
    flash(request, i18n.translate("disputes.moved", lang, id=dispute_id))
    return redirect(back_url(request, f"{PREFIX}/disputes"))
