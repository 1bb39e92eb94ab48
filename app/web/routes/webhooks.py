"""Webhook endpoints for admins: list, add (the secret is shown once), delete, and each endpoint's
deliveries with their attempts and last answer. The same services as /v1/webhook-endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from app.domain.access import Permission
from app.domain.events import EventType
from app.services import webhooks
from app.services.errors import InvalidInput
from app.services.principal import Principal
from app.web.common import PREFIX, language, permitted, redirect, render, settings_of, ui_router, unit_of_work

router = ui_router()
Admin = Annotated[Principal, Depends(permitted(Permission.WEBHOOK_MANAGE))]
TEXT = {
    "en": {
        "title": "Webhook endpoints",
        "url": "URL",
        "types": "Event types",
        "all": "all (*)",
        "add": "Add endpoint",
        "delete": "Delete",
        "none": "No endpoints yet.",
        "secret": "Signing secret (shown only now: copy it to the receiver)",
        "deliveries": "Deliveries",
        "status": "Status",
        "attempts": "Attempts",
        "code": "Last answer",
        "error": "Last error",
        "next": "Next attempt",
        "event": "Event",
        "replay": "Send the failed ones again",
        "back": "All endpoints",
    },
    "zh": {
        "title": "Webhook 端点",
        "url": "地址",
        "types": "事件类型",
        "all": "全部 (*)",
        "add": "添加端点",
        "delete": "删除",
        "none": "尚无端点。",
        "secret": "签名密钥（仅此一次显示，请复制到接收方）",
        "deliveries": "投递记录",
        "status": "状态",
        "attempts": "尝试次数",
        "code": "最后应答",
        "error": "最后错误",
        "next": "下次尝试",
        "event": "事件",
        "replay": "重新发送失败的投递",
        "back": "全部端点",
    },
}


def _page(request: Request, **context: object) -> Response:
    with unit_of_work(request) as session:
        endpoints = webhooks.list_endpoints(session)
    return render(
        request,
        "webhooks.html",
        {
            "w": TEXT[language(request)],
            "endpoints": endpoints,
            "types": [t.value for t in EventType],
            "form": {"url": "", "event_types": ["*"]},
            "errors": {},
            "secret": None,
            **context,
        },
        section="webhooks",
    )


@router.get("/webhooks")
def webhooks_page(request: Request, user: Admin) -> Response:
    return _page(request)


@router.post("/webhooks")
def add_endpoint(
    request: Request,
    user: Admin,
    url: Annotated[str, Form(max_length=2000)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = event_types or ["*"]
    try:
        with unit_of_work(request) as session:
            created = webhooks.create_endpoint(
                session, url=url.strip(), event_types=chosen, actor=user, settings=settings_of(request)
            )
    except InvalidInput as exc:
        errors = {e.field: e.message for e in exc.errors}
        return _page(request, form={"url": url, "event_types": chosen}, errors=errors)
    return _page(request, secret=created.secret, created_id=created.id)


@router.post("/webhooks/{endpoint_id}/delete")
def delete_endpoint(request: Request, user: Admin, endpoint_id: int) -> Response:
    with unit_of_work(request) as session:
        webhooks.delete_endpoint(session, endpoint_id=endpoint_id, actor=user)
    return redirect(f"{PREFIX}/webhooks")


@router.get("/webhooks/{endpoint_id}")
def deliveries_page(request: Request, user: Admin, endpoint_id: int, status: str = "") -> Response:
    chosen = status if status in webhooks.DELIVERY_STATUSES else None
    with unit_of_work(request) as session:
        endpoint = next((e for e in webhooks.list_endpoints(session) if e.id == endpoint_id), None)
        rows = webhooks.list_deliveries(session, endpoint_id=endpoint_id, status=chosen, limit=200)
    return render(
        request,
        "webhook_deliveries.html",
        {"w": TEXT[language(request)], "endpoint": endpoint, "deliveries": rows, "status": chosen or ""},
        section="webhooks",
    )


@router.post("/webhooks/{endpoint_id}/replay")
def replay_failed(request: Request, user: Admin, endpoint_id: int) -> Response:
    with unit_of_work(request) as session:
        webhooks.replay(session, endpoint_id=endpoint_id, event_ids=None, status="failed", actor=user)
    return redirect(f"{PREFIX}/webhooks/{endpoint_id}")
