"""Installment plans over HTTP: exact schedules, refusals, idempotency, lifecycle, quotes, negotiation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import unit_of_work
from app.persistence.models import Decision, Installment, InstallmentPlan
from app.services import decide as decide_module
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account

TODAY = date(2025, 1, 31)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def create(client: TestClient, token: str, ref: str = "A-1", **body: Any) -> Any:
    return client.post(f"/v1/accounts/{ref}/installment-plans", json=body, headers=bearer(token))


def count(db: Database, model: Any) -> int:
    with unit_of_work(db.engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_plan_over_3_months_has_exact_amounts_and_month_end_due_dates(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", principal_balance="9500.00", interest_balance="500.00", fee_balance="200.00")

    response = create(client, keys["channel"], term_months=3, reason="unemployment")

    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["status"] == "active"
    assert plan["account_ref"] == "A-1"
    assert plan["term_months"] == 3
    assert plan["method"] == "equal_principal"
    assert plan["principal_amount"] == "10000.00"
    assert plan["fees_waived"] == "200.00"
    assert plan["fee_total"] == "0.00"
    assert plan["total_amount"] == "10000.00"
    assert plan["policy_version"] == "2025.1"
    assert plan["start_on"] == "2025-01-31"
    assert plan["channel"] == "mobile"
    assert [
        (i["number"], i["due_date"], i["principal"], i["fee"], i["amount"]) for i in plan["schedule"]
    ] == [
        (1, "2025-02-28", "3333.33", "0.00", "3333.33"),
        (2, "2025-03-31", "3333.33", "0.00", "3333.33"),
        (3, "2025-04-30", "3333.34", "0.00", "3333.34"),
    ]
    agreement = plan["agreement"]
    assert agreement["balance_owed"] == "10200.00"
    assert (agreement["principal_balance"], agreement["interest_balance"], agreement["fees_waived"]) == (
        "9500.00",
        "500.00",
        "200.00",
    )
    assert agreement["currency"] == "CNY"
    assert (agreement["installments_count"], agreement["installment_amount"]) == (3, "3333.33")
    assert agreement["interest_accrual"] == agreement["fee_accrual"] == "none"
    assert agreement["no_new_cards_until_settled"] is True
    assert agreement["commitment_accepted"] is True
    assert agreement["collection_suspended_while_kept"] is True
    assert count(db, Installment) == 3

    fetched = client.get(f"/v1/installment-plans/{plan['id']}", headers=bearer(keys["auditor"]))
    listed = client.get("/v1/accounts/A-1/installment-plans", headers=bearer(keys["agent"]))
    account = client.get("/v1/accounts/A-1", headers=bearer(keys["agent"])).json()

    assert fetched.json() == plan
    assert [p["id"] for p in listed.json()["items"]] == [plan["id"]]
    assert account["arrangements"]["installment_plans"][0]["status"] == "active"


@pytest.mark.parametrize(
    ("overrides", "body", "expected"),
    [
        pytest.param(
            {"status": "closed"}, {"term_months": 12, "reason": "illness"}, ["ACCOUNT_STATUS_INELIGIBLE"]
        ),
        pytest.param({}, {"term_months": 61, "reason": "illness"}, ["TERM_NOT_ALLOWED"]),
        pytest.param({}, {"term_months": 12}, ["HARDSHIP_REASON_REQUIRED"]),
        pytest.param(
            {"principal_balance": "1100.00", "interest_balance": "0.00"},
            {"term_months": 12, "reason": "illness"},
            ["TERM_NOT_ALLOWED"],
            id="installment_below_100",
        ),
    ],
)
def test_an_ineligible_request_is_refused_with_reason_codes(
    db: Database,
    client: TestClient,
    keys: dict[str, str],
    overrides: dict[str, Any],
    body: dict[str, Any],
    expected: list[str],
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", **overrides)

    response = create(client, keys["channel"], **body)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [r["code"] for r in response.json()["reasons"]] == expected
    assert all(r["message"] for r in response.json()["reasons"])
    assert count(db, InstallmentPlan) == 0
    assert count(db, Decision) == 0


def test_a_second_plan_while_one_is_active_is_refused(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    first = create(client, keys["channel"], term_months=12, reason="illness")
    second = create(client, keys["channel"], term_months=6, reason="illness")

    assert first.status_code == 201
    assert second.status_code == 422
    assert [r["code"] for r in second.json()["reasons"]] == ["PLAN_ALREADY_ACTIVE"]


def test_the_same_idempotency_key_replays_the_plan_and_another_body_conflicts(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    headers = {**bearer(keys["channel"]), "Idempotency-Key": "plan-A-1-0001"}
    body = {"term_months": 12, "reason": "unemployment"}

    first = client.post("/v1/accounts/A-1/installment-plans", json=body, headers=headers)
    again = client.post("/v1/accounts/A-1/installment-plans", json=body, headers=headers)
    other = client.post(
        "/v1/accounts/A-1/installment-plans", json={**body, "term_months": 6}, headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert count(db, InstallmentPlan) == 1


def test_an_agent_must_confirm_the_commitment_and_may_record_the_call(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    unconfirmed = create(client, keys["agent"], term_months=12, reason="illness")
    confirmed = create(
        client,
        keys["agent"],
        term_months=12,
        reason="illness",
        commitment_accepted=True,
        recording_ref="CALL-2025-0131-17",
    )

    assert unconfirmed.status_code == 422
    assert [e["field"] for e in unconfirmed.json()["errors"]] == ["body.commitment_accepted"]
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["channel"] == "agent"
    assert confirmed.json()["recording_ref"] == "CALL-2025-0131-17"
    assert confirmed.json()["agreement"]["recording_ref"] == "CALL-2025-0131-17"


def test_invalid_input_is_a_422_with_the_field(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    zero = create(client, keys["channel"], term_months=0, reason="illness")
    extra = create(client, keys["channel"], term_months=12, reason="illness", start_on="2025-02-01")
    unknown = create(client, keys["channel"], "NOPE", term_months=12, reason="illness")

    assert zero.status_code == 422
    assert zero.json()["errors"][0]["field"] == "body.term_months"
    assert extra.status_code == 422
    assert unknown.status_code == 404


def test_cancel_and_break_follow_the_plan_lifecycle(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        make_account(s, "A-2")
    first = create(client, keys["channel"], "A-1", term_months=12, reason="illness").json()
    second = create(client, keys["channel"], "A-2", term_months=12, reason="illness").json()
    note = {"note": "the cardholder paid in full"}

    by_channel = client.post(
        f"/v1/installment-plans/{first['id']}/cancel", json=note, headers=bearer(keys["channel"])
    )
    cancelled = client.post(
        f"/v1/installment-plans/{first['id']}/cancel", json=note, headers=bearer(keys["agent"])
    )
    again = client.post(
        f"/v1/installment-plans/{first['id']}/break", json=note, headers=bearer(keys["agent"])
    )
    broken = client.post(
        f"/v1/installment-plans/{second['id']}/break",
        json={"note": "missed"},
        headers=bearer(keys["supervisor"]),
    )
    missing = client.post("/v1/installment-plans/999999/cancel", json=note, headers=bearer(keys["agent"]))

    assert by_channel.status_code == 403
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["ended_on"]) == ("cancelled", "2025-01-31")
    assert cancelled.json()["end_reason"] == "the cardholder paid in full"
    assert again.status_code == 409
    assert broken.json()["status"] == "broken"
    assert missing.status_code == 404
    # A cancelled plan does not block a new one.
    assert create(client, keys["channel"], "A-1", term_months=6, reason="illness").status_code == 201


def test_a_quote_shows_terms_side_by_side_and_creates_nothing(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    response = client.post(
        "/v1/quotes/installment-plan",
        json={"account_ref": "A-1", "monthly_income": "5000.00"},
        headers=bearer(keys["channel"]),
    )

    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["restructured_principal"] == "10000.00"
    assert quote["fees_waived"] == "200.00"
    assert quote["policy_version"] == "2025.1"
    assert quote["recommended_term_months"] == 4
    assert [q["term_months"] for q in quote["quotes"]] == [4, 6, 12, 24, 36, 60]
    six = quote["quotes"][1]
    assert (six["first_amount"], six["last_amount"], six["total_amount"]) == (
        "1666.66",
        "1666.70",
        "10000.00",
    )
    assert (six["monthly_fee"], six["total_fee"]) == ("0.00", "0.00")
    assert [i["due_date"] for i in six["schedule"]][:2] == ["2025-02-28", "2025-03-31"]
    assert count(db, InstallmentPlan) == 0
    assert count(db, Decision) == 0


def test_a_quote_for_chosen_terms_refuses_a_term_that_is_not_allowed(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    chosen = client.post(
        "/v1/quotes/installment-plan",
        json={"account_ref": "A-1", "terms": [3, 1]},
        headers=bearer(keys["agent"]),
    )
    refused = client.post(
        "/v1/quotes/installment-plan",
        json={"account_ref": "A-1", "terms": [12, 61]},
        headers=bearer(keys["agent"]),
    )

    assert [q["term_months"] for q in chosen.json()["quotes"]] == [1, 3]
    assert chosen.json()["recommended_term_months"] is None
    assert refused.status_code == 422
    assert [r["code"] for r in refused.json()["reasons"]] == ["TERM_NOT_ALLOWED"]


def test_negotiation_accepts_an_allowed_term(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    response = client.post(
        "/v1/accounts/A-1/installment-plans/negotiate",
        json={"proposed_term_months": 24, "reason": "income_reduction", "monthly_income": "3000.00"},
        headers=bearer(keys["channel"]),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "accepted"
    assert body["plan"]["term_months"] == 24
    assert body["plan"]["schedule"][0]["amount"] == "416.66"
    assert count(db, InstallmentPlan) == 1


def test_negotiation_counter_offers_the_nearest_allowed_term_and_creates_nothing(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        # P = 1,000.00: at least 100.00 an installment allows 1 to 10 months.
        make_account(s, "A-1", principal_balance="1000.00", interest_balance="0.00", fee_balance="0.00")

    response = client.post(
        "/v1/accounts/A-1/installment-plans/negotiate",
        json={"proposed_term_months": 24, "reason": "illness"},
        headers=bearer(keys["channel"]),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "counter_offer"
    assert body["counter_offer_term_months"] == 10
    assert body["plan"] is None
    assert body["quote"]["term_months"] == 10
    assert {i["amount"] for i in body["quote"]["schedule"]} == {"100.00"}
    assert count(db, InstallmentPlan) == 0


def test_negotiation_refuses_an_ineligible_account_with_reasons(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="charged_off")

    response = client.post(
        "/v1/accounts/A-1/installment-plans/negotiate",
        json={"proposed_term_months": 12},
        headers=bearer(keys["channel"]),
    )

    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == [
        "ACCOUNT_STATUS_INELIGIBLE",
        "HARDSHIP_REASON_REQUIRED",
    ]


def negotiate(client: TestClient, token: str, ref: str = "A-1", **body: Any) -> Any:
    return client.post(f"/v1/accounts/{ref}/installment-plans/negotiate", json=body, headers=bearer(token))


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The requested term of every judgement the use cases make (app.services.decide)."""
    terms: list[int | None] = []
    original = decide_module.judge

    def counting(snapshot: Any, *args: Any, **kwargs: Any) -> Any:
        terms.append(snapshot.requested_term)
        return original(snapshot, *args, **kwargs)

    monkeypatch.setattr(decide_module, "judge", counting)
    return terms


def test_negotiation_judges_once_and_stores_the_accepted_terms_decision(
    db: Database, client: TestClient, keys: dict[str, str], judged: list[int | None]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
        # P = 1,000.00: 1 to 10 months.
        make_account(s, "A-2", principal_balance="1000.00", interest_balance="0.00", fee_balance="0.00")

    accepted = negotiate(client, keys["channel"], proposed_term_months=24, reason="illness")
    countered = negotiate(client, keys["channel"], "A-2", proposed_term_months=24, reason="illness")

    assert (accepted.status_code, countered.status_code) == (201, 200)
    assert judged == [24, None]
    with unit_of_work(db.engine) as s:
        (decision,) = s.scalars(select(Decision)).all()
    assert decision.id == accepted.json()["plan"]["decision_id"]
    assert (decision.kind, decision.account_ref, decision.inputs["requested_term_months"]) == (
        "installment_plan",
        "A-1",
        24,
    )
    assert decision.outcome["programs"][0]["offer"]["quote"]["term_months"] == 24


def test_negotiation_refuses_before_it_counters_or_asks_for_the_commitment(
    db: Database, client: TestClient, keys: dict[str, str], judged: list[int | None]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="charged_off", principal_balance="1000.00", interest_balance="0.00")
        make_account(s, "A-2")

    # A term that is not allowed is not a reason: it would be countered.
    ineligible = negotiate(client, keys["agent"], proposed_term_months=24, reason="illness")
    unconfirmed = negotiate(client, keys["agent"], "A-2", proposed_term_months=12, reason="illness")
    countered = negotiate(client, keys["agent"], "A-2", proposed_term_months=61, reason="illness")

    assert ineligible.status_code == 422
    assert [r["code"] for r in ineligible.json()["reasons"]] == ["ACCOUNT_STATUS_INELIGIBLE"]
    assert unconfirmed.status_code == 422
    assert [e["field"] for e in unconfirmed.json()["errors"]] == ["body.commitment_accepted"]
    assert countered.status_code == 200, countered.text
    assert countered.json()["counter_offer_term_months"] == 60
    assert judged == [None, 12, None]
    assert count(db, Decision) == 0


def test_a_plan_takes_the_waived_fees_off_the_account_and_a_cancellation_restores_them(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", principal_balance="9500.00", interest_balance="500.00", fee_balance="200.00")

    plan = create(client, keys["channel"], term_months=12, reason="unemployment").json()
    after_plan = client.get("/v1/accounts/A-1", headers=bearer(keys["agent"])).json()
    waiver = client.post(
        "/v1/accounts/A-1/fee-waivers",
        json={"fee_amount": "50.00", "reason": "illness"},
        headers=bearer(keys["agent"]),
    )
    client.post(
        f"/v1/installment-plans/{plan['id']}/cancel",
        json={"note": "signed in error"},
        headers=bearer(keys["agent"]),
    )
    after_cancel = client.get("/v1/accounts/A-1", headers=bearer(keys["agent"])).json()

    assert plan["fees_waived"] == "200.00"
    assert after_plan["fee_balance"] == "0.00"
    assert waiver.status_code == 422  # nothing left to waive twice
    assert after_cancel["fee_balance"] == "200.00"
