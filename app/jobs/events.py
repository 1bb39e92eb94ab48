"""The events relay: the job beside the scan executors that moves events out of the outbox.

One round (``run_round``): fan the new outbox events out to webhook deliveries, send the due
deliveries (a small thread pool, each claimed with a lease), and with ``HARDSHIP_EVENTS_AMQP_URL``
publish the unpublished events to RabbitMQ. The relay loop runs rounds until there is nothing to do,
then waits ``HARDSHIP_EVENTS_POLL_SECONDS`` or until a commit in this process wrote events.

Where it runs (``HARDSHIP_EVENTS_EXECUTOR``): ``inline`` (default) a background thread of each service
process, started with the app; ``celery`` a thread of each ``hardship worker``; ``hardship events
run`` runs it in the foreground. Any number may run at once: claims keep each delivery to one.
"""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine

from app.services import amqp, events, webhooks
from app.settings import Settings

__all__ = ["RoundResult", "deliver_due", "run_round", "start_relay", "stop_relays"]

log = logging.getLogger("hardship.jobs.events")


@dataclass(frozen=True)
class RoundResult:
    relayed: int = 0
    attempted: int = 0
    published: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.relayed or self.attempted or self.published)


def lease_seconds(settings: Settings) -> float:
    """Long enough for a whole claimed batch to be sent by the pool, each attempt timing out."""
    rounds = math.ceil(settings.webhook_batch_size / settings.webhook_concurrency)
    return settings.webhook_timeout_seconds * (rounds + 1) + 1


def deliver_due(engine: Engine, settings: Settings, pool: ThreadPoolExecutor | None = None) -> int:
    """Claim and send one batch of due deliveries; the number of attempts made."""
    jobs = webhooks.claim_due(
        engine, limit=settings.webhook_batch_size, lease_seconds=lease_seconds(settings)
    )
    if not jobs:
        return 0
    allow_private = settings.webhook_allow_private_urls or settings.environment != "production"

    def attempt(job: webhooks.DeliveryJob) -> webhooks.Answer:
        return webhooks.deliver(job, timeout=settings.webhook_timeout_seconds, allow_private=allow_private)

    # The answers of a batch are recorded together, in one transaction (one commit, not one each).
    if pool is None or len(jobs) == 1:
        answers = [attempt(job) for job in jobs]
    else:
        answers = list(pool.map(attempt, jobs))
    webhooks.record_answers(
        engine, list(zip(jobs, answers, strict=True)), schedule=settings.webhook_retry_schedule
    )
    return len(jobs)


def run_round(engine: Engine, settings: Settings, pool: ThreadPoolExecutor | None = None) -> RoundResult:
    relayed = webhooks.relay_outbox(engine)
    attempted = deliver_due(engine, settings, pool)
    published = 0
    if settings.events_amqp_url:
        published = amqp.publish_pending(engine, settings.events_amqp_url)
    return RoundResult(relayed, attempted, published)


class RelayThread(threading.Thread):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(name="events-relay", daemon=True)
        self.engine = engine
        self.settings = settings
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        with ThreadPoolExecutor(self.settings.webhook_concurrency, thread_name_prefix="webhook") as pool:
            while not self.stopping.is_set():
                try:
                    busy = run_round(self.engine, self.settings, pool).busy
                except Exception:
                    log.exception("events relay round failed; trying again")
                    busy = False
                if not busy:
                    self.wake.wait(self.settings.events_poll_seconds)
                    self.wake.clear()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake.set()
        self.join(timeout)


_relays: dict[str, RelayThread] = {}
_lock = threading.Lock()


def _wake_all() -> None:
    for relay in list(_relays.values()):
        relay.wake.set()


events.on_events_committed(_wake_all)


def start_relay(engine: Engine, settings: Settings) -> RelayThread:
    """Start this process's relay for the engine's database (once)."""
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        relay = _relays.get(key)
        if relay is None or not relay.is_alive():
            relay = RelayThread(engine, settings)
            _relays[key] = relay
            relay.start()
        return relay


def stop_relays() -> None:
    with _lock:
        relays = list(_relays.values())
        _relays.clear()
    for relay in relays:
        relay.stop()
