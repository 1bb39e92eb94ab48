"""Sign in and out, and the display preferences (language, text size)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from app.services import auth
from app.web.common import redirect, render, settings_of, ui_router, unit_of_work
from app.web.security import (
    LANG_COOKIE,
    PREFIX,
    SIZE_COOKIE,
    end_session,
    safe_next,
    session_user_id,
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
    settings = settings_of(request)
    user_id, _ = session_user_id(
        request, max_age=settings.session_max_age_seconds, idle=settings.session_idle_seconds
    )
    if user_id is not None:
        return redirect(safe_next(next))
    notice = ""
    if expired:
        notice = "login.expired"
    elif signed_out:
        notice = "login.signed_out"
    elif next:
        notice = "login.required"
    return _login_page(request, notice=notice, next_url=safe_next(next, ""))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    settings = settings_of(request)
    username = username.strip()
    next_url = safe_next(next, "")
    if not username or not password:
        return _login_page(
            request, error="login.missing", username=username, next_url=next_url, status_code=422
        )
    # Committed whether or not the password is right: the failure count and the lockout must stick.
    with unit_of_work(request) as session:
        outcome = auth.authenticate_user(
            session,
            username=username,
            password=password,
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
        )
    if outcome.principal is None:
        if outcome.locked:
            return _login_page(
                request, error="login.locked", username=username, next_url=next_url, status_code=429
            )
        return _login_page(
            request, error="login.failed", username=username, next_url=next_url, status_code=401
        )
    start_session(request, outcome.principal.id)
    return redirect(safe_next(next_url))


@router.post("/logout")
def logout(request: Request) -> Response:
    end_session(request)
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
    return _set_preference(request, LANG_COOKIE, "en" if to == "en" else "zh", next)


@router.get("/prefs/text")
def set_text_size(request: Request, to: str = "normal", next: str = "") -> Response:
    return _set_preference(request, SIZE_COOKIE, "large" if to == "large" else "normal", next)
