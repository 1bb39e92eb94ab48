"""Credit-report disputes over HTTP: idempotent bulk filing for a disaster, single cases, the
lifecycle and its audit, deadlines and overdue, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.db import unit_of_work
from app.persistence.models import CreditDispute
from tests.api.test_scans import SMOKE, finished_scan
from tests.conftest import Database, bearer
from tests.factories import business_today
from tests.integration.test_scan_core import account, load_portfolio, statement

DUE = [statement("2025-07-10")]


def enrolled_portfolio(client: TestClient, keys: dict[str, str], db: Database) -> None:
    """Event 2025-06-15, relief to 2025-08-31; five enrolled accounts, three with disaster delinquency."""
    load_portfolio(
        db.engine,
        [
            account("D-IN", status="delinquent", delinquent="2025-06-20", statements=DUE),
            account("D-ON-EVENT-DAY", status="delinquent", delinquent="2025-06-15", statements=DUE),
            account("D-ON-RELIEF-END", status="delinquent", delinquent="2025-08-31", statements=DUE),
            account("D-BEFORE", status="delinquent", delinquent="2025-06-14", statements=DUE),
            account("D-AFTER", status="delinquent", delinquent="2025-09-01", statements=DUE),
            account("CURRENT", statements=DUE),
            account(
                "ELSEWHERE", region="110101", status="delinquent", delinquent="2025-06-20", statements=DUE
            ),
        ],
    )
    assert client.post("/v1/disasters", headers=bearer(keys["supervisor"]), json=SMOKE).status_code == 201
    assert finished_scan(client, keys)["accounts_enrolled"] == 6


def test_bulk_filing_records_one_dispute_per_qualifying_account_and_never_twice(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    enrolled_portfolio(client, keys, db)
    url = "/v1/disasters/SMK-FLOOD/credit-disputes"
    first = client.post(url, headers=bearer(keys["batch_operator"]), json={})
    assert first.status_code == 201 and first.json() == {"created": 3, "existing": 0}
    second = client.post(url, headers=bearer(keys["supervisor"]))
    assert second.status_code == 201 and second.json() == {"created": 0, "existing": 3}
    assert client.post(url, headers=bearer(keys["agent"]), json={}).status_code == 403
    assert (
        client.post("/v1/disasters/NOPE/credit-disputes", headers=bearer(keys["supervisor"])).status_code
        == 404
    )
    listed = client.get("/v1/credit-disputes?disaster_code=SMK-FLOOD", headers=bearer(keys["auditor"])).json()
    assert listed["next_cursor"] is None
    by_ref = {d["account_ref"]: d for d in listed["items"]}
    assert set(by_ref) == {"D-IN", "D-ON-EVENT-DAY", "D-ON-RELIEF-END"}
    dispute = by_ref["D-IN"]
    assert (dispute["bureau"], dispute["reason_code"], dispute["status"]) == (
        "PBOC_CRC",
        "DISASTER_RELIEF",
        "submitted",
    )
    assert (dispute["period_start"], dispute["period_end"]) == ("2025-06-20", "2025-08-31")
    assert dispute["submitted_on"] == business_today().isoformat()
    assert dispute["due_by"] == (business_today() + timedelta(days=20)).isoformat()
    assert dispute["overdue"] is False and dispute["disaster_code"] == "SMK-FLOOD"
    page = client.get("/v1/credit-disputes?limit=2", headers=bearer(keys["agent"])).json()
    assert len(page["items"]) == 2 and page["next_cursor"]


def test_the_lifecycle_is_the_domain_state_machine_and_every_move_is_audited(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    enrolled_portfolio(client, keys, db)
    client.post("/v1/disasters/SMK-FLOOD/credit-disputes", headers=bearer(keys["batch_operator"]), json={})
    ids = [
        d["id"] for d in client.get("/v1/credit-disputes", headers=bearer(keys["auditor"])).json()["items"]
    ]
    supervisor = bearer(keys["supervisor"])

    def move(dispute_id: int, status: str, role: str = "supervisor") -> int:
        url = f"/v1/credit-disputes/{dispute_id}/transitions"
        return client.post(
            url, headers=bearer(keys[role]), json={"status": status, "note": f"to {status}"}
        ).status_code

    assert move(ids[0], "corrected") == 409  # not from submitted
    assert move(ids[0], "under_review") == 200
    assert move(ids[0], "corrected") == 200
    assert move(ids[0], "withdrawn") == 409  # closed
    assert move(ids[1], "withdrawn") == 200
    assert move(ids[2], "under_review", role="agent") == 403
    assert move(ids[2], "lost") == 422
    assert move(999999, "under_review") == 404
    final = client.get(f"/v1/credit-disputes/{ids[0]}", headers=supervisor).json()
    assert final["status"] == "corrected" and final["resolution_note"] == "to corrected"
    corrected = client.get("/v1/credit-disputes?status=corrected", headers=supervisor).json()["items"]
    assert [d["id"] for d in corrected] == [ids[0]]
    trail = client.get(
        f"/v1/audit-events?entity_type=credit_dispute&entity_id={ids[0]}", headers=bearer(keys["auditor"])
    ).json()["items"]
    assert [(e["before"]["status"], e["after"]["status"]) for e in trail] == [
        ("submitted", "under_review"),
        ("under_review", "corrected"),
    ]


def test_an_open_dispute_past_its_due_date_is_overdue(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    enrolled_portfolio(client, keys, db)
    client.post("/v1/disasters/SMK-FLOOD/credit-disputes", headers=bearer(keys["batch_operator"]), json={})
    headers = bearer(keys["supervisor"])
    ids = [d["id"] for d in client.get("/v1/credit-disputes", headers=headers).json()["items"]]
    with unit_of_work(db.engine) as session:
        session.execute(
            update(CreditDispute)
            .where(CreditDispute.id.in_(ids[:2]))
            .values(due_by=business_today() - timedelta(days=1))
        )
        session.execute(
            update(CreditDispute).where(CreditDispute.id == ids[2]).values(due_by=business_today())
        )
    # Past due but closed: not overdue. Due today: not yet overdue.
    client.post(f"/v1/credit-disputes/{ids[1]}/transitions", headers=headers, json={"status": "withdrawn"})
    overdue = client.get("/v1/credit-disputes?overdue=true", headers=headers).json()["items"]
    assert [d["id"] for d in overdue] == [ids[0]] and overdue[0]["overdue"] is True
    on_time = client.get("/v1/credit-disputes?overdue=false", headers=headers).json()["items"]
    assert {d["id"] for d in on_time} == set(ids[1:])
    exported = client.get("/v1/credit-disputes?overdue=true", headers={**headers, "Accept": "text/csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert row["id"] == str(ids[0]) and row["overdue"] == "true" and row["disaster_code"] == "SMK-FLOOD"


def test_an_agent_files_a_single_case_with_evidence(
    client: TestClient, keys: dict[str, str], db: Database
) -> None:
    load_portfolio(db.engine, [account("SOLO", status="delinquent", delinquent="2025-03-01")])
    body = {
        "account_ref": "SOLO",
        "reason_code": "IDENTITY_THEFT",
        "period_start": "2025-03-01",
        "period_end": "2025-05-31",
        "description": "card used after it was reported stolen",
        "evidence_refs": ["police-report-2025-0311.pdf", "=HYPERLINK(evil)"],
    }
    created = client.post("/v1/credit-disputes", headers=bearer(keys["agent"]), json=body)
    assert created.status_code == 201, created.text
    dispute = created.json()
    assert (
        dispute["bureau"] == "PBOC_CRC"
        and dispute["disaster_code"] is None
        and dispute["status"] == "submitted"
    )
    assert dispute["evidence_refs"] == body["evidence_refs"] and dispute["description"] == body["description"]
    assert dispute["due_by"] == (business_today() + timedelta(days=20)).isoformat()
    again = client.post("/v1/credit-disputes", headers=bearer(keys["agent"]), json=body)
    assert again.status_code == 201 and again.json()["id"] != dispute["id"]  # agent cases are not per event
    assert (
        client.post(
            "/v1/credit-disputes", headers=bearer(keys["agent"]), json={**body, "account_ref": "NOPE"}
        ).status_code
        == 404
    )
    backwards = {**body, "period_end": "2025-02-01"}
    assert (
        client.post("/v1/credit-disputes", headers=bearer(keys["agent"]), json=backwards).status_code == 422
    )
    assert (
        client.post("/v1/credit-disputes", headers=bearer(keys["batch_operator"]), json=body).status_code
        == 403
    )
