"""Disasters over HTTP: declare, read, amend (widen only), close; region code changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer

EVENT: dict[str, Any] = {
    "code": "FLOOD-2025",
    "name": "Ili river flood",
    "kind": "flood",
    "occurred_on": "2025-06-15",
    "relief_start": "2025-06-16",
    "relief_end": "2025-08-31",
    "deferral_months": 3,
    "region_codes": ["653100", "622927"],
}


def declare(client: TestClient, keys: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/disasters", headers=bearer(keys["batch_operator"]), json={**EVENT, **overrides}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_declare_returns_the_event_and_a_second_declaration_is_a_conflict(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = declare(client, keys)
    assert body["code"] == "FLOOD-2025" and body["status"] == "open" and body["version"] == 1
    assert body["region_codes"] == ["622927", "653100"] and body["amendments"] == []
    again = client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=EVENT)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")


def test_declare_validates_codes_window_and_months(client: TestClient, keys: dict[str, str]) -> None:
    headers = bearer(keys["batch_operator"])
    cases = [
        ({"region_codes": ["65310"]}, "region_codes"),
        ({"region_codes": []}, "region_codes"),
        ({"deferral_months": 0}, "deferral_months"),
        ({"deferral_months": 61}, "deferral_months"),
        ({"relief_end": "2025-06-01"}, "body"),
        ({"relief_start": "2025-06-01"}, "body"),
        ({"code": "bad code!"}, "code"),
    ]
    for change, field in cases:
        response = client.post("/v1/disasters", headers=headers, json={**EVENT, **change})
        assert response.status_code == 422, change
        problem = response.json()
        assert any(
            e["field"].startswith(f"body.{field}" if field != "body" else "body") for e in problem["errors"]
        )
    assert client.post("/v1/disasters", headers=bearer(keys["channel"]), json=EVENT).status_code == 403
    assert client.post("/v1/disasters", json=EVENT).status_code == 401
    assert (
        client.post("/v1/disasters", headers=headers, json={**EVENT, "deferral_months": 60}).status_code
        == 201
    )


def test_list_and_get_with_paging(client: TestClient, keys: dict[str, str]) -> None:
    for n in range(3):
        declare(client, keys, code=f"EV-{n}")
    headers = bearer(keys["auditor"])
    first = client.get("/v1/disasters?limit=2", headers=headers).json()
    assert [e["code"] for e in first["items"]] == ["EV-0", "EV-1"] and first["next_cursor"]
    second = client.get(f"/v1/disasters?limit=2&cursor={first['next_cursor']}", headers=headers).json()
    assert [e["code"] for e in second["items"]] == ["EV-2"] and second["next_cursor"] is None
    assert client.get("/v1/disasters/EV-1", headers=bearer(keys["agent"])).json()["code"] == "EV-1"
    assert client.get("/v1/disasters/NOPE", headers=headers).status_code == 404
    assert client.get("/v1/disasters?status=closed", headers=headers).json()["items"] == []
    assert client.get("/v1/disasters", headers=bearer(keys["channel"])).status_code == 403


def test_amend_widens_bumps_the_version_and_records_the_amendment(
    client: TestClient, keys: dict[str, str]
) -> None:
    declare(client, keys)
    headers = bearer(keys["supervisor"])
    body = {"add_region_codes": ["632122"], "relief_end": "2025-09-30", "deferral_months": 6}
    response = client.patch("/v1/disasters/FLOOD-2025", headers=headers, json=body)
    assert response.status_code == 200, response.text
    event = response.json()
    assert (event["version"], event["relief_end"], event["deferral_months"]) == (2, "2025-09-30", 6)
    assert "632122" in event["region_codes"]
    [amendment] = event["amendments"]
    assert amendment["version"] == 2 and amendment["changes"] == {
        "added_region_codes": ["632122"],
        "relief_end": {"from": "2025-08-31", "to": "2025-09-30"},
        "deferral_months": {"from": 3, "to": 6},
    }
    shrink = client.patch("/v1/disasters/FLOOD-2025", headers=headers, json={"deferral_months": 5})
    assert shrink.status_code == 422 and shrink.json()["errors"][0]["field"] == "deferral_months"
    earlier = client.patch("/v1/disasters/FLOOD-2025", headers=headers, json={"relief_end": "2025-09-01"})
    assert earlier.status_code == 422
    audit = client.get(
        "/v1/audit-events?entity_type=disaster_event&entity_id=FLOOD-2025", headers=bearer(keys["auditor"])
    ).json()["items"]
    assert [e["action"] for e in audit] == ["disaster.declared", "disaster.amended"]
    assert audit[1]["before"]["deferral_months"] == 3 and audit[1]["after"]["deferral_months"] == 6


def test_a_closed_event_cannot_be_amended_or_closed_again(client: TestClient, keys: dict[str, str]) -> None:
    declare(client, keys)
    headers = bearer(keys["batch_operator"])
    closed = client.post("/v1/disasters/FLOOD-2025/close", headers=headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert client.post("/v1/disasters/FLOOD-2025/close", headers=headers).status_code == 409
    assert (
        client.patch("/v1/disasters/FLOOD-2025", headers=headers, json={"deferral_months": 4}).status_code
        == 409
    )
    assert client.patch("/v1/disasters/NOPE", headers=headers, json={"deferral_months": 4}).status_code == 404
    enroll = client.post("/v1/disasters/FLOOD-2025/scans", headers=headers, json={"mode": "enroll"})
    assert enroll.status_code == 409


def test_region_code_changes_extend_the_policy_table_and_refuse_cycles(
    client: TestClient, keys: dict[str, str]
) -> None:
    operator = bearer(keys["batch_operator"])
    table = client.get("/v1/region-code-changes", headers=bearer(keys["agent"])).json()["items"]
    assert {"old_code": "632122", "new_code": "630222", "source": "policy"}.items() <= next(
        e for e in table if e["old_code"] == "632122"
    ).items()
    created = client.post(
        "/v1/region-code-changes",
        headers=operator,
        json={"old_code": "659001", "new_code": "653101", "effective_on": "2024-01-01", "note": "merger"},
    )
    assert created.status_code == 201 and created.json()["source"] == "operator"
    again = client.post(
        "/v1/region-code-changes", headers=operator, json={"old_code": "659001", "new_code": "653102"}
    )
    assert again.status_code == 409
    cycle = client.post(
        "/v1/region-code-changes", headers=operator, json={"old_code": "630222", "new_code": "632122"}
    )
    assert cycle.status_code == 422 and "cycle" in cycle.json()["detail"]
    bad = client.post(
        "/v1/region-code-changes", headers=operator, json={"old_code": "63022", "new_code": "632122"}
    )
    assert bad.status_code == 422
    forbidden = client.post(
        "/v1/region-code-changes",
        headers=bearer(keys["agent"]),
        json={"old_code": "659002", "new_code": "653101"},
    )
    assert forbidden.status_code == 403
    table = client.get("/v1/region-code-changes", headers=operator).json()["items"]
    assert any(e["old_code"] == "659001" and e["created_by"] for e in table)
