"""Fee waivers at each authority tier, and maker-checker approvals."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from app.db import unit_of_work
from app.persistence.models import Approval, CardAccount
from app.services import clock
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_disaster_event, make_key, money

TODAY = date(2025, 3, 10)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def waive(client: TestClient, token: str, ref: str = "A-1", **body: Any) -> Any:
    body.setdefault("reason", "illness")
    return client.post(f"/v1/accounts/{ref}/fee-waivers", json=body, headers=bearer(token))


def balances(client: TestClient, keys: dict[str, str], ref: str = "A-1") -> tuple[str, str]:
    account = client.get(f"/v1/accounts/{ref}", headers=bearer(keys["agent"])).json()
    return account["fee_balance"], account["interest_balance"]


@pytest.mark.parametrize(
    ("role", "amount", "status", "fee_balance_after"),
    [
        pytest.param("agent", "500.00", "applied", "5500.00", id="agent_500_00_applied"),
        pytest.param("agent", "500.01", "pending_approval", "6000.00", id="agent_500_01_pending"),
        pytest.param("supervisor", "5000.00", "applied", "1000.00", id="supervisor_5000_00_applied"),
        pytest.param("supervisor", "5000.01", "pending_approval", "6000.00", id="supervisor_5000_01_pending"),
    ],
)
def test_a_waiver_within_the_callers_authority_is_applied_at_once(
    db: Database,
    client: TestClient,
    keys: dict[str, str],
    role: str,
    amount: str,
    status: str,
    fee_balance_after: str,
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="6000.00")

    response = waive(client, keys[role], fee_amount=amount, note="customer lost their job")

    assert response.status_code == 201, response.text
    waiver = response.json()
    assert waiver["status"] == status
    assert (waiver["fee_amount"], waiver["interest_amount"], waiver["total_amount"]) == (
        amount,
        "0.00",
        amount,
    )
    assert waiver["requested_role"] == role
    assert (waiver["approval_id"] is not None) is (status == "pending_approval")
    assert balances(client, keys) == (fee_balance_after, "500.00")


def test_a_second_waiver_within_365_days_waits_unless_a_disaster_covers_the_account(
    db: Database, client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="1000.00")
        make_disaster_event(s, region_codes=("622900",))

    first = waive(client, keys["agent"], fee_amount="100.00")
    second = waive(client, keys["agent"], fee_amount="100.00")
    for_disaster = waive(client, keys["agent"], fee_amount="100.00", reason="disaster")
    freeze_today(monkeypatch, TODAY + timedelta(days=365))
    a_year_later = waive(client, keys["agent"], fee_amount="100.00")

    assert [r.json()["status"] for r in (first, second, for_disaster, a_year_later)] == [
        "applied",
        "pending_approval",
        "applied",
        "applied",
    ]
    approval = client.get(f"/v1/approvals/{second.json()['approval_id']}", headers=bearer(keys["supervisor"]))
    assert approval.json()["why"] == "repeat_within_window"
    assert balances(client, keys) == ("700.00", "500.00")


@pytest.mark.parametrize(
    ("overrides", "body", "expected"),
    [
        pytest.param({"fee_balance": "0.00"}, {"fee_amount": "10.00"}, ["NO_FEES_OUTSTANDING"], id="no_fees"),
        pytest.param(
            {"status": "closed"}, {"fee_amount": "10.00"}, ["ACCOUNT_STATUS_INELIGIBLE"], id="closed"
        ),
        pytest.param(
            {}, {"fee_amount": "10.00", "reason": "bored"}, ["HARDSHIP_REASON_REQUIRED"], id="reason"
        ),
    ],
)
def test_an_ineligible_waiver_is_refused_with_reason_codes(
    db: Database,
    client: TestClient,
    keys: dict[str, str],
    overrides: dict[str, Any],
    body: dict[str, Any],
    expected: list[str],
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", **overrides)

    response = waive(client, keys["agent"], **body)

    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"fee_amount": "200.01"}, id="above_the_fee_balance"),
        pytest.param(
            {"fee_amount": "10.00", "interest_amount": "0.01"}, id="interest_not_waivable_by_policy"
        ),
        pytest.param({"fee_amount": "0.00"}, id="nothing"),
        pytest.param({"fee_amount": "-1.00"}, id="negative"),
        pytest.param({"fee_amount": "1.001"}, id="fraction_of_a_fen"),
    ],
)
def test_amounts_beyond_the_balances_are_refused(
    db: Database, client: TestClient, keys: dict[str, str], body: dict[str, Any]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="200.00")

    response = waive(client, keys["agent"], **body)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert balances(client, keys) == ("200.00", "500.00")


def test_a_supervisor_other_than_the_requester_approves_and_the_waiver_is_applied(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="9000.00")
        other_supervisor = make_key(s, "supervisor", "second-supervisor")
    by_agent = waive(client, keys["agent"], fee_amount="800.00").json()
    by_supervisor = waive(client, keys["supervisor"], fee_amount="6000.00").json()

    agent_tries = client.post(
        f"/v1/approvals/{by_agent['approval_id']}/approve", json={}, headers=bearer(keys["agent"])
    )
    self_approval = client.post(
        f"/v1/approvals/{by_supervisor['approval_id']}/approve", json={}, headers=bearer(keys["supervisor"])
    )
    self_rejection = client.post(
        f"/v1/approvals/{by_supervisor['approval_id']}/reject", json={}, headers=bearer(keys["supervisor"])
    )
    approved_agent = client.post(
        f"/v1/approvals/{by_agent['approval_id']}/approve",
        json={"note": "documents checked"},
        headers=bearer(keys["supervisor"]),
    )
    approved_supervisor = client.post(
        f"/v1/approvals/{by_supervisor['approval_id']}/approve", json={}, headers=bearer(other_supervisor)
    )
    twice = client.post(
        f"/v1/approvals/{by_agent['approval_id']}/approve", json={}, headers=bearer(other_supervisor)
    )

    assert agent_tries.status_code == 403
    assert self_approval.status_code == 403
    assert self_approval.headers["content-type"].startswith("application/problem+json")
    assert self_rejection.status_code == 403
    assert approved_agent.status_code == 200, approved_agent.text
    assert approved_agent.json()["status"] == "approved"
    assert approved_agent.json()["decision_note"] == "documents checked"
    assert approved_supervisor.status_code == 200
    assert twice.status_code == 409
    waivers = client.get("/v1/accounts/A-1/fee-waivers", headers=bearer(keys["auditor"])).json()["items"]
    assert [(w["total_amount"], w["status"], w["approval_status"]) for w in waivers] == [
        ("6000.00", "applied", "approved"),
        ("800.00", "applied", "approved"),
    ]
    assert balances(client, keys) == ("2200.00", "500.00")


def test_a_rejected_waiver_changes_nothing(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="900.00")
    waiver = waive(client, keys["agent"], fee_amount="900.00").json()

    rejected = client.post(
        f"/v1/approvals/{waiver['approval_id']}/reject",
        json={"note": "no proof"},
        headers=bearer(keys["supervisor"]),
    )
    again = client.post(
        f"/v1/approvals/{waiver['approval_id']}/approve", json={}, headers=bearer(keys["supervisor"])
    )

    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert again.status_code == 409
    fetched = client.get(f"/v1/fee-waivers/{waiver['id']}", headers=bearer(keys["agent"])).json()
    assert fetched["status"] == "rejected"
    assert balances(client, keys) == ("900.00", "500.00")


def test_approving_a_waiver_that_no_longer_fits_the_balances_conflicts(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", fee_balance="900.00")
    waiver = waive(client, keys["agent"], fee_amount="900.00").json()
    with unit_of_work(db.engine) as s:
        row = s.get(CardAccount, account.id)
        assert row is not None
        row.fee_balance = money("100.00")

    response = client.post(
        f"/v1/approvals/{waiver['approval_id']}/approve", json={}, headers=bearer(keys["supervisor"])
    )

    assert response.status_code == 409
    assert client.get(f"/v1/approvals/{waiver['approval_id']}", headers=bearer(keys["agent"])).json()[
        "status"
    ] == ("pending")


def test_a_reversal_restores_the_balances(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    waiver = waive(client, keys["agent"], fee_amount="250.00").json()
    assert balances(client, keys) == ("50.00", "500.00")

    by_agent = client.post(f"/v1/fee-waivers/{waiver['id']}/reverse", json={}, headers=bearer(keys["agent"]))
    reversed_ = client.post(
        f"/v1/fee-waivers/{waiver['id']}/reverse",
        json={"note": "posted twice"},
        headers=bearer(keys["supervisor"]),
    )
    twice = client.post(
        f"/v1/fee-waivers/{waiver['id']}/reverse", json={}, headers=bearer(keys["supervisor"])
    )

    assert by_agent.status_code == 403
    assert reversed_.status_code == 200
    assert reversed_.json()["status"] == "reversed"
    assert reversed_.json()["reversed_at"] is not None
    assert twice.status_code == 409
    assert balances(client, keys) == ("300.00", "500.00")


def test_applying_and_reversing_are_audited_with_the_balances_before_and_after(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="300.00")
    waiver = waive(client, keys["agent"], fee_amount="250.00").json()
    client.post(f"/v1/fee-waivers/{waiver['id']}/reverse", json={}, headers=bearer(keys["supervisor"]))

    events = client.get(
        f"/v1/audit-events?entity_type=fee_waiver&entity_id={waiver['id']}", headers=bearer(keys["auditor"])
    ).json()["items"]

    by_action = {e["action"]: e for e in events}
    assert list(by_action) == ["fee_waiver.requested", "fee_waiver.applied", "fee_waiver.reversed"]
    assert by_action["fee_waiver.applied"]["before"]["fee_balance"] == "300.00"
    assert by_action["fee_waiver.applied"]["after"]["fee_balance"] == "50.00"
    assert by_action["fee_waiver.reversed"]["after"]["fee_balance"] == "300.00"


def test_the_approval_queue_is_paged_and_filtered(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        for n in range(3):
            make_account(s, f"A-{n}", fee_balance="1000.00")
    ids = [
        waive(client, keys["agent"], f"A-{n}", fee_amount="600.00").json()["approval_id"] for n in range(3)
    ]
    client.post(f"/v1/approvals/{ids[0]}/reject", json={}, headers=bearer(keys["supervisor"]))

    first = client.get("/v1/approvals?status=pending&limit=1", headers=bearer(keys["auditor"])).json()
    second = client.get(
        f"/v1/approvals?status=pending&limit=1&cursor={first['next_cursor']}", headers=bearer(keys["auditor"])
    ).json()
    everything = client.get("/v1/approvals", headers=bearer(keys["agent"])).json()
    channel = client.get("/v1/approvals", headers=bearer(keys["channel"]))
    bad_cursor = client.get("/v1/approvals?cursor=nonsense", headers=bearer(keys["agent"]))

    assert [a["id"] for a in first["items"]] == [ids[1]]
    assert [a["id"] for a in second["items"]] == [ids[2]]
    assert first["items"][0]["account_ref"] == "A-1"
    assert first["items"][0]["amount"] == "600.00"
    assert first["items"][0]["why"] == "above_authority_limit"
    assert [a["status"] for a in everything["items"]] == ["rejected", "pending", "pending"]
    assert everything["next_cursor"] is None
    assert channel.status_code == 403
    assert bad_cursor.status_code == 422


def test_a_subject_cannot_wait_for_two_approvals_at_once(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", fee_balance="1000.00")
    waiver = waive(client, keys["agent"], fee_amount="600.00").json()

    with pytest.raises(IntegrityError), unit_of_work(db.engine) as s:
        s.add(
            Approval(
                subject_type="fee_waiver",
                subject_id=waiver["id"],
                account_id=account.id,
                status="pending",
                amount=money("600.00"),
                why="above_authority_limit",
                requested_by="key:someone",
                requested_role="agent",
                created_at=clock.utcnow(),
            )
        )
        s.flush()
