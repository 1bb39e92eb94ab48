"""The committed OpenAPI document is the app's, and every operation follows the house rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.openapi_export import render

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
METHODS = {"get", "put", "post", "patch", "delete"}
DOCUMENT: dict[str, Any] = json.loads(render())
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
IDS = [f"{method} {path}" for method, path, _ in OPERATIONS]
API_OPERATIONS = [op for op in OPERATIONS if op[1].startswith("/v1")]
API_IDS = [f"{method} {path}" for method, path, _ in API_OPERATIONS]


def test_committed_openapi_document_matches_the_app() -> None:
    assert COMMITTED.exists(), "openapi/openapi.json is missing: run `make openapi` and commit it"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == DOCUMENT, "openapi/openapi.json is out of date: run `make openapi` and commit it"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_operation_ids_are_tag_dash_name(method: str, path: str, operation: dict[str, Any]) -> None:
    tags = operation.get("tags") or []
    assert len(tags) == 1, f"{method} {path} needs exactly one tag, has {tags}"
    tag = tags[0]
    assert re.fullmatch(re.escape(tag) + r"-[a-z][a-z0-9]*(-[a-z0-9]+)*", operation.get("operationId", "")), (
        f"{method} {path}: operationId {operation.get('operationId')!r} is not '{tag}-<name>'"
    )


def test_operation_ids_are_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize(("method", "path", "operation"), API_OPERATIONS, ids=API_IDS)
def test_api_operations_declare_the_standard_problems(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    for status in ("401", "403", "422"):
        assert status in responses, f"{method} {path} does not declare {status}"
        content = responses[status].get("content", {})
        assert "application/problem+json" in content, (
            f"{method} {path}: {status} is not application/problem+json"
        )
        schema = content["application/problem+json"].get("schema", {})
        assert schema.get("$ref", "").endswith("/Problem"), f"{method} {path}: {status} is not a Problem"
