"""What every UI page shares: the templates, the signed-in user, permission checks through the one
table in app/domain/access.py, the unit of work, and the form helpers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from app import db
from app.domain.access import Permission, is_allowed
from app.domain.errors import DomainError
from app.domain.languages import language_of
from app.domain.policy import Policy
from app.services import auth, queue, region_names
from app.services.clock import today
from app.services.errors import Refused, ServiceError
from app.services.policies import PolicyStore
from app.services.principal import Principal
from app.settings import Settings, get_settings
from app.web import i18n, messages
from app.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LANG_COOKIE,
    PREFIX,
    SIZE_COOKIE,
    csrf_matches,
    csrf_token,
    pop_flashes,
    session_id_of,
    session_now,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("hardship.web")


# --- errors the pages raise; app/web/errors.py renders them ----------------------------------------


class LoginRequired(Exception):
    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


class NotPermitted(Exception):
    """The role may not do this (checked against the permission table)."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


class BadForm(Exception):
    """A form value that cannot be read (the message is already in the user's language); ``field``
    names the form field it belongs beside, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# Errors with a page of their own (app/web/errors.py); anything else is a 500.
HANDLED_ERRORS: tuple[type[BaseException], ...] = (
    LoginRequired,
    NotPermitted,
    CsrfRejected,
    BadForm,
    ServiceError,
    Refused,
    DomainError,
    HTTPException,
    RequestValidationError,
    DBAPIError,
)


# --- application state -----------------------------------------------------------------------------


def root_state(request: Request) -> Any:
    """The hosting application's state (settings, session factory, policies)."""
    return request.app.state.root


def settings_of(request: Request) -> Settings:
    settings: Settings = root_state(request).settings
    return settings


def policies_of(request: Request) -> PolicyStore:
    store: PolicyStore = root_state(request).policies
    return store


def business_today(request: Request) -> date:
    """The business date, read once per request (app.services.clock.today)."""
    cached: date | None = getattr(request.state, "business_date", None)
    if cached is None:
        with unit_of_work(request) as session:
            cached = today(session)
        request.state.business_date = cached
    return cached


def policy_in_force(request: Request) -> Policy:
    return policies_of(request).in_force(business_today(request))


def unit_of_work(request: Request) -> AbstractContextManager[Session]:
    """One transaction of the hosting application's sessions (app.db.unit_of_work)."""
    return db.unit_of_work(root_state(request).session_factory)


# --- the signed-in user ----------------------------------------------------------------------------


def language(request: Request) -> str:
    """The page's language: the one the language switch remembered in its cookie."""
    return language_of(request.cookies.get(LANG_COOKIE))


def signed_in_user(request: Request) -> auth.SessionCheck:
    """The user of the cookie's server-side session (app.services.auth.resolve_session)."""
    session_id = session_id_of(request)
    if session_id is None:
        return auth.SessionCheck(None, expired=False)
    settings = settings_of(request)
    with unit_of_work(request) as session:
        return auth.resolve_session(
            session,
            token=session_id,
            now=session_now(),
            max_age=timedelta(seconds=settings.session_max_age_seconds),
            idle=timedelta(seconds=settings.session_idle_seconds),
        )


def current_user(request: Request) -> Principal:
    check = signed_in_user(request)
    if check.principal is None:
        if check.expired:
            request.session.clear()
        raise LoginRequired(expired=check.expired)
    request.state.user = check.principal
    return check.principal


UserDep = Annotated[Principal, Depends(current_user)]

MAX_ROW_ID = 2**62
# A row id in a UI path: a positive integer the database can hold (a larger one, or "²", is a bad
# request, never a 500).
RowId = Annotated[int, FastApiPath(ge=1, le=MAX_ROW_ID)]


def can(user: Principal | None, permission: Permission) -> bool:
    return user is not None and is_allowed(user.role, permission)


def require(user: Principal, *permissions: Permission) -> None:
    """NotPermitted unless the role holds every permission named."""
    if not all(can(user, p) for p in permissions):
        raise NotPermitted()


def permitted(*permissions: Permission) -> Callable[[Principal], Principal]:
    """A dependency: the signed-in user, whose role holds every permission named."""

    def check(user: UserDep) -> Principal:
        require(user, *permissions)
        return user

    return check


async def csrf_guard(request: Request) -> None:
    """Every state-changing request carries the session's token (form field or header)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not csrf_matches(request, sent):
        raise CsrfRejected()


# --- navigation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    section: str


def navigation(user: Principal | None) -> list[NavItem]:
    """The pages this role may open, by the permission table."""
    if user is None:
        return []
    items = [NavItem("nav.home", f"{PREFIX}/", "home")]
    if can(user, Permission.APPROVAL_DECIDE):
        items.append(NavItem("nav.approvals", f"{PREFIX}/approvals", "approvals"))
    if can(user, Permission.DISPUTE_READ):
        items.append(NavItem("nav.disputes", f"{PREFIX}/disputes", "disputes"))
    if can_see_disasters(user):
        items.append(NavItem("nav.disasters", f"{PREFIX}/disasters", "disasters"))
    if can(user, Permission.AUDIT_READ):
        items.append(NavItem("nav.audit", f"{PREFIX}/audit", "audit"))
    if can(user, Permission.OUTCOME_REPORT_READ):
        items.append(NavItem("nav.outcomes", f"{PREFIX}/reports/outcomes", "outcomes"))
    if can(user, Permission.WEBHOOK_MANAGE):
        items.append(NavItem("nav.webhooks", f"{PREFIX}/webhooks", "webhooks"))
    return items


def can_see_disasters(user: Principal | None) -> bool:
    """Disaster pages are for those who run or review disasters (declare, amend, run or read scans);
    the agents' part is the deferral shown on each account."""
    return any(can(user, p) for p in (Permission.DISASTER_DECLARE, Permission.SCAN_RUN, Permission.SCAN_READ))


# --- templates -------------------------------------------------------------------------------------


def format_amount(value: Any) -> str:
    """Money with thousands separators and two decimals (Decimal, never float)."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount:,.2f}"


def format_date(value: Any) -> str:
    """Dates as ISO; timestamps (stored in UTC) in the bank's zone (DOMAIN.md, "Money and time")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_stamp(value, seconds=True)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_stamp(value: Any, *, seconds: bool = False) -> str:
    """A UTC timestamp shown in the bank's zone (`business_zone`), e.g. 2026-12-01 09:05."""
    if not isinstance(value, datetime):
        return format_date(value)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(get_settings().business_zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_percent(value: Any) -> str:
    """A rate (a decimal string such as "0.1825") as a percentage with two decimals: 18.25 %."""
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{rate * 100:.2f} %"


def mask(value: Any, keep: int = 4) -> str:
    """An identifier with all but its last `keep` characters hidden: CUST-00042 -> ******0042."""
    text = "" if value is None else str(value)
    if len(text) <= keep:
        return text
    return "•" * (len(text) - keep) + text[-keep:]


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=select_autoescape(["html", "svg"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = format_amount
_env.filters["day"] = format_date
_env.filters["mask"] = mask
_env.filters["stamp"] = format_stamp
_env.filters["percent"] = format_percent
_env.globals["PREFIX"] = PREFIX
_env.globals["CSRF_FIELD"] = CSRF_FIELD
_env.globals["P"] = Permission


def template_env() -> Environment:
    return _env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    section: str = "",
) -> HTMLResponse:
    lang = language(request)
    user: Principal | None = getattr(request.state, "user", None)

    def t(key: str, **values: object) -> str:
        return i18n.translate(key, lang, **values)

    def t_or(key: str, fallback: str) -> str:
        return i18n.translate(key, lang) if key in i18n.LABELS else fallback

    def reason_text(code: str) -> str:
        return policy_in_force(request).reason_message(code, lang)

    waiting = 0
    on: date | None = getattr(request.state, "business_date", None)
    if user is not None:
        try:
            on = business_today(request)
            if can(user, Permission.APPROVAL_DECIDE):
                with unit_of_work(request) as session:
                    waiting = queue.pending_approval_count(session, exclude_requester=user.actor)
        except DBAPIError:
            # An error page for a database that went away still renders, without the header's extras.
            log.warning("header extras unavailable: the database did not answer")
    values: dict[str, Any] = {
        "request": request,
        "business_date": on,
        "zone": get_settings().business_timezone,
        "nav_counts": {"approvals": waiting},
        "region_name": lambda code: region_names.region_name(code, lang),
        "agent_hints": i18n.LABELS,
        "reason_text": reason_text,
        "t_or": t_or,
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "t": t,
        "user": user,
        "can": lambda permission: can(user, permission),
        "nav": navigation(user),
        "section": section,
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "large_text": request.cookies.get(SIZE_COOKIE) == "large",
        "here": _here(request),
    }
    if context:
        values.update(context)
    html = _env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)


class WebRoute(APIRoute):
    """A UI route: an unexpected error becomes the friendly 500 page here, inside the UI's middleware
    (so it still carries the security headers and the session), and is logged with its request id."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except HANDLED_ERRORS:
                raise
            except Exception:
                log.exception("unhandled error in the agent UI")
                return render(
                    request,
                    "error.html",
                    {
                        "error": {
                            "status": 500,
                            "message": i18n.translate("error.internal", language(request)),
                            "detail": "",
                            "reasons": [],
                            "fields": [],
                        },
                        "request_id": getattr(request.state, "request_id", None) or "",
                        "back": f"{PREFIX}/",
                    },
                    status_code=500,
                )

        return handler


def ui_router() -> APIRouter:
    """A router for UI pages: every route checks the CSRF token of state-changing requests."""
    return APIRouter(route_class=WebRoute, dependencies=[Depends(csrf_guard)], include_in_schema=False)


def _here(request: Request) -> str:
    """This page, for the language and text-size links to come back to (a GET page only)."""
    if request.method != "GET":
        return f"{PREFIX}/"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def redirect(url: str) -> RedirectResponse:
    """After a POST: see the result page (303, so a reload does not repeat the action)."""
    return RedirectResponse(url, status_code=303)


def htmx_aware_redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return redirect(url)


# --- form values -----------------------------------------------------------------------------------

_MONEY = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


def _bad(label: str, lang: str, code: str, field: str | None, **params: object) -> BadForm:
    return BadForm(f"{label}: {messages.message(code, lang, params)}", field)


def parse_money_field(
    raw: str | None, label: str, lang: str, *, required: bool = False, field: str | None = None
) -> Decimal | None:
    """A money field: digits with at most two decimals (commas and spaces ignored)."""
    text = (raw or "").replace(",", "").replace("，", "").strip()
    if not text:
        if required:
            raise _bad(label, lang, "field.required", field)
        return None
    if not _MONEY.match(text):
        raise _bad(label, lang, "field.money", field)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _bad(label, lang, "field.money", field) from None


def parse_int_field(
    raw: str | None,
    label: str,
    lang: str,
    *,
    low: int,
    high: int,
    required: bool = False,
    field: str | None = None,
) -> int | None:
    text = (raw or "").strip()
    if not text:
        if required:
            raise _bad(label, lang, "field.required", field)
        return None
    # ASCII digits only ("²".isdigit() is true, int("²") fails), and few enough to compare cheaply.
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or not low <= int(text) <= high:
        raise _bad(label, lang, "field.integer_range", field, low=low, high=high)
    return int(text)


def parse_date_field(
    raw: str | None, label: str, lang: str, *, required: bool = True, field: str | None = None
) -> date | None:
    text = (raw or "").strip()
    if not text:
        if required:
            raise _bad(label, lang, "field.required", field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(label, lang, "field.date", field) from None


def text_field(raw: str | None, *, max_length: int = 500) -> str:
    return (raw or "").strip()[:max_length]
