"""The call-center agent UI: a sub-application served under /agent by the same process.

It has its own login (argon2 passwords, a signed session cookie with absolute and idle expiry),
CSRF tokens on every form, security headers on every response, HTML error pages, and it calls the
same services as the JSON API. What each role sees and may do comes from the one permission table
(app/domain/access.py)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from app.web.common import STATIC_DIR
from app.web.errors import install_error_pages
from app.web.routes import ALL_ROUTERS
from app.web.security import PREFIX, SESSION_COOKIE, SecurityHeadersMiddleware, session_signing_key

__all__ = ["create_ui", "mount"]


def create_ui(host: FastAPI) -> FastAPI:
    """The UI application; `host` provides the settings, database sessions and policies."""
    settings = host.state.settings
    ui = FastAPI(title="hardship agent UI", openapi_url=None, docs_url=None, redoc_url=None)
    ui.state.root = host.state
    for router in ALL_ROUTERS:
        ui.include_router(router)
    ui.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_pages(ui)
    ui.add_middleware(
        SessionMiddleware,
        secret_key=session_signing_key(settings.secret_key),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        path=PREFIX,
        same_site="lax",
        # Secure cookies need HTTPS; the demo and the tests run on http://127.0.0.1.
        https_only=settings.environment == "production",
    )
    ui.add_middleware(SecurityHeadersMiddleware)
    return ui


def mount(app: FastAPI) -> None:
    """Serve the agent UI under /agent."""
    app.mount(PREFIX, create_ui(app), name="agent-ui")
