"""The app's API read from its own route table, so that every endpoint mounted later is covered:
each operation with the one permission its dependency tree checks and a role allowed to call it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.domain.access import PERMISSIONS, Permission, Role

# Tried in this order: the most powerful roles first, so a fuzzed request gets past the role check
# and reaches the endpoint's own validation.
ROLE_PREFERENCE = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.BATCH_OPERATOR,
    Role.AGENT,
    Role.AUDITOR,
    Role.CHANNEL,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute
    permission: Permission | None

    @property
    def role(self) -> Role | None:
        """A role holding the permission (None for unauthenticated routes)."""
        if self.permission is None:
            return None
        return next(r for r in ROLE_PREFERENCE if r in PERMISSIONS[self.permission])

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def permissions_of(dependant: Dependant) -> list[Permission]:
    """Every permission checked in the dependency tree (app.deps.require tags its check)."""
    found: list[Permission] = []
    for sub in dependant.dependencies:
        permission = getattr(sub.call, "permission", None)
        if permission is not None:
            found.append(permission)
        found += permissions_of(sub)
    return found


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """(mounted path, APIRoute) for the app, whether FastAPI keeps included routers flat or nested."""
    try:  # FastAPI >= 0.16x keeps included routers as branches of the route tree
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: a flat list
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route
        return
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield context.path or route.path, route


def operations(app: FastAPI, *, prefix: str = "/v1") -> list[Operation]:
    out: list[Operation] = []
    for path, route in api_routes(app):
        if not path.startswith(prefix):
            continue
        found = permissions_of(route.dependant)
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append(Operation(method, path, route, found[0] if found else None))
    return out


def find(app: FastAPI, method: str, path: str) -> Operation | None:
    """The operation at METHOD PATH (a route template such as /v1/accounts/{account_ref})."""
    for op in operations(app, prefix="/"):
        if op.method == method and op.path == path:
            return op
    return None


def has_route(app: FastAPI, method: str, path: str) -> bool:
    return find(app, method, path) is not None
