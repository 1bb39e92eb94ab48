"""Concurrent writers on one account: many requests in flight at once, through a real server, leave
exactly the records the rules allow.  Races are settled by row locks and unique constraints in the
database (ARCHITECTURE.md), so no interleaving may produce a second active plan, a second waiver
without approval within the window, a waiver beyond the fee balance, or two decisions on one
approval.  Mainly for PostgreSQL; SQLite serialises writers and must give the same answers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.db import unit_of_work
from app.main import create_app
from app.persistence.models import Approval, CardAccount, FeeWaiver, InstallmentPlan
from tests.conftest import Database
from tests.factories import business_today
from tests.faults.live import live_server
from tests.fuzz.apimap import has_route
from tests.fuzz.scenario import account_body, bearer

pytestmark = pytest.mark.slow
WRITERS = 12


@pytest.fixture
def served(db: Database) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(db.settings)
    with live_server(app) as base_url:
        yield app, base_url


def require_routes(app: FastAPI, *routes: tuple[str, str]) -> None:
    for method, template in routes:
        if not has_route(app, method, template):
            pytest.skip(f"{method} {template} is not mounted yet")


def all_at_once(count: int, request: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """`count` requests released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(count)

    def one(n: int) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            barrier.wait(timeout=10)
            return request(client, n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def make_account(base_url: str, keys: dict[str, str], ref: str, **overrides: Any) -> None:
    body = {**account_body(customer_ref=f"C-{ref}", today=business_today()), **overrides}
    response = httpx.put(f"{base_url}/v1/accounts/{ref}", json=body, headers=bearer(keys["admin"]))
    assert response.status_code == 201, response.text


def account_row(db: Database, ref: str) -> CardAccount:
    with unit_of_work(db.engine) as s:
        row = s.scalar(select(CardAccount).where(CardAccount.account_ref == ref))
        assert row is not None
        return row


def test_parallel_plan_requests_create_exactly_one_active_plan(
    db: Database, served: tuple[FastAPI, str], keys: dict[str, str]
) -> None:
    app, base_url = served
    require_routes(app, ("POST", "/v1/accounts/{account_ref}/installment-plans"))
    make_account(base_url, keys, "RACE-P")

    responses = all_at_once(
        WRITERS,
        lambda client, n: client.post(
            f"{base_url}/v1/accounts/RACE-P/installment-plans",
            json={"term_months": 6 + n, "reason": "illness", "commitment_accepted": True},
            headers={**bearer(keys["agent"]), "Idempotency-Key": f"race-plan-{n}"},
        ),
    )

    seen = statuses(responses)
    assert all(code < 500 for code in seen), {r.status_code: r.text for r in responses}
    assert seen[201] == 1, seen
    assert set(seen) <= {201, 409, 422}, seen
    for refused in (r for r in responses if r.status_code == 422):
        assert "PLAN_ALREADY_ACTIVE" in {x["code"] for x in refused.json().get("reasons", [])}, refused.text
    with unit_of_work(db.engine) as s:
        plans = list(s.scalars(select(InstallmentPlan)))
    assert [p.status for p in plans] == ["active"]


def test_parallel_small_waivers_grant_one_and_queue_the_rest_for_approval(
    db: Database, served: tuple[FastAPI, str], keys: dict[str, str]
) -> None:
    """A second waiver within 365 days (not for a disaster) waits for a supervisor (DOMAIN.md)."""
    app, base_url = served
    require_routes(app, ("POST", "/v1/accounts/{account_ref}/fee-waivers"))
    make_account(base_url, keys, "RACE-W", fee_balance="5000.00")

    responses = all_at_once(
        WRITERS,
        lambda client, n: client.post(
            f"{base_url}/v1/accounts/RACE-W/fee-waivers",
            json={"fee_amount": "100.00", "interest_amount": "0.00", "reason": "illness"},
            headers=bearer(keys["agent"]),
        ),
    )

    seen = statuses(responses)
    assert all(code < 500 for code in seen), {r.status_code: r.text for r in responses}
    assert seen[201] == WRITERS, seen
    outcome = Counter(r.json()["status"] for r in responses)
    assert outcome == {"applied": 1, "pending_approval": WRITERS - 1}, outcome
    assert account_row(db, "RACE-W").fee_balance == Decimal("4900.00")


def test_parallel_disaster_waivers_never_waive_more_than_the_fee_balance(
    db: Database, served: tuple[FastAPI, str], keys: dict[str, str]
) -> None:
    app, base_url = served
    require_routes(app, ("POST", "/v1/accounts/{account_ref}/fee-waivers"))
    make_account(base_url, keys, "RACE-D", fee_balance="800.00")

    responses = all_at_once(
        WRITERS,
        lambda client, n: client.post(
            f"{base_url}/v1/accounts/RACE-D/fee-waivers",
            json={"fee_amount": "100.00", "interest_amount": "0.00", "reason": "disaster"},
            headers=bearer(keys["supervisor"]),
        ),
    )

    seen = statuses(responses)
    assert all(code < 500 for code in seen), {r.status_code: r.text for r in responses}
    with unit_of_work(db.engine) as s:
        waivers = list(s.scalars(select(FeeWaiver)))
    applied = [w for w in waivers if w.status == "applied"]
    fee_balance = account_row(db, "RACE-D").fee_balance
    assert fee_balance >= 0
    assert fee_balance == Decimal("800.00") - sum((w.fee_amount for w in applied), Decimal("0"))
    assert len(applied) <= 8
    assert seen[201] == len(waivers)


def test_parallel_decisions_on_one_approval_decide_it_once(
    db: Database, served: tuple[FastAPI, str], keys: dict[str, str]
) -> None:
    app, base_url = served
    require_routes(
        app,
        ("POST", "/v1/accounts/{account_ref}/fee-waivers"),
        ("POST", "/v1/approvals/{approval_id}/approve"),
        ("POST", "/v1/approvals/{approval_id}/reject"),
    )
    make_account(base_url, keys, "RACE-A", fee_balance="3000.00")
    request = httpx.post(
        f"{base_url}/v1/accounts/RACE-A/fee-waivers",
        json={"fee_amount": "2000.00", "interest_amount": "0.00", "reason": "illness"},
        headers=bearer(keys["agent"]),
    )
    assert request.status_code == 201, request.text
    approval_id = request.json()["approval_id"]
    assert approval_id is not None

    responses = all_at_once(
        WRITERS,
        lambda client, n: client.post(
            f"{base_url}/v1/approvals/{approval_id}/{'approve' if n % 2 == 0 else 'reject'}",
            json={"note": f"decision {n}"},
            headers=bearer(keys["supervisor"]),
        ),
    )

    seen = statuses(responses)
    assert all(code < 500 for code in seen), {r.status_code: r.text for r in responses}
    assert seen[200] == 1, seen
    assert seen[409] == WRITERS - 1, seen
    with unit_of_work(db.engine) as s:
        approval = s.get(Approval, approval_id)
        assert approval is not None
        decided = approval.status
    balance = account_row(db, "RACE-A").fee_balance
    assert balance == (Decimal("1000.00") if decided == "approved" else Decimal("3000.00"))


def test_parallel_declarations_of_one_disaster_code_create_it_once(
    db: Database, served: tuple[FastAPI, str], keys: dict[str, str]
) -> None:
    app, base_url = served
    require_routes(app, ("POST", "/v1/disasters"))
    today = business_today()
    body = {
        "code": "RACE-QUAKE",
        "name": "Earthquake",
        "kind": "earthquake",
        "occurred_on": today.isoformat(),
        "relief_start": today.isoformat(),
        "relief_end": today.isoformat(),
        "deferral_months": 1,
        "region_codes": ["622927"],
    }

    responses = all_at_once(
        WRITERS,
        lambda client, n: client.post(
            f"{base_url}/v1/disasters", json=body, headers=bearer(keys["supervisor"])
        ),
    )

    seen = statuses(responses)
    assert seen == {201: 1, 409: WRITERS - 1}, {r.status_code: r.text[:200] for r in responses}
