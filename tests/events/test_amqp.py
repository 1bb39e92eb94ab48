"""Events to RabbitMQ: the durable topic exchange ``hardship.events``, routing key = type, persistent,
publisher confirms; a row is marked published only after its confirm, so a broker that goes away
mid-batch loses nothing (the batch goes again), and a broker restart loses nothing either. Needs
TEST_AMQP_URL (.ci/run sets it).

The restart test stops the whole broker (``rabbitmqctl stop_app``), so no other test may use it
meanwhile: every test of this file holds a machine-wide lock on the broker, shared, and the restart
test holds it alone; ``make test`` runs a file's tests one after another on one worker
(``--dist loadfile``), and this file is the only one that uses the broker. Leave it out with
``-m "not amqp_restart"``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from kombu import Connection, Queue
from sqlalchemy import func, select

from app.db import unit_of_work
from app.jobs.events import RelayThread
from app.persistence.models import OutboxEvent
from app.services import amqp
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account

AMQP_URL = os.environ.get("TEST_AMQP_URL")
pytestmark = pytest.mark.skipif(
    not AMQP_URL,
    reason="RabbitMQ tests skipped: TEST_AMQP_URL is not set (.ci/run starts RabbitMQ and sets it)",
)


BROKER_LOCK = "/tmp/hardship-test-rabbitmq.lock"  # one per machine, as the broker is


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, date(2025, 7, 1))


@pytest.fixture(autouse=True)
def _broker_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    """The broker, shared with the other tests of this machine; alone for the restart test."""
    alone = request.node.get_closest_marker("amqp_restart") is not None
    with open(BROKER_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def queue() -> Any:
    """A queue bound to every event type, deleted afterwards."""
    assert AMQP_URL
    name = f"hardship-test-{uuid.uuid4().hex[:8]}"
    with Connection(AMQP_URL) as conn:
        q = Queue(name, exchange=amqp.exchange(), routing_key="hardship.#", durable=False, auto_delete=False)
        q(conn.channel()).declare()
        yield conn, q
        q(conn.channel()).delete()


def drain(conn: Connection, q: Queue) -> list[Any]:
    got = []
    bound = q(conn.channel())
    while (message := bound.get(no_ack=True)) is not None:
        got.append(message)
    return got


def make_events(db: Database, client: TestClient, keys: dict[str, str], count: int) -> None:
    with unit_of_work(db.engine) as s:
        for n in range(count):
            make_account(s, f"Q-{n}")
    for n in range(count):
        response = client.post(
            f"/v1/accounts/Q-{n}/installment-plans",
            json={"term_months": 6, "reason": "illness", "commitment_accepted": True},
            headers=bearer(keys["agent"]),
        )
        assert response.status_code == 201


def unpublished(db: Database) -> int:
    with unit_of_work(db.engine) as s:
        return int(s.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) or 0)


def test_every_event_is_published_persistent_with_its_type_as_routing_key(
    db: Database, client: TestClient, keys: dict[str, str], queue: Any
) -> None:
    assert AMQP_URL
    conn, q = queue
    make_events(db, client, keys, 3)
    assert amqp.publish_pending(db.engine, AMQP_URL) == 3
    assert unpublished(db) == 0 and amqp.publish_pending(db.engine, AMQP_URL) == 0
    messages = drain(conn, q)
    assert len(messages) == 3
    for message in messages:
        body = json.loads(message.body)
        assert message.delivery_info["routing_key"] == body["type"] == "hardship.plan.created"
        assert message.properties["delivery_mode"] == 2 and message.properties["message_id"] == body["id"]


def test_a_connection_lost_mid_batch_marks_nothing_and_the_batch_goes_again(
    db: Database, client: TestClient, keys: dict[str, str], queue: Any
) -> None:
    assert AMQP_URL
    conn, q = queue
    make_events(db, client, keys, 4)

    class Dropping:
        """A connection that the broker drops after two publishes."""

        def __init__(self) -> None:
            self.real = amqp.connect(AMQP_URL)
            self.sent = 0

        def channel(self) -> Any:
            channel = self.real.channel()
            original = channel.basic_publish

            def publish(*args: Any, **kwargs: Any) -> Any:
                if self.sent == 2:
                    self.real.collect()
                    raise ConnectionResetError("broker went away")
                self.sent += 1
                return original(*args, **kwargs)

            channel.basic_publish = publish
            return channel

    dropping = Dropping()
    with pytest.raises(ConnectionResetError):
        amqp.publish_pending(db.engine, AMQP_URL, connection=dropping)
    assert unpublished(db) == 4  # nothing marked: not one row is lost
    assert amqp.publish_pending(db.engine, AMQP_URL) == 4
    ids = [json.loads(m.body)["id"] for m in drain(conn, q)]
    assert len(set(ids)) == 4 and len(ids) == 6  # at least once: the two confirmed go twice


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    ctl = shutil.which("rabbitmqctl")
    assert ctl
    return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=60, check=False)


def broker_control() -> str | None:
    """Why the broker cannot be restarted here, or None when it can."""
    assert AMQP_URL
    if urlsplit(AMQP_URL).hostname not in ("127.0.0.1", "localhost", "::1"):
        return "the broker of TEST_AMQP_URL is not on this machine"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    status = rabbitmqctl("-q", "status")
    if status.returncode != 0:
        return f"rabbitmqctl cannot reach the broker's node: {(status.stderr or status.stdout).strip()[:200]}"
    return None


def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


@pytest.mark.amqp_restart
def test_events_written_while_the_broker_is_down_are_published_once_it_is_back(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    """The broker restarts (stop_app, start_app) under a running relay: the changes made while it is
    down commit with their events, which the relay publishes once it is back; the events published
    before the restart are still queued (durable queue, persistent messages); every event arrives
    exactly once."""
    assert AMQP_URL
    why = broker_control()
    if why:
        pytest.skip(f"broker restart test skipped: {why}")
    name = f"hardship-test-restart-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, exchange=amqp.exchange(), routing_key="hardship.#", durable=True, auto_delete=False)
    with Connection(AMQP_URL) as conn:
        queue(conn.channel()).declare()
    settings = db.settings.model_copy(update={"events_amqp_url": AMQP_URL, "events_poll_seconds": 0.2})
    relay = RelayThread(db.engine, settings)
    relay.start()
    stopped = False
    try:
        make_events(db, client, keys, 2)
        assert wait_until(lambda: unpublished(db) == 0, 10), "the relay did not publish before the restart"
        stopped = rabbitmqctl("stop_app").returncode == 0
        assert stopped, "rabbitmqctl stop_app failed"
        with unit_of_work(db.engine) as s:
            for n in range(2, 5):
                make_account(s, f"Q-{n}")
        for n in range(2, 5):  # the service goes on while the broker is down
            response = client.post(
                f"/v1/accounts/Q-{n}/installment-plans",
                json={"term_months": 6, "reason": "illness", "commitment_accepted": True},
                headers=bearer(keys["agent"]),
            )
            assert response.status_code == 201
        time.sleep(1.0)  # the relay tries (and fails) a few rounds meanwhile
        assert unpublished(db) == 3
    finally:
        if stopped:
            started = rabbitmqctl("start_app")
            assert started.returncode == 0, started.stderr
    try:
        assert wait_until(lambda: unpublished(db) == 0, 20), "the events of the outage were not published"
    finally:
        relay.stop()
    with unit_of_work(db.engine) as s:
        written = [row.event_id for row in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    with Connection(AMQP_URL) as conn:
        got = drain(conn, queue)
        queue(conn.channel()).delete()
    ids = [json.loads(m.body)["id"] for m in got]
    assert len(written) == 5
    assert sorted(ids) == sorted(written)  # nothing lost, nothing twice
