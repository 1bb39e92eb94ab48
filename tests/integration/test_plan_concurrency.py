"""One active plan per account, whatever the concurrency: the account lock serialises the requests and
the database's partial unique index settles anything that still races."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db import unit_of_work
from app.domain.access import Role
from app.persistence.models import InstallmentPlan
from app.services import eligibility, plans
from app.services.errors import Conflict, Refused
from app.services.policies import PolicyStore
from app.services.principal import Principal
from tests.conftest import Database
from tests.factories import make_account

CHANNEL = Principal(kind="key", id=1, name="mobile-backend", role=Role.CHANNEL)
POLICIES = PolicyStore.load()
THREADS = 4


def active_plans(db: Database) -> int:
    with unit_of_work(db.engine) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(InstallmentPlan).where(InstallmentPlan.status == "active")
            )
            or 0
        )


def create_plan(db: Database, term: int) -> str:
    """One request in its own transaction; returns what happened to it."""
    try:
        with unit_of_work(db.engine) as s:
            plans.create_plan(
                s,
                account_ref="A-1",
                term_months=term,
                hardship_reason="unemployment",
                actor=CHANNEL,
                policies=POLICIES,
                lang="en",
                channel="mobile",
                recording_ref=None,
                commitment_accepted=True,
            )
    except Refused as refusal:
        return "refused:" + ",".join(r.code for r in refusal.reasons)
    except Conflict:
        return "conflict"
    return "created"


def test_concurrent_requests_leave_exactly_one_active_plan(db: Database) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def request(term: int) -> None:
        barrier.wait()
        outcome = create_plan(db, term)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=request, args=(6 + n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    counts = Counter(outcomes)
    assert counts["created"] == 1, outcomes
    assert counts["refused:PLAN_ALREADY_ACTIVE"] + counts["conflict"] == THREADS - 1, outcomes
    assert active_plans(db) == 1


def test_the_unique_index_settles_a_race_the_rules_did_not_see(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(db.engine) as s:
        make_account(s, "A-1")
    assert create_plan(db, 12) == "created"
    # As if a concurrent transaction had not committed yet when this one read the plans.
    monkeypatch.setattr(eligibility.reading, "plan_history", lambda session, account_id: (False, None))

    assert create_plan(db, 6) == "conflict"
    assert active_plans(db) == 1


def test_the_database_refuses_a_second_active_plan(db: Database) -> None:
    with unit_of_work(db.engine) as s:
        account_id = make_account(s, "A-1").id
    assert create_plan(db, 12) == "created"

    with pytest.raises(IntegrityError), unit_of_work(db.engine) as s:
        first = s.scalars(select(InstallmentPlan)).one()
        s.add(
            InstallmentPlan(
                account_id=account_id,
                status="active",
                method=first.method,
                term_months=6,
                hardship_reason="illness",
                start_on=date(2025, 1, 1),
                start_region_code=first.start_region_code,
                principal_amount=first.principal_amount,
                fees_waived=first.fees_waived,
                fee_total=first.fee_total,
                interest_total=first.interest_total,
                total_amount=first.total_amount,
                monthly_fee_rate="0",
                annual_interest_rate="0",
                policy_version=first.policy_version,
                channel="mobile",
                created_by="test",
                created_at=first.created_at,
            )
        )
        s.flush()
