"""A crash between the write and the response: the work is committed, the client never hears of it,
and retries with the same Idempotency-Key.  The retry must get the original answer, and the record
must exist exactly once.  (UnitOfWorkRoute stores the response with the business write in one
transaction, before anything is sent.)

The crash is made by an ASGI wrapper whose `send` fails on the first message of the response, as
when the process dies or the connection drops at that moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.deps import SessionDep, require
from app.domain.access import Permission
from app.main import create_app
from app.persistence.models import Customer, DisasterEvent, FeeWaiver, IdempotencyRecord, InstallmentPlan
from app.routing import REPLAY_HEADER, UnitOfWorkRoute
from app.services import clock
from app.services.principal import Principal
from tests.conftest import Database
from tests.factories import business_today
from tests.fuzz.apimap import has_route
from tests.fuzz.scenario import account_body, bearer

pytestmark = pytest.mark.slow


class ResponseLost(ConnectionResetError):
    pass


class CrashOnSend:
    """Runs the app but fails the moment it starts sending the answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def failing_send(message: Any) -> None:
            if scope["type"] == "http" and message["type"] == "http.response.start":
                raise ResponseLost("the connection dropped before the answer went out")
            await send(message)

        await self.app(scope, receive, failing_send)


def count(db: Database, model: Any) -> int:
    with db.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def crash_then_retry(
    app: FastAPI, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[Any, Any]:
    with (
        TestClient(CrashOnSend(app), raise_server_exceptions=True) as crashing,
        pytest.raises(ResponseLost),
    ):
        crashing.post(path, json=body, headers=headers)
    with TestClient(app, raise_server_exceptions=False) as client:
        retry = client.post(path, json=body, headers=headers)
        different = client.post(path, json={**body, "_": 1}, headers=headers)
    return retry, different


# --- a tiny creating endpoint, so the mechanism is proven whatever endpoints exist -----------------


class CustomerIn(BaseModel):
    customer_ref: str


def faults_router() -> APIRouter:
    router = APIRouter(prefix="/v1/_faults", route_class=UnitOfWorkRoute)

    @router.post("/customers", status_code=201)
    def create_customer(
        body: CustomerIn,
        session: SessionDep,
        principal: Annotated[Principal, Depends(require(Permission.ACCOUNT_WRITE))],
    ) -> dict[str, Any]:
        row = Customer(customer_ref=body.customer_ref, created_at=clock.utcnow())
        session.add(row)
        session.flush()
        return {"id": row.id, "customer_ref": row.customer_ref, "by": principal.name}

    return router


def test_a_crash_after_commit_is_answered_by_the_idempotent_retry_test_router(
    db: Database, keys: dict[str, str]
) -> None:
    app = create_app(db.settings)
    app.include_router(faults_router())
    headers = {**bearer(keys["admin"]), "Idempotency-Key": "crash-1"}

    retry, different = crash_then_retry(app, "/v1/_faults/customers", {"customer_ref": "CRASH-1"}, headers)

    assert retry.status_code == 201, retry.text
    assert retry.headers.get(REPLAY_HEADER) == "true"
    assert retry.json()["customer_ref"] == "CRASH-1"
    assert count(db, Customer) == 1
    assert different.status_code == 409
    assert count(db, IdempotencyRecord) == 1


# --- the real creating POSTs ------------------------------------------------------------------------


def _disaster(db: Database, app: FastAPI) -> tuple[str, dict[str, Any], str, Any]:
    today = business_today()
    body = {
        "code": "CRASH-EQ",
        "name": "Earthquake",
        "kind": "earthquake",
        "occurred_on": (today - timedelta(days=2)).isoformat(),
        "relief_start": (today - timedelta(days=2)).isoformat(),
        "relief_end": (today + timedelta(days=40)).isoformat(),
        "deferral_months": 3,
        "region_codes": ["622927"],
    }
    return "/v1/disasters", body, "batch_operator", DisasterEvent


def _account(db: Database, app: FastAPI, keys: dict[str, str]) -> str:
    with TestClient(app) as client:
        response = client.put(
            "/v1/accounts/CRASH-A",
            json=account_body(customer_ref="C-CRASH", today=business_today()),
            headers=bearer(keys["admin"]),
        )
        assert response.status_code == 201, response.text
    return "CRASH-A"


CASES: dict[str, tuple[str, Callable[..., tuple[str, dict[str, Any], str, Any]]]] = {
    "disaster": ("/v1/disasters", lambda db, app, keys: _disaster(db, app)),
    "installment_plan": (
        "/v1/accounts/{account_ref}/installment-plans",
        lambda db, app, keys: (
            f"/v1/accounts/{_account(db, app, keys)}/installment-plans",
            {"term_months": 12, "reason": "illness", "commitment_accepted": True},
            "agent",
            InstallmentPlan,
        ),
    ),
    "fee_waiver": (
        "/v1/accounts/{account_ref}/fee-waivers",
        lambda db, app, keys: (
            f"/v1/accounts/{_account(db, app, keys)}/fee-waivers",
            {"fee_amount": "100.00", "interest_amount": "0.00", "reason": "illness"},
            "agent",
            FeeWaiver,
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_crash_after_commit_is_answered_by_the_idempotent_retry(
    db: Database, keys: dict[str, str], case: str
) -> None:
    template, prepare = CASES[case]
    app = create_app(db.settings)
    if not has_route(app, "POST", template):
        pytest.skip(f"POST {template} is not mounted yet")
    path, body, role, model = prepare(db, app, keys)
    headers = {**bearer(keys[role]), "Idempotency-Key": f"crash-{case}"}

    retry, different = crash_then_retry(app, path, body, headers)

    assert retry.status_code == 201, retry.text
    assert retry.headers.get(REPLAY_HEADER) == "true"
    assert count(db, model) == 1
    assert different.status_code == 409, different.text  # same key, other body (CONTRACT.md)
    assert count(db, model) == 1
    with unit_of_work(db.engine) as s:
        assert _stored_body(s, headers["Idempotency-Key"]) == retry.text


def _stored_body(session: Session, key: str) -> str | None:
    return session.scalar(select(IdempotencyRecord.response_body).where(IdempotencyRecord.key == key))
