"""A plan the servicing rules end commits its event with the change (CONTRACT.md, "Events out")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from app.db import unit_of_work
from app.persistence.models import OutboxEvent
from tests.conftest import Database
from tests.integration.test_servicing_run import make_plan, pay, run, set_today

__all__ = ["set_today"]


def _events(db: Database) -> list[tuple[str, str, dict]]:
    with unit_of_work(db.engine) as s:
        rows = s.scalars(select(OutboxEvent).order_by(OutboxEvent.subject, OutboxEvent.seq)).all()
        return [(row.type, row.subject, row.data) for row in rows]


def test_a_run_that_breaks_one_plan_and_completes_another_emits_each_event_once(
    db: Database, set_today: Callable[[date], None]
) -> None:
    with unit_of_work(db.engine) as s:
        broken_id = make_plan(s, "A-BRK", ["100.00", "100.00", "100.00"])
        completed_id = make_plan(s, "A-DONE", ["100.00", "100.00"])
        pay(s, "A-DONE", "2025-02-01", "200.00")
    set_today(date(2025, 3, 19))

    summary = run(db)

    assert (summary.plans_broken, summary.plans_completed) == (1, 1)
    events = _events(db)
    assert [(t, subject) for t, subject, _ in events] == [
        ("hardship.plan.broken", "A-BRK"),
        ("hardship.plan.completed", "A-DONE"),
    ]
    broken, completed = events[0][2], events[1][2]
    assert (broken["id"], broken["status"], broken["broken_on"]) == (broken_id, "broken", "2025-03-19")
    assert (completed["id"], completed["status"], completed["completed_on"]) == (
        completed_id,
        "completed",
        "2025-02-01",
    )
    assert completed["paid_total"] == "200.00" and completed["outstanding"] == "0.00"
    # Running again for the same date changes nothing and emits nothing more.
    run(db)
    assert len(_events(db)) == 2
