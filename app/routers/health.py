"""Liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-check", responses={503: {"description": "Database unreachable"}})
def healthz(request: Request) -> JSONResponse:
    """200 when the service can reach its database, 503 otherwise."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", operation_id="health-metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics. With HARDSHIP_METRICS_TOKEN set, only `Authorization: Bearer <token>`
    reads them (401 otherwise); in production without a token they are not served (404)."""
    settings = request.app.state.settings
    token = settings.metrics_token
    if token is None:
        if settings.environment == "production":
            return Response(status_code=404)
    else:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
