"""A stored decision with the inputs it saw and its outcome; supervisors and auditors may replay it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from app.domain.access import Permission
from app.services import decisions
from app.services.principal import Principal
from app.web import i18n
from app.web.common import (
    RowId,
    language,
    permitted,
    policies_of,
    redirect,
    render,
    ui_router,
    unit_of_work,
)
from app.web.errors import ACTION_ERRORS, flash_error
from app.web.security import PREFIX, flash

router = ui_router()


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


@router.get("/decisions/{decision_id}")
def decision_page(
    request: Request,
    decision_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.DECISION_READ))],
) -> Response:
    with unit_of_work(request) as session:
        row = decisions.get_decision(session, decision_id)
        decision = {
            "id": row.id,
            "account_ref": row.account_ref,
            "kind": row.kind,
            "policy_version": row.policy_version,
            "decided_on": row.decided_on,
            "actor": row.actor,
            "created_at": row.created_at,
            "programs": row.outcome.get("programs", []),
            "inputs": _pretty(row.inputs),
        }
    return render(request, "decision.html", {"d": decision})


@router.post("/decisions/{decision_id}/replay")
def replay(
    request: Request,
    decision_id: RowId,
    user: Annotated[Principal, Depends(permitted(Permission.DECISION_REPLAY))],
) -> Response:
    lang = language(request)
    try:
        with unit_of_work(request) as session:
            _, _, identical = decisions.replay_decision(
                session, decision_id=decision_id, policies=policies_of(request), lang=lang, actor=user
            )
    except ACTION_ERRORS as exc:
        flash_error(request, exc)
        return redirect(f"{PREFIX}/decisions/{decision_id}")
    if identical:
        flash(request, i18n.translate("decision.replay_same", lang))
    else:
        flash(request, i18n.translate("decision.replay_differs", lang), "error")
    return redirect(f"{PREFIX}/decisions/{decision_id}")
