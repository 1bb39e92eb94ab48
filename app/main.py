"""The application factory: routers, problem handlers and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from swagger_ui_bundle import swagger_ui_path

from app.db import get_engine, session_factory
from app.jobs.events import start_relay
from app.jobs.executors import recover_inline_scans
from app.observability import (
    RequestContextMiddleware,
    StrictTransportSecurityMiddleware,
    configure_logging,
)
from app.problems import install_problem_handlers
from app.routers import ALL_ROUTERS
from app.services import auth
from app.services.login_limits import LoginLimiter
from app.services.policies import PolicyStore
from app.settings import Settings, get_settings
from app.web import mount as mount_agent_ui

API_DESCRIPTION = """Credit-card hardship relief: eligibility with reason codes, negotiated installment
plans, fee and interest waivers, disaster payment deferrals, batch scans and credit-report disputes.

Authenticate with `Authorization: Bearer <api key>`. Errors are `application/problem+json` (RFC 9457).
Every creating POST honours an `Idempotency-Key` header. Money is a string with two decimals."""


log = logging.getLogger("hardship.main")


def _recover_scans(app: FastAPI) -> None:
    try:
        recovered = recover_inline_scans(app.state.engine, app.state.policies, app.state.settings)
    except Exception:  # the database may be down: the service starts anyway and says so in /healthz
        log.exception("could not look for unfinished inline scans")
        return
    if recovered:
        log.info("running unfinished inline scans again: %s", recovered)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.settings.scan_inline_recover_on_start:
        await run_in_threadpool(_recover_scans, app)
    settings = app.state.settings
    relay = None
    if settings.events_executor == "inline" and settings.events_relay_on_start:
        relay = start_relay(app.state.engine, settings)
    yield
    if relay is not None:
        relay.stop()


DOCS_ASSETS = "/docs-assets"


def _serve_docs(app: FastAPI) -> None:
    """/docs: the Swagger UI with its assets vendored (the swagger-ui-bundle package), never a CDN."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="hardship API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        lifespan=_lifespan,
        title="hardship",
        version="1.0.0",
        description=API_DESCRIPTION,
        # In production the API documents are not served at all (the committed openapi/openapi.json
        # is the contract); elsewhere /docs serves the Swagger UI from vendored assets, no CDN.
        openapi_url=None if settings.environment == "production" else "/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    engine = get_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.policies = PolicyStore.load(settings.policy_dir)
    app.state.login_limiter = LoginLimiter(
        per_address=settings.login_rate_per_address,
        max_failures=settings.login_max_failures,
        failure_window_seconds=settings.login_lockout_seconds,
        storage_url=settings.rate_limit_storage_url,
    )
    auth.dummy_password_hash()  # before the first login, so that no login pays for it
    install_problem_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router)
    mount_agent_ui(app)
    if settings.environment != "production":
        _serve_docs(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        StrictTransportSecurityMiddleware, trust_forwarded_proto=settings.trust_forwarded_proto
    )
    return app


def asgi() -> Any:
    """Entry point for `uvicorn --factory app.main:asgi` (several worker processes)."""
    return create_app()
