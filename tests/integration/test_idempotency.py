"""Idempotency-Key on creating POSTs (CONTRACT.md, "HTTP"; app/routing.py, app/services/idempotency.py).

The tests mount a tiny router of their own (with UnitOfWorkRoute, like every API router) on a fresh
app, so that they do not depend on any business endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import session_factory, unit_of_work
from app.deps import SessionDep, require
from app.domain.access import Permission
from app.main import create_app
from app.persistence.models import AuditEvent, Customer, IdempotencyRecord
from app.routing import REPLAY_HEADER, UnitOfWorkRoute
from app.schemas.common import ApiModel
from app.services import audit, auth, idempotency
from app.services.clock import utcnow
from app.services.errors import Conflict
from app.services.idempotency import Claim, StoredResponse
from app.services.principal import Principal
from tests.conftest import Database, bearer

PATH = "/test-idempotency/customers"


class CustomerIn(ApiModel):
    customer_ref: str = Field(min_length=1, max_length=64)
    fail_after_write: bool = False


router = APIRouter(prefix="/test-idempotency", route_class=UnitOfWorkRoute)
Writer = Annotated[Principal, Depends(require(Permission.ACCOUNT_WRITE))]
gate = threading.Event()  # the slow endpoint waits on it, holding its key in flight
entered = threading.Event()


@router.post("/customers", status_code=201)
def create_customer(body: CustomerIn, session: SessionDep, principal: Writer) -> dict:
    row = Customer(customer_ref=body.customer_ref, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(
        session, actor=principal, action="customer.created", entity_type="customer", entity_id=row.id
    )
    if body.fail_after_write:
        raise Conflict("failed after the write")
    return {"id": row.id, "customer_ref": row.customer_ref}


@router.post("/slow", status_code=201)
def create_slowly(body: CustomerIn, session: SessionDep, principal: Writer) -> dict:
    # Wait before touching the database: on SQLite an open write transaction would block the other request.
    entered.set()
    assert gate.wait(10)
    return create_customer(body, session, principal)


_apps: dict[str, FastAPI] = {}


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    if db.name not in _apps:
        app = create_app(db.settings)
        app.include_router(router)
        _apps[db.name] = app
    with TestClient(_apps[db.name], raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(keys: dict[str, str]) -> dict[str, str]:
    return bearer(keys["admin"])


def post(
    client: TestClient, headers: dict[str, str], body: dict, key: str | None = "key-1", path: str = PATH
) -> tuple[int, dict, dict[str, str]]:
    extra = {"Idempotency-Key": key} if key is not None else {}
    response = client.post(path, json=body, headers={**headers, **extra})
    return response.status_code, response.json(), dict(response.headers)


def count(db: Database, model: type) -> int:
    with unit_of_work(db.engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def records(db: Database) -> list[IdempotencyRecord]:
    with unit_of_work(db.engine) as s:
        return list(s.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)))


def test_same_key_and_body_replays_the_first_response(db: Database, client: TestClient, admin: dict) -> None:
    status, body, headers = post(client, admin, {"customer_ref": "C1"})
    assert status == 201 and REPLAY_HEADER.lower() not in {k.lower() for k in headers}
    again_status, again_body, again_headers = post(client, admin, {"customer_ref": "C1"})
    assert (again_status, again_body) == (status, body)
    assert again_headers[REPLAY_HEADER.lower()] == "true"
    assert count(db, Customer) == 1
    [record] = records(db)
    assert (record.state, record.response_status, record.method, record.path) == (
        "completed",
        201,
        "POST",
        PATH,
    )


def test_json_bodies_are_compared_after_canonicalising(db: Database, client: TestClient, admin: dict) -> None:
    first = client.post(
        PATH,
        content=b'{"customer_ref": "C1", "fail_after_write": false}',
        headers={**admin, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    second = client.post(
        PATH,
        content=b'{"fail_after_write":false,"customer_ref":"C1"}',
        headers={**admin, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers[REPLAY_HEADER] == "true" and second.json() == first.json()
    assert count(db, Customer) == 1


def test_same_key_with_another_body_is_a_conflict(db: Database, client: TestClient, admin: dict) -> None:
    assert post(client, admin, {"customer_ref": "C1"})[0] == 201
    status, body, headers = post(client, admin, {"customer_ref": "C2"})
    assert status == 409
    assert headers["content-type"] == "application/problem+json"
    assert body["status"] == 409 and "different request" in body["detail"]
    assert count(db, Customer) == 1


def test_same_key_on_another_path_is_a_conflict(db: Database, client: TestClient, admin: dict) -> None:
    assert post(client, admin, {"customer_ref": "C1"})[0] == 201
    gate.set()
    assert post(client, admin, {"customer_ref": "C1"}, path="/test-idempotency/slow")[0] == 409


def test_a_failed_validation_does_not_poison_the_key(db: Database, client: TestClient, admin: dict) -> None:
    status, body, _ = post(client, admin, {"customer_ref": ""})
    assert status == 422 and body["errors"][0]["field"] == "body.customer_ref"
    assert records(db) == []
    status, body, headers = post(client, admin, {"customer_ref": "C1"})
    assert status == 201 and REPLAY_HEADER.lower() not in headers
    assert post(client, admin, {"customer_ref": "C1"})[2][REPLAY_HEADER.lower()] == "true"


def test_a_failure_after_the_business_write_rolls_back_and_frees_the_key(
    db: Database, client: TestClient, admin: dict
) -> None:
    status, _, _ = post(client, admin, {"customer_ref": "C1", "fail_after_write": True})
    assert status == 409
    assert (count(db, Customer), count(db, AuditEvent) - 6, records(db)) == (0, 0, [])  # 6: the keys fixture
    assert post(client, admin, {"customer_ref": "C1", "fail_after_write": True})[0] == 409  # not replayed
    assert post(client, admin, {"customer_ref": "C1"})[0] == 201


def test_a_request_in_flight_makes_the_same_key_wait_with_409(
    db: Database, client: TestClient, admin: dict
) -> None:
    gate.clear()
    entered.clear()
    slow = "/test-idempotency/slow"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, admin, {"customer_ref": "C1"}, "key-1", slow)
        assert entered.wait(10)
        status, body, _ = post(client, admin, {"customer_ref": "C1"}, path=slow)
        gate.set()
        assert first.result(timeout=20)[0] == 201
    assert status == 409 and "in progress" in body["detail"]
    assert post(client, admin, {"customer_ref": "C1"}, path=slow)[2][REPLAY_HEADER.lower()] == "true"
    assert count(db, Customer) == 1


def test_keys_are_bound_to_the_caller(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        other_admin = auth.create_api_key(s, name="second admin", role="admin").token
    assert post(client, bearer(keys["admin"]), {"customer_ref": "C1"})[0] == 201
    status, body, headers = post(client, bearer(other_admin), {"customer_ref": "C2"})
    assert status == 201 and body["customer_ref"] == "C2" and REPLAY_HEADER.lower() not in headers
    status, body, headers = post(client, bearer(other_admin), {"customer_ref": "C2"})
    assert headers[REPLAY_HEADER.lower()] == "true"
    assert count(db, Customer) == 2 and len(records(db)) == 2


def test_an_expired_key_may_be_used_again(db: Database, client: TestClient, admin: dict) -> None:
    assert post(client, admin, {"customer_ref": "C1"})[0] == 201
    [record] = records(db)
    hours = db.settings.idempotency_ttl_hours
    assert abs(
        record.expires_at.replace(tzinfo=None)
        - record.created_at.replace(tzinfo=None)
        - timedelta(hours=hours)
    ) < timedelta(seconds=1)
    with unit_of_work(db.engine) as s:
        s.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    status, body, headers = post(client, admin, {"customer_ref": "C2"})
    assert status == 201 and body["customer_ref"] == "C2" and REPLAY_HEADER.lower() not in headers
    assert count(db, Customer) == 2 and len(records(db)) == 1


def test_expired_records_are_purged(db: Database, client: TestClient, admin: dict) -> None:
    post(client, admin, {"customer_ref": "C1"}, key="old")
    post(client, admin, {"customer_ref": "C2"}, key="new")
    with unit_of_work(db.engine) as s:
        s.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
    with unit_of_work(db.engine) as s:
        assert idempotency.purge_expired(s) == 1
    assert [r.key for r in records(db)] == ["new"]


def test_without_a_key_every_post_is_new(db: Database, client: TestClient, admin: dict) -> None:
    assert post(client, admin, {"customer_ref": "C1"}, key=None)[0] == 201
    assert post(client, admin, {"customer_ref": "C2"}, key=None)[0] == 201
    assert count(db, Customer) == 2
    assert records(db) == []


@pytest.mark.parametrize(
    "key", ["", "   ", "x" * 256, "tab\there"], ids=["empty", "blank", "too-long", "control"]
)
def test_an_invalid_key_is_refused_with_422(db: Database, client: TestClient, admin: dict, key: str) -> None:
    status, body, _ = post(client, admin, {"customer_ref": "C1"}, key=key)
    assert status == 422 and "Idempotency-Key" in body["detail"]
    assert count(db, Customer) == 0


def test_a_streamed_body_over_the_limit_is_413_and_claims_no_key(
    db: Database, client: TestClient, admin: dict
) -> None:
    def stream() -> Iterator[bytes]:
        for _ in range(db.settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    headers = {**admin, "Idempotency-Key": "big", "Content-Type": "application/json"}
    response = client.post(PATH, content=stream(), headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert records(db) == []


def test_an_unauthenticated_post_claims_no_key(db: Database, client: TestClient) -> None:
    status, _, _ = post(client, bearer("hsk_nope_nope"), {"customer_ref": "C1"})
    assert status == 401
    assert post(client, {}, {"customer_ref": "C1"})[0] == 401
    assert records(db) == []


def test_a_role_without_the_permission_gets_403_and_frees_the_key(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    assert post(client, bearer(keys["agent"]), {"customer_ref": "C1"})[0] == 403
    assert records(db) == []


def test_concurrent_requests_with_one_key_write_once(db: Database, client: TestClient, admin: dict) -> None:
    gate.set()
    threads = 8
    barrier = threading.Barrier(threads)

    def send(_: int) -> tuple[int, bool]:
        barrier.wait(10)
        response = client.post(
            PATH, json={"customer_ref": "C1"}, headers={**admin, "Idempotency-Key": "same"}
        )
        return response.status_code, response.headers.get(REPLAY_HEADER) == "true"

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(send, range(threads)))
    assert {status for status, _ in outcomes} <= {201, 409}, outcomes
    assert [o for o in outcomes if o == (201, False)] == [(201, False)], outcomes
    assert count(db, Customer) == 1
    assert len(records(db)) == 1


# --- the stored response is part of the business transaction ------------------------------------------


def claim(db: Database, key: str = "k", lease: timedelta = timedelta(seconds=60)) -> Claim | StoredResponse:
    with session_factory(db.engine)() as s:
        return idempotency.begin(
            s,
            principal="key:1",
            key=key,
            method="POST",
            path=PATH,
            request_hash="h" * 64,
            ttl=timedelta(hours=24),
            lease=lease,
        )


def write_business_and_complete(session: Session, record: Claim) -> None:
    session.add(Customer(customer_ref="C1", created_at=utcnow()))
    idempotency.complete(session, record, StoredResponse(201, '{"id": 1}', "application/json"))


def test_a_rolled_back_business_write_leaves_no_completed_record(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claim)
    with session_factory(db.engine)() as s:
        write_business_and_complete(s, first)
        s.rollback()  # the process died before COMMIT: the business write and the response go together
    assert count(db, Customer) == 0
    [record] = records(db)
    assert (record.state, record.response_status) == ("in_flight", None)
    with pytest.raises(Conflict):  # still leased to the attempt that died
        claim(db)
    retry = claim(db, lease=timedelta(0))  # once the lease is over, the retry takes the key over
    assert retry == first


def test_a_committed_business_write_is_replayed_even_if_the_answer_was_lost(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claim)
    with session_factory(db.engine)() as s:
        write_business_and_complete(s, first)
        s.commit()  # committed, then the connection to the client broke before the response
    assert claim(db) == StoredResponse(201, '{"id": 1}', "application/json")
    assert count(db, Customer) == 1


def test_release_frees_only_a_key_in_flight(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claim)
    with session_factory(db.engine)() as s:
        write_business_and_complete(s, first)
        s.commit()
    with session_factory(db.engine)() as s:
        idempotency.release(s, first)
    assert [r.state for r in records(db)] == ["completed"]
