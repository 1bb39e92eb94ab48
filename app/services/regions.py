"""Administrative code changes: the policy's table plus the operators' additions in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.policy import Policy
from app.persistence.models import RegionCodeChange


def region_code_changes(session: Session, policy: Policy) -> dict[str, str]:
    """old code -> new code; an operator's entry overrides the policy's for the same old code."""
    changes = dict(policy.region_code_changes)
    for old, new in session.execute(select(RegionCodeChange.old_code, RegionCodeChange.new_code)):
        changes[old] = new
    return changes
