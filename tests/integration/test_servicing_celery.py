"""A servicing run on a real `hardship worker` through Redis. Skipped when Redis is not reachable."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.db import unit_of_work
from app.jobs.celery_app import send_servicing_run
from app.persistence.models import InstallmentPlan, ServicingRun
from app.services import business_date, servicing
from app.services.principal import SYSTEM
from tests.conftest import Database
from tests.integration.test_scan_celery import REDIS, queue, workers  # noqa: F401  (fixtures)
from tests.integration.test_servicing_run import make_plan

pytestmark = [pytest.mark.redis, pytest.mark.skipif(REDIS is None, reason="Redis is not reachable")]


def test_a_worker_runs_servicing_and_records_the_run(db: Database, queue: str, workers) -> None:  # noqa: F811
    with unit_of_work(db.engine) as s:
        plan_id = make_plan(s, "A-1", ["100.00", "100.00"])
        servicing.record_payment(
            s, account_ref="A-1", payment_ref="P-1", paid_on=date(2025, 2, 1), amount=Decimal("200.00")
        )
        business_date.pin(s, on=date(2025, 2, 2), actor=SYSTEM)
    group = workers()
    group.start()

    send_servicing_run("test")

    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        with unit_of_work(db.engine) as s:
            run = s.scalars(select(ServicingRun)).first()
            if run is not None:
                assert (run.as_of, run.plans_completed, run.requested_by) == (date(2025, 2, 2), 1, "job:test")
                assert s.get(InstallmentPlan, plan_id).status == "completed"  # type: ignore[union-attr]
                return
        time.sleep(0.2)
    pytest.fail(f"no servicing run recorded\n{group.logs()}")
