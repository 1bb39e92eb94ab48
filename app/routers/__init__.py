"""The JSON API routers, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from app.routers import accounts, audit_events, health

ALL_ROUTERS: list[APIRouter] = [
    health.router,
    accounts.router,
    audit_events.router,
]
