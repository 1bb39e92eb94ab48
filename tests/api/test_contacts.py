"""Contacts with the cardholder through the API: recorded by agents and supervisors, audited, read
back newest first; a callback date lies from the business date up to 90 days ahead."""

from __future__ import annotations

from datetime import timedelta

from app.db import unit_of_work
from tests.conftest import bearer
from tests.factories import business_today, make_account


def test_an_agent_records_a_contact_with_a_callback_and_reads_it_back(client, keys, db) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    callback = (business_today() + timedelta(days=2)).isoformat()
    body = {
        "channel": "inbound_call",
        "outcome": "callback_requested",
        "note": "call after payday",
        "callback_on": callback,
    }

    created = client.post("/v1/accounts/A-1/contacts", json=body, headers=bearer(keys["agent"]))
    listed = client.get("/v1/accounts/A-1/contacts", headers=bearer(keys["supervisor"]))

    assert created.status_code == 201, created.text
    assert created.json()["callback_on"] == callback and created.json()["account_ref"] == "A-1"
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    events = client.get("/v1/audit-events", headers=bearer(keys["auditor"])).json()["items"]
    assert "contact.recorded" in [e["action"] for e in events]


def test_a_contact_with_an_unknown_outcome_or_a_past_callback_is_a_422_naming_the_field(
    client, keys, db
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    agent = bearer(keys["agent"])
    past = (business_today() - timedelta(days=1)).isoformat()

    unknown = client.post(
        "/v1/accounts/A-1/contacts", json={"channel": "online", "outcome": "maybe"}, headers=agent
    )
    late = client.post(
        "/v1/accounts/A-1/contacts",
        json={"channel": "online", "outcome": "no_answer", "callback_on": past},
        headers=agent,
    )

    assert unknown.status_code == 422 and "outcome" in unknown.text
    assert late.status_code == 422 and "callback_on" in late.text
    assert late.headers["content-type"].startswith("application/problem+json")


def test_only_agents_and_supervisors_record_contacts(client, keys, db) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    body = {"channel": "branch", "outcome": "information_given"}
    for role in ("channel", "batch_operator", "auditor", "admin"):
        assert (
            client.post("/v1/accounts/A-1/contacts", json=body, headers=bearer(keys[role])).status_code == 403
        )
    assert (
        client.post("/v1/accounts/NOPE/contacts", json=body, headers=bearer(keys["agent"])).status_code == 404
    )
