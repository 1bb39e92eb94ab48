"""Sign in and out, and the display preferences (language, text size)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from app.domain.languages import language_of
from app.services import auth
from app.services.login_limits import LoginLimiter
from app.web.common import (
    redirect,
    render,
    root_state,
    settings_of,
    signed_in_user,
    ui_router,
    unit_of_work,
)
from app.web.security import (
    LANG_COOKIE,
    PREFIX,
    SIZE_COOKIE,
    end_session,
    safe_next,
    session_now,
    start_session,
)

router = ui_router()
PREFERENCE_MAX_AGE = 365 * 24 * 3600


def _login_page(
    request: Request,
    *,
    error: str = "",
    notice: str = "",
    username: str = "",
    next_url: str = "",
    status_code: int = 200,
) -> Response:
    lockout_minutes = max(1, math.ceil(settings_of(request).login_lockout_seconds / 60))
    return render(
        request,
        "login.html",
        {
            "error": error,
            "notice": notice,
            "username": username,
            "next_url": next_url,
            "lockout_minutes": lockout_minutes,
        },
        status_code=status_code,
    )


@router.get("/login")
def login_form(request: Request, next: str = "", expired: str = "", signed_out: str = "") -> Response:
    if signed_in_user(request).principal is not None:
        return redirect(safe_next(next))
    notice = ""
    if expired:
        notice = "login.expired"
    elif signed_out:
        notice = "login.signed_out"
    elif next:
        notice = "login.required"
    return _login_page(request, notice=notice, next_url=safe_next(next, ""))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Sign in. Throttled before any password is hashed (app.services.login_limits): per client
    address, and per username and address after repeated wrong passwords. Unknown and known
    usernames get the same answers in the same time; every checked attempt is audited."""
    limiter: LoginLimiter = root_state(request).login_limiter
    username = username.strip()
    next_url = safe_next(next, "")
    address = client_address(request)
    if not limiter.allow_attempt(address):
        return _login_page(
            request, error="login.locked", username=username, next_url=next_url, status_code=429
        )
    if not username or not password:
        return _login_page(
            request, error="login.missing", username=username, next_url=next_url, status_code=422
        )
    if limiter.backed_off(username, address):
        return _login_page(
            request, error="login.locked", username=username, next_url=next_url, status_code=429
        )
    with unit_of_work(request) as session:
        outcome = auth.authenticate_user(session, username=username, password=password, address=address)
        session_id = (
            auth.start_session(session, user_id=outcome.principal.id, now=session_now())
            if outcome.principal is not None
            else None
        )
    if outcome.principal is None or session_id is None:
        limiter.record_failure(username, address)
        if limiter.backed_off(username, address):
            return _login_page(
                request, error="login.locked", username=username, next_url=next_url, status_code=429
            )
        return _login_page(
            request, error="login.failed", username=username, next_url=next_url, status_code=401
        )
    limiter.record_success(username, address)
    start_session(request, session_id)
    return redirect(safe_next(next_url))


@router.post("/logout")
def logout(request: Request) -> Response:
    """Ends the session on the server, so the same cookie no longer opens any page (CONTRACT.md)."""
    session_id = end_session(request)
    if session_id is not None:
        with unit_of_work(request) as session:
            auth.end_session(session, token=session_id, now=session_now())
    return redirect(f"{PREFIX}/login?signed_out=1")


def _set_preference(request: Request, name: str, value: str, next_url: str) -> Response:
    response = redirect(safe_next(next_url))
    response.set_cookie(
        name,
        value,
        max_age=PREFERENCE_MAX_AGE,
        path=PREFIX,
        samesite="lax",
        httponly=True,
        secure=settings_of(request).environment == "production",
    )
    return response


@router.get("/prefs/lang")
def set_language(request: Request, to: str = "zh", next: str = "") -> Response:
    """One click to English and back; remembered in a cookie (Simplified Chinese by default)."""
    return _set_preference(request, LANG_COOKIE, language_of(to), next)


@router.get("/prefs/text")
def set_text_size(request: Request, to: str = "normal", next: str = "") -> Response:
    return _set_preference(request, SIZE_COOKIE, "large" if to == "large" else "normal", next)
