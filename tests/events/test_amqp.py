"""Events to RabbitMQ: the durable topic exchange ``hardship.events``, routing key = type, persistent,
publisher confirms; a row is marked published only after its confirm, so a broker that goes away
mid-batch loses nothing (the batch goes again). Needs TEST_AMQP_URL (.ci/run sets it)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu import Connection, Queue
from sqlalchemy import func, select

from app.db import unit_of_work
from app.persistence.models import OutboxEvent
from app.services import amqp
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account

AMQP_URL = os.environ.get("TEST_AMQP_URL")
pytestmark = pytest.mark.skipif(
    not AMQP_URL,
    reason="RabbitMQ tests skipped: TEST_AMQP_URL is not set (.ci/run starts RabbitMQ and sets it)",
)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, date(2025, 7, 1))


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
