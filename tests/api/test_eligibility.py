"""POST /v1/accounts/{ref}/eligibility: each program with its reasons and offer, stored as a decision."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.persistence.models import RegionCodeChange
from app.services import clock
from tests.conftest import Database, bearer
from tests.factories import (
    business_today,
    freeze_today,
    make_account,
    make_deferral,
    make_disaster_event,
    make_statement,
)

TODAY = date(2025, 7, 15)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def evaluate(
    client: TestClient, token: str, ref: str = "A-1", lang: str = "en", **body: Any
) -> dict[str, Any]:
    response = client.post(
        f"/v1/accounts/{ref}/eligibility",
        json=body,
        headers={**bearer(token), "Accept-Language": lang},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def program(answer: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in answer["programs"] if p["program"] == name]
    return found


def codes(answer: dict[str, Any], name: str) -> list[str]:
    return [reason["code"] for reason in program(answer, name)["reasons"]]


def test_an_eligible_account_gets_an_offer_for_every_program(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1")
        make_statement(s, account, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        make_disaster_event(s, "EV-1", region_codes=("622900",), occurred_on=date(2025, 7, 5))

    answer = evaluate(client, keys["channel"], reason="disaster", monthly_income="5000.00")

    assert answer["policy_version"] == "2025.1"
    assert isinstance(answer["decision_id"], int)
    assert [p["program"] for p in answer["programs"]] == [
        "installment_plan",
        "fee_waiver",
        "disaster_deferral",
    ]
    assert all(p["eligible"] and p["reasons"] == [] for p in answer["programs"])
    plan_offer = program(answer, "installment_plan")["offer"]
    assert plan_offer["restructured_principal"] == "10000.00"
    assert plan_offer["fees_waived"] == "200.00"
    assert plan_offer["min_term_months"] == 1
    assert plan_offer["max_term_months"] == 60
    # 50 % of 5,000.00 = 2,500.00 = 10,000.00 / 4.
    assert plan_offer["recommended_term_months"] == 4
    assert plan_offer["quote"]["first_amount"] == "2500.00"
    assert plan_offer["quote"]["first_due_date"] == "2025-08-15"
    assert program(answer, "fee_waiver")["offer"]["waivable_fee_amount"] == "200.00"
    deferral = program(answer, "disaster_deferral")["offer"]
    assert deferral["disaster_code"] == "EV-1"
    assert deferral["deferred_amount"] == "3000.00"
    assert deferral["lines"][0]["new_due_date"] == "2025-10-25"


@pytest.mark.parametrize(
    ("overrides", "body", "expected"),
    [
        pytest.param({"status": "closed"}, {"reason": "illness"}, ["ACCOUNT_STATUS_INELIGIBLE"], id="closed"),
        pytest.param(
            {"status": "delinquent", "delinquent_since": TODAY - timedelta(days=181)},
            {"reason": "illness"},
            ["DELINQUENCY_TOO_LONG"],
            id="181_days_past_due",
        ),
        pytest.param(
            {"status": "delinquent", "delinquent_since": TODAY - timedelta(days=180)},
            {"reason": "illness"},
            [],
            id="180_days_past_due_is_still_eligible",
        ),
        pytest.param(
            {"principal_balance": "999.99", "interest_balance": "0.00", "fee_balance": "0.00"},
            {"reason": "illness"},
            ["BALANCE_TOO_LOW"],
            id="balance_999_99",
        ),
        pytest.param(
            {"principal_balance": "1000.00", "interest_balance": "0.00", "fee_balance": "0.00"},
            {"reason": "illness"},
            [],
            id="balance_1000_00_is_enough",
        ),
        pytest.param({}, {}, ["HARDSHIP_REASON_REQUIRED"], id="no_reason"),
        pytest.param({}, {"reason": "bored"}, ["HARDSHIP_REASON_REQUIRED"], id="unknown_reason"),
        pytest.param({}, {"reason": "illness", "term_months": 61}, ["TERM_NOT_ALLOWED"], id="term_61"),
        pytest.param({}, {"reason": "illness", "term_months": 60}, [], id="term_60"),
        pytest.param(
            {"principal_balance": "99.99", "interest_balance": "0.00", "fee_balance": "1000.00"},
            {"reason": "illness", "term_months": 1},
            ["TERM_NOT_ALLOWED"],
            id="principal_below_the_minimum_installment_not_even_one_month",
        ),
        pytest.param(
            {"principal_balance": "99.99", "interest_balance": "0.00", "fee_balance": "1000.00"},
            {"reason": "illness"},
            ["TERM_NOT_ALLOWED"],
            id="principal_below_the_minimum_installment_no_term_at_all",
        ),
        pytest.param(
            {"status": "fraud", "principal_balance": "10.00", "interest_balance": "0.00"},
            {},
            ["ACCOUNT_STATUS_INELIGIBLE", "BALANCE_TOO_LOW", "HARDSHIP_REASON_REQUIRED", "TERM_NOT_ALLOWED"],
            id="every_failed_rule_in_order",
        ),
    ],
)
def test_installment_plan_reasons(
    db: Database,
    client: TestClient,
    keys: dict[str, str],
    overrides: dict[str, Any],
    body: dict[str, Any],
    expected: list[str],
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", **overrides)

    answer = evaluate(client, keys["agent"], **body)

    assert codes(answer, "installment_plan") == expected
    assert program(answer, "installment_plan")["eligible"] is (not expected)
    assert (program(answer, "installment_plan")["offer"] is None) is bool(expected)


def test_an_active_plan_and_a_recently_broken_plan_are_reasons(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    created = client.post(
        "/v1/accounts/A-1/installment-plans",
        json={"term_months": 12, "reason": "illness"},
        headers=bearer(keys["channel"]),
    )
    assert created.status_code == 201, created.text

    assert codes(evaluate(client, keys["agent"], reason="illness"), "installment_plan") == [
        "PLAN_ALREADY_ACTIVE"
    ]

    broken = client.post(
        f"/v1/installment-plans/{created.json()['id']}/break",
        json={"note": "missed three installments"},
        headers=bearer(keys["agent"]),
    )
    assert broken.status_code == 200, broken.text
    assert codes(evaluate(client, keys["agent"], reason="illness"), "installment_plan") == [
        "RECENT_BROKEN_PLAN"
    ]


def test_a_plan_broken_more_than_12_months_ago_no_longer_counts(
    db: Database, client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    plan = client.post(
        "/v1/accounts/A-1/installment-plans",
        json={"term_months": 12, "reason": "illness"},
        headers=bearer(keys["channel"]),
    ).json()
    client.post(
        f"/v1/installment-plans/{plan['id']}/break", json={"note": "x"}, headers=bearer(keys["agent"])
    )

    freeze_today(monkeypatch, date(2026, 7, 15))
    assert business_today() == date(2026, 7, 15)

    assert codes(evaluate(client, keys["agent"], reason="illness"), "installment_plan") == []


def test_fee_waiver_reasons(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "NO-FEES", fee_balance="0.00")
        make_account(s, "CLOSED", status="closed")

    assert codes(evaluate(client, keys["agent"], "NO-FEES", reason="illness"), "fee_waiver") == [
        "NO_FEES_OUTSTANDING"
    ]
    assert codes(evaluate(client, keys["agent"], "CLOSED", reason="illness"), "fee_waiver") == [
        "ACCOUNT_STATUS_INELIGIBLE"
    ]


def test_disaster_deferral_without_an_open_event_covering_the_region(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", region_code="622927")
        make_statement(s, account, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        # 622926 does not cover 622927; a closed event does not count.
        make_disaster_event(s, "OTHER-COUNTY", region_codes=("622926",))
        make_disaster_event(s, "CLOSED", region_codes=("620000",), status="closed")

    answer = evaluate(client, keys["agent"], reason="disaster")

    assert codes(answer, "disaster_deferral") == ["NO_OPEN_DISASTER"]
    assert program(answer, "disaster_deferral")["offer"] is None


def test_disaster_deferral_reasons_of_a_covering_event(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        enrolled = make_account(s, "ENROLLED")
        make_statement(s, enrolled, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        make_account(s, "LATE", opened_on=date(2025, 7, 10))
        event = make_disaster_event(s, "EV-1", region_codes=("620000",), occurred_on=date(2025, 7, 5))
        make_deferral(s, enrolled, event)

    assert codes(evaluate(client, keys["agent"], "ENROLLED", reason="disaster"), "disaster_deferral") == [
        "ALREADY_ENROLLED"
    ]
    assert codes(evaluate(client, keys["agent"], "LATE", reason="disaster"), "disaster_deferral") == [
        "OPENED_AFTER_EVENT",
        "NO_AMOUNT_DUE_IN_WINDOW",
    ]


def test_region_codes_follow_the_policy_and_the_operators_changes(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        minhe = make_account(s, "MINHE", region_code="632122")  # Minhe before 2013: now 630222
        make_statement(s, minhe, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        moved = make_account(s, "MOVED", region_code="622926")
        make_statement(s, moved, statement_date=date(2025, 7, 1), due_date=date(2025, 7, 25))
        make_disaster_event(s, "EV-1", region_codes=("630222", "622927"), occurred_on=date(2025, 7, 5))
        s.add(
            RegionCodeChange(
                old_code="622926", new_code="622927", created_by="test", created_at=clock.utcnow()
            )
        )

    assert program(evaluate(client, keys["agent"], "MINHE", reason="disaster"), "disaster_deferral")[
        "eligible"
    ]
    assert program(evaluate(client, keys["agent"], "MOVED", reason="disaster"), "disaster_deferral")[
        "eligible"
    ]


def test_reason_words_follow_accept_language(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", status="closed")

    english = program(evaluate(client, keys["agent"], lang="en-US,en;q=0.9", reason="x"), "fee_waiver")
    chinese = program(evaluate(client, keys["agent"], lang="zh-CN", reason="x"), "fee_waiver")

    assert english["reasons"][0]["message"].startswith("The account is closed")
    assert chinese["reasons"][0]["message"].startswith("该账户已销户")


def test_unknown_account_is_a_404_problem(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/accounts/NOPE/eligibility", json={}, headers=bearer(keys["agent"]))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_bad_input_and_roles(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")

    floaty = client.post(
        "/v1/accounts/A-1/eligibility", json={"monthly_income": 5000.5}, headers=bearer(keys["agent"])
    )
    auditor = client.post("/v1/accounts/A-1/eligibility", json={}, headers=bearer(keys["auditor"]))
    anonymous = client.post("/v1/accounts/A-1/eligibility", json={})

    assert floaty.status_code == 422
    assert [e["field"] for e in floaty.json()["errors"]] == ["body.monthly_income"]
    assert auditor.status_code == 403
    assert anonymous.status_code == 401
