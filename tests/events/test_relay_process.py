"""At least once, never lost: a relay process killed mid-batch (SIGKILL) and started again delivers
every event; the deliveries it held are sent again once their lease ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import unit_of_work
from app.persistence.models import OutboxEvent, WebhookDelivery
from tests.conftest import Database
from tests.events.receiver import receiver
from tests.events.test_webhooks import make_plan, subscribe
from tests.factories import freeze_today

pytestmark = pytest.mark.slow
EVENTS = 12


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, date(2025, 7, 1))


def start_relay(db: Database) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HARDSHIP_DATABASE_URL": db.url,
        "HARDSHIP_ENVIRONMENT": "test",
        "HARDSHIP_WEBHOOK_TIMEOUT_SECONDS": "1",
        "HARDSHIP_WEBHOOK_BATCH_SIZE": "4",
        "HARDSHIP_WEBHOOK_CONCURRENCY": "2",
        "HARDSHIP_EVENTS_POLL_SECONDS": "0.2",
        "HARDSHIP_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "events", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pending(db: Database) -> int:
    with unit_of_work(db.engine) as s:
        return len(s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.status != "delivered")).all())


def test_a_relay_killed_mid_batch_and_restarted_loses_nothing(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    with receiver(delay_seconds=0.3) as hook:
        subscribe(client, keys, hook.url)
        for n in range(EVENTS):
            make_plan(db, client, keys, f"K-{n}")
        relay = start_relay(db)
        try:
            deadline = time.monotonic() + 30
            while len(hook.delivered_ids()) < 3:
                assert time.monotonic() < deadline, "the relay delivered nothing"
                time.sleep(0.05)
            relay.send_signal(signal.SIGKILL)
            relay.wait(10)
            with unit_of_work(db.engine) as s:
                left = s.scalars(
                    select(WebhookDelivery.status).where(WebhookDelivery.status != "delivered")
                ).all()
            assert left, "the kill came too late to interrupt a batch"
            relay = start_relay(db)
            deadline = time.monotonic() + 60
            while len(set(hook.delivered_ids())) < EVENTS or pending(db):
                assert time.monotonic() < deadline, f"only {len(set(hook.delivered_ids()))} delivered"
                time.sleep(0.1)
        finally:
            relay.kill()
            relay.wait(10)
    with unit_of_work(db.engine) as s:
        event_ids = set(s.scalars(select(OutboxEvent.event_id)))
        statuses = set(s.scalars(select(WebhookDelivery.status)))
    assert set(hook.delivered_ids()) == event_ids and statuses == {"delivered"}
