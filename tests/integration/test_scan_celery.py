"""Celery scans with real Redis and real `hardship worker` processes, including a worker killed with
SIGKILL in the middle of a chunk. Skipped when Redis is not reachable (tests.support.redis_url).

Each test uses its own queue name on the test Redis database (db 15 unless TEST_REDIS_URL says
otherwise) and removes the queue afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from app.db import unit_of_work
from app.jobs.celery_app import configure
from app.persistence.models import Deferral, DeferralLine, Scan, ScanChunk, ScanResult
from app.services import scans
from tests.conftest import Database
from tests.integration.test_scan_core import (
    OPERATOR,
    POLICIES,
    account,
    declare,
    load_portfolio,
    statement,
)
from tests.support import ROOT, redis_url

REDIS = redis_url()
pytestmark = [pytest.mark.redis, pytest.mark.skipif(REDIS is None, reason="Redis is not reachable")]
HARDSHIP = str(ROOT / ".venv" / "bin" / "hardship")
WORKER_ID = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture
def queue() -> Iterator[str]:
    assert REDIS is not None
    name = f"hardship-test-{WORKER_ID}-{uuid.uuid4().hex[:8]}"
    configure(broker_url=REDIS, queue=name)
    yield name
    import redis

    client = redis.Redis.from_url(REDIS)
    client.delete(name)
    client.close()


class Workers:
    """`hardship worker` subprocesses against the test database, broker and queue."""

    def __init__(self, db: Database, queue: str, log_dir: Path, **env: str) -> None:
        assert REDIS is not None
        self.env = {
            **os.environ,
            "HARDSHIP_DATABASE_URL": db.url,
            "HARDSHIP_CELERY_BROKER_URL": REDIS,
            "HARDSHIP_SCAN_QUEUE": queue,
            "HARDSHIP_SCAN_EXECUTOR": "celery",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env.pop("DATABASE_URL", None)
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [HARDSHIP, "worker", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def workers(db: Database, queue: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    created: list[Workers] = []

    def make(**env: str) -> Workers:
        group = Workers(db, queue, tmp_path, **env)
        created.append(group)
        return group

    yield make
    for group in created:
        group.stop()


def start_celery_scan(db: Database, code: str, mode: str, chunk_size: int) -> int:
    settings = db.settings.model_copy(update={"scan_executor": "celery", "scan_chunk_size": chunk_size})
    with unit_of_work(db.engine) as session:
        scan = scans.start_scan(
            session, disaster_code=code, mode=mode, actor=OPERATOR, policies=POLICIES, settings=settings
        )
        return scan.id


def wait_for(db: Database, scan_id: int, group: Workers, timeout: float = 45.0) -> scans.ScanView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with unit_of_work(db.engine) as session:
            view = scans.get_scan(session, scan_id)
        if view.status in ("succeeded", "failed"):
            return view
        time.sleep(0.2)
    pytest.fail(f"scan {scan_id} did not finish: {view}\n{group.logs()}")


def portfolio(n: int) -> list[dict[str, Any]]:
    """n accounts in covered regions (every third one closed) and 3 outside; 2 accounts a customer."""
    rows = [
        account(
            f"P{i:03d}",
            customer=f"C{i // 2}",
            status="closed" if i % 3 == 0 else "active",
            statements=[statement("2025-07-10", f"{1000 + i}.25", "100.00")],
        )
        for i in range(n)
    ]
    return rows + [
        account(f"FAR{i}", region="110101", statements=[statement("2025-07-10")]) for i in range(3)
    ]


def expected_totals(n: int) -> tuple[int, int, int]:
    eligible = [i for i in range(n) if i % 3 != 0]
    return n + 3, len(eligible), len({i // 2 for i in eligible})


def counts(db: Database, scan_id: int) -> tuple[int, int, int, int]:
    with unit_of_work(db.engine) as session:
        deferrals = session.scalar(select(func.count()).select_from(Deferral)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Deferral.account_id)))) or 0
        lines = session.scalar(select(func.count()).select_from(DeferralLine)) or 0
        results = session.scalar(select(func.count()).where(ScanResult.scan_id == scan_id)) or 0
    return deferrals, distinct, lines, results


def test_a_celery_scan_with_two_real_workers_enrolls_exactly(db: Database, workers: Any) -> None:
    n = 30
    load_portfolio(db.engine, portfolio(n))
    code = declare(db.engine)
    group = workers()
    group.start()
    group.start()
    scan_id = start_celery_scan(db, code, "enroll", chunk_size=4)
    view = wait_for(db, scan_id, group)
    scanned, eligible, customers = expected_totals(n)
    assert view.status == "succeeded", f"{view.error}\n{group.logs()}"
    # 30 covered accounts, 4 a chunk: the 3 outside the event's regions need no chunk.
    assert view.executor == "celery" and view.chunks_total == view.chunks_done == 8
    assert (view.accounts_scanned, view.accounts_eligible, view.customers_eligible) == (
        scanned,
        eligible,
        customers,
    )
    assert view.accounts_enrolled == eligible
    assert counts(db, scan_id) == (eligible, eligible, eligible, n)
    again = wait_for(db, start_celery_scan(db, code, "enroll", chunk_size=7), group)
    assert (again.status, again.accounts_enrolled, again.accounts_eligible) == ("succeeded", 0, 0)
    assert counts(db, scan_id)[:3] == (eligible, eligible, eligible)


def test_a_worker_killed_mid_chunk_is_replaced_and_the_totals_stay_exact(db: Database, workers: Any) -> None:
    n = 40
    load_portfolio(db.engine, portfolio(n))
    code = declare(db.engine)
    group = workers(HARDSHIP_SCAN_CHUNK_DELAY_SECONDS="0.5", HARDSHIP_SCAN_CHUNK_STALE_SECONDS="2")
    first = group.start()
    scan_id = start_celery_scan(db, code, "enroll", chunk_size=4)
    # A plain reader: the service engine's SQLite transactions take the write lock (BEGIN
    # IMMEDIATE) and would only ever see the worker between two chunks.
    reader = create_engine(db.url)
    deadline = time.monotonic() + 40
    victim = None
    while time.monotonic() < deadline:
        with reader.connect() as connection:
            done = connection.scalar(select(Scan.chunks_done).where(Scan.id == scan_id)) or 0
            running = connection.scalar(
                select(ScanChunk.id).where(ScanChunk.scan_id == scan_id, ScanChunk.status == "running")
            )
        if done >= 2 and running is not None:
            victim = running
            break
        time.sleep(0.05)
    reader.dispose()
    assert victim is not None, group.logs()
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    with unit_of_work(db.engine) as session:
        before = session.get(Scan, scan_id)
        assert before is not None and before.status == "running" and before.chunks_done < 10
    group.start()
    view = wait_for(db, scan_id, group)
    scanned, eligible, customers = expected_totals(n)
    assert view.status == "succeeded", f"{view.error}\n{group.logs()}"
    assert (view.accounts_scanned, view.accounts_eligible, view.customers_eligible) == (
        scanned,
        eligible,
        customers,
    )
    assert (view.accounts_enrolled, view.chunks_done, view.chunks_total) == (
        eligible,
        10,
        10,
    )  # 40 covered accounts, 4 a chunk
    assert counts(db, scan_id) == (eligible, eligible, eligible, n)
    with unit_of_work(db.engine) as session:
        attempts = session.scalar(select(ScanChunk.attempts).where(ScanChunk.id == victim))
        states = set(session.scalars(select(ScanChunk.status).where(ScanChunk.scan_id == scan_id)))
    assert states == {"done"}
    assert attempts is not None and attempts >= 2  # the killed chunk was claimed again
