"""A servicing run whose chunks run side by side in child processes (PostgreSQL).

Computing where a plan stands is Python, so one process keeps one core busy while PostgreSQL waits.
On PostgreSQL, with more than one process (``scan_inline_processes``, the scans' setting: one per
core by default, at most 4) and at least ``MIN_CHUNKS_PER_PROCESS`` chunks for each, the run's
chunks go to the scans' chunk processes (:func:`app.jobs.executors.chunk_processes`), each chunk in
its own transaction:

1. the run is recorded (``servicing_run``, not finished) and the active plans cut into chunks, and
   that is committed;
2. each chunk is serviced and committed in a child process (chunks hold disjoint plans);
3. the deferrals due are completed, the run's counts recorded and audited, and committed.

The servicing lock (``SERVICING_LOCK_ID``, session-level here) is held by the parent from before 1
to after 3, so a run in one transaction (the API's) waits for it and the other way round. A run
stopped half-way (a process killed, the database gone) leaves its committed chunks and a run row
without ``finished_at``: runs are idempotent and path-independent, so the next run ends where this
one would have. Elsewhere (SQLite, one process, fewer chunks) the run is
:func:`app.services.servicing.run_servicing` in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine, text

from app.db import unit_of_work
from app.jobs.executors import chunk_processes, process_resources
from app.services import servicing
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = ["MIN_CHUNKS_PER_PROCESS", "run_servicing"]

# Starting a chunk process takes seconds (it imports the service), about what servicing a few
# thousand plans does: with fewer chunks than this per process the run stays in this process.
MIN_CHUNKS_PER_PROCESS = 2


def run_servicing(
    engine: Engine,
    *,
    actor: Principal,
    policies: PolicyStore,
    chunk_size: int = servicing.DEFAULT_CHUNK_SIZE,
    processes: int = 1,
) -> servicing.RunSummary:
    """Bring every active plan and deferral to the business date, in ``processes`` processes on
    PostgreSQL when there are at least two chunks for each (see the module's docstring); the run's
    summary."""
    if engine.dialect.name == "postgresql" and processes > 1:
        with unit_of_work(engine) as session:
            chunks = len(servicing.chunk_bounds(session, chunk_size))
        if chunks >= MIN_CHUNKS_PER_PROCESS * processes:
            return _run_in_processes(
                engine, actor=actor, policies=policies, chunk_size=chunk_size, processes=processes
            )
    with unit_of_work(engine) as session:
        return servicing.run_servicing(session, actor=actor, policies=policies, chunk_size=chunk_size)


def _run_in_processes(
    engine: Engine, *, actor: Principal, policies: PolicyStore, chunk_size: int, processes: int
) -> servicing.RunSummary:
    with _servicing_lock(engine):
        with unit_of_work(engine) as session:
            summary = servicing.start_run(session, actor=actor)
            chunks = servicing.chunk_bounds(session, chunk_size)
        if chunks:
            _chunks_in_processes(engine, summary, chunks, actor=actor, processes=processes)
        with unit_of_work(engine) as session:
            servicing.finish_run(session, summary, actor=actor)
    return summary


def _chunks_in_processes(
    engine: Engine,
    summary: servicing.RunSummary,
    chunks: list[tuple[int, int]],
    *,
    actor: Principal,
    processes: int,
) -> None:
    """Each chunk in a child process and its own transaction; their counts added to ``summary`` in
    the chunks' order. The first chunk that fails stops the run (the chunks not started are
    cancelled) and its error is raised."""
    with chunk_processes(engine, min(processes, len(chunks))) as pool:
        futures = [
            pool.submit(_service_chunk_in_process, summary.id, summary.as_of, bounds, actor)
            for bounds in chunks
        ]
        try:
            for future in futures:
                summary.add(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _service_chunk_in_process(
    run_id: int, as_of: date, bounds: tuple[int, int], actor: Principal
) -> servicing.RunSummary:
    engine, policies = process_resources()
    chunk = servicing.RunSummary(id=run_id, as_of=as_of)
    with unit_of_work(engine) as session:
        rules = servicing.RulesByVersion(policies)
        servicing.service_chunk(session, bounds, as_of=as_of, rules=rules, actor=actor, summary=chunk)
    return chunk


@contextmanager
def _servicing_lock(engine: Engine) -> Iterator[None]:
    """The servicing lock, held by a connection of its own for as long as the run lasts."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": servicing.SERVICING_LOCK_ID})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": servicing.SERVICING_LOCK_ID})
            connection.commit()
