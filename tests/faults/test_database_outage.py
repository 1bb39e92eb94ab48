"""The database goes away during a request: the API answers 503 problem+json (never 500), nothing is
half-written, /healthz says 503 while it is down and 200 when it is back, and requests succeed again
without a restart (the pool pings connections before use).

On PostgreSQL a TCP proxy sits between the app's engine and the server and is cut at a chosen
moment: just before COMMIT reaches the server, in the middle of the transaction, or between
requests.  The checks read the database directly, not through the proxy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from app.db import unit_of_work
from app.main import create_app
from app.persistence.models import AuditEvent, CardAccount, DisasterEvent, IdempotencyRecord
from app.services import auth
from app.settings import Settings
from tests.conftest import Database, truncate_all
from tests.faults.proxy import FaultyProxy
from tests.fuzz.apimap import has_route
from tests.fuzz.scenario import account_body, bearer

pytestmark = pytest.mark.slow
PROBLEM_JSON = "application/problem+json"


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == 503
    assert problem["type"].endswith("/unavailable")
    assert response.headers.get("retry-after")


def count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def pg(_databases: dict[str, Database]) -> Iterator[Database]:
    if "postgresql" not in _databases:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    database = _databases["postgresql"]
    truncate_all(database.engine)
    yield database
    truncate_all(database.engine)


@pytest.fixture
def proxied(pg: Database) -> Iterator[tuple[FaultyProxy, FastAPI, TestClient, str]]:
    """An app whose engine reaches PostgreSQL only through the proxy; an admin key made directly."""
    url = make_url(pg.url)
    proxy = FaultyProxy(url.host or "127.0.0.1", url.port or 5432)
    settings = Settings(
        database_url=url.set(port=proxy.port).render_as_string(hide_password=False),
        environment="test",
        db_pool_size=2,
        db_max_overflow=2,
        db_pool_timeout_seconds=3,
        idempotency_lease_seconds=1,
    )
    app = create_app(settings)
    with unit_of_work(pg.engine) as s:
        token = auth.create_api_key(s, name="faults-admin", role="admin").token
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield proxy, app, client, token
    finally:
        proxy.restore()
        app.state.engine.dispose()
        proxy.close()


def put_account(client: TestClient, token: str, ref: str) -> Any:
    body = account_body(customer_ref=f"C-{ref}", today=date.today())
    return client.put(f"/v1/accounts/{ref}", json=body, headers=bearer(token))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "marker",
    [
        pytest.param(b"COMMIT", id="just_before_commit"),
        pytest.param(b"INSERT INTO audit_event", id="mid_transaction"),
    ],
)
def test_database_lost_mid_request_gives_503_and_writes_nothing(
    pg: Database, proxied: tuple[FaultyProxy, FastAPI, TestClient, str], marker: bytes
) -> None:
    proxy, _, client, token = proxied
    assert put_account(client, token, "OK-1").status_code == 201
    accounts_before = count(pg.engine, CardAccount)
    audit_before = count(pg.engine, AuditEvent)

    proxy.cut_when(marker)
    response = put_account(client, token, "LOST-1")

    assert proxy.tripped.is_set(), "the proxy never saw the statement it was told to cut at"
    assert_unavailable(response)
    assert count(pg.engine, CardAccount) == accounts_before
    assert count(pg.engine, CardAccount, CardAccount.account_ref == "LOST-1") == 0
    assert count(pg.engine, AuditEvent) == audit_before

    # Down: health and every API call say 503, never 500.
    health = client.get("/healthz")
    assert health.status_code == 503, health.text
    assert_unavailable(client.get("/v1/accounts/OK-1", headers=bearer(token)))
    assert_unavailable(put_account(client, token, "LOST-2"))

    # Back: health is 200 and the same app serves again (stale pooled connections are replaced).
    proxy.restore()
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/accounts/OK-1", headers=bearer(token)).status_code == 200
    assert put_account(client, token, "LOST-1").status_code == 201
    assert count(pg.engine, CardAccount, CardAccount.account_ref == "LOST-1") == 1
    assert count(pg.engine, CardAccount, CardAccount.account_ref == "LOST-2") == 0


@pytest.mark.postgres
def test_database_restarted_between_requests_is_invisible_after_it_is_back(
    pg: Database, proxied: tuple[FaultyProxy, FastAPI, TestClient, str]
) -> None:
    proxy, _, client, token = proxied
    assert put_account(client, token, "R-1").status_code == 201
    assert proxy.connections >= 1  # the pool keeps a connection open

    proxy.cut()
    assert client.get("/healthz").status_code == 503
    assert_unavailable(client.get("/v1/accounts/R-1", headers=bearer(token)))

    proxy.restore()
    for _ in range(3):  # every pooled connection died; each is replaced on checkout
        assert client.get("/v1/accounts/R-1", headers=bearer(token)).status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.postgres
def test_idempotent_create_lost_at_commit_is_not_applied_and_its_retry_succeeds(
    pg: Database, proxied: tuple[FaultyProxy, FastAPI, TestClient, str]
) -> None:
    proxy, app, client, token = proxied
    if not has_route(app, "POST", "/v1/disasters"):
        pytest.skip("POST /v1/disasters is not mounted yet")
    today = date.today()
    body = {
        "code": "OUTAGE-1",
        "name": "Flood",
        "kind": "flood",
        "occurred_on": (today - timedelta(days=3)).isoformat(),
        "relief_start": (today - timedelta(days=3)).isoformat(),
        "relief_end": (today + timedelta(days=30)).isoformat(),
        "deferral_months": 2,
        "region_codes": ["622927"],
    }
    headers = {**bearer(token), "Idempotency-Key": "outage-create-1"}

    # The key is claimed in its own short transaction (the first COMMIT); the second COMMIT is the
    # business write with the stored response: that one is lost.
    proxy.cut_when(b"COMMIT", occurrence=2)
    response = client.post("/v1/disasters", json=body, headers=headers)
    assert_unavailable(response)
    assert count(pg.engine, DisasterEvent) == 0

    proxy.restore()
    retry = _retry_until_not_in_flight(client, body, headers)
    assert retry.status_code == 201, retry.text
    assert count(pg.engine, DisasterEvent) == 1
    again = client.post("/v1/disasters", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == retry.json()
    assert count(pg.engine, DisasterEvent) == 1
    assert count(pg.engine, IdempotencyRecord) == 1


def _retry_until_not_in_flight(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """The claim outlived the lost request (it could not be released while the database was down):
    the retry sees 409 'in progress' until the lease ends, then takes the key over."""
    deadline = time.monotonic() + 5
    while True:
        response = client.post("/v1/disasters", json=body, headers=headers)
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_healthz_and_api_answer_503_when_postgresql_cannot_be_reached() -> None:
    """No PostgreSQL needed: nothing listens on port 1."""
    settings = Settings(
        database_url="postgresql://hardship@127.0.0.1:1/nowhere",
        environment="test",
        db_pool_timeout_seconds=2,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] == "unreachable"
        assert_unavailable(client.get("/v1/accounts/A-1", headers=bearer("hsk_abc_def")))
        assert_unavailable(
            client.put("/v1/accounts/A-1", json={"customer_ref": "x"}, headers=bearer("hsk_abc_def"))
        )
    app.state.engine.dispose()


def test_healthz_and_api_answer_503_when_the_sqlite_file_cannot_be_opened(tmp_path: Any) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/missing-dir/hardship.db", environment="test")
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 503
        assert_unavailable(client.get("/v1/accounts/A-1", headers=bearer("hsk_abc_def")))
    app.state.engine.dispose()
