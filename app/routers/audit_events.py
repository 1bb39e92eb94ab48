"""The audit trail, for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS
from app.routing import UnitOfWorkRoute
from app.schemas.audit import AuditEventList, AuditEventRead
from app.services import audit
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/audit-events", tags=["audit"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)


@router.get("", operation_id="audit-list")
def list_audit_events(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditEventList:
    """Audit events in the order they were written, oldest first; filter by entity or action."""
    rows = audit.list_events(
        session,
        after_id=decode_cursor(cursor),
        limit=limit,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
    )
    return AuditEventList(
        items=[AuditEventRead.model_validate(r) for r in rows],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )
