"""Fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL reaches one, on PostgreSQL.

The schema is built once per backend by running the migrations; each test starts from empty tables.
(Tests clean up by truncating rather than by rolling back one outer transaction, because scans run in
worker threads and processes with their own sessions.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.db import get_engine, session_factory, unit_of_work
from app.domain.access import Role
from app.main import create_app
from app.persistence.models import Base
from app.services import auth
from app.settings import Settings
from tests.support import fresh_postgres_database, migrate, postgres_admin_url

os.environ.setdefault("HARDSHIP_SECRET_KEY", "test-secret-key-not-for-production")
# Inline scans run their chunks in the test process (where the tests' fakes and delays live);
# tests/integration/test_scan_processes.py covers the child processes.
os.environ.setdefault("HARDSHIP_SCAN_INLINE_PROCESSES", "1")
# Apps made by the tests do not pick up scans other tests left unfinished on purpose;
# tests/integration/test_scan_processes.py covers the recovery.
os.environ.setdefault("HARDSHIP_SCAN_INLINE_RECOVER_ON_START", "0")
# Apps made by the tests start no events relay; the events tests run its rounds themselves.
os.environ.setdefault("HARDSHIP_EVENTS_RELAY_ON_START", "0")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_PG_ADMIN = postgres_admin_url()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_report_header() -> str:
    if _PG_ADMIN:
        return "databases: sqlite + postgresql"
    return "databases: sqlite (PostgreSQL tests skipped: TEST_DATABASE_URL unset or unreachable)"


@dataclass
class Database:
    name: str
    url: str
    engine: Engine
    settings: Settings


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    dbs: dict[str, Database] = {}
    stack = []
    sqlite_path = Path(tmp_path_factory.mktemp("db")) / "test.db"
    sqlite_settings = Settings(database_url=f"sqlite:///{sqlite_path}", environment="test")
    dbs["sqlite"] = Database(
        "sqlite", sqlite_settings.database_url, get_engine(sqlite_settings), sqlite_settings
    )
    migrate(dbs["sqlite"].engine)
    if _PG_ADMIN:
        ctx = fresh_postgres_database(_PG_ADMIN, f"hardship_test_{WORKER}_{os.getpid()}")
        url = ctx.__enter__()
        stack.append(ctx)
        pg_settings = Settings(database_url=url, environment="test")
        dbs["postgresql"] = Database(
            "postgresql", pg_settings.database_url, get_engine(pg_settings), pg_settings
        )
        migrate(dbs["postgresql"].engine)
    yield dbs
    for db in dbs.values():
        db.engine.dispose()
    for ctx in stack:
        ctx.__exit__(None, None, None)


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, _databases: dict[str, Database]) -> Iterator[Database]:
    if request.param not in _databases:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    database = _databases[request.param]
    truncate_all(database.engine)
    yield database


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session whose work the test commits or not; tables are emptied before the next test."""
    s = session_factory(db.engine)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


_apps: dict[str, FastAPI] = {}


@pytest.fixture
def app(db: Database) -> FastAPI:
    if db.name not in _apps:
        _apps[db.name] = create_app(db.settings)
    _apps[db.name].state.login_limiter.storage.reset()  # each test starts with no login attempts
    return _apps[db.name]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    """One API key per role: {"agent": "hsk_...", ...}."""
    tokens: dict[str, str] = {}
    with unit_of_work(db.engine) as s:
        for role in Role:
            tokens[role.value] = auth.create_api_key(s, name=f"test-{role.value}", role=role.value).token
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
