"""Executors: how a committed scan's chunks get run.

- ``inline`` (default): a background thread of the process that started the scan plans it and runs
  the chunks (works with ``hardship serve`` on SQLite, and in the CLI). On PostgreSQL the chunks run
  side by side in ``scan_inline_processes`` child processes (one per core by default, at most 4):
  evaluating the rules is Python, so threads would share one core. Each child loads the policies
  and connects as a Celery worker does; claims keep a chunk to one process. If the process stops
  (a restart, a crash), the service runs the scan again when it starts (``recover_inline_scans``,
  from app.main): chunks the stopped process held are taken over once their claim is stale; on
  PostgreSQL an advisory lock keeps each scan to one running process. POST /v1/scans/{id}/resume
  (or ``hardship scan --resume``) does the same by hand, and also restarts a failed scan.
- ``celery``: a plan task on the Redis broker creates the chunks and sends one task per chunk; any
  number of ``hardship worker`` processes run them (see app/jobs/celery_app.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from sqlalchemy import Engine, select, text

from app.db import build_engine
from app.jobs.chunk import ChunkOutcome, process_chunk
from app.jobs.config import get_job_settings
from app.jobs.planner import plan_scan, unfinished_chunk_ids
from app.observability import configure_logging
from app.persistence.models import Scan
from app.services.policies import PolicyStore
from app.services.scans import ACTIVE_STATUSES, DispatchRequest
from app.settings import Settings

__all__ = [
    "chunk_processes",
    "dispatch",
    "inline_process_count",
    "process_resources",
    "recover_inline_scans",
    "run_scan_inline",
    "wait_for_inline_scans",
]

log = logging.getLogger("hardship.jobs")

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()

MAX_AUTO_PROCESSES = 4


def inline_process_count(engine: Engine, configured: int) -> int:
    """How many processes run an inline scan's chunks: 1 on SQLite (one writer at a time), else the
    configured number, or one per core (at most MAX_AUTO_PROCESSES) when it is 0."""
    if engine.dialect.name == "sqlite":
        return 1
    return configured or max(1, min(os.cpu_count() or 1, MAX_AUTO_PROCESSES))


def _run_chunk(engine: Engine, scan_id: int, chunk_id: int, policies: PolicyStore, max_attempts: int) -> bool:
    """Do one chunk, retrying a failed attempt; False when the scan is to stop (failed or not running)."""
    jobs = get_job_settings()
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
        return outcome not in (ChunkOutcome.FAILED, ChunkOutcome.SKIPPED)


def run_scan_inline(
    engine: Engine,
    scan_id: int,
    *,
    policies: PolicyStore,
    chunk_size: int,
    max_attempts: int,
    processes: int = 1,
) -> None:
    """Plan the scan (once) and run each unfinished chunk until the scan has succeeded or failed.

    On PostgreSQL one process at a time runs a given scan inline (an advisory lock, held while it
    runs): a recovery at start-up leaves alone a scan that a live process is running.
    """
    with _runner_lock(engine, scan_id) as runner:
        if not runner:
            log.info("scan %s is being run by another process", scan_id)
            return
        if not plan_scan(engine, scan_id, chunk_size, policies=policies):
            return
        chunk_ids = unfinished_chunk_ids(engine, scan_id)
        if processes > 1 and len(chunk_ids) > 1:
            try:
                _run_in_processes(engine, scan_id, chunk_ids, max_attempts=max_attempts, processes=processes)
                chunk_ids = []
            except BrokenProcessPool:
                # A child died (killed, out of memory): this thread goes on with the chunks nobody
                # holds; what the child held is taken over below once its claim is stale.
                log.exception("scan %s: a chunk process died; going on in this process", scan_id)
                chunk_ids = unfinished_chunk_ids(engine, scan_id, include_running=False)
        for chunk_id in chunk_ids:
            if not _run_chunk(engine, scan_id, chunk_id, policies, max_attempts):
                return
        _finish_held_chunks(engine, scan_id, policies, max_attempts)


def _finish_held_chunks(engine: Engine, scan_id: int, policies: PolicyStore, max_attempts: int) -> None:
    """Chunks still unfinished after a pass are held by a claim: a dead process's (after a restart,
    or a chunk process that died) or a live Celery worker's. Try them again until they are done by
    their holder, or their claim is stale and ours (``scan_chunk_stale_seconds``), or the scan ends."""
    poll = min(max(get_job_settings().scan_chunk_stale_seconds / 5, 0.2), 10.0)
    while _scan_status(engine, scan_id) == "running":
        chunk_ids = unfinished_chunk_ids(engine, scan_id)
        if not chunk_ids:
            return
        time.sleep(poll)
        for chunk_id in chunk_ids:
            if not _run_chunk(engine, scan_id, chunk_id, policies, max_attempts):
                return


def _scan_status(engine: Engine, scan_id: int) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(select(Scan.status).where(Scan.id == scan_id))


# Advisory lock class of "a process is running this scan inline" (the two-key form, apart from the
# audit chain's one-key lock).
SCAN_RUNNER_LOCK_CLASS = 0x5CA7


@contextmanager
def _runner_lock(engine: Engine, scan_id: int) -> Iterator[bool]:
    """True while this process holds the scan's runner lock (always True on SQLite)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        key = {"kind": SCAN_RUNNER_LOCK_CLASS, "id": scan_id % 2**31}
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:kind, :id)"), key))
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:kind, :id)"), key)
                connection.commit()


def recover_inline_scans(engine: Engine, policies: PolicyStore, settings: Settings) -> list[int]:
    """Run again the inline scans left queued or running by a process that stopped (a restart, a
    crash): each in a background thread, as when it was started. Chunks that the stopped process
    held are taken over once their claim is stale. Returns the scan ids handed to a thread; a scan
    that another live process is running is left to it (see run_scan_inline)."""
    with engine.connect() as connection:
        scans = connection.execute(
            select(Scan.id, Scan.chunk_size).where(
                Scan.executor == "inline", Scan.status.in_(ACTIVE_STATUSES)
            )
        ).all()
    for scan_id, chunk_size in scans:
        dispatch(
            DispatchRequest(
                scan_id=scan_id,
                executor="inline",
                engine=engine,
                policies=policies,
                chunk_size=chunk_size or settings.scan_chunk_size,
                max_attempts=settings.scan_chunk_max_attempts,
                inline_processes=settings.scan_inline_processes,
            )
        )
    return [scan_id for scan_id, _ in scans]


# In a chunk process: its own engine and policies, made once by _start_chunk_process.
_process_engine: Engine | None = None
_process_policies: PolicyStore | None = None


def _start_chunk_process(database_url: str) -> None:
    global _process_engine, _process_policies
    settings = get_job_settings()
    configure_logging(settings.log_level)
    # One connection is all a chunk process uses.
    _process_engine = build_engine(
        settings.model_copy(update={"database_url": database_url, "db_pool_size": 1, "db_max_overflow": 1})
    )
    _process_policies = PolicyStore.load(settings.policy_dir)


def _run_chunk_in_process(scan_id: int, chunk_id: int, max_attempts: int) -> bool:
    engine, policies = process_resources()
    return _run_chunk(engine, scan_id, chunk_id, policies, max_attempts)


@contextmanager
def chunk_processes(engine: Engine, processes: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``processes`` spawned child processes (no forked copies of the service's threads),
    each with its own engine (one connection) and policies as a Celery worker has them
    (:func:`process_resources`): for the chunks of a scan or of a servicing run."""
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_chunk_process,
        initargs=(engine.url.render_as_string(hide_password=False),),
    ) as pool:
        yield pool


def process_resources() -> tuple[Engine, PolicyStore]:
    """In a chunk process: its engine and policies."""
    assert _process_engine is not None and _process_policies is not None
    return _process_engine, _process_policies


def _run_in_processes(
    engine: Engine, scan_id: int, chunk_ids: list[int], *, max_attempts: int, processes: int
) -> None:
    """Run the chunks in a pool of ``processes`` child processes, a few queued ahead of each."""
    todo: Iterator[int] = iter(chunk_ids)
    with chunk_processes(engine, processes) as pool:

        def submit(count: int) -> set[Future[bool]]:
            return {
                pool.submit(_run_chunk_in_process, scan_id, chunk_id, max_attempts)
                for chunk_id in _take(todo, count)
            }

        running = submit(2 * processes)
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            if not all(future.result() for future in finished):
                for future in running:
                    future.cancel()  # the scan failed: the chunks not started are left as they are
                return
            running |= submit(len(finished))


def _take(items: Iterator[int], count: int) -> list[int]:
    return [item for _, item in zip(range(count), items, strict=False)]


def _inline_thread(request: DispatchRequest) -> None:
    try:
        run_scan_inline(
            request.engine,
            request.scan_id,
            policies=request.policies,
            chunk_size=request.chunk_size,
            max_attempts=request.max_attempts,
            processes=inline_process_count(request.engine, request.inline_processes),
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
