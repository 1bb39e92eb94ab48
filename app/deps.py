"""FastAPI dependencies and their Annotated aliases.

The dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
thread pool, one hop per dependency and request, which costs more than the work itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import allow_autocommit
from app.domain.access import Permission, is_allowed
from app.domain.languages import language_of
from app.routing import REQUEST_INFO_KEY
from app.services import auth
from app.services.policies import PolicyStore
from app.services.principal import Principal
from app.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> Session:
    """The request's session; UnitOfWorkRoute commits or rolls it back."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        session = request.app.state.session_factory()
        session.info[REQUEST_INFO_KEY] = request  # for UnitOfWorkRoute (app.routing)
        if getattr(request.state, "autocommit", False):  # set by UnitOfWorkRoute (app.routing.autocommit)
            allow_autocommit(session)
        request.state.db_session = session
    return session


async def get_policies(request: Request) -> PolicyStore:
    store: PolicyStore = request.app.state.policies
    return store


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoliciesDep = Annotated[PolicyStore, Depends(get_policies)]

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


async def get_principal(request: Request) -> Principal:
    """The caller, from the API key (401 without a valid one).  The key is looked up with the
    request's session (``get_session``), called directly rather than declared as a sub-dependency:
    each dependency FastAPI resolves costs more per request than this whole function on a cache hit."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Send an API key as 'Authorization: Bearer <key>'.", UNAUTHORIZED_HEADERS)
    token = token.strip()
    session = await get_session(request)
    # A key verified recently is answered from memory; otherwise the lookup runs in the thread pool.
    principal = auth.cached_principal(session, token)
    if principal is None:
        principal = await run_in_threadpool(auth.authenticate_key, session, token)
    if principal is None:
        raise HTTPException(401, "The API key is unknown or revoked.", UNAUTHORIZED_HEADERS)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets through only roles holding the permission (see domain/access.py)."""

    async def check(request: Request) -> Principal:
        principal = await get_principal(request)  # directly: one dependency fewer to resolve
        if not is_allowed(principal.role, permission):
            raise HTTPException(
                403, f"The role '{principal.role.value}' may not do this ({permission.value})."
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test
    return check


async def get_language(request: Request) -> str:
    """Reason texts in English when the caller's Accept-Language starts with en, else Simplified Chinese."""
    return language_of(request.headers.get("accept-language"))


LanguageDep = Annotated[str, Depends(get_language)]
