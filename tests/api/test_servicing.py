"""Servicing over HTTP: POST /v1/servicing-runs, the plan's servicing fields, and the outcomes report."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.services import servicing
from tests.conftest import Database, bearer
from tests.factories import make_account


def pin(client: TestClient, keys: dict[str, str], on: str) -> None:
    response = client.put("/v1/business-date", json={"date": on}, headers=bearer(keys["admin"]))
    assert response.status_code == 200, response.text


def create_plan(client: TestClient, keys: dict[str, str], ref: str, term: int = 3) -> dict[str, Any]:
    response = client.post(
        f"/v1/accounts/{ref}/installment-plans",
        json={"term_months": term, "reason": "illness"},
        headers=bearer(keys["channel"]),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def pay(db: Database, ref: str, payment_ref: str, on: str, amount: str) -> None:
    from datetime import date

    with unit_of_work(db.engine) as s:
        servicing.record_payment(
            s,
            account_ref=ref,
            payment_ref=payment_ref,
            paid_on=date.fromisoformat(on),
            amount=Decimal(amount),
        )


def run(client: TestClient, keys: dict[str, str], **headers: str) -> Any:
    return client.post("/v1/servicing-runs", json={}, headers={**bearer(keys["batch_operator"]), **headers})


@pytest.fixture
def portfolio(db: Database, client: TestClient, keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Three plans started on 2025-01-15: A-1 (3 months, 3,000.00 a month), A-2 (12 months, in
    Minhe under its pre-2013 code 632122), A-3 (3 months, Linxia)."""
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", principal_balance="8500.00", interest_balance="500.00", region_code="622927")
        make_account(s, "A-2", principal_balance="11500.00", interest_balance="500.00", region_code="632122")
        make_account(s, "A-3", principal_balance="2500.00", interest_balance="500.00", region_code="622901")
    pin(client, keys, "2025-01-15")
    return {
        "A-1": create_plan(client, keys, "A-1"),
        "A-2": create_plan(client, keys, "A-2", term=12),
        "A-3": create_plan(client, keys, "A-3"),
    }


def test_a_new_plan_answers_its_servicing_fields_and_keeps_the_old_ones(
    portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    plan = portfolio["A-1"]
    assert (plan["status"], plan["completed_on"], plan["broken_on"]) == ("active", None, None)
    assert (plan["paid_total"], plan["outstanding"], plan["unapplied"]) == ("0.00", "9000.00", "0.00")
    assert [
        (i["number"], i["due_date"], i["amount"], i["status"], i["paid_amount"]) for i in plan["schedule"]
    ] == [
        (1, "2025-02-15", "3000.00", "due", "0.00"),
        (2, "2025-03-15", "3000.00", "due", "0.00"),
        (3, "2025-04-15", "3000.00", "due", "0.00"),
    ]
    fetched = client.get(f"/v1/installment-plans/{plan['id']}", headers=bearer(keys["agent"])).json()
    assert fetched == plan


def test_a_run_answers_201_with_its_counts_and_the_plans_show_where_they_stand(
    db: Database, portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    pay(db, "A-1", "P-1", "2025-02-10", "3000.00")
    pay(db, "A-1", "P-2", "2025-03-20", "6100.00")
    pin(client, keys, "2025-03-19")

    response = run(client, keys)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["as_of"] == "2025-03-19"
    # paid nothing: two misses in a row on 03-19 (due 02-15 and 03-15, 3 grace days).
    assert (body["plans_examined"], body["plans_completed"], body["plans_broken"]) == (3, 0, 2)
    a1 = client.get(f"/v1/installment-plans/{portfolio['A-1']['id']}", headers=bearer(keys["agent"])).json()
    assert (a1["status"], a1["paid_total"], a1["outstanding"]) == ("active", "3000.00", "6000.00")
    assert [i["status"] for i in a1["schedule"]] == ["paid", "missed", "due"]
    a3 = client.get(f"/v1/installment-plans/{portfolio['A-3']['id']}", headers=bearer(keys["agent"])).json()
    assert (a3["status"], a3["broken_on"], a3["ended_on"]) == ("broken", "2025-03-19", "2025-03-19")
    assert "in a row" in a3["end_reason"]

    pin(client, keys, "2025-03-20")
    body = run(client, keys).json()
    assert (body["plans_examined"], body["plans_completed"]) == (1, 1)
    a1 = client.get(f"/v1/installment-plans/{portfolio['A-1']['id']}", headers=bearer(keys["agent"])).json()
    assert (a1["status"], a1["completed_on"], a1["unapplied"]) == ("completed", "2025-03-20", "100.00")
    assert [(i["status"], i["paid_amount"]) for i in a1["schedule"]] == [
        ("paid", "3000.00"),
        ("paid_late", "3000.00"),
        ("paid", "3000.00"),
    ]
    again = run(client, keys).json()
    assert (again["plans_examined"], again["plans_updated"], again["plans_completed"]) == (0, 0, 0)
    recorded = client.get(f"/v1/servicing-runs/{again['id']}", headers=bearer(keys["auditor"]))
    assert recorded.status_code == 200 and recorded.json() == again


def test_a_run_honours_the_idempotency_key(
    portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    first = run(client, keys, **{"Idempotency-Key": "run-1"})
    second = run(client, keys, **{"Idempotency-Key": "run-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert run(client, keys).json()["id"] != first.json()["id"]


def test_only_batch_operators_run_servicing_and_the_body_is_empty(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    assert client.post("/v1/servicing-runs", json={}, headers=bearer(keys["agent"])).status_code == 403
    bad = client.post(
        "/v1/servicing-runs", json={"as_of": "2025-01-01"}, headers=bearer(keys["batch_operator"])
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/servicing-runs/999", headers=bearer(keys["auditor"])).status_code == 404


def outcomes(client: TestClient, keys: dict[str, str], query: str, **headers: str) -> Any:
    return client.get(f"/v1/reports/outcomes?{query}", headers={**bearer(keys["supervisor"]), **headers})


def test_the_outcomes_report_counts_rates_and_breakdowns_that_add_up(
    db: Database, portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    pay(db, "A-1", "P-1", "2025-02-10", "9000.00")
    pay(db, "A-2", "P-2", "2025-02-10", "1000.00")
    pin(client, keys, "2025-03-19")
    run(client, keys)

    response = outcomes(client, keys, "from=2025-01-01&to=2025-01-31")

    assert response.status_code == 200, response.text
    report = response.json()
    plans = report["plans"]
    assert (plans["started"], plans["active"], plans["completed"], plans["broken"], plans["cancelled"]) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert plans["restructured_principal"] == "24000.00"
    assert (plans["paid_total"], plans["outstanding"]) == ("10000.00", "14000.00")
    assert plans["kept_rate"] == "0.5000"
    # Judged: the three of A-1 (completed: all settled, in time), the first two of A-2 (the first
    # paid in time, the second missed on 03-19) and of A-3 (both missed; broken on 03-19).
    assert (plans["installments_judged"], plans["installments_on_time"], plans["on_time_rate"]) == (
        7,
        4,
        "0.5714",
    )
    assert [r["prefecture"] for r in report["by_region"]] == ["622900", "630200"]  # Minhe 632122 -> 630222
    assert [b["term_bucket"] for b in report["by_term_bucket"]] == ["1-6", "7-12", "13-24", "25-36", "37-60"]
    for breakdown in ("by_region", "by_term_bucket"):
        for name in ("started", "active", "completed", "broken", "cancelled", "installments_judged"):
            assert sum(item[name] for item in report[breakdown]) == plans[name], (breakdown, name)
        for name in ("restructured_principal", "paid_total", "outstanding"):
            assert sum(Decimal(item[name]) for item in report[breakdown]) == Decimal(plans[name])
    assert report["waivers"] == {"count": 0, "amount": "0.00"}
    assert report["deferrals"] == {"count": 0, "amount": "0.00"}

    empty = outcomes(client, keys, "from=2024-01-01&to=2024-12-31").json()
    assert empty["plans"]["started"] == 0 and empty["plans"]["kept_rate"] is None
    assert empty["plans"]["on_time_rate"] is None and empty["by_region"] == []


def test_the_outcomes_report_as_csv_ends_with_the_total(
    portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    response = outcomes(client, keys, "from=2025-01-01&to=2025-12-31", Accept="text/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["breakdown", "key", "started", "active"]
    assert rows[-1][:3] == ["total", "TOTAL", "3"]
    assert sum(int(r[2]) for r in rows[1:-1] if r[0] == "region") == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2025-01-01", "from"),
        ("from=2025-01-01", "to"),
        ("from=2025-13-01&to=2025-12-31", "from"),
        ("from=2025-02-01&to=2025-01-01", "to"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_field(
    db: Database, client: TestClient, keys: dict[str, str], query: str, field: str
) -> None:
    response = outcomes(client, keys, query)
    assert response.status_code == 422
    assert any(field in str(error) for error in response.json()["errors"])


def test_agents_do_not_read_the_outcomes_report(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    response = client.get("/v1/reports/outcomes?from=2025-01-01&to=2025-01-31", headers=bearer(keys["agent"]))
    assert response.status_code == 403


def test_a_plan_counts_in_the_region_of_its_start_under_todays_code(
    db: Database, portfolio: dict[str, dict[str, Any]], client: TestClient, keys: dict[str, str]
) -> None:
    """The prefecture is the customer's region when the plan started: a later move (a new snapshot
    from the card system) leaves the plans already started where they were; a code change an
    operator records later moves them to the same place under its new code."""
    with unit_of_work(db.engine) as s:
        make_account(s, "A-4", principal_balance="2500.00", interest_balance="500.00", region_code="659001")
    portfolio["A-4"] = create_plan(client, keys, "A-4")

    def prefectures() -> dict[str, int]:
        report = outcomes(client, keys, "from=2025-01-01&to=2025-12-31").json()
        assert sum(r["started"] for r in report["by_region"]) == report["plans"]["started"]
        return {r["prefecture"]: r["started"] for r in report["by_region"]}

    assert prefectures() == {"622900": 2, "630200": 1, "659000": 1}
    # A-3 moves from Linxia to Beijing; a plan started after the move counts in Beijing.
    moved = {
        "customer_ref": "C-A-3",
        "product_code": "STD_CLASSIC",
        "status": "active",
        "region_code": "110101",
        "opened_on": "2020-01-15",
        "credit_limit": "50000.00",
        "principal_balance": "2500.00",
        "interest_balance": "500.00",
        "fee_balance": "0.00",
    }
    response = client.put("/v1/accounts/A-3", json=moved, headers=bearer(keys["admin"]))
    assert response.status_code == 200, response.text
    assert prefectures() == {"622900": 2, "630200": 1, "659000": 1}
    with unit_of_work(db.engine) as s:
        make_account(s, "A-5", principal_balance="2500.00", interest_balance="500.00", region_code="110105")
    create_plan(client, keys, "A-5")
    assert prefectures() == {"110100": 1, "622900": 2, "630200": 1, "659000": 1}
    # An operator records that 659001 is now 653101: A-4's plan moves with its county's new code.
    created = client.post(
        "/v1/region-code-changes",
        headers=bearer(keys["batch_operator"]),
        json={"old_code": "659001", "new_code": "653101", "effective_on": "2025-01-01", "note": "merger"},
    )
    assert created.status_code == 201, created.text
    assert prefectures() == {"110100": 1, "622900": 2, "630200": 1, "653100": 1}
