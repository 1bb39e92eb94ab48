"""The UI's pages, one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.routes import (
    accounts,
    approvals,
    audit,
    auth,
    decisions,
    desk,
    disasters,
    disputes,
    outcomes,
    webhooks,
)

ALL_ROUTERS: list[APIRouter] = [
    auth.router,
    desk.router,
    accounts.router,
    approvals.router,
    disputes.router,
    disasters.router,
    decisions.router,
    audit.router,
    outcomes.router,
    webhooks.router,
]
