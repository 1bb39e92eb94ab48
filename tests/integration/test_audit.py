"""The hash-chained audit trail: `verify_chain` and `hardship audit verify` find an edited, deleted or
inserted row; auditors page through the events over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.cli import cli
from app.db import unit_of_work
from app.domain.access import Role
from app.persistence.models import AuditEvent
from app.services import audit
from app.services.principal import SYSTEM, Principal
from app.settings import get_settings
from tests.conftest import Database, bearer

AGENT = Principal(kind="user", id=7, name="alice", role=Role.AGENT)


def make_events(db: Database, count: int = 5) -> list[AuditEvent]:
    with unit_of_work(db.engine) as s:
        for n in range(count):
            audit.record(
                s,
                actor=AGENT if n % 2 else SYSTEM,
                action="thing.created",
                entity_type="thing",
                entity_id=n,
                before=None if n % 2 else {"amount": Decimal("0.00")},
                after={"amount": Decimal("12.30") * n, "label": "台风 n°" + str(n)},
            )
    return events(db)


def events(db: Database) -> list[AuditEvent]:
    with unit_of_work(db.engine) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def verify(db: Database, batch_size: int = 5000) -> tuple[int, list[tuple[int, str]]]:
    with unit_of_work(db.engine) as s:
        checked, breaks = audit.verify_chain(s, batch_size=batch_size)
    return checked, [(b.event_id, b.problem) for b in breaks]


def execute(db: Database, sql: str, **params: object) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_an_untouched_chain_verifies(db: Database) -> None:
    rows = make_events(db)
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert all(audit.compute_hash(r) == r.hash for r in rows)
    assert rows[1].actor == "user:alice" and rows[1].actor_role == "agent"
    assert rows[2].after == {"amount": "24.60", "label": "台风 n°2"}
    assert verify(db) == (5, [])
    assert verify(db, batch_size=2) == (5, [])


def test_an_empty_chain_verifies(db: Database) -> None:
    assert verify(db) == (0, [])


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("after", '{"amount":"9999.00","label":"x"}'),
        ("before", "null"),
        ("actor", "user:mallory"),
        ("actor_role", "auditor"),
        ("action", "thing.deleted"),
        ("entity_id", "99"),
    ],
)
def test_an_edited_row_is_detected(db: Database, column: str, value: str) -> None:
    rows = make_events(db)
    execute(db, f"UPDATE audit_event SET {column} = :value WHERE id = :id", value=value, id=rows[2].id)
    checked, breaks = verify(db)
    assert checked == 5
    assert breaks == [(rows[2].id, "content does not match its hash: the row was altered")]


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    rows = make_events(db)
    with unit_of_work(db.engine) as s:
        row = s.get(AuditEvent, rows[1].id)
        assert row is not None
        row.after = {"amount": "0.00"}
        row.hash = audit.compute_hash(row)
    assert verify(db)[1] == [(rows[2].id, "previous hash does not match: a row was deleted or inserted")]


def test_a_deleted_middle_row_is_detected(db: Database) -> None:
    rows = make_events(db)
    execute(db, "DELETE FROM audit_event WHERE id = :id", id=rows[2].id)
    checked, breaks = verify(db)
    assert checked == 4
    assert breaks == [(rows[3].id, "previous hash does not match: a row was deleted or inserted")]


def test_a_deleted_first_row_is_detected(db: Database) -> None:
    rows = make_events(db)
    execute(db, "DELETE FROM audit_event WHERE id = :id", id=rows[0].id)
    assert verify(db)[1] == [(rows[1].id, "previous hash does not match: a row was deleted or inserted")]


def test_a_forged_row_inserted_in_the_middle_is_detected(db: Database) -> None:
    """Even with a correct hash of its own and the right previous hash, the row after it no longer links."""
    rows = make_events(db)
    execute(db, "UPDATE audit_event SET id = id + 1000 WHERE id > :id", id=rows[1].id)
    with unit_of_work(db.engine) as s:
        forged = AuditEvent(
            id=rows[1].id + 1,
            occurred_at=rows[1].occurred_at,
            actor="user:mallory",
            actor_role="supervisor",
            action="waiver.approved",
            entity_type="fee_waiver",
            entity_id="1",
            before=None,
            after={"ok": True},
            request_id=None,
            prev_hash=rows[1].hash,
            chain_version=audit.KEYED_CHAIN,
        )
        forged.hash = audit.compute_hash(forged)
        s.add(forged)
    checked, breaks = verify(db)
    assert checked == 6
    assert breaks == [(rows[2].id + 1000, "previous hash does not match: a row was deleted or inserted")]


def test_a_forged_row_appended_with_a_made_up_hash_is_detected(db: Database) -> None:
    rows = make_events(db, 2)
    with unit_of_work(db.engine) as s:
        s.add(
            AuditEvent(
                occurred_at=rows[1].occurred_at,
                actor="user:mallory",
                actor_role="admin",
                action="key.created",
                entity_type="api_key",
                entity_id="9",
                before=None,
                after=None,
                request_id=None,
                prev_hash=rows[1].hash,
                hash="f" * 64,
            )
        )
    checked, breaks = verify(db)
    assert checked == 3 and [problem for _, problem in breaks] == [
        "an unkeyed row after the keyed chain began: the row was forged",
        "content does not match its hash: the row was altered",
    ]


# --- the keyed chain (HMAC under HARDSHIP_AUDIT_KEY) --------------------------------------------------


def test_new_rows_are_keyed_and_record_the_person(db: Database) -> None:
    rows = make_events(db, 2)
    assert [r.chain_version for r in rows] == [audit.KEYED_CHAIN] * 2
    assert [r.person for r in rows] == ["system:0", "user:7"]
    assert all(audit.compute_hash(r, key=b"another key") != r.hash for r in rows)


def test_a_rewrite_with_every_hash_recomputed_but_without_the_key_is_detected(db: Database) -> None:
    """Someone with database access rewrites a row and recomputes the chain after it, with any key
    but the one kept outside the database: verify names the rewritten row."""
    rows = make_events(db)
    with unit_of_work(db.engine) as s:
        chain = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        chain[1].after = {"amount": "0.00"}
        prev = chain[0].hash
        for row in chain[1:]:
            row.prev_hash = prev
            row.hash = audit.compute_hash(row, key=b"guessed-key")
            prev = row.hash
    checked, breaks = verify(db)
    assert checked == 5
    assert [event_id for event_id, _ in breaks] == [r.id for r in rows[1:]]
    assert {problem for _, problem in breaks} == {"content does not match its hash: the row was altered"}


def _write_legacy_rows(db: Database, count: int) -> None:
    """Rows as they were written before the chain was keyed: plain SHA-256, no person."""
    with unit_of_work(db.engine) as s:
        prev = audit.GENESIS_HASH
        for n in range(count):
            row = AuditEvent(
                occurred_at=audit.utcnow(),
                actor="key:legacy",
                actor_role="admin",
                action="thing.created",
                entity_type="thing",
                entity_id=str(n),
                before=None,
                after={"n": n},
                request_id=None,
                prev_hash=prev,
            )
            row.hash = audit.compute_hash(row)
            s.add(row)
            s.flush()
            prev = row.hash


def test_rows_written_before_the_key_keep_verifying_and_the_keyed_chain_follows_them(db: Database) -> None:
    _write_legacy_rows(db, 3)
    make_events(db, 2)
    rows = events(db)
    assert [r.chain_version for r in rows] == [None, None, None, 2, 2]
    assert rows[3].prev_hash == rows[2].hash
    assert verify(db) == (5, [])


def test_a_legacy_row_rewritten_with_its_plain_hashes_recomputed_is_caught_by_the_first_keyed_row(
    db: Database,
) -> None:
    _write_legacy_rows(db, 3)
    make_events(db, 2)
    with unit_of_work(db.engine) as s:
        chain = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        chain[1].after = {"n": 99}
        chain[1].hash = audit.compute_hash(chain[1])
        chain[2].prev_hash = chain[1].hash
        chain[2].hash = audit.compute_hash(chain[2])
    assert verify(db)[1] == [
        (events(db)[3].id, "previous hash does not match: a row was deleted or inserted")
    ]


def test_audit_verify_in_another_process_with_another_key_reports_the_chain_broken(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_events(db, 2)
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", db.url)
    monkeypatch.setenv("HARDSHIP_AUDIT_KEY", "a-different-audit-key-0123456789-abcdefgh")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "content does not match its hash" in result.stdout


def test_cutting_off_the_newest_rows_is_detected_against_a_recorded_anchor(db: Database) -> None:
    rows = make_events(db)
    anchor = rows[-1].hash
    execute(db, "DELETE FROM audit_event WHERE id >= :id", id=rows[3].id)

    assert verify(db)[1] == []  # the chain alone cannot tell
    with unit_of_work(db.engine) as s:
        checked, breaks = audit.verify_chain(s, anchor=anchor)
    assert (checked, [b.event_id for b in breaks]) == (3, [0])
    assert "anchor is not in the chain" in breaks[0].problem


def test_an_anchor_recorded_earlier_still_verifies_after_new_events(db: Database) -> None:
    anchor = make_events(db, 3)[-1].hash
    make_events(db, 2)
    with unit_of_work(db.engine) as s:
        assert audit.verify_chain(s, anchor=anchor) == (5, [])


# --- hardship audit verify --------------------------------------------------------------------------


@pytest.fixture
def cli_database(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_cli_verify_exits_0_on_an_intact_chain(cli_database: Database) -> None:
    make_events(cli_database, 3)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 3 events" in result.stdout
    head = events(cli_database)[-1]
    assert f"head: event {head.id} hash {head.hash}" in result.stdout
    with_anchor = CliRunner().invoke(cli, ["audit", "verify", "--anchor", head.hash])
    assert with_anchor.exit_code == 0, with_anchor.output
    unknown = CliRunner().invoke(cli, ["audit", "verify", "--anchor", "f" * 64])
    assert unknown.exit_code == 1
    assert "anchor: the recorded anchor is not in the chain" in unknown.stdout


def test_cli_verify_exits_1_naming_each_broken_event(cli_database: Database) -> None:
    rows = make_events(cli_database, 4)
    execute(cli_database, "UPDATE audit_event SET actor = 'user:mallory' WHERE id = :id", id=rows[1].id)
    execute(cli_database, "DELETE FROM audit_event WHERE id = :id", id=rows[2].id)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {rows[1].id}: content does not match its hash" in result.stdout
    assert f"event {rows[3].id}: previous hash does not match" in result.stdout
    assert "audit chain broken: 2 problem(s) in 3 events" in result.stderr


# --- GET /v1/audit-events ---------------------------------------------------------------------------


def test_auditors_page_through_every_event_in_order(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    all_ids = [e.id for e in make_events(db)]  # and the 6 api_key.created events of the keys fixture
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/audit-events", params=params, headers=bearer(keys["auditor"]))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 11
    assert set(all_ids) <= set(seen)
    assert pages == 3


def test_audit_events_filter_by_entity_and_action(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    make_events(db)
    headers = bearer(keys["admin"])
    by_action = client.get("/v1/audit-events", params={"action": "thing.created"}, headers=headers).json()
    assert [item["entity_id"] for item in by_action["items"]] == ["0", "1", "2", "3", "4"]
    assert by_action["next_cursor"] is None
    one = client.get(
        "/v1/audit-events", params={"entity_type": "thing", "entity_id": "2"}, headers=headers
    ).json()
    [item] = one["items"]
    assert item["after"] == {"amount": "24.60", "label": "台风 n°2"} and item["actor"] == "system:system"
    assert set(item) >= {
        "id",
        "occurred_at",
        "actor",
        "actor_role",
        "action",
        "entity_type",
        "before",
        "hash",
    }
    keys_created = client.get("/v1/audit-events", params={"entity_type": "api_key"}, headers=headers).json()
    assert len(keys_created["items"]) == 6


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 501}])
def test_bad_paging_parameters_are_422(client: TestClient, keys: dict[str, str], params: dict) -> None:
    response = client.get("/v1/audit-events", params=params, headers=bearer(keys["auditor"]))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]
