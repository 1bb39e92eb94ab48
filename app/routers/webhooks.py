"""Webhook endpoints (admin): subscribe, list, remove, see the deliveries, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.deps import SessionDep, SettingsDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.webhooks import (
    DeliveryList,
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointRead,
    ReplayRequest,
    ReplayResult,
)
from app.services import webhooks
from app.services.paging import decode_cursor, next_cursor
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/webhook-endpoints",
    tags=["webhooks"],
    route_class=UnitOfWorkRoute,
    responses=STANDARD_PROBLEMS,
)
EndpointId = Path(ge=1, le=2**62, description="Webhook endpoint id")
Admin = Annotated[Principal, Depends(require(Permission.WEBHOOK_MANAGE))]


@router.post("", status_code=201, operation_id="webhooks-create")
def create_endpoint(
    body: EndpointCreate, session: SessionDep, settings: SettingsDep, principal: Admin
) -> EndpointCreated:
    """Subscribe a URL to event types (["*"] for all). The answer carries the signing secret, once."""
    view = webhooks.create_endpoint(
        session, url=body.url, event_types=body.event_types, actor=principal, settings=settings
    )
    return EndpointCreated.model_validate(view)


@router.get("", operation_id="webhooks-list")
def list_endpoints(session: SessionDep, principal: Admin) -> EndpointList:
    """Every endpoint (without its secret)."""
    return EndpointList(items=[EndpointRead.model_validate(v) for v in webhooks.list_endpoints(session)])


@router.delete(
    "/{endpoint_id}", status_code=204, operation_id="webhooks-delete", responses=problem_responses(404)
)
def delete_endpoint(session: SessionDep, principal: Admin, endpoint_id: int = EndpointId) -> Response:
    """Remove the endpoint and its deliveries."""
    webhooks.delete_endpoint(session, endpoint_id=endpoint_id, actor=principal)
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", operation_id="webhooks-deliveries", responses=problem_responses(404))
def list_deliveries(
    session: SessionDep,
    principal: Admin,
    endpoint_id: int = EndpointId,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryList:
    """The endpoint's deliveries with their attempts, last answer and next attempt."""
    rows = webhooks.list_deliveries(
        session, endpoint_id=endpoint_id, status=status, after_id=decode_cursor(cursor), limit=limit
    )
    return DeliveryList(
        items=[DeliveryRead.model_validate(row) for row in rows],
        next_cursor=next_cursor([row.id for row in rows], limit),
    )


@router.post("/{endpoint_id}/replay", operation_id="webhooks-replay", responses=problem_responses(404))
def replay(
    body: ReplayRequest, session: SessionDep, principal: Admin, endpoint_id: int = EndpointId
) -> ReplayResult:
    """Send events again: the named ones, or every failed delivery. They are pending at once."""
    count = webhooks.replay(
        session, endpoint_id=endpoint_id, event_ids=body.event_ids, status=body.status, actor=principal
    )
    return ReplayResult(pending=count)
