"""The Celery app for distributed scans: Redis broker, one task per chunk, any number of workers.

Tasks are acknowledged late and rejected when their worker is lost, so a task whose worker died
is handed out again; the chunk claim (app/jobs/chunk.py) makes any task safe to run twice. A task
that finds its chunk claimed by a worker that may still be alive retries later; once the claim is
stale it takes the chunk over. When ``hardship worker`` starts it re-sends the tasks of the
unfinished chunks of running Celery scans, so a scan whose worker was killed goes on at once
instead of waiting for the broker's visibility timeout.

Broker: ``HARDSHIP_CELERY_BROKER_URL``; queue: ``HARDSHIP_SCAN_QUEUE`` (app/jobs/config.py).
The worker's database is its own ``HARDSHIP_DATABASE_URL``, its policies its own policy files.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from functools import lru_cache
from typing import Any

from celery import Celery, Task
from celery.signals import worker_ready
from sqlalchemy import select

from app.db import get_engine, unit_of_work
from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.config import get_job_settings
from app.jobs.events import run_round, start_relay
from app.jobs.planner import plan_scan, unfinished_chunk_ids
from app.persistence.models import Scan, ScanChunk
from app.services.clock import utcnow
from app.services.policies import PolicyStore
from app.settings import get_settings

__all__ = ["celery_app", "configure", "recover_running_scans", "send_plan", "send_servicing_run"]

log = logging.getLogger("hardship.jobs.celery")

PLAN_TASK = "hardship.scan.plan"
CHUNK_TASK = "hardship.scan.chunk"
SERVICING_TASK = "hardship.servicing.run"

celery_app = Celery("hardship")


def configure(broker_url: str | None = None, queue: str | None = None) -> Celery:
    """Point the app at the broker and queue of the settings (or the ones given)."""
    jobs = get_job_settings()
    queue = queue or jobs.scan_queue
    celery_app.conf.update(
        broker_url=broker_url or get_settings().celery_broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": jobs.scan_visibility_timeout_seconds,
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        task_default_queue=queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return celery_app


@lru_cache(maxsize=1)
def _policies() -> PolicyStore:
    return PolicyStore.load(get_settings().policy_dir)


def _queue() -> str:
    return str(celery_app.conf.task_default_queue or get_job_settings().scan_queue)


def send_plan(scan_id: int, *, chunk_size: int, max_attempts: int) -> None:
    if not celery_app.conf.broker_url:
        configure()
    celery_app.send_task(PLAN_TASK, args=[scan_id, chunk_size, max_attempts], queue=_queue())


def _send_chunks(scan_id: int, chunk_ids: list[int], max_attempts: int) -> None:
    for chunk_id in chunk_ids:
        celery_app.send_task(CHUNK_TASK, args=[scan_id, chunk_id, max_attempts], queue=_queue())


@celery_app.task(name=PLAN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def plan_task(self: Task, scan_id: int, chunk_size: int, max_attempts: int) -> None:
    """Create the chunks (idempotent) and send a task for each unfinished one."""
    engine = get_engine()
    if plan_scan(engine, scan_id, chunk_size, policies=_policies()):
        _send_chunks(scan_id, unfinished_chunk_ids(engine, scan_id), max_attempts)


@celery_app.task(name=CHUNK_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def chunk_task(self: Task, scan_id: int, chunk_id: int, max_attempts: int) -> str:
    """Run one chunk; retry while another worker holds a fresh claim, or after a failed attempt."""
    jobs = get_job_settings()
    outcome = process_chunk(
        get_engine(),
        scan_id=scan_id,
        chunk_id=chunk_id,
        policies=_policies(),
        max_attempts=max_attempts,
        stale_seconds=jobs.scan_chunk_stale_seconds,
        delay_seconds=jobs.scan_chunk_delay_seconds,
    )
    if outcome is ChunkOutcome.RETRY:
        raise self.retry(countdown=1)
    if outcome is ChunkOutcome.BUSY:
        raise self.retry(countdown=_seconds_until_stale(chunk_id, jobs.scan_chunk_stale_seconds))
    return outcome.value


def _seconds_until_stale(chunk_id: int, stale_seconds: float) -> float:
    with unit_of_work(get_engine()) as session:
        started = session.scalar(select(ScanChunk.started_at).where(ScanChunk.id == chunk_id))
    if started is None:
        return 1.0
    if started.tzinfo is None:  # SQLite gives naive UTC back
        started = started.replace(tzinfo=UTC)
    remaining = (started + timedelta(seconds=stale_seconds) - utcnow()).total_seconds()
    return max(0.5, min(remaining + 0.5, 60.0))


def recover_running_scans() -> int:
    """Re-send the tasks of every unfinished chunk of running Celery scans (and plan queued ones).

    Safe to run any time: a task for a chunk that is done does nothing; one for a chunk that a live
    worker holds retries until that worker finishes (or dies). Returns the number of tasks sent.
    """
    engine = get_engine()
    settings = get_settings()
    with unit_of_work(engine) as session:
        scans = session.execute(
            select(Scan.id, Scan.status, Scan.chunk_size).where(
                Scan.executor == "celery", Scan.status.in_(("queued", "running"))
            )
        ).all()
    sent = 0
    for scan_id, status, chunk_size in scans:
        if status == "queued":
            send_plan(scan_id, chunk_size=chunk_size, max_attempts=settings.scan_chunk_max_attempts)
            sent += 1
            continue
        chunk_ids = unfinished_chunk_ids(engine, scan_id)
        _send_chunks(scan_id, chunk_ids, settings.scan_chunk_max_attempts)
        sent += len(chunk_ids)
    return sent


def send_servicing_run(requested_by: str) -> None:
    """Queue a servicing run for the workers (the task runs it in one transaction)."""
    if not celery_app.conf.broker_url:
        configure()
    celery_app.send_task(SERVICING_TASK, args=[requested_by], queue=_queue())


@celery_app.task(name=SERVICING_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def servicing_task(self: Task, requested_by: str) -> dict[str, Any]:
    """Bring every active plan and deferral to the business date (app/services/servicing.py).

    A task handed out again after its worker died simply runs again: runs are idempotent."""
    from app.domain.access import Role
    from app.services import servicing
    from app.services.principal import Principal

    actor = Principal(kind="job", id=0, name=requested_by[:80], role=Role.BATCH_OPERATOR)
    with unit_of_work(get_engine()) as session:
        summary = servicing.run_servicing(session, actor=actor, policies=_policies())
    log.info("servicing run %s as of %s: %s", summary.id, summary.as_of, summary.to_dict())
    return {"id": summary.id, "as_of": summary.as_of.isoformat()}


EVENTS_ROUND_TASK = "hardship.events.round"


@celery_app.task(name=EVENTS_ROUND_TASK, ignore_result=True)
def events_round_task() -> dict[str, int]:
    """One round of the events relay (for a beat schedule); workers also run the relay loop."""
    result = run_round(get_engine(), get_settings())
    return {"relayed": result.relayed, "attempted": result.attempted, "published": result.published}


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    settings = get_settings()
    if settings.events_executor == "celery":
        start_relay(get_engine(), settings)
    try:
        sent = recover_running_scans()
        if sent:
            log.info("re-sent %s scan task(s) of unfinished scans", sent)
    except Exception:
        log.exception("could not recover unfinished scans")
