"""What every part of a scan judges by: the event at the scan's version, the policy of its version
with the region code changes in force, the coverage of the event's regions, and the business date.

The planner selects the covered accounts with it, each chunk judges its accounts with it, so both
see the same rules for the whole life of the scan (an amendment made meanwhile is picked up by the
next scan).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from app.domain.model import DisasterEvent
from app.domain.policy import Policy
from app.domain.regions import coverage_prefixes, coverage_ranges
from app.jobs.config import get_job_settings
from app.jobs.rows import ACCOUNT_T
from app.persistence.models import DisasterAmendment, DisasterRegion
from app.persistence.models import DisasterEvent as EventRow
from app.persistence.models import Scan as ScanRow
from app.services.clock import today, utcnow
from app.services.disasters import region_codes_of, to_domain_event
from app.services.policies import PolicyStore
from app.services.regions import region_code_changes

__all__ = ["ScanContext", "covered_accounts", "default_policies", "load_context", "resolve_policy"]


@dataclasses.dataclass
class ScanContext:
    scan: ScanRow
    event_row: EventRow
    event: DisasterEvent
    policy: Policy
    prefixes: tuple[str, ...]  # region code prefixes of the covered accounts (coverage_prefixes)
    today: date  # the business date: a delinquency starting after it is DATA_INVALID
    now: datetime = dataclasses.field(default_factory=utcnow)  # the chunk's timestamp

    @property
    def granted_on(self) -> date:
        """The business date what this chunk grants is granted on (the instruction file's day)."""
        return self.today


def resolve_policy(policies: PolicyStore, version: str) -> Policy:
    """The adopted policy of that version, or the draft (dry runs only); LookupError otherwise."""
    policy = policies.get(version) or policies.get_draft(version)
    if policy is None:
        raise LookupError(f"policy version {version!r} is not known to this worker")
    return policy


@lru_cache(maxsize=4)
def _load_store(policy_dir: str | None) -> PolicyStore:
    return PolicyStore.load(policy_dir)


def default_policies() -> PolicyStore:
    """The policies of the configured policy directory (loaded once per directory)."""
    return _load_store(get_job_settings().policy_dir)


def load_context(session: Session, scan_id: int, policies: PolicyStore) -> ScanContext:
    scan = session.get(ScanRow, scan_id)
    assert scan is not None
    event_row = session.get(EventRow, scan.disaster_id)
    assert event_row is not None
    event = to_domain_event(event_row, region_codes_of(session, event_row.id))
    if event_row.version != scan.event_version:
        # The event was amended after the scan started: a scan judges by the version it recorded
        # for its whole life, so every chunk sees the same rules. Amended regions and dates are
        # then picked up by the next scan.
        event = _event_at_version(session, event_row, scan.event_version)
    base = resolve_policy(policies, scan.policy_version)
    changes = region_code_changes(session, base)
    policy = dataclasses.replace(base, region_code_changes=MappingProxyType(changes))
    prefixes = coverage_prefixes(event.region_codes, changes)
    return ScanContext(scan, event_row, event, policy, prefixes, today(session))


def covered(prefixes: tuple[str, ...]) -> Any:
    """The SQL condition "the account's region code starts with one of ``prefixes``", as ranges of
    the region code (``region_code >= '62' AND region_code < '63'``) that its index serves."""
    ranges = [
        ACCOUNT_T.c.region_code >= low
        if high is None
        else and_(ACCOUNT_T.c.region_code >= low, ACCOUNT_T.c.region_code < high)
        for low, high in coverage_ranges(prefixes)
    ]
    return or_(*ranges) if ranges else false()


def covered_accounts(session: Session, prefixes: tuple[str, ...]) -> tuple[list[int], int]:
    """The ids of the accounts whose region is covered, in order, and the number of accounts in
    the portfolio: one statement, so both come from the same snapshot of the accounts.

    The covered ids are read from the region code index (range scans); counting the portfolio is
    the only work that grows with the accounts outside the event's regions.
    """
    ids: list[int] = []
    total = 0
    query = union_all(
        select(ACCOUNT_T.c.id, literal(0).label("is_total")).where(covered(prefixes)),
        select(func.count(), literal(1)).select_from(ACCOUNT_T),
    )
    for value, is_total in session.execute(query):
        if is_total:
            total = value
        else:
            ids.append(value)
    ids.sort()
    return ids, total


def _event_at_version(session: Session, event_row: EventRow, version: int) -> DisasterEvent:
    """The event as it was at ``version``: undo the later amendments (they only ever widen)."""
    relief_end = event_row.relief_end
    months = event_row.deferral_months
    for amendment in session.scalars(
        select(DisasterAmendment)
        .where(DisasterAmendment.disaster_id == event_row.id, DisasterAmendment.version > version)
        .order_by(DisasterAmendment.version.desc())
    ):
        changes = amendment.changes or {}
        if "relief_end" in changes:
            relief_end = date.fromisoformat(changes["relief_end"]["from"])
        if "deferral_months" in changes:
            months = int(changes["deferral_months"]["from"])
    codes = session.scalars(
        select(DisasterRegion.region_code).where(
            DisasterRegion.disaster_id == event_row.id, DisasterRegion.added_in_version <= version
        )
    )
    return DisasterEvent(
        code=event_row.code,
        occurred_on=event_row.occurred_on,
        relief_start=event_row.relief_start,
        relief_end=relief_end,
        deferral_months=months,
        region_codes=tuple(sorted(codes)),
    )
