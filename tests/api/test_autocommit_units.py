"""The hot endpoints (GET account, eligibility, quote) run on PostgreSQL in autocommit
(``app.routing.autocommit``): no BEGIN, COMMIT or ROLLBACK round trip, the connection back in the
pool as transactional as before, the one write (the decision) stored whole, and with an
Idempotency-Key the decision and the key's record still in one transaction."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from app import db as db_module
from app.db import unit_of_work
from app.persistence.models import Decision, IdempotencyRecord
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_statement

TODAY = date(2025, 7, 15)
BODY = {"reason": "illness", "monthly_income": "8000.00"}


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


@pytest.fixture
def account(db: Database) -> str:
    with unit_of_work(db.engine) as s:
        row = make_account(s, "A-1")
        make_statement(s, row, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
    return "A-1"


@pytest.fixture
def protocol(db: Database, app: FastAPI) -> Iterator[Path]:
    """A libpq trace of what the app's pooled connections send and receive, from here on."""
    if db.name != "postgresql":
        pytest.skip("round trips are PostgreSQL's")
    app.state.engine.dispose()  # fresh connections, each traced from its first use
    folder = tempfile.mkdtemp()
    path = Path(folder) / "trace.txt"
    trace = open(path, "w")  # noqa: SIM115  # the connections write to it until the end of the test

    def _trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.trace(trace.fileno())

    event.listen(app.state.engine.pool, "connect", _trace)
    try:
        yield path
    finally:
        event.remove(app.state.engine.pool, "connect", _trace)
        app.state.engine.dispose()
        trace.close()
        os.unlink(path)
        os.rmdir(folder)


def _sent(path: Path, command: str) -> int:
    return sum(1 for line in path.read_text().splitlines() if f'Query\t "{command}"' in line)


def _send_all(client: TestClient, token: str, ref: str) -> None:
    headers = bearer(token)
    assert client.get(f"/v1/accounts/{ref}", headers=headers).status_code == 200
    assert client.post(f"/v1/accounts/{ref}/eligibility", json=BODY, headers=headers).status_code == 200
    assert (
        client.post("/v1/quotes/installment-plan", json={"account_ref": ref}, headers=headers).status_code
        == 200
    )
    assert client.get("/v1/accounts/NOPE", headers=headers).status_code == 404


def test_hot_endpoints_send_no_begin_commit_or_rollback(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], account: str, protocol: Path
) -> None:
    token = keys["channel"]
    client.get(f"/v1/accounts/{account}", headers=bearer(token))  # the key is verified (and cached)
    before = {command: _sent(protocol, command) for command in ("BEGIN", "COMMIT", "ROLLBACK")}
    for _ in range(3):
        _send_all(client, token, account)
    assert {command: _sent(protocol, command) for command in before} == before
    with unit_of_work(db.engine) as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 3


def test_connections_go_back_to_the_pool_transactional(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], account: str
) -> None:
    if db.name != "postgresql":
        pytest.skip("autocommit is PostgreSQL's")
    autocommit_at_checkin: list[bool] = []

    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            autocommit_at_checkin.append(dbapi_connection.autocommit)

    event.listen(app.state.engine.pool, "checkin", _checkin)
    try:
        _send_all(client, keys["channel"], account)
    finally:
        event.remove(app.state.engine.pool, "checkin", _checkin)
    assert autocommit_at_checkin and not any(autocommit_at_checkin)
    # A unit of work of the same pool after them is one transaction again: what it wrote goes away
    # with its rollback.
    with app.state.session_factory() as s:
        s.execute(
            text("UPDATE card_account SET product_code = 'X' WHERE account_ref = :ref"), {"ref": account}
        )
        s.rollback()
        assert (
            s.scalar(text("SELECT product_code FROM card_account WHERE account_ref = :ref"), {"ref": account})
            != "X"
        )


def test_with_an_idempotency_key_the_decision_and_the_key_are_one_transaction(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], account: str, protocol: Path
) -> None:
    headers = {**bearer(keys["channel"]), "Idempotency-Key": "evaluate-once-0001"}
    first = client.post(f"/v1/accounts/{account}/eligibility", json=BODY, headers=headers)
    assert first.status_code == 200
    assert _sent(protocol, "BEGIN") >= 1 and _sent(protocol, "COMMIT") >= 1
    again = client.post(f"/v1/accounts/{account}/eligibility", json=BODY, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    with unit_of_work(db.engine) as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_restarted_database_does_not_turn_requests_into_errors(
    db: Database,
    app: FastAPI,
    client: TestClient,
    keys: dict[str, str],
    account: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every pooled connection's server process ends (as when the database restarts): the next
    requests get new connections instead of failing, however recently the connections were used."""
    if db.name != "postgresql":
        pytest.skip("PostgreSQL's server processes")
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # no ping for being idle
    for _ in range(4):
        _send_all(client, keys["channel"], account)
    outside = create_engine(db.engine.url, poolclass=NullPool)  # not one of the pool's connections
    with outside.connect() as connection:
        ended = connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        # Until they have ended (the servers' processes end soon after the signal).
        for _ in range(200):
            left = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            if not left:
                break
            time.sleep(0.01)
    outside.dispose()
    assert ended
    for _ in range(4):
        _send_all(client, keys["channel"], account)


def test_a_connection_idle_for_a_while_is_pinged_before_use(
    db: Database,
    app: FastAPI,
    client: TestClient,
    keys: dict[str, str],
    account: str,
    protocol: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _send_all(client, keys["channel"], account)
    assert _sent(protocol, ";") == 0  # in steady use: no ping
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    _send_all(client, keys["channel"], account)
    assert _sent(protocol, ";") >= 4
