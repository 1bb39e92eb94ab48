"""The audit trail for auditors: every event in chain order, filtered by entity or action."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi import Query as FastApiQuery
from fastapi.responses import Response

from app.domain.access import Permission
from app.services import audit
from app.services.principal import Principal
from app.web.common import MAX_ROW_ID, permitted, render, ui_router, unit_of_work

router = ui_router()
PAGE_SIZE = 100


def _compact(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


@router.get("/audit")
def audit_page(
    request: Request,
    user: Annotated[Principal, Depends(permitted(Permission.AUDIT_READ))],
    entity_type: str = "",
    entity_id: str = "",
    action: str = "",
    after: Annotated[int, FastApiQuery(ge=0, le=MAX_ROW_ID)] = 0,
) -> Response:
    filters = {
        "entity_type": entity_type.strip()[:32],
        "entity_id": entity_id.strip()[:64],
        "action": action.strip()[:64],
    }
    with unit_of_work(request) as session:
        rows = audit.list_events(
            session,
            after_id=max(0, after),
            limit=PAGE_SIZE,
            entity_type=filters["entity_type"] or None,
            entity_id=filters["entity_id"] or None,
            action=filters["action"] or None,
        )
        events = [
            {
                "id": r.id,
                "occurred_at": r.occurred_at,
                "actor": r.actor,
                "actor_role": r.actor_role,
                "action": r.action,
                "entity_type": r.entity_type,
                "entity_id": r.entity_id,
                "before": _compact(r.before),
                "after": _compact(r.after),
                "request_id": r.request_id,
            }
            for r in rows
        ]
    next_query = urlencode({**filters, "after": rows[-1].id}) if len(rows) == PAGE_SIZE else None
    first_query = urlencode(filters) if after else None
    return render(
        request,
        "audit.html",
        {"events": events, "form": filters, "next_query": next_query, "first_query": first_query},
        section="audit",
    )
