"""The unit of work of an HTTP request.

Every API route uses UnitOfWorkRoute: the endpoint runs with one session; on success the route
commits it (storing the Idempotency-Key response in the same transaction), on any error it rolls
back and frees the key.  The commit happens before the response is sent, so a client never sees a
success that was not written.

A read-only request (its transaction ran only SELECTs: a GET, a quote) is not committed: its
session is closed in the endpoint's own thread as soon as the endpoint returns, and the route
finishes without a second trip through the thread pool."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import transaction_wrote
from app.services import auth, idempotency
from app.services.idempotency import Claim, StoredResponse

REPLAY_HEADER = "Idempotent-Replayed"


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _begin(request: Request, key: str, body: bytes) -> Claim | StoredResponse | None:
    """Authenticates the caller and claims the key.  None: no valid caller, so no idempotency (401)."""
    token = _bearer_token(request)
    if token is None:
        return None
    settings = request.app.state.settings
    session: Session = request.app.state.session_factory()
    try:
        principal = auth.authenticate_key(session, token)
        if principal is None:
            session.rollback()
            return None
        request.state.principal = principal
        result = idempotency.begin(
            session,
            principal=principal.fingerprint,
            key=idempotency.validate_key(key),
            method=request.method,
            path=request.url.path,
            request_hash=idempotency.request_fingerprint(
                request.method, request.url.path, request.url.query, body
            ),
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            lease=timedelta(seconds=settings.idempotency_lease_seconds),
        )
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _release(request: Request, claim: Claim) -> None:
    session: Session = request.app.state.session_factory()
    try:
        idempotency.release(session, claim)
    finally:
        session.close()


def _finish(request: Request, response: Response | None, claim: Claim | None) -> bool:
    """Commits or rolls back the request's session.  Returns True when the work was committed."""
    session: Session | None = getattr(request.state, "db_session", None)
    ok = response is not None and response.status_code < 400
    try:
        if session is not None:
            if ok:
                if claim is not None and isinstance(getattr(response, "body", None), bytes):
                    assert response is not None
                    idempotency.complete(
                        session,
                        claim,
                        StoredResponse(
                            response.status_code,
                            bytes(response.body).decode(),
                            response.headers.get("content-type", "application/json"),
                        ),
                    )
                session.commit()
            else:
                session.rollback()
    except BaseException:
        session.rollback() if session is not None else None
        if claim is not None:
            _release(request, claim)
        raise
    finally:
        if session is not None:
            session.close()
            request.state.db_session = None
    if claim is not None and not ok:
        _release(request, claim)
    return ok


def _close_if_read_only(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a sync endpoint (run in the thread pool by FastAPI): when it returns and its session's
    transaction wrote nothing, the session is closed there (returning the connection to the pool),
    so that the route has nothing left to commit."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and not transaction_wrote(value):
                value.close()
        return result

    return run


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _close_if_read_only(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            claim: Claim | None = None
            key = request.headers.get("idempotency-key")
            if key is not None and request.method == "POST":
                body = await request.body()
                outcome = await run_in_threadpool(_begin, request, key, body)
                if isinstance(outcome, StoredResponse):
                    return Response(
                        content=outcome.body,
                        status_code=outcome.status,
                        media_type=outcome.content_type,
                        headers={REPLAY_HEADER: "true"},
                    )
                claim = outcome
            try:
                response = await original(request)
            except BaseException:
                await run_in_threadpool(_finish, request, None, claim)
                raise
            session: Session | None = getattr(request.state, "db_session", None)
            idle = session is None or not (session.in_transaction() or transaction_wrote(session))
            if claim is None and idle:
                _finish(request, response, None)  # nothing to commit: no I/O, no thread-pool hop
            else:
                await run_in_threadpool(_finish, request, response, claim)
            return response

        return handler
