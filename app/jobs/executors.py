"""Executors: how a committed scan's chunks get run.

- ``inline`` (default): a background thread of the process that started the scan plans it and runs
  the chunks one after another (works with ``hardship serve`` on SQLite, and in the CLI). If the
  process dies, the scan stays ``running``: POST /v1/scans/{id}/resume (or ``hardship scan --resume``)
  runs what is left.
- ``celery``: a plan task on the Redis broker creates the chunks and sends one task per chunk; any
  number of ``hardship worker`` processes run them (see app/jobs/celery_app.py).
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.config import get_job_settings
from app.jobs.planner import plan_scan, unfinished_chunk_ids
from app.services.policies import PolicyStore
from app.services.scans import DispatchRequest

__all__ = ["dispatch", "run_scan_inline", "wait_for_inline_scans"]

log = logging.getLogger("hardship.jobs")

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def run_scan_inline(
    engine: Engine, scan_id: int, *, policies: PolicyStore, chunk_size: int, max_attempts: int
) -> None:
    """Plan the scan (once) and run each unfinished chunk until it is done or the scan fails."""
    jobs = get_job_settings()
    if not plan_scan(engine, scan_id, chunk_size):
        return
    for chunk_id in unfinished_chunk_ids(engine, scan_id):
        while True:
            outcome = process_chunk(
                engine,
                scan_id=scan_id,
                chunk_id=chunk_id,
                policies=policies,
                max_attempts=max_attempts,
                stale_seconds=jobs.scan_chunk_stale_seconds,
                delay_seconds=jobs.scan_chunk_delay_seconds,
            )
            if outcome is ChunkOutcome.RETRY:
                continue
            if outcome in (ChunkOutcome.FAILED, ChunkOutcome.SKIPPED):
                return
            break  # done, done by someone else, busy elsewhere, or claim lost


def _inline_thread(request: DispatchRequest) -> None:
    try:
        run_scan_inline(
            request.engine,
            request.scan_id,
            policies=request.policies,
            chunk_size=request.chunk_size,
            max_attempts=request.max_attempts,
        )
    except Exception:
        log.exception("inline scan %s stopped", request.scan_id)
    finally:
        with _threads_lock:
            _threads.discard(threading.current_thread())


def dispatch(request: DispatchRequest) -> None:
    """Hand a committed scan to its executor (registered with app.services.scans by app.jobs)."""
    if request.executor == "celery":
        from app.jobs.celery_app import send_plan

        send_plan(request.scan_id, chunk_size=request.chunk_size, max_attempts=request.max_attempts)
        return
    thread = threading.Thread(
        target=_inline_thread, args=(request,), name=f"scan-{request.scan_id}", daemon=True
    )
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def wait_for_inline_scans(timeout: float = 60.0) -> bool:
    """Wait for this process's inline scan threads to end (tests, the CLI). True when all ended."""
    deadline = time.monotonic() + timeout
    while True:
        with _threads_lock:
            alive = [thread for thread in _threads if thread.is_alive()]
        if not alive:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        alive[0].join(min(remaining, 0.5))
