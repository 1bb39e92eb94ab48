"""RFC 9457 problem details: the one table from error to (status, type, title), and the handlers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import DomainError
from app.services import errors as service_errors

log = logging.getLogger("hardship.problems")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://hardship.dev/problems/"


class ProblemFieldError(BaseModel):
    field: str = Field(description="Dotted location of the bad field, e.g. body.term_months")
    message: str


class ProblemReason(BaseModel):
    code: str
    message: str


class Problem(BaseModel):
    """application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None
    reasons: list[ProblemReason] | None = None
    request_id: str | None = None


# error class -> (status, type slug, title); the first matching class wins.
PROBLEM_TABLE: list[tuple[type[BaseException], int, str, str]] = [
    (service_errors.NotFound, 404, "not-found", "Resource not found"),
    (service_errors.Conflict, 409, "conflict", "Conflict with the current state"),
    (service_errors.Forbidden, 403, "forbidden", "Not allowed"),
    (service_errors.Unavailable, 503, "unavailable", "Service unavailable"),
    (service_errors.InvalidInput, 422, "invalid-input", "Invalid input"),
    (service_errors.Refused, 422, "refused", "Refused by the relief rules"),
    (DomainError, 422, "invalid-input", "Invalid input"),
]


def problem_for(exc: BaseException) -> tuple[int, str, str] | None:
    """The table's (status, type slug, title) for an error; None for an error it does not name."""
    for cls, status, slug, title in PROBLEM_TABLE:
        if isinstance(exc, cls):
            return status, slug, title
    return None


HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Resource not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict with the current state"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    429: ("too-many-requests", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


def _problem_content() -> dict[str, Any]:
    """The application/problem+json media type with the Problem schema (`model` registers the schema)."""
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


# Declared on every route so the OpenAPI document names the problem shape.
STANDARD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Malformed request body", "content": {PROBLEM_JSON: {}}},
    401: {"model": Problem, "description": "Missing or invalid API key", "content": _problem_content()},
    403: {"model": Problem, "description": "The key's role may not do this", "content": _problem_content()},
    422: {
        "model": Problem,
        "description": "Invalid input or refused by the rules",
        "content": _problem_content(),
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Extra problem responses for a route (404, 409, ...), in the OpenAPI document."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        _, title = HTTP_TITLES.get(status, ("error", "Error"))
        out[status] = {"model": Problem, "description": title, "content": _problem_content()}
    return out


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    reasons: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    default_slug, default_title = HTTP_TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    if reasons is not None:
        body["reasons"] = reasons
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors[:5])
    return problem_response(request, 422, f"The request has invalid fields: {fields}", errors=errors)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTP_TITLES.get(exc.status_code, ("", "Error"))[1]
    return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))


async def handle_known_error(request: Request, exc: Exception) -> JSONResponse:
    problem = problem_for(exc)
    if problem is None:
        raise exc
    status, slug, title = problem
    if isinstance(exc, service_errors.Refused):
        reasons = [{"code": r.code, "message": r.message} for r in exc.reasons]
        return problem_response(
            request, status, exc.detail, slug=slug, title=title, reasons=reasons, extra=exc.extra
        )
    errors = None
    if isinstance(exc, service_errors.InvalidInput) and exc.errors:
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    detail = getattr(exc, "detail", None) or str(exc) or title
    return problem_response(request, status, detail, slug=slug, title=title, errors=errors)


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """The database went away or refused the connection: 503, the transaction was rolled back."""
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(
            request,
            503,
            "The database is unavailable; nothing was changed. Retry later.",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, DataError):
        # A value the database cannot store (a NUL character in text on PostgreSQL, a number out of
        # range): bad input, not a fault of the service.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem_response(
            request, 422, "A value cannot be stored (for example a NUL character); nothing was changed."
        )
    log.exception("database error")
    return problem_response(
        request, 500, "Internal error; nothing was changed.", slug="internal", title="Internal error"
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return problem_response(
        request, 500, "Internal error; nothing was changed.", slug="internal", title="Internal error"
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    for cls in (service_errors.ServiceError, service_errors.Refused, DomainError):
        app.add_exception_handler(cls, handle_known_error)
    app.add_exception_handler(DBAPIError, handle_database_error)
    app.add_exception_handler(Exception, handle_unexpected)
