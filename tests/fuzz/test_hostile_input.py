"""Hostile input: each gets a clear 4xx problem (never a 5xx) and changes nothing in the database.

Where it can, a test walks the OpenAPI document, so every endpoint with a JSON body or a money field
is covered as it is mounted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from app.persistence.models import Base
from app.schemas.common import MONEY_PATTERN
from tests.conftest import Database
from tests.faults.live import live_server
from tests.fuzz.apimap import find, operations
from tests.fuzz.scenario import account_body, bearer

PROBLEM_JSON = "application/problem+json"
ACCOUNT = "/v1/accounts/HOSTILE-1"


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def unchanged(db: Database) -> Iterator[None]:
    """Fails the test when any table gained or lost a row (the API keys are made before)."""
    before = table_counts(db.engine)
    yield
    after = table_counts(db.engine)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"hostile input changed the database: {changed}"


def assert_problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["title"] and problem["detail"] and problem["type"]
    return problem


def concrete_path(template: str) -> str:
    """The template with the hostile account and 1 for every other path parameter."""
    return re.sub(r"{[^}]+}", "1", template.replace("{account_ref}", "HOSTILE-1"))


def json_body_operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, request body JSON schema) of every operation that takes a JSON body."""
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"].get("schema", {})
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            found.append((method.upper(), path, schema))
    return found


def role_headers(app: FastAPI, keys: dict[str, str], method: str, template: str) -> dict[str, str]:
    """The key of a role allowed to call the operation (none for an unauthenticated one)."""
    op = find(app, method, template)
    return bearer(keys[op.role.value]) if op is not None and op.role is not None else {}


# --- size ------------------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_with_413(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], unchanged: None
) -> None:
    limit = db.settings.max_body_bytes
    big = b'{"customer_ref": "' + b"x" * (limit + 10) + b'"}'
    headers = {**bearer(keys["admin"]), "content-type": "application/json"}
    assert_problem(client.put(ACCOUNT, content=big, headers=headers), 413)
    for method, template, _ in json_body_operations(app):
        hdrs = {**role_headers(app, keys, method, template), "content-type": "application/json"}
        path = concrete_path(template)
        assert_problem(client.request(method, path, content=big, headers=hdrs), 413)
        if method == "POST":
            hdrs["Idempotency-Key"] = f"big-{path}"
            assert_problem(client.request(method, path, content=big, headers=hdrs), 413)


def test_an_oversized_streamed_body_without_length_is_refused_with_413(
    db: Database, client: TestClient, keys: dict[str, str], unchanged: None
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(db.settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    headers = {**bearer(keys["admin"]), "content-type": "application/json"}
    assert_problem(client.put(ACCOUNT, content=chunks(), headers=headers), 413)
    headers["Idempotency-Key"] = "streamed-big"
    assert_problem(client.post("/v1/disasters", content=chunks(), headers=headers), 413)


@pytest.mark.parametrize(
    ("header", "statuses"),
    [
        pytest.param("authorization", (401,), id="authorization"),
        pytest.param("idempotency-key", (422,), id="idempotency_key"),
        pytest.param("x-request-id", (201,), id="request_id"),
        pytest.param("accept-language", (201,), id="accept_language"),
        pytest.param("x-anything", (201,), id="unknown_header"),
    ],
)
def test_a_huge_header_value_is_handled(
    app: FastAPI, client: TestClient, keys: dict[str, str], header: str, statuses: tuple[int, ...]
) -> None:
    """On a creating POST (the Idempotency-Key is read there); the key itself is never echoed."""
    if find(app, "POST", "/v1/disasters") is None:
        pytest.skip("POST /v1/disasters is not mounted yet")
    huge = "A" * 200_000
    headers = {"authorization": f"Bearer {keys['supervisor']}", header: huge}
    if header == "authorization":
        headers[header] = f"Bearer hsk_{huge}_{huge}"
    today = _today().isoformat()
    body = {
        "code": f"HUGE-{header}",
        "name": "Flood",
        "kind": "flood",
        "occurred_on": today,
        "relief_start": today,
        "relief_end": today,
        "deferral_months": 1,
        "region_codes": ["622927"],
    }
    response = client.post("/v1/disasters", json=body, headers=headers)
    assert response.status_code in statuses, response.text[:300]
    if response.status_code >= 400:
        assert_problem(response, *statuses)
    assert huge not in response.headers.get("x-request-id", "")
    assert huge not in response.text


@pytest.mark.slow
def test_a_real_server_survives_huge_headers_and_keeps_serving(db: Database, app: FastAPI) -> None:
    """uvicorn with httptools does not cap header size (h11 does, at 16 KiB): the app must cope."""
    with live_server(app) as base_url:
        for size in (100_000, 1_000_000):
            response = httpx.get(f"{base_url}/v1/accounts/X", headers={"x-huge": "A" * size}, timeout=10)
            assert response.status_code < 500
        assert httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200


# --- JSON that is hard to parse ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested_arrays"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="nested_objects"),
        pytest.param(b'{"term_months": 1' + b"0" * 5000 + b"}", id="integer_with_5000_digits"),
        pytest.param(b'{"term_months": 1e400}', id="float_overflow"),
        pytest.param(b'{"term_months": NaN}', id="nan"),
        pytest.param(b'{"reason": "\xff\xfe\xfd"}', id="invalid_utf8"),
        pytest.param(b'{"reason": "\\ud800"}', id="lone_surrogate"),
        pytest.param(b'{"reason": "a\\u0000b"}', id="nul_character"),
        pytest.param(b"\xef\xbb\xbf{}", id="byte_order_mark"),
        pytest.param(b'{"reason": "x", "reason": "y"}', id="duplicate_keys"),
        pytest.param(b"", id="empty"),
        pytest.param(b"null", id="null"),
        pytest.param(b'"just a string"', id="string"),
        pytest.param(b"{", id="truncated"),
    ],
)
def test_bodies_that_are_hard_to_parse_get_a_4xx_everywhere(
    app: FastAPI, client: TestClient, keys: dict[str, str], body: bytes, unchanged: None
) -> None:
    for method, template, _ in json_body_operations(app):
        headers = {**role_headers(app, keys, method, template), "content-type": "application/json"}
        path = concrete_path(template)
        response = client.request(method, path, content=body, headers=headers)
        assert 400 <= response.status_code < 500, (
            f"{method} {path}: {response.status_code} {response.text[:300]}"
        )
        if method == "POST":
            headers["Idempotency-Key"] = f"hard-{method}-{path}"
            again = client.request(method, path, content=body, headers=headers)
            assert 400 <= again.status_code < 500, (
                f"{method} {path} (idempotent): {again.status_code} {again.text[:300]}"
            )


# --- money -----------------------------------------------------------------------------------------

BAD_MONEY: list[Any] = [
    "-1.00",
    "1.005",
    "0.001",
    1234.5,
    0.1,
    "1e3",
    "NaN",
    "Infinity",
    " 12.00",
    "12.00 ",
    "1,000.00",
    "１２３.００",
    "",
    "9" * 16,
    "99999999999999999999.99",
    10**20,
    True,
    None,
    [],
    {},
]


def money_fields(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    fields = []
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        for option in options:
            if "$ref" in option:
                option = components.get(option["$ref"].rsplit("/", 1)[1], {})
            if option.get("pattern") == MONEY_PATTERN:
                fields.append(name)
    return fields


def test_every_money_field_refuses_floats_negatives_and_a_third_decimal(
    app: FastAPI, client: TestClient, keys: dict[str, str], unchanged: None
) -> None:
    components = app.openapi().get("components", {}).get("schemas", {})
    checked = 0
    for method, template, schema in json_body_operations(app):
        path = concrete_path(template)
        for field in money_fields(schema, components):
            headers = role_headers(app, keys, method, template)
            for value in BAD_MONEY:
                if value is None and field not in schema.get("required", []):
                    continue  # null means "not given" for an optional amount
                response = client.request(method, path, json={field: value}, headers=headers)
                problem = assert_problem(response, 422)
                named = {e["field"] for e in problem.get("errors") or []}
                assert f"body.{field}" in named, f"{method} {path} {field}={value!r}: {problem}"
                checked += 1
    assert checked >= len(BAD_MONEY), "no money fields found in the OpenAPI document"


def test_a_full_account_with_bad_money_is_refused_and_nothing_is_written(
    client: TestClient, keys: dict[str, str], unchanged: None
) -> None:
    for field in ("credit_limit", "principal_balance", "interest_balance", "fee_balance"):
        for value in ("-0.01", "1.005", 1000.5, "1e2"):
            body = {**account_body(customer_ref="C-H", today=_today()), field: value}
            problem = assert_problem(client.put(ACCOUNT, json=body, headers=bearer(keys["admin"])), 422)
            assert f"body.{field}" in {e["field"] for e in problem["errors"]}


# --- text that is not what it seems --------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("%00", id="nul"),
        pytest.param("%ED%A0%80", id="encoded_lone_surrogate"),
        pytest.param("%FF%FE", id="invalid_utf8"),
        pytest.param("..%2F..%2Fetc%2Fpasswd", id="encoded_traversal"),
        pytest.param("A" * 65, id="too_long"),
        pytest.param("%E2%80%AE1-A", id="bidi_override"),
        pytest.param("a%0Ab", id="newline"),
    ],
)
def test_odd_account_refs_in_the_path_get_a_4xx(
    app: FastAPI, client: TestClient, keys: dict[str, str], ref: str, unchanged: None
) -> None:
    for op in operations(app):
        if "{account_ref}" not in op.path or op.role is None:
            continue
        path = op.path.replace("{account_ref}", ref)
        path = path.replace("{", "").replace("}", "")
        body: Any = None
        if op.method == "PUT":
            body = account_body(customer_ref="C-H", today=_today())
        elif op.method in {"POST", "PATCH"}:
            body = {}
        response = client.request(op.method, path, json=body, headers=bearer(keys[op.role.value]))
        assert 400 <= response.status_code < 500, (
            f"{op.label} {ref}: {response.status_code} {response.text[:300]}"
        )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a\x00b", id="nul"),
        pytest.param("\ud800", id="lone_surrogate"),
        pytest.param("x" * 10_000, id="very_long"),
        pytest.param('=HYPERLINK("http://evil","x")', id="formula"),
    ],
)
def test_odd_text_in_every_string_query_parameter_gets_no_5xx(
    app: FastAPI, client: TestClient, keys: dict[str, str], value: str, unchanged: None
) -> None:
    document = app.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "get" or "{" in path:
                continue
            params = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            if not params:
                continue
            op = find(app, "GET", path)
            headers = bearer(keys[op.role.value]) if op is not None and op.role is not None else {}
            for param in params:
                url = httpx.URL(path, params={param["name"]: value.encode("utf-8", "surrogatepass")})
                response = client.get(str(url), headers=headers)
                assert response.status_code < 500, f"GET {path}?{param['name']}: {response.text[:300]}"


def test_a_customer_ref_with_a_nul_or_control_character_is_refused(
    client: TestClient, keys: dict[str, str], unchanged: None
) -> None:
    for bad in ("a\x00b", "a\x1bb", "a\nb"):
        body = {**account_body(customer_ref=bad, today=_today())}
        response = client.put(
            ACCOUNT,
            content=json.dumps(body),
            headers={**bearer(keys["admin"]), "content-type": "application/json"},
        )
        assert_problem(response, 422)


def _today() -> Any:
    """The business date when nothing is pinned (the tests pin none here)."""
    from app.domain.dates import business_date
    from app.services import clock
    from app.settings import get_settings

    return business_date(clock.utcnow(), get_settings().business_zone)
