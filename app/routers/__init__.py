"""The JSON API routers, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from app.routers import (
    accounts,
    approvals,
    audit_events,
    business_date,
    contacts,
    credit_disputes,
    decisions,
    deferrals,
    disasters,
    eligibility,
    health,
    instructions,
    outcomes,
    plans,
    quotes,
    region_code_changes,
    scans,
    servicing_runs,
    users,
    waivers,
    webhooks,
)

ALL_ROUTERS: list[APIRouter] = [
    health.router,
    business_date.router,
    accounts.router,
    audit_events.router,
    eligibility.router,
    decisions.router,
    plans.router,
    quotes.router,
    waivers.router,
    approvals.router,
    disasters.router,
    region_code_changes.router,
    scans.router,
    deferrals.router,
    credit_disputes.router,
    servicing_runs.router,
    outcomes.router,
    webhooks.router,
    instructions.router,
    contacts.router,
    users.router,
]
