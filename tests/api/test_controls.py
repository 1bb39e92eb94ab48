"""Controls a bank's review tests first (issue 10): one person per credential for maker-checker,
waiver authority that cannot be split or talked around, and no one-installment exception."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import unit_of_work
from app.domain.access import Role
from app.persistence.models import Approval, AuditEvent, FeeWaiver
from app.services import auth, waivers
from app.services.policies import PolicyStore
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account, make_deferral, make_disaster_event, make_statement

TODAY = date(2025, 3, 10)
PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def waive(client: TestClient, token: str, ref: str = "A-1", **body: Any) -> Any:
    body.setdefault("reason", "illness")
    return client.post(f"/v1/accounts/{ref}/fee-waivers", json=body, headers=bearer(token))


def decide(client: TestClient, token: str, approval_id: int, verb: str = "approve") -> Any:
    return client.post(f"/v1/approvals/{approval_id}/{verb}", json={}, headers=bearer(token))


def user(db: Database, username: str, role: str) -> int:
    with unit_of_work(db.engine) as s:
        return auth.create_user(s, username=username, role=role, password=PASSWORD).id


def key(db: Database, role: str, name: str, username: str | None = None) -> str:
    with unit_of_work(db.engine) as s:
        return auth.create_api_key(s, name=name, role=role, username=username).token


def pending_approval(client: TestClient, token: str, amount: str = "5000.01") -> int:
    response = waive(client, token, fee_amount=amount)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending_approval"
    approval_id: int = response.json()["approval_id"]
    return approval_id


@pytest.fixture
def account(db: Database) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="9000.00")


# --- maker-checker compares persons, never names ---------------------------------------------------


@pytest.mark.usefixtures("account")
def test_a_key_issued_to_a_user_cannot_approve_what_the_same_user_asked_for_in_the_ui(
    db: Database, client: TestClient, app: Any
) -> None:
    uid = user(db, "wang", "supervisor")
    with unit_of_work(db.engine) as s:
        principal = auth.load_user_principal(s, uid)
        assert principal is not None and principal.person == f"user:{uid}"
        waiver = waivers.request_waiver(
            s,
            account_ref="A-1",
            fee_amount=Decimal("5000.01"),
            interest_amount=Decimal("0.00"),
            hardship_reason="illness",
            note=None,
            actor=principal,
            policies=app.state.policies,
            lang="en",
        )
        approval_id = s.scalar(select(Approval.id).where(Approval.subject_id == waiver.id))
    assert approval_id is not None
    own_key = key(db, "supervisor", "wang's script", username="wang")

    refused = decide(client, own_key, approval_id)

    assert refused.status_code == 403, refused.text
    assert decide(client, key(db, "supervisor", "someone else"), approval_id).status_code == 200


@pytest.mark.usefixtures("account")
def test_a_key_named_supervisor_issued_to_that_user_and_the_ui_user_supervisor_are_one_person(
    db: Database, client: TestClient
) -> None:
    uid = user(db, "supervisor", "supervisor")
    approval_id = pending_approval(client, key(db, "supervisor", "supervisor", username="supervisor"))
    with unit_of_work(db.engine) as s:
        ui_principal = auth.load_user_principal(s, uid)
        approval = s.get(Approval, approval_id)
        assert approval is not None and ui_principal is not None
        assert approval.requested_person == ui_principal.person == f"user:{uid}"
    # ...and through a second key of the same user.
    assert (
        decide(client, key(db, "supervisor", "Supervisor", username="supervisor"), approval_id).status_code
        == 403
    )


@pytest.mark.usefixtures("account")
def test_keys_alice_and_Alice_issued_to_one_user_cannot_approve_each_other(
    db: Database, client: TestClient
) -> None:
    user(db, "alice", "supervisor")
    approval_id = pending_approval(client, key(db, "supervisor", "alice", username="alice"))
    assert decide(client, key(db, "supervisor", "Alice", username="alice"), approval_id).status_code == 403
    assert (
        decide(client, key(db, "supervisor", "Alice", username="alice"), approval_id, "reject").status_code
        == 403
    )


@pytest.mark.usefixtures("account")
def test_two_keys_of_nobody_with_the_same_name_are_two_persons(db: Database, client: TestClient) -> None:
    """Names are not persons: a key issued to nobody is a person of its own (its key id)."""
    approval_id = pending_approval(client, key(db, "supervisor", "bob"))
    approved = decide(client, key(db, "supervisor", "bob"), approval_id)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["requested_person"].startswith("key:") and body["decided_person"].startswith("key:")
    assert body["requested_person"] != body["decided_person"]
    assert body["requested_by"] == body["decided_by"] == "key:bob"  # the answer's old fields unchanged


@pytest.mark.usefixtures("account")
def test_every_action_records_its_person(db: Database, client: TestClient) -> None:
    uid = user(db, "li", "agent")
    token = key(db, "agent", "li's desk", username="li")
    response = waive(client, token, fee_amount="10.00")
    assert response.status_code == 201
    with unit_of_work(db.engine) as s:
        waiver = s.get(FeeWaiver, response.json()["id"])
        assert waiver is not None and waiver.requested_person == f"user:{uid}"
        persons = s.scalars(
            select(AuditEvent.person).where(
                AuditEvent.entity_type == "fee_waiver", AuditEvent.entity_id == str(waiver.id)
            )
        ).all()
    assert persons and set(persons) == {f"user:{uid}"}


def test_a_key_issued_to_a_disabled_user_stops_working(db: Database, client: TestClient) -> None:
    user(db, "gone", "agent")
    token = key(db, "agent", "gone's key", username="gone")
    assert client.get("/v1/business-date", headers=bearer(token)).status_code == 200
    with unit_of_work(db.engine) as s:
        auth.disable_user(s, username="gone")
    assert client.get("/v1/business-date", headers=bearer(token)).status_code == 401


# --- waiver authority: per person and account over the window; disaster only where one covers -------


def test_splitting_a_waiver_does_not_get_past_the_agents_authority(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    """Under a covering disaster (so the 365-day rule does not stop the second part), four 500.00
    parts of a 2,000.00 waiver: only the first applies without a checker."""
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="3000.00")
        make_disaster_event(s, region_codes=("622900",))
    statuses = [waive(client, keys["agent"], fee_amount="500.00", reason="disaster").json() for _ in range(4)]
    assert [w["status"] for w in statuses] == ["applied"] + ["pending_approval"] * 3
    approval = client.get(f"/v1/approvals/{statuses[1]['approval_id']}", headers=bearer(keys["supervisor"]))
    assert approval.json()["why"] == "above_authority_limit"


def test_the_authority_window_sums_one_persons_waivers_on_one_account(
    db: Database, client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", fee_balance="3000.00")
        make_account(s, "A-2", fee_balance="3000.00")
        make_disaster_event(s, region_codes=("622900",))
    agent = keys["agent"]
    other_agent = key(db, "agent", "second agent")

    def status(token: str, amount: str, ref: str = "A-1") -> str:
        response = waive(client, token, ref, fee_amount=amount, reason="disaster")
        assert response.status_code == 201, response.text
        result: str = response.json()["status"]
        return result

    assert status(agent, "300.00") == "applied"
    assert status(agent, "200.00") == "applied"  # 500.00 in the window: the limit exactly
    assert status(agent, "0.01") == "pending_approval"
    assert status(other_agent, "100.00") == "applied"  # another person's authority
    assert status(agent, "100.00", "A-2") == "applied"  # another account
    freeze_today(monkeypatch, TODAY + timedelta(days=30))  # the first waivers leave the 30-day window
    assert status(agent, "500.00") == "applied"


def test_the_word_disaster_alone_does_not_skip_the_second_waiver_approval(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    """Four 60.00 waivers in a row on an account no disaster covers: only the first applies."""
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", region_code="110101", fee_balance="1000.00")
        make_disaster_event(s, region_codes=("622900",))  # covers Linxia, not Beijing
    results = [waive(client, keys["agent"], fee_amount="60.00", reason="disaster").json() for _ in range(4)]
    assert [w["status"] for w in results] == ["applied"] + ["pending_approval"] * 3
    approval = client.get(f"/v1/approvals/{results[1]['approval_id']}", headers=bearer(keys["supervisor"]))
    assert approval.json()["why"] == "repeat_within_window"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        pytest.param("covering_event", "applied", id="open_event_covers_the_region_today"),
        pytest.param("deferral", "applied", id="the_account_has_a_deferral"),
        pytest.param("window_over", "pending_approval", id="relief_window_already_over"),
        pytest.param("closed_event", "pending_approval", id="event_closed"),
    ],
)
def test_the_disaster_exemption_needs_a_disaster_that_covers_the_account(
    db: Database, client: TestClient, keys: dict[str, str], setup: str, expected: str
) -> None:
    with unit_of_work(db.engine) as s:
        account = make_account(s, "A-1", fee_balance="1000.00")
        make_statement(s, account)
        if setup == "covering_event":
            make_disaster_event(s)
        elif setup == "deferral":
            event = make_disaster_event(s, status="closed")
            make_deferral(s, account, event)
        elif setup == "window_over":
            make_disaster_event(
                s,
                occurred_on=TODAY - timedelta(days=60),
                relief_start=TODAY - timedelta(days=59),
                relief_end=TODAY - timedelta(days=1),
            )
        else:
            make_disaster_event(s, status="closed")
    assert waive(client, keys["agent"], fee_amount="60.00", reason="disaster").json()["status"] == "applied"
    second = waive(client, keys["agent"], fee_amount="60.00", reason="disaster")
    assert second.json()["status"] == expected


# --- no one-installment exception below the minimum ------------------------------------------------


def test_a_principal_below_the_minimum_installment_gets_no_plan_at_all(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1", principal_balance="99.99", interest_balance="0.00", fee_balance="960.00")
    response = client.post(
        "/v1/accounts/A-1/installment-plans",
        json={"term_months": 1, "reason": "illness"},
        headers=bearer(keys["channel"]),
    )
    assert response.status_code == 422, response.text
    assert [r["code"] for r in response.json()["reasons"]] == ["TERM_NOT_ALLOWED"]


def test_the_ui_waiver_limit_is_the_domain_rule() -> None:
    from app.domain.waivers import authority_limit
    from app.web.routes.accounts import _waiver_limit

    policy = PolicyStore.load().in_force(TODAY)
    for role in Role:
        assert _waiver_limit(role.value, policy) == authority_limit(role.value, policy)
