"""Agent UI security: the signed session cookie, the session-bound CSRF token, safe redirects, and the
security headers every UI response carries.

Sessions are kept on the server (table agent_session, app.services.auth): the cookie, signed with
itsdangerous (Starlette's SessionMiddleware) under a key derived from HARDSHIP_SECRET_KEY, HttpOnly,
SameSite=Lax, scoped to /agent, Secure in production, carries the session's random id (never the
user id), the CSRF token, the recent accounts and flash messages. Absolute and idle expiry, logout,
disabling the user, a password change and an admin's "end sessions" are decided on the server, so
a copied cookie stops working everywhere at once; the user's role is read on every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/agent"
SESSION_COOKIE = "hardship_agent"
LANG_COOKIE = "hardship_lang"
SIZE_COOKIE = "hardship_text"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# `seen` is rewritten at most this often, so that not every page view re-signs the cookie.
SEEN_RESOLUTION_SECONDS = 15
RECENT_ACCOUNTS = 8

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def session_signing_key(secret_key: str) -> str:
    """A key of its own for the UI cookie, so that it can never be confused with another signature."""
    return hmac.new(secret_key.encode(), b"hardship agent UI session v1", hashlib.sha256).hexdigest()


def now_seconds() -> float:
    """The clock the session expiry reads (tests replace it)."""
    return time.time()


class SecurityHeadersMiddleware:
    """Adds the security headers to every UI response; HTML pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name.decode()] = value.decode()
                if not headers.get("content-type", "").startswith(("text/css", "text/javascript")):
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- session ---------------------------------------------------------------------------------------


def start_session(request: Request, session_id: str) -> None:
    """A fresh cookie after a successful login: old contents dropped (no fixation), the server-side
    session's random id, a new CSRF token."""
    session = request.session
    session.clear()
    session.update({"sid": session_id, "csrf": secrets.token_urlsafe(32)})


def end_session(request: Request) -> str | None:
    """Clears the cookie; returns the server-side session's id for the caller to end it there."""
    session_id = request.session.get("sid")
    request.session.clear()
    return session_id if isinstance(session_id, str) else None


def session_id_of(request: Request) -> str | None:
    """The server-side session's id the cookie carries, if any."""
    session_id = request.session.get("sid")
    return session_id if isinstance(session_id, str) and session_id else None


def session_now() -> datetime:
    """The session clock as a UTC timestamp, in whole seconds (``now_seconds``, which tests replace)."""
    return datetime.fromtimestamp(int(now_seconds()), tz=UTC)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the login form needs one before a login)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_matches(request: Request, sent: str | None) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def remember_account(request: Request, account_ref: str) -> None:
    recent = [r for r in request.session.get("recent", []) if isinstance(r, str) and r != account_ref]
    request.session["recent"] = [account_ref, *recent][:RECENT_ACCOUNTS]


def recent_accounts(request: Request) -> list[str]:
    return [r for r in request.session.get("recent", []) if isinstance(r, str)]


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message for the next page (after a redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, message]][-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    if "flash" not in request.session:
        return []
    return [(str(k), str(m)) for k, m in request.session.pop("flash")]


def safe_next(target: str | None, default: str = PREFIX + "/") -> str:
    """Only a path inside the UI: no scheme, no host, no protocol-relative //, no backslash."""
    if not target or not target.startswith(PREFIX + "/") or "\\" in target or "//" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
