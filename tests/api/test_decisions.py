"""Stored decisions: read with their inputs, replayed from the snapshot under the recorded policy."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.db import unit_of_work
from app.persistence.models import CardAccount, Decision
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_disaster_event, make_statement

TODAY = date(2025, 7, 15)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def evaluate(client: TestClient, token: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/accounts/A-1/eligibility", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def replay(client: TestClient, token: str, decision_id: int, lang: str = "zh") -> Any:
    return client.post(
        f"/v1/decisions/{decision_id}/replay", headers={**bearer(token), "Accept-Language": lang}
    )


@pytest.fixture
def seeded(db: Database) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1")
        make_statement(s, account, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        make_disaster_event(s, "EV-1", region_codes=("622927",), occurred_on=date(2025, 7, 5))


@pytest.mark.usefixtures("seeded")
def test_a_decision_keeps_its_inputs_outcome_and_policy_version(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["channel"], reason="disaster", monthly_income="8000.00", term_months=24)

    response = client.get(f"/v1/decisions/{answer['decision_id']}", headers=bearer(keys["auditor"]))

    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["kind"] == "eligibility"
    assert decision["account_ref"] == "A-1"
    assert decision["policy_version"] == "2025.1"
    assert decision["decided_on"] == "2025-07-15"
    assert decision["actor"] == "key:test-channel"
    inputs = decision["inputs"]
    assert inputs["today"] == "2025-07-15"
    assert inputs["account"]["principal_balance"] == "9500.00"
    assert inputs["statements"][0]["due_date"] == "2025-07-25"
    assert [e["code"] for e in inputs["open_events"]] == ["EV-1"]
    assert inputs["region_code_changes"]["632122"] == "630222"
    assert (inputs["hardship_reason"], inputs["monthly_income"], inputs["requested_term_months"]) == (
        "disaster",
        "8000.00",
        24,
    )
    assert (inputs["has_active_plan"], inputs["last_broken_plan_on"]) == (False, None)
    assert [p["program"] for p in decision["outcome"]["programs"]] == [
        p["program"] for p in answer["programs"]
    ]


@pytest.mark.usefixtures("seeded")
def test_a_replay_uses_the_snapshot_not_todays_data(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["agent"], reason="illness")
    with unit_of_work(db.engine) as s:
        s.execute(update(CardAccount).values(status="closed"))

    response = replay(client, keys["supervisor"], answer["decision_id"], lang="en")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["identical"] is True
    assert body["policy_version"] == "2025.1"
    assert [p["eligible"] for p in body["replayed"]["programs"]] == [True, True, True]
    assert body["replayed"]["lang"] == "en"
    # A new evaluation sees the closed account.
    fresh = evaluate(client, keys["agent"], reason="illness")
    assert not any(p["eligible"] for p in fresh["programs"])


@pytest.mark.usefixtures("seeded")
def test_a_refusal_replays_identically_with_its_reasons(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["agent"], term_months=61)

    body = replay(client, keys["auditor"], answer["decision_id"]).json()

    assert body["identical"] is True
    assert [r["code"] for r in body["replayed"]["programs"][0]["reasons"]] == [
        "HARDSHIP_REASON_REQUIRED",
        "TERM_NOT_ALLOWED",
    ]


@pytest.mark.usefixtures("seeded")
def test_the_decision_behind_a_plan_replays(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    plan = client.post(
        "/v1/accounts/A-1/installment-plans",
        json={"term_months": 12, "reason": "illness"},
        headers=bearer(keys["channel"]),
    ).json()

    decision = client.get(f"/v1/decisions/{plan['decision_id']}", headers=bearer(keys["agent"])).json()
    body = replay(client, keys["auditor"], plan["decision_id"]).json()

    assert decision["kind"] == "installment_plan"
    assert [p["program"] for p in decision["outcome"]["programs"]] == ["installment_plan"]
    assert body["identical"] is True


@pytest.mark.usefixtures("seeded")
def test_an_altered_outcome_does_not_replay_identically(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["agent"], reason="illness")
    with unit_of_work(db.engine) as s:
        row = s.get(Decision, answer["decision_id"])
        assert row is not None
        outcome = dict(row.outcome)
        outcome["programs"] = [{**p, "eligible": False} for p in outcome["programs"]]
        row.outcome = outcome

    body = replay(client, keys["auditor"], answer["decision_id"]).json()

    assert body["identical"] is False


@pytest.mark.usefixtures("seeded")
def test_a_decision_under_a_policy_that_is_not_installed_cannot_be_replayed(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["agent"], reason="illness")
    with unit_of_work(db.engine) as s:
        s.execute(update(Decision).values(policy_version="1999.1"))

    response = replay(client, keys["auditor"], answer["decision_id"])

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.usefixtures("seeded")
def test_reading_and_replaying_decisions_needs_the_right_role(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    answer = evaluate(client, keys["agent"], reason="illness")
    decision_id = answer["decision_id"]

    assert client.get(f"/v1/decisions/{decision_id}", headers=bearer(keys["channel"])).status_code == 403
    assert replay(client, keys["agent"], decision_id).status_code == 403
    assert client.get("/v1/decisions/999999", headers=bearer(keys["auditor"])).status_code == 404
    assert replay(client, keys["auditor"], 999999).status_code == 404
