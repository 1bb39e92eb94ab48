"""The disaster report over HTTP: totals and their breakdown by region code, in JSON and CSV."""

from __future__ import annotations

import csv
import io
import time

from fastapi.testclient import TestClient

from tests.api.test_scans import SMOKE, finished_scan
from tests.conftest import Database, bearer
from tests.integration.test_scan_core import account, load_portfolio, statement

DUE = [statement("2025-07-10", "1000.00", "100.00")]  # 46.00 interest (92 days), 5.00 late fee each


def test_the_report_sums_enrollments_and_disputes_by_region(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    load_portfolio(
        db.engine,
        [
            account("A1", customer="C1", statements=DUE),
            account("A2", customer="C1", statements=DUE),
            account("A3", customer="C2", statements=DUE),
            account(
                "B1",
                customer="C3",
                region="653102",
                status="delinquent",
                delinquent="2025-06-20",
                statements=DUE,
            ),
            account("B2", customer="C1", region="653102", status="closed", statements=DUE),
            account("FAR", region="110101", statements=DUE),
        ],
    )
    assert client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=SMOKE).status_code == 201
    empty = client.get("/v1/disasters/SMK-FLOOD/report", headers=bearer(keys["auditor"])).json()
    assert empty["totals"]["accounts_enrolled"] == 0 and empty["totals"]["total_deferred_amount"] == "0.00"
    assert empty["regions"] == []
    assert finished_scan(client, keys)["accounts_enrolled"] == 4
    filed = client.post(
        "/v1/disasters/SMK-FLOOD/credit-disputes", headers=bearer(keys["batch_operator"]), json={}
    )
    assert filed.json() == {"created": 1, "existing": 0}
    [dispute] = client.get("/v1/credit-disputes", headers=bearer(keys["supervisor"])).json()["items"]
    client.post(
        f"/v1/credit-disputes/{dispute['id']}/transitions",
        headers=bearer(keys["supervisor"]),
        json={"status": "under_review"},
    )

    report = client.get("/v1/disasters/SMK-FLOOD/report", headers=bearer(keys["batch_operator"])).json()
    assert (
        report["disaster_code"] == "SMK-FLOOD" and report["event_version"] == 1 and report["status"] == "open"
    )
    no_disputes = {"submitted": 0, "under_review": 0, "corrected": 0, "rejected": 0, "withdrawn": 0}
    assert report["totals"] == {
        "customers_enrolled": 3,
        "accounts_enrolled": 4,
        "total_deferred_amount": "4000.00",
        "total_interest_waived": "184.00",
        "total_late_fees_waived": "20.00",
        "disputes_by_status": {**no_disputes, "under_review": 1},
    }
    assert report["regions"] == [
        {
            "region_code": "653101",
            "customers_enrolled": 2,
            "accounts_enrolled": 3,
            "total_deferred_amount": "3000.00",
            "total_interest_waived": "138.00",
            "total_late_fees_waived": "15.00",
            "disputes_by_status": no_disputes,
        },
        {
            "region_code": "653102",
            "customers_enrolled": 1,
            "accounts_enrolled": 1,
            "total_deferred_amount": "1000.00",
            "total_interest_waived": "46.00",
            "total_late_fees_waived": "5.00",
            "disputes_by_status": {**no_disputes, "under_review": 1},
        },
    ]

    exported = client.get(
        "/v1/disasters/SMK-FLOOD/report", headers={**bearer(keys["admin"]), "Accept": "text/csv"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["region_code"] for r in rows] == ["653101", "653102", "TOTAL"]
    assert rows[-1]["customers_enrolled"] == "3" and rows[-1]["total_deferred_amount"] == "4000.00"
    assert rows[1]["disputes_under_review"] == "1"


def test_the_report_needs_a_known_event_and_the_right_role(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/v1/disasters/NOPE/report", headers=bearer(keys["auditor"])).status_code == 404
    assert client.get("/v1/disasters/NOPE/report", headers=bearer(keys["agent"])).status_code == 403


def test_the_report_counts_an_account_under_a_retired_code_in_its_current_region(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    # Minhe county was 632122 until 2013 and is 630222 now (policy table of code changes).
    load_portfolio(
        db.engine,
        [
            account("OLD", customer="C1", region="632122", statements=DUE),
            account("NEW", customer="C1", region="630222", statements=DUE),
            account("NEW2", customer="C2", region="630222", statements=DUE),
        ],
    )
    event = {**SMOKE, "code": "MINHE", "region_codes": ["630222"]}
    assert client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=event).status_code == 201
    scan = client.post(
        "/v1/disasters/MINHE/scans", headers=bearer(keys["batch_operator"]), json={"mode": "enroll"}
    )
    assert scan.status_code == 202
    for _ in range(200):
        status = client.get(f"/v1/scans/{scan.json()['id']}", headers=bearer(keys["batch_operator"])).json()
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert status["status"] == "succeeded" and status["accounts_enrolled"] == 3

    report = client.get("/v1/disasters/MINHE/report", headers=bearer(keys["auditor"])).json()

    assert [
        (r["region_code"], r["customers_enrolled"], r["accounts_enrolled"]) for r in report["regions"]
    ] == [("630222", 2, 3)]
