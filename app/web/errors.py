"""Errors as friendly HTML pages in the user's language: never a stack trace, never JSON."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import DomainError
from app.problems import problem_for
from app.services import errors as service_errors
from app.web import i18n
from app.web.common import (
    BadForm,
    CsrfRejected,
    LoginRequired,
    NotPermitted,
    htmx_aware_redirect,
    language,
    render,
)
from app.web.forms import explain
from app.web.security import PREFIX, flash, safe_next

log = logging.getLogger("hardship.web")


@dataclass
class ErrorView:
    status: int
    message: str
    detail: str = ""
    reasons: list[tuple[str, str]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)


# The page's words for each kind of error in app/problems.py's table (the one error-to-status
# table), by its type slug.
PAGE_MESSAGES = {
    "not-found": "error.not_found",
    "forbidden": "error.not_allowed",
    "conflict": "error.conflict",
    "unavailable": "error.unavailable",
    "invalid-input": "error.invalid",
    "refused": "error.refused",
}


def describe(exc: BaseException, lang: str) -> ErrorView:
    """The status and the words for an error a page or an action ran into."""
    # Every detail comes from the message catalog in the page's language (app/web/messages.py).
    summary, field_errors, reasons = explain(exc, lang)
    problem = problem_for(exc)
    if problem is None and isinstance(exc, BadForm | service_errors.ServiceError):
        problem = (422, "invalid-input", "")  # a form value the page cannot read, or another service error
    if problem is None:
        return ErrorView(500, i18n.translate("error.internal", lang))
    status, slug, _ = problem
    message = i18n.translate(PAGE_MESSAGES[slug], lang)
    if slug == "refused":
        return ErrorView(status, message, "", reasons)
    if slug == "not-found":
        return ErrorView(status, message, _unless_same(summary, message))
    if slug == "invalid-input":
        return ErrorView(status, message, summary, fields=list(field_errors.items()))
    return ErrorView(status, message, summary)


def _unless_same(detail: str, message: str) -> str:
    return "" if detail.strip() == message.strip() else detail


ACTION_ERRORS: tuple[type[BaseException], ...] = (
    service_errors.ServiceError,
    service_errors.Refused,
    DomainError,
    BadForm,
)


def flash_error(request: Request, exc: BaseException) -> None:
    """Keep the error for the page the user is sent back to (with its reason codes)."""
    view = describe(exc, language(request))
    parts = [view.message]
    if view.detail:
        parts.append(view.detail)
    parts += [f"{code}: {message}" for code, message in view.reasons]
    parts += [f"{name}: {message}" for name, message in view.fields]
    flash(request, "\n".join(parts), "error")


def back_url(request: Request, default: str = PREFIX + "/") -> str:
    """Where the form came from, when that was a UI page (Referrer-Policy is same-origin)."""
    referer = request.headers.get("referer")
    if not referer:
        return default
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.headers.get("host"):
        return default
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), default)


def error_page(request: Request, view: ErrorView) -> Response:
    request_id = getattr(request.state, "request_id", None) or ""
    return render(
        request,
        "error.html",
        {"error": view, "request_id": request_id, "back": back_url(request)},
        status_code=view.status,
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"{PREFIX}/login"
    if exc.expired:
        target += "?expired=1"
    elif request.method == "GET" and request.url.path not in (f"{PREFIX}/", PREFIX):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(path, safe="")
    return htmx_aware_redirect(request, target)


async def _not_permitted(request: Request, exc: Exception) -> Response:
    return error_page(request, ErrorView(403, i18n.translate("error.forbidden", language(request))))


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return error_page(request, ErrorView(403, i18n.translate("error.csrf", language(request))))


async def _known_error(request: Request, exc: Exception) -> Response:
    return error_page(request, describe(exc, language(request)))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [(".".join(str(p) for p in e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors()]
    return error_page(
        request, ErrorView(422, i18n.translate("error.invalid", language(request)), fields=fields)
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    lang = language(request)
    key = {404: "error.not_found", 403: "error.forbidden", 405: "error.method", 413: "error.too_large"}.get(
        exc.status_code, "error.invalid"
    )
    return error_page(request, ErrorView(exc.status_code, i18n.translate(key, lang)))


async def _database_error(request: Request, exc: Exception) -> Response:
    lang = language(request)
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_page(request, ErrorView(503, i18n.translate("error.unavailable", lang)))
    log.exception("database error in the agent UI")
    return error_page(request, ErrorView(500, i18n.translate("error.internal", lang)))


def install_error_pages(ui: FastAPI) -> None:
    ui.add_exception_handler(LoginRequired, _login_required)
    ui.add_exception_handler(NotPermitted, _not_permitted)
    ui.add_exception_handler(CsrfRejected, _csrf_rejected)
    for cls in (service_errors.ServiceError, service_errors.Refused, DomainError, BadForm):
        ui.add_exception_handler(cls, _known_error)
    ui.add_exception_handler(RequestValidationError, _validation_error)
    ui.add_exception_handler(StarletteHTTPException, _http_error)
    ui.add_exception_handler(DBAPIError, _database_error)
