"""The role matrix, generated from the app's own routes: every /v1 endpoint names exactly one permission,
and every role gets 403 exactly where app/domain/access.py's table denies it.  New endpoints are covered
the day they are mounted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.domain.access import PERMISSIONS, Permission, Role
from app.main import create_app
from app.services import auth
from app.settings import Settings
from tests.conftest import Database, bearer, truncate_all

# Only the route table is read from this app; requests go to the `client` fixture's app.
_APP = create_app(Settings(database_url="sqlite://", environment="test"))
DUMMY_INT = 987654321
DUMMY_TEXT = "ZZ-NO-SUCH-THING"


def permissions_of(dependant: Dependant) -> list[Permission]:
    """Every permission checked by the dependency tree (require() tags its check with `.permission`)."""
    found: list[Permission] = []
    for sub in dependant.dependencies:
        permission = getattr(sub.call, "permission", None)
        if permission is not None:
            found.append(permission)
        found += permissions_of(sub)
    return found


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    dependant: Dependant

    def url(self) -> str:
        """The path with a value for every path parameter (an int, or a text that names nothing)."""
        values: dict[str, Any] = {}
        for param in self.dependant.path_params:
            annotation = getattr(param.field_info, "annotation", None)
            values[param.name] = DUMMY_INT if annotation is int else DUMMY_TEXT
        return re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", self.path).format(**values)


def flattened_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """(full path, methods, dependant) of every API route, through included routers."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI before included routers were kept as such: a flat list
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, set(route.methods), route.dependant
        return
    for context in iter_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.path, set(context.methods or ()), context.dependant


def api_endpoints() -> Iterator[Endpoint]:
    for path, methods, dependant in flattened_routes(_APP):
        if path.startswith("/v1"):
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                yield Endpoint(method, path, dependant)


ENDPOINTS = list(api_endpoints())
IDS = [f"{e.method} {e.path}" for e in ENDPOINTS]


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> int:
    body = {} if endpoint.method in {"POST", "PUT", "PATCH"} else None  # an empty object: 422 when allowed
    return client.request(endpoint.method, endpoint.url(), headers=headers, json=body).status_code


def test_nothing_under_v1_escapes_the_walk() -> None:
    """A mount or a plain Starlette route under /v1 would bypass the permission check unseen."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = [c.original_route for c in iter_contexts(_APP.routes)] if iter_contexts else list(_APP.routes)
    others = [
        f"{type(r).__name__} {getattr(r, 'path', '')}"
        for r in routes
        if str(getattr(r, "path", "")).startswith("/v1") and not isinstance(r, APIRoute)
    ]
    assert others == []


def test_the_route_walk_finds_the_api() -> None:
    found = {f"{e.method} {e.path}" for e in ENDPOINTS}
    assert {
        "GET /v1/accounts/{account_ref}",
        "PUT /v1/accounts/{account_ref}",
        "GET /v1/audit-events",
    } <= found


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_every_api_route_names_exactly_one_permission(endpoint: Endpoint) -> None:
    found = permissions_of(endpoint.dependant)
    assert len(found) == 1, (
        f"{endpoint.method} {endpoint.path} must check exactly one permission, "
        f"`Depends(require(Permission.X))`; found {found}"
    )


@pytest.fixture
def db(_databases: dict[str, Database]) -> Database:
    """SQLite only: the matrix checks the HTTP layer's authentication and role table, which do not depend
    on the database (every API test module runs its own endpoints on both)."""
    database = _databases["sqlite"]
    truncate_all(database.engine)
    return database


@pytest.fixture
def revoked_key(db: Database) -> str:
    with unit_of_work(db.engine) as s:
        created = auth.create_api_key(s, name="revoked admin", role="admin")
        auth.revoke_api_key(s, key_id=created.id)
    return created.token


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_each_role_is_refused_exactly_where_the_table_denies_it(
    client: TestClient, keys: dict[str, str], revoked_key: str, endpoint: Endpoint
) -> None:
    [permission] = permissions_of(endpoint.dependant)
    method, path = endpoint.method, endpoint.path
    for headers in ({}, bearer(revoked_key), bearer("hsk_abc_unknown"), {"Authorization": "Basic eDp5"}):
        status = call(client, endpoint, headers)
        assert status == 401, f"{method} {path} with {headers or 'no key'}: {status}, expected 401"
    for role in Role:
        status = call(client, endpoint, bearer(keys[role.value]))
        if role in PERMISSIONS[permission]:
            assert status not in (401, 403), (
                f"{role.value} holds {permission.value} but got {status} on {method} {path}"
            )
            assert status < 500, f"{method} {path} as {role.value} answered {status}"
        else:
            assert status == 403, f"{role.value} lacks {permission.value} but got {status} on {method} {path}"


def test_401_and_403_are_problem_documents(client: TestClient, keys: dict[str, str]) -> None:
    unauthenticated = client.get(f"/v1/accounts/{DUMMY_TEXT}")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == "application/problem+json"
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert {"type", "title", "status", "detail"} <= set(unauthenticated.json())
    forbidden = client.get("/v1/audit-events", headers=bearer(keys["agent"]))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert forbidden.json()["status"] == 403


# --- the roles CONTRACT.md fixes for the endpoints other systems script against -------------------------

C, A, S, B, AU, AD = "channel", "agent", "supervisor", "batch_operator", "auditor", "admin"
CONTRACT_ROLES = {
    "GET /v1/accounts/{}": {C, A, S, AD},
    "POST /v1/accounts/{}/eligibility": {C, A, S},
    "POST /v1/accounts/{}/installment-plans": {C, A, S},
    "POST /v1/disasters": {S, B, AD},
    "POST /v1/disasters/{}/scans": {B},
    "GET /v1/scans/{}": {B, S, AU},
    "GET /v1/scans/{}/results": {B, S, AU},
    "GET /v1/accounts/{}/deferrals": {C, A, S, AU},
    "POST /v1/disasters/{}/credit-disputes": {B, S},
    "GET /v1/credit-disputes": {A, S, B, AU},
}


def shape(method: str, path: str) -> str:
    return f"{method} {re.sub(r'{[^}]+}', '{}', path)}"


MOUNTED = {shape(e.method, e.path): e for e in ENDPOINTS}


@pytest.mark.parametrize(("endpoint", "roles"), CONTRACT_ROLES.items(), ids=CONTRACT_ROLES.keys())
def test_contract_endpoints_keep_their_fixed_roles(endpoint: str, roles: set[str]) -> None:
    mounted = MOUNTED.get(endpoint)
    assert mounted is not None, f"{endpoint} is in CONTRACT.md but not mounted"
    [permission] = permissions_of(mounted.dependant)
    assert {r.value for r in PERMISSIONS[permission]} == roles, endpoint


def test_contract_role_table_names_known_roles() -> None:
    known = {r.value for r in Role}
    assert all(roles <= known for roles in CONTRACT_ROLES.values())
