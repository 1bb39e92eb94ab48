"""Bad input never stops the service (issue 10): no 500 for huge cursors and ids or digits that are
not ASCII, strict integers in JSON bodies, authentication before the body is read, 415 for a body
that is not JSON, and a client's X-Request-ID only in a safe format."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import unit_of_work
from tests.conftest import Database, bearer
from tests.factories import make_account
from tests.web.helpers import login, make_user

PAGED = [
    ("/v1/approvals", "supervisor"),
    ("/v1/audit-events", "auditor"),
    ("/v1/disasters", "batch_operator"),
    ("/v1/credit-disputes", "auditor"),
]


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path,role", PAGED)
@pytest.mark.parametrize("raw", ["id:" + "9" * 30, "id:99999999999999999999", "id:²", "id:-1", "id:١٢"])
def test_a_hostile_cursor_is_a_422_on_every_paged_endpoint(
    client: TestClient, keys: dict[str, str], path: str, role: str, raw: str
) -> None:
    response = client.get(path, params={"cursor": cursor(raw)}, headers=bearer(keys[role]))
    assert response.status_code == 422, (path, raw, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "value", [True, "12", 12.0, 12.5, None, [12]], ids=["true", "string", "float", "fraction", "null", "list"]
)
def test_integer_fields_are_strict(
    db: Database, client: TestClient, keys: dict[str, str], value: Any
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    response = client.post(
        "/v1/accounts/A-1/installment-plans",
        json={"term_months": value, "reason": "illness"},
        headers=bearer(keys["channel"]),
    )
    assert response.status_code == 422, response.text
    assert any("term_months" in error["field"] for error in response.json()["errors"])
    eligibility = client.post(
        "/v1/accounts/A-1/eligibility",
        json={"term_months": value, "reason": "illness"},
        headers=bearer(keys["agent"]),
    )
    if value is not None:
        assert eligibility.status_code == 422, eligibility.text
        assert any("term_months" in error["field"] for error in eligibility.json()["errors"])


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer hsk_000000000000_nope"}], ids=["none", "bad"]
)
@pytest.mark.parametrize(
    "body", [b"{not json", b'{"term_months": "x"}', b"[]"], ids=["broken", "invalid", "array"]
)
def test_a_malformed_body_without_a_valid_key_is_a_401(
    client: TestClient, headers: dict[str, str], body: bytes
) -> None:
    response = client.post(
        "/v1/accounts/A-1/installment-plans",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 401, response.text


def test_a_malformed_body_from_a_role_without_the_permission_is_a_403(
    client: TestClient, keys: dict[str, str]
) -> None:
    response = client.post(
        "/v1/disasters",
        content=b"{not json",
        headers={**bearer(keys["agent"]), "content-type": "application/json"},
    )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_a_415(
    db: Database, client: TestClient, keys: dict[str, str], content_type: str
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    headers = {**bearer(keys["channel"])}
    if content_type:
        headers["content-type"] = content_type
    response = client.post(
        "/v1/accounts/A-1/installment-plans", content=b"term_months=12&reason=illness", headers=headers
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 415


@pytest.mark.parametrize(
    "path",
    [
        "/agent/plans/99999999999999999999999999",
        "/agent/plans/²",
        "/agent/decisions/99999999999999999999999999",
        "/agent/decisions/²",
        "/agent/scans/99999999999999999999",
        "/agent/approvals?after=99999999999999999999999",
        "/agent/approvals?after=²",
        "/agent/audit?after=99999999999999999999999",
        "/agent/disputes?after=99999999999999999999999",
    ],
)
def test_huge_ids_and_non_ascii_digits_in_ui_paths_are_never_a_500(
    db: Database, client: TestClient, path: str
) -> None:
    make_user(db.engine, "boss", "supervisor")
    login(client, "boss")
    response = client.get(path, follow_redirects=False)
    assert response.status_code in (303, 400, 403, 404, 422), (path, response.status_code)


def test_a_non_ascii_digit_in_a_ui_form_is_a_form_error(db: Database, client: TestClient) -> None:
    from app.web.common import BadForm, parse_int_field

    with pytest.raises(BadForm):
        parse_int_field("²", "term", "en", low=1, high=60)
    with pytest.raises(BadForm):
        parse_int_field("9" * 40, "term", "en", low=1, high=60)
    assert parse_int_field("12", "term", "en", low=1, high=60) == 12


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123_DEF.4", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("evil\u202eid", False),
        ("a b", False),
        ('"}{"actor":"admin', False),
    ],
)
def test_a_client_request_id_is_kept_only_in_a_safe_format(client: TestClient, sent: str, kept: bool) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
    echoed = response.headers["x-request-id"]
    assert (echoed == sent) is kept
    assert len(echoed) <= 64 and all(c.isalnum() or c in "._-" for c in echoed)
