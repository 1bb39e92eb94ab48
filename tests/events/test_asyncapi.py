"""The committed AsyncAPI document (openapi/asyncapi.json) is the one the catalog makes, docs/events.md's
table is the same catalog, and real events are valid against their message's schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema_rs import Draft7Validator  # schemathesis's JSON Schema validator

from app.asyncapi_export import document, render
from app.db import unit_of_work
from app.domain.events import CATALOG, EventType, catalog_table
from app.services import events
from tests.api.test_scans import finished_scan, setup_smoke
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi" / "asyncapi.json"
DOCUMENT = json.loads(render())


def test_committed_asyncapi_document_matches_the_catalog() -> None:
    assert COMMITTED.exists(), "openapi/asyncapi.json is missing: run `make asyncapi` and commit it"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == DOCUMENT, "openapi/asyncapi.json is out of date: run `make asyncapi` and commit it"


def test_the_docs_catalog_is_the_same_catalog() -> None:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert catalog_table() in text, "docs/events.md's table of types differs from app.domain.events.CATALOG"


def test_every_type_has_one_message_on_both_channels() -> None:
    assert [spec.type for spec in CATALOG] == list(EventType)
    types = {t.value for t in EventType}
    assert set(DOCUMENT["components"]["messages"]) == types
    for channel in ("webhook", "events"):
        assert set(DOCUMENT["channels"][channel]["messages"]) == types
    assert DOCUMENT["channels"]["events"]["address"] == "hardship.events"
    assert DOCUMENT["asyncapi"] == "3.0.0"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_resolves() -> None:
    for ref in _refs(DOCUMENT):
        assert ref.startswith("#/"), ref
        node: Any = DOCUMENT
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, date(2025, 7, 1))


def test_real_events_are_valid_against_their_message(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    setup_smoke(client, keys, db)
    finished_scan(client, keys)
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        make_account(s, "A-2", fee_balance="9000.00")
    body = {"term_months": 6, "reason": "illness", "commitment_accepted": True}
    assert client.post(
        "/v1/accounts/A-1/installment-plans", json=body, headers=bearer(keys["agent"])
    ).is_success
    waiver = {"fee_amount": "100.00", "reason": "disaster"}
    assert client.post("/v1/accounts/A-2/fee-waivers", json=waiver, headers=bearer(keys["agent"])).is_success
    spec = document()
    with unit_of_work(db.engine) as s:
        rows = events.events_of(s)
        seen = set()
        for row in rows:
            payload = spec["components"]["messages"][row.type]["payload"]
            validator = Draft7Validator({**payload, "components": spec["components"]})
            errors = [
                f"{list(e.instance_path)}: {e.message}"
                for e in validator.iter_errors(events.cloud_event_of(row))
            ]
            assert not errors, (row.type, errors)
            seen.add(row.type)
    assert seen >= {
        "hardship.disaster.declared",
        "hardship.deferral.granted",
        "hardship.scan.finished",
        "hardship.plan.created",
        "hardship.waiver.applied",
    }
    # And an event of one type is not valid as another's (the data schemas do tell them apart).
    granted = next(row for row in rows if row.type == "hardship.deferral.granted")
    plan_payload = spec["components"]["messages"]["hardship.plan.created"]["payload"]
    assert not Draft7Validator({**plan_payload, "components": spec["components"]}).is_valid(
        events.cloud_event_of(granted)
    )
