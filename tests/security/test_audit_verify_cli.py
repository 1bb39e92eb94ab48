"""`hardship audit verify` after a real run through the API: intact, then it names an edited row and a
deleted row.  (The chain itself is tested in tests/integration/test_audit.py; this is the operator's
end-to-end check.)"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.persistence.models import AuditEvent
from tests.conftest import Database
from tests.fuzz.cli import invoke_cli
from tests.fuzz.scenario import run_scenario


def audit_ids(db: Database) -> list[int]:
    with db.engine.connect() as connection:
        return list(connection.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_audit_verify_detects_an_edited_and_a_deleted_row_after_an_api_run(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    run_scenario(app, client, keys, accounts=3, prefix="AU")
    ids = audit_ids(db)
    assert len(ids) >= 10, "the API run wrote too few audit events"

    intact = invoke_cli(db.url, "audit", "verify", cwd=tmp_path)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"{len(ids)} events" in intact.stdout

    edited = ids[len(ids) // 2]
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET actor = :actor WHERE id = :id"),
            {"actor": "key:someone-else", "id": edited},
        )
    broken = invoke_cli(db.url, "audit", "verify", cwd=tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"event {edited}:" in broken.stdout
    assert "altered" in broken.stdout

    deleted = ids[-3]
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": deleted})
        remaining = connection.scalar(select(func.count()).select_from(AuditEvent))
    assert remaining == len(ids) - 1
    broken = invoke_cli(db.url, "audit", "verify", cwd=tmp_path)
    assert broken.returncode == 1
    assert f"event {ids[-2]}:" in broken.stdout  # the row after the gap no longer links
    assert "deleted" in broken.stdout
