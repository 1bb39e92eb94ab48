"""The unit of work of an HTTP request.

Every API route uses UnitOfWorkRoute: the endpoint runs with one session; on success the route
commits it (storing the Idempotency-Key response in the same transaction), on any error it rolls
back and frees the key.  The commit happens before the response is sent, so a client never sees a
success that was not written.

A read-only request (its transaction ran only SELECTs: a GET, a quote) is not committed: its
session is closed in the endpoint's own thread as soon as the endpoint returns, and the route
finishes without a second trip through the thread pool.  A sync endpoint that wrote and returned
its final Response itself (``json_response``) is committed in its own thread the same way."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import allow_autocommit, transaction_wrote
from app.problems import problem_response
from app.schemas.fast import json_values
from app.services import auth, idempotency
from app.services.idempotency import Claim, StoredResponse

REPLAY_HEADER = "Idempotent-Replayed"
# session.info key of the request that owns the session (set by app.deps.get_session).
REQUEST_INFO_KEY = "hardship_request"


def json_response(content: Any, status_code: int = 200) -> Response:
    """A JSON answer serialised once, as FastAPI would (the same bytes and headers as a response
    model's JSON), for hot endpoints that build their answer as plain JSON values: returning a
    Response spares FastAPI's second validation of the model (one more thread-pool hop for a sync
    endpoint) and the per-value serialiser calls.  The route keeps its ``response_model`` for the
    OpenAPI document."""
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def model_response(model: type[BaseModel], source: Any, status_code: int = 200) -> Response:
    """The answer ``model`` (a response schema) gives for ``source``, serialised once, with the same
    bytes and headers as ``model.model_validate(source)`` as the endpoint's response: the schema is
    the one definition of the answer's fields, their order and their JSON (money as "1234.50", ISO
    dates).  Hot paths: it goes through the schema's generated fast path (``app.schemas.fast``), which
    reads the source without validating again what the service has just built."""
    return Response(
        to_json(json_values(model)(source)), status_code=status_code, media_type="application/json"
    )


_AUTOCOMMIT_ENDPOINT = "hardship_autocommit"


def autocommit(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Declares that the endpoint's unit of work is reads and at most one writing statement, sent
    last: then, on PostgreSQL and without an Idempotency-Key (whose record is written in the same
    transaction as the work), its session runs in autocommit (``app.db.allow_autocommit``): the
    same answers and the same all-or-nothing write, without the BEGIN and the COMMIT or ROLLBACK
    round trips.  Put it under the route decorator."""
    setattr(endpoint, _AUTOCOMMIT_ENDPOINT, True)
    return endpoint


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


def _finish_in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a sync endpoint (run in the thread pool by FastAPI) to end its unit of work in that
    thread as soon as it returns, so that the route has nothing left to do in a second trip through
    the thread pool: a session whose transaction wrote nothing is closed (returning the connection
    to the pool); one that wrote is finished there (``_finish``: committed with the idempotency
    record, or rolled back) when the endpoint returned the final Response itself, which nothing
    after it can change or fail to serialise."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if not isinstance(value, Session):
                continue
            if not transaction_wrote(value):
                value.close()
            elif isinstance(result, Response):
                request: Request | None = value.info.get(REQUEST_INFO_KEY)
                if request is not None and getattr(request.state, "db_session", None) is value:
                    claim = getattr(request.state, "uow_claim", None)
                    request.state.uow_claim = None  # finished (or released) here, not by the route
                    _finish(request, result, claim)
        return result

    return run


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


async def _end_authentication_transaction(request: Request) -> None:
    """Commit what looking the key up wrote (its last use) and let go of the connection, so that the
    endpoint (and the idempotency claim, in a session of its own) start from no open transaction."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is not None and session.in_transaction():
        request.state.db_session = None
        await run_in_threadpool(_commit_and_close, session)


_UTF8_BOM = b"\xef\xbb\xbf"


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.autocommit = bool(getattr(endpoint, _AUTOCOMMIT_ENDPOINT, False))
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _finish_in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        # The endpoint's permission check (app.deps.require), run before its body is looked at.
        permission_check: Callable[[Request], Coroutine[Any, Any, Any]] | None = next(
            (
                dependency.call
                for dependency in self.dependant.dependencies
                if dependency.call is not None and hasattr(dependency.call, "permission")
            ),
            None,
        )
        takes_body = self.body_field is not None
        autocommit_unit = self.autocommit

        async def handler(request: Request) -> Response:
            if takes_body:
                # Authenticate first: a malformed body from a caller without a valid key is a 401 (or
                # a 403 for a role without the permission), never a 422 that describes the API.
                if permission_check is not None:
                    try:
                        await permission_check(request)
                    finally:
                        await _end_authentication_transaction(request)
                body = await request.body()
                if body and not _is_json(request.headers.get("content-type", "")):
                    return problem_response(
                        request, 415, "Send the body as JSON (Content-Type: application/json)."
                    )
                if body.startswith(_UTF8_BOM):
                    # RFC 8259 section 8.1: JSON text must not begin with a byte order mark.
                    return problem_response(
                        request, 422, "The body must be JSON without a byte order mark (RFC 8259)."
                    )
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
                request.state.uow_claim = outcome
            elif autocommit_unit:
                request.state.autocommit = True  # read by app.deps.get_session
                authenticating: Session | None = getattr(request.state, "db_session", None)
                if authenticating is not None:  # made to check the caller's permission, still unused
                    allow_autocommit(authenticating)
            try:
                response = await original(request)
            except BaseException:
                await run_in_threadpool(_finish, request, None, getattr(request.state, "uow_claim", None))
                raise
            # None when there was no Idempotency-Key, or when the endpoint's thread finished the work.
            claim: Claim | None = getattr(request.state, "uow_claim", None)
            session: Session | None = getattr(request.state, "db_session", None)
            idle = session is None or not (session.in_transaction() or transaction_wrote(session))
            if claim is None and idle:
                # Closed by the endpoint (read-only) or never used: nothing to commit (committing the
                # empty session would only begin and end a transaction object), no I/O, no hop.
                if session is not None:
                    session.close()
                    request.state.db_session = None
            else:
                await run_in_threadpool(_finish, request, response, claim)
            return response

        return handler
