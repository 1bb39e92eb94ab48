"""Scans over HTTP: 202 then poll, the exact read shape, result pages and CSV, deferrals, resume."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from app.jobs.executors import wait_for_inline_scans
from tests.api.test_disasters import EVENT
from tests.conftest import Database, bearer
from tests.integration.test_scan_core import account, load_portfolio, smoke_portfolio, statement

CONTRACT_FIELDS = {
    "id",
    "disaster_code",
    "mode",
    "status",
    "accounts_scanned",
    "accounts_eligible",
    "customers_eligible",
    "accounts_enrolled",
    "total_deferred_amount",
    "total_interest_waived",
    "total_late_fees_waived",
    "started_at",
    "finished_at",
}
SMOKE = {**EVENT, "code": "SMK-FLOOD", "region_codes": ["653100"]}


def start(client: TestClient, keys: dict[str, str], body: dict[str, Any], code: str = "SMK-FLOOD") -> Any:
    return client.post(f"/v1/disasters/{code}/scans", headers=bearer(keys["batch_operator"]), json=body)


def finished_scan(client: TestClient, keys: dict[str, str], mode: str = "enroll") -> dict[str, Any]:
    response = start(client, keys, {"mode": mode})
    assert response.status_code == 202, response.text
    assert (
        response.json()["status"] == "queued"
        and response.headers["location"] == f"/v1/scans/{response.json()['id']}"
    )
    assert wait_for_inline_scans(60)
    scan: dict[str, Any] = client.get(
        f"/v1/scans/{response.json()['id']}", headers=bearer(keys["auditor"])
    ).json()
    return scan


def setup_smoke(client: TestClient, keys: dict[str, str], db: Database) -> None:
    load_portfolio(db.engine, smoke_portfolio())
    assert client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=SMOKE).status_code == 201


def test_a_scan_reads_back_with_exactly_the_contract_fields_and_the_extras(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    setup_smoke(client, keys, db)
    scan = finished_scan(client, keys)
    assert set(scan) == CONTRACT_FIELDS | {"progress", "manifest", "error"}
    assert scan["status"] == "succeeded" and scan["mode"] == "enroll" and scan["disaster_code"] == "SMK-FLOOD"
    assert (scan["accounts_scanned"], scan["accounts_eligible"], scan["customers_eligible"]) == (4, 2, 2)
    assert scan["accounts_enrolled"] == 2
    assert (scan["total_deferred_amount"], scan["total_interest_waived"], scan["total_late_fees_waived"]) == (
        "7000.40",
        "322.02",
        "30.50",
    )
    assert scan["progress"] == {"chunks_total": 1, "chunks_done": 1, "percent": 100}
    assert scan["manifest"] == {
        "event_version": 1,
        "policy_version": "2025.1",
        "draft": False,
        "reason_counts": {"REGION_NOT_AFFECTED": 1, "ACCOUNT_STATUS_INELIGIBLE": 1},
        "deferrals_extended": 0,
    }
    assert scan["error"] is None and scan["started_at"] and scan["finished_at"]
    listed = client.get("/v1/scans?disaster_code=SMK-FLOOD", headers=bearer(keys["supervisor"])).json()
    assert [s["id"] for s in listed["items"]] == [scan["id"]] and listed["next_cursor"] is None
    assert client.get("/v1/scans/999999", headers=bearer(keys["auditor"])).status_code == 404
    assert client.get(f"/v1/scans/{scan['id']}", headers=bearer(keys["agent"])).status_code == 403


def test_deferrals_of_an_account_carry_lines_with_new_due_dates(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    setup_smoke(client, keys, db)
    finished_scan(client, keys)
    body = client.get("/v1/accounts/SMK-1/deferrals", headers=bearer(keys["channel"])).json()
    [deferral] = body["items"]
    assert (deferral["disaster_code"], deferral["deferred_amount"], deferral["interest_waived"]) == (
        "SMK-FLOOD",
        "5200.40",
        "239.22",
    )
    assert deferral["late_fees_waived"] == "21.50"
    assert [(line["due_date"], line["new_due_date"]) for line in deferral["lines"]] == [
        ("2025-06-28", "2025-09-28"),
        ("2025-07-31", "2025-10-31"),
    ]
    assert deferral["lines"][1] == {
        "statement_date": "2025-07-08",
        "due_date": "2025-07-31",
        "new_due_date": "2025-10-31",
        "deferred_amount": "2000.40",
        "interest_waived": "92.02",
        "late_fee_waived": "5.50",
    }
    assert client.get("/v1/accounts/SMK-3/deferrals", headers=bearer(keys["agent"])).json()["items"] == []
    assert client.get("/v1/accounts/NOPE/deferrals", headers=bearer(keys["agent"])).status_code == 404
    assert (
        client.get("/v1/accounts/SMK-1/deferrals", headers=bearer(keys["batch_operator"])).status_code == 403
    )


def test_results_page_filter_by_eligibility_and_reason_and_export_as_csv(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    accounts = [account(f"R{n}", statements=[statement("2025-07-10")]) for n in range(5)]
    accounts += [account("CLOSED", status="closed"), account("=FORMULA", customer="@cmd", status="fraud")]
    load_portfolio(db.engine, accounts)
    assert client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=SMOKE).status_code == 201
    scan = finished_scan(client, keys, "dry_run")
    headers = bearer(keys["batch_operator"])
    url = f"/v1/scans/{scan['id']}/results"
    first = client.get(f"{url}?eligible=true&limit=3", headers=headers).json()
    assert [i["account_ref"] for i in first["items"]] == ["R0", "R1", "R2"] and first["next_cursor"]
    assert first["items"][0] == {
        "account_ref": "R0",
        "customer_ref": "C-R0",
        "region_code": "653101",
        "eligible": True,
        "enrolled": False,
        "reasons": [],
        "deferred_amount": "1000.00",
        "interest_waived": "46.00",
        "late_fees_waived": "5.00",
    }
    rest = client.get(f"{url}?eligible=true&limit=3&cursor={first['next_cursor']}", headers=headers).json()
    assert [i["account_ref"] for i in rest["items"]] == ["R3", "R4"] and rest["next_cursor"] is None
    refused = client.get(f"{url}?eligible=false", headers=headers).json()["items"]
    assert {i["account_ref"] for i in refused} == {"CLOSED", "=FORMULA"}
    by_reason = client.get(f"{url}?reason=ACCOUNT_STATUS_INELIGIBLE", headers=headers).json()["items"]
    assert {i["account_ref"] for i in by_reason} == {"CLOSED", "=FORMULA"}
    assert client.get(f"{url}?reason=NOT_A_CODE", headers=headers).status_code == 422
    assert client.get(f"{url}?cursor=garbage", headers=headers).status_code == 422
    exported = client.get(url, headers={**headers, "Accept": "text/csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 7 and rows[0]["eligible"] == "true" and rows[0]["deferred_amount"] == "1000.00"
    formula = next(r for r in rows if r["account_ref"].endswith("FORMULA"))
    assert formula["account_ref"] == "'=FORMULA" and formula["customer_ref"] == "'@cmd"
    assert formula["reasons"] == "ACCOUNT_STATUS_INELIGIBLE NO_AMOUNT_DUE_IN_WINDOW"
    only_eligible = client.get(f"{url}?eligible=true", headers={**headers, "Accept": "text/csv"}).text
    assert len(only_eligible.strip().splitlines()) == 6
    assert client.get("/v1/scans/999999/results", headers=headers).status_code == 404


def test_scan_requests_are_checked_and_idempotent(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    setup_smoke(client, keys, db)
    assert start(client, keys, {"mode": "everything"}).status_code == 422
    assert start(client, keys, {"mode": "enroll", "policy_version": "2025.1"}).status_code == 422
    assert start(client, keys, {"mode": "dry_run", "policy_version": "no-such-draft"}).status_code == 422
    assert start(client, keys, {"mode": "dry_run"}, code="NOPE").status_code == 404
    supervisor = client.post(
        "/v1/disasters/SMK-FLOOD/scans", headers=bearer(keys["supervisor"]), json={"mode": "dry_run"}
    )
    assert supervisor.status_code == 403
    headers = {**bearer(keys["batch_operator"]), "Idempotency-Key": "scan-once"}
    first = client.post("/v1/disasters/SMK-FLOOD/scans", headers=headers, json={"mode": "dry_run"})
    again = client.post("/v1/disasters/SMK-FLOOD/scans", headers=headers, json={"mode": "dry_run"})
    assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
    assert wait_for_inline_scans(60)
    listed = client.get("/v1/scans", headers=bearer(keys["auditor"])).json()["items"]
    assert len(listed) == 1
    resume = client.post(f"/v1/scans/{first.json()['id']}/resume", headers=bearer(keys["batch_operator"]))
    assert resume.status_code == 409


def test_a_second_enroll_scan_over_http_finds_everyone_already_enrolled(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    setup_smoke(client, keys, db)
    finished_scan(client, keys)
    second = finished_scan(client, keys)
    assert (second["accounts_eligible"], second["accounts_enrolled"], second["customers_eligible"]) == (
        0,
        0,
        0,
    )
    assert second["total_deferred_amount"] == "0.00"
    assert second["manifest"]["reason_counts"]["ALREADY_ENROLLED"] == 2
    assert len(client.get("/v1/accounts/SMK-1/deferrals", headers=bearer(keys["agent"])).json()["items"]) == 1
