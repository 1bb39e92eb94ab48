"""The HTTP foundation: health and metrics, problem+json for every error, the request id, the body
size limit, and the card system's single-account upsert (PUT /v1/accounts/{account_ref})."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import unit_of_work
from app.main import create_app
from app.persistence.models import AuditEvent
from app.settings import Settings
from tests.conftest import Database, bearer

PROBLEM = "application/problem+json"
ACCOUNT = {
    "customer_ref": "C1",
    "product_code": "STD_GOLD",
    "status": "delinquent",
    "region_code": "622927",
    "opened_on": "2020-01-15",
    "credit_limit": "50000",
    "principal_balance": "1234.5",
    "interest_balance": "10.00",
    "fee_balance": "0",
    "delinquent_since": "2025-06-01",
}
STATEMENT = {
    "statement_date": "2025-07-08",
    "due_date": "2025-07-28",
    "statement_balance": "1300.00",
    "minimum_due": "130.00",
    "paid_amount": "0",
}


def assert_problem(response: object, status: int) -> dict:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


# --- health and metrics -------------------------------------------------------------------------------


def test_healthz_answers_200_without_a_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    unreachable = Settings(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db", environment="test")
    with TestClient(create_app(unreachable), raise_server_exceptions=False) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_metrics_count_requests_by_route_template(client: TestClient, keys: dict[str, str]) -> None:
    client.get("/v1/accounts/NOPE", headers=bearer(keys["agent"]))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "hardship_http_requests_total" in text and "hardship_http_request_seconds_bucket" in text
    assert 'route="/v1/accounts/{account_ref}"' in text and 'status="404"' in text
    assert "NOPE" not in text  # templates, not raw paths: bounded label values


# --- problem+json --------------------------------------------------------------------------------------


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/no-such-thing"), 404)
    assert body["instance"] == "/v1/no-such-thing"


def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    assert_problem(client.delete("/healthz"), 405)


def test_unknown_account_is_a_404_problem(client: TestClient, keys: dict[str, str]) -> None:
    body = assert_problem(client.get("/v1/accounts/NOPE", headers=bearer(keys["agent"])), 404)
    assert "NOPE" in body["detail"]


def test_validation_errors_name_each_bad_field(client: TestClient, keys: dict[str, str]) -> None:
    bad = {**ACCOUNT, "region_code": "62292", "credit_limit": 12.5, "principal_balance": "1.234", "extra": 1}
    del bad["status"]
    response = client.put("/v1/accounts/A1", json=bad, headers=bearer(keys["admin"]))
    body = assert_problem(response, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {
        "body.region_code",
        "body.credit_limit",
        "body.principal_balance",
        "body.status",
        "body.extra",
    }
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b"", '{"customer_ref": "\u00e9"}'.encode("latin-1")],
    ids=["malformed", "array", "empty", "latin-1"],
)
def test_a_body_that_is_not_the_json_object_asked_for_is_a_4xx_problem(
    client: TestClient, keys: dict[str, str], content: bytes
) -> None:
    response = client.put(
        "/v1/accounts/A1",
        content=content,
        headers={**bearer(keys["admin"]), "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


def test_statement_rules_are_checked_in_the_api_too(client: TestClient, keys: dict[str, str]) -> None:
    statement = {**STATEMENT, "due_date": "2025-07-01", "minimum_due": "2000"}
    body = assert_problem(
        client.put(
            "/v1/accounts/A1", json={**ACCOUNT, "statements": [statement]}, headers=bearer(keys["admin"])
        ),
        422,
    )
    assert body["errors"][0]["field"].startswith("body.statements.0")


# --- request id and body size ------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first and second and first != second


def test_a_safe_incoming_request_id_is_kept_and_reported_in_problems(client: TestClient) -> None:
    response = client.get("/v1/no-such-thing", headers={"X-Request-ID": "trace-123.abc"})
    assert response.headers["x-request-id"] == "trace-123.abc"
    assert response.json()["request_id"] == "trace-123.abc"


@pytest.mark.parametrize("incoming", ["has space", "x" * 65, "semi;colon", "<script>"])
def test_an_unsafe_incoming_request_id_is_replaced(client: TestClient, incoming: str) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": incoming}).headers["x-request-id"] != incoming


def test_a_body_over_the_limit_is_refused_with_413(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    limit = db.settings.max_body_bytes
    padding = "x" * (limit + 1)
    response = client.put(
        "/v1/accounts/A1", json={**ACCOUNT, "customer_ref": padding}, headers=bearer(keys["admin"])
    )
    body = assert_problem(response, 413)
    assert body["request_id"] == response.headers["x-request-id"]


def test_a_streamed_body_over_the_limit_is_refused_with_413(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    chunk = b"x" * 65536

    def stream() -> Iterator[bytes]:
        for _ in range(db.settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = client.put(
        "/v1/accounts/A1",
        content=stream(),
        headers={**bearer(keys["admin"]), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_a_body_under_the_limit_is_read(client: TestClient, keys: dict[str, str]) -> None:
    response = client.put(
        "/v1/accounts/A1", json={**ACCOUNT, "customer_ref": "C" * 64}, headers=bearer(keys["admin"])
    )
    assert response.status_code == 201


# --- PUT /v1/accounts/{account_ref} ----------------------------------------------------------------------


def test_put_creates_then_replaces_an_account(db: Database, client: TestClient, keys: dict[str, str]) -> None:
    admin = {**bearer(keys["admin"]), "X-Request-ID": "put-1"}
    created = client.put("/v1/accounts/A1", json={**ACCOUNT, "statements": [STATEMENT]}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["account_ref"], body["credit_limit"], body["principal_balance"], body["fee_balance"]) == (
        "A1",
        "50000.00",
        "1234.50",
        "0.00",
    )
    assert body["total_balance"] == "1244.50"
    assert [s["statement_date"] for s in body["statements"]] == ["2025-07-08"]
    assert body["statements"][0]["unpaid_amount"] == "1300.00"
    assert body["arrangements"] == {
        "installment_plans": [],
        "fee_waivers": [],
        "deferrals": [],
        "credit_disputes": [],
    }

    paid = {**STATEMENT, "paid_amount": "1300.00"}
    second = {**ACCOUNT, "status": "active", "delinquent_since": None, "statements": [paid]}
    replaced = client.put("/v1/accounts/A1", json=second, headers={**admin, "X-Request-ID": "put-2"})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["status"], replaced.json()["delinquent_since"]) == ("active", None)
    assert replaced.json()["statements"][0]["unpaid_amount"] == "0.00"

    read = client.get("/v1/accounts/A1", headers=bearer(keys["channel"]))
    assert read.status_code == 200 and read.json() == replaced.json()

    with unit_of_work(db.engine) as s:
        upserts = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == "account.upserted").order_by(AuditEvent.id)
            )
        )
    assert [(e.entity_id, e.request_id, e.actor_role) for e in upserts] == [
        ("A1", "put-1", "admin"),
        ("A1", "put-2", "admin"),
    ]
    assert upserts[0].before is None
    assert upserts[1].before["status"] == "delinquent" and upserts[1].after["status"] == "active"
    assert upserts[1].after["principal_balance"] == "1234.50"


def test_put_without_statements_keeps_the_existing_ones(client: TestClient, keys: dict[str, str]) -> None:
    admin = bearer(keys["admin"])
    client.put("/v1/accounts/A1", json={**ACCOUNT, "statements": [STATEMENT]}, headers=admin)
    response = client.put("/v1/accounts/A1", json={**ACCOUNT, "fee_balance": "5"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["fee_balance"] == "5.00" and len(response.json()["statements"]) == 1


def test_put_refuses_an_over_long_account_ref(client: TestClient, keys: dict[str, str]) -> None:
    assert_problem(client.put("/v1/accounts/" + "A" * 65, json=ACCOUNT, headers=bearer(keys["admin"])), 422)
