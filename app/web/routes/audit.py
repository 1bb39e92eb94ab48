"""The audit trail for auditors: newest first, paged, filtered by date, actor, account and action,
readable changes with customer references masked, and the same list as CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi import Query as FastApiQuery
from fastapi.responses import Response

from app.domain.access import Permission
from app.services import audit_view
from app.services.csvout import csv_text
from app.services.principal import Principal
from app.web.common import MAX_ROW_ID, format_stamp, mask, permitted, render, ui_router, unit_of_work

router = ui_router()
PAGE_SIZE = 100
CSV_LIMIT = 10_000
MASKED_KEYS = frozenset({"customer_ref"})


def _readable(value: Any) -> list[tuple[str, str]]:
    """A snapshot as (field, value) lines; customer references masked."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [("", str(value))]
    lines: list[tuple[str, str]] = []
    for key in sorted(value):
        item = value[key]
        text = "" if item is None else (", ".join(map(str, item)) if isinstance(item, list) else str(item))
        if isinstance(item, dict):
            text = "; ".join(f"{k}={v}" for k, v in sorted(item.items()))
        lines.append((str(key), mask(text) if key in MASKED_KEYS else text))
    return lines


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _filters(on_from: str, on_to: str, actor: str, account: str, action: str) -> audit_view.AuditFilters:
    return audit_view.AuditFilters(
        on_from=_date(on_from),
        on_to=_date(on_to),
        actor=actor.strip()[:100] or None,
        account_ref=account.strip()[:64] or None,
        action=action.strip()[:64] or None,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.AUDIT_READ))],
    on_from: str = "",
    on_to: str = "",
    actor: str = "",
    account: str = "",
    action: str = "",
    before: Annotated[int, FastApiQuery(ge=0, le=MAX_ROW_ID)] = 0,
) -> Response:
    form = {"on_from": on_from, "on_to": on_to, "actor": actor, "account": account, "action": action}
    filters = _filters(on_from, on_to, actor, account, action)
    with unit_of_work(request) as session:
        rows = audit_view.search_events(session, filters=filters, before_id=before or None, limit=PAGE_SIZE)
        events = [
            {
                "id": r.id,
                "occurred_at": r.occurred_at,
                "actor": r.actor,
                "actor_role": r.actor_role,
                "action": r.action,
                "entity_type": r.entity_type,
                "entity_id": r.entity_id,
                "before": _readable(r.before),
                "after": _readable(r.after),
            }
            for r in rows
        ]
    filled = {k: v for k, v in form.items() if v}
    next_query = urlencode({**filled, "before": rows[-1].id}) if len(rows) == PAGE_SIZE else None
    first_query = urlencode(filled) if before else None
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "form": form,
            "next_query": next_query,
            "first_query": first_query,
            "csv_query": urlencode(filled),
        },
        section="audit",
    )


@router.get("/audit.csv")
def audit_csv(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.AUDIT_READ))],
    on_from: str = "",
    on_to: str = "",
    actor: str = "",
    account: str = "",
    action: str = "",
) -> Response:
    """The filtered events (newest first, at most 10,000) as CSV, customer references masked."""
    filters = _filters(on_from, on_to, actor, account, action)
    with unit_of_work(request) as session:
        rows = audit_view.search_events(session, filters=filters, before_id=None, limit=CSV_LIMIT)
        lines = [
            (
                r.id,
                format_stamp(r.occurred_at, seconds=True),
                r.actor,
                r.actor_role,
                r.action,
                r.entity_type,
                r.entity_id,
                "; ".join(f"{k}={v}" for k, v in _readable(r.before)),
                "; ".join(f"{k}={v}" for k, v in _readable(r.after)),
            )
            for r in rows
        ]
    header = (
        "id",
        "occurred_at",
        "actor",
        "actor_role",
        "action",
        "entity_type",
        "entity_id",
        "before",
        "after",
    )
    return Response(
        csv_text(header, lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
    )
