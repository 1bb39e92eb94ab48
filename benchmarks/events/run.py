"""Events benchmarks: what the outbox costs an enroll scan, and the webhook delivery rate.

    .venv/bin/python benchmarks/events/run.py --accounts 520000 --database postgresql \\
        --postgres-admin-url postgresql://postgres@127.0.0.1:5432/postgres --pairs 3

1. Generates the scan benchmark's portfolio (benchmarks/scan/generate.py), imports it with the real
   command, VACUUM ANALYZE (``--reuse`` keeps the database of the last run instead).
2. A/B: declares ``2 * --pairs`` twin disasters (same regions and window) and runs enroll scans of
   them alternately without (A) and with (B) the deferral events, in the order A B B A A B B A ...
   (a drift of the machine or of the database's size over the run weighs on both alike). A is the
   chunk with no ``deferral.granted`` drafts (as it was before events); B is as shipped: one event
   per deferral, numbered per account and written by COPY into the outbox in the chunk's
   transaction. All inline in this process (one process each). Each scan grants the same
   deferrals. Prints each scan's time ("scan itself": started_at to finished_at), each pair's
   ratio B/A, their median, and the load average before and after. ``--profile DIR`` writes a
   cProfile of each scan there.
3. Delivery rate: a receiver in its own process (benchmarks/events/receiver.py, 127.0.0.1, answers
   200 at once) subscribed to ``hardship.deferral.granted``; the relay's rounds (fan-out, claim,
   sign, POST, record; the default 8 sending threads and batches of 50) are timed over the first
   ``--deliver`` events, and the receiver's own count of POSTs is the figure.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks" / "scan")]

from generate import EVENT  # noqa: E402
from run import analyze  # noqa: E402
from sqlalchemy import create_engine, delete, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

HARDSHIP = str(ROOT / ".venv" / "bin" / "hardship")
RECEIVER = str(ROOT / "benchmarks" / "events" / "receiver.py")
DATABASE = "hardship_events_bench"


def database_url(kind: str, data: Path, admin_url: str | None, *, fresh: bool) -> str:
    """The benchmark's own scratch database (never the test or the service database), made anew
    unless ``fresh`` is False."""
    if kind == "sqlite":
        path = data / "events-bench.db"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert admin_url, "--postgres-admin-url is required for PostgreSQL"
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    if fresh:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
        admin.dispose()
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def sh(url: str, *args: str) -> None:
    env = {
        **os.environ,
        "HARDSHIP_DATABASE_URL": url,
        "HARDSHIP_SECRET_KEY": "bench-events-secret-Kq7Zp2Wx9Lm4Rt8Yv3Nb6",
    }
    subprocess.run([HARDSHIP, *args], check=True, env=env, stdout=subprocess.DEVNULL)


def load() -> str:
    """The load averages (1, 5, 15 minutes)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def abba(pairs: int) -> list[bool]:
    """Whether each scan writes events: A B B A A B B A ..."""
    order: list[bool] = []
    for n in range(pairs):
        order += [False, True] if n % 2 == 0 else [True, False]
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=520_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL"))
    parser.add_argument("--data", type=Path, default=Path("/tmp/hardship-bench-events"))
    parser.add_argument("--pairs", type=int, default=1, help="A/B pairs of enroll scans (0: none)")
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--deliver", type=int, default=20_000, help="events to deliver (0: skip)")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each scan to this folder")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    url = database_url(args.database, args.data, args.postgres_admin_url, fresh=not args.reuse)
    os.environ["HARDSHIP_DATABASE_URL"] = url
    os.environ.setdefault("HARDSHIP_SECRET_KEY", "bench-events-secret-Kq7Zp2Wx9Lm4Rt8Yv3Nb6")
    if not args.reuse:
        if not (args.data / f"accounts-{args.accounts}.csv").exists():
            subprocess.run(
                [sys.executable, str(ROOT / "benchmarks/scan/generate.py"), "--accounts", str(args.accounts),
                 "--out", str(args.data)], check=True,
            )  # fmt: skip
            (args.data / "accounts.csv").rename(args.data / f"accounts-{args.accounts}.csv")
            (args.data / "statements.csv").rename(args.data / f"statements-{args.accounts}.csv")
        started = time.monotonic()
        sh(url, "db", "upgrade")
        sh(url, "import", "accounts", str(args.data / f"accounts-{args.accounts}.csv"))
        sh(url, "import", "statements", str(args.data / f"statements-{args.accounts}.csv"))
        analyze(url)
        print(f"portfolio of {args.accounts:,} accounts loaded in {time.monotonic() - started:.1f} s")

    from app.db import get_engine, unit_of_work
    from app.domain.access import Role
    from app.jobs.executors import run_scan_inline
    from app.persistence.models import (
        OutboxEvent,
        Scan,
        WebhookDelivery,
        WebhookEndpoint,
        WebhookEndpointType,
    )
    from app.services import disasters, scans
    from app.services.policies import PolicyStore
    from app.services.principal import Principal
    from app.settings import Settings

    settings = Settings(database_url=url, scan_executor="inline")
    engine = get_engine(settings)
    policies = PolicyStore.load(None)
    actor = Principal(kind="cli", id=0, name="bench", role=Role.BATCH_OPERATOR)
    scans.register_dispatcher(lambda request: None)  # run below, in this thread
    stamp = time.strftime("%H%M%S")

    import app.jobs.chunk as chunk

    real = chunk.granted_event_drafts

    def enroll(code: str, with_events: bool) -> tuple[float, int]:
        with unit_of_work(engine) as session:
            disasters.declare_event(session, actor=actor, **{**EVENT, "code": code})
        with unit_of_work(engine) as session:
            scan_id = scans.start_scan(
                session, disaster_code=code, mode="enroll", actor=actor, policies=policies, settings=settings
            ).id
        if not with_events:
            chunk.granted_event_drafts = lambda **_: []  # type: ignore[assignment]
        profiler = cProfile.Profile() if args.profile else None
        try:
            if profiler:
                profiler.enable()
            run_scan_inline(
                engine, scan_id, policies=policies, chunk_size=args.chunk_size, max_attempts=3, processes=1
            )
        finally:
            if profiler:
                profiler.disable()
                args.profile.mkdir(parents=True, exist_ok=True)
                profiler.dump_stats(args.profile / f"{code}.prof")
            chunk.granted_event_drafts = real  # type: ignore[assignment]
        with unit_of_work(engine) as session:
            scan = session.get(Scan, scan_id)
            assert scan is not None and scan.status == "succeeded", scan and scan.error
            assert scan.started_at and scan.finished_at
            return (scan.finished_at - scan.started_at).total_seconds(), scan.accounts_enrolled

    if args.pairs:
        print(f"load average before: {load()}")
        times: dict[bool, list[float]] = {False: [], True: []}
        enrolled: set[int] = set()
        for n, with_events in enumerate(abba(args.pairs)):
            code = f"EV{stamp}-{n}{'B' if with_events else 'A'}"
            before = time.monotonic()
            seconds, count = enroll(code, with_events)
            times[with_events].append(seconds)
            enrolled.add(count)
            label = "with events   " if with_events else "without events"
            wall = time.monotonic() - before
            print(f"{code} {label} {seconds:6.1f} s ({wall:.1f} s wall), {count:,} deferrals")
        assert len(enrolled) == 1, enrolled  # every scan granted the same deferrals
        ratios = [b / a for a, b in zip(times[False], times[True], strict=True)]
        print(f"load average after: {load()}")
        print("pair ratios (with / without): " + ", ".join(f"{r:.3f}" for r in ratios))
        a, b = statistics.median(times[False]), statistics.median(times[True])
        print(f"median without {a:.1f} s, with {b:.1f} s, median ratio {statistics.median(ratios):.3f}")
        print(f"ratio of the sums {sum(times[True]) / sum(times[False]):.3f}")

    if not args.deliver:
        return
    from concurrent.futures import ThreadPoolExecutor

    from app.jobs.events import run_round
    from app.services import webhooks

    receiver = subprocess.Popen([sys.executable, RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline().split()[1])
        with unit_of_work(engine) as session:
            for model in (WebhookDelivery, WebhookEndpointType, WebhookEndpoint):  # earlier runs'
                session.execute(delete(model))
            session.execute(update(OutboxEvent).values(relayed_at=func.now()))
            webhooks.create_endpoint(
                session, url=f"http://127.0.0.1:{port}/hook", event_types=["hardship.deferral.granted"],
                actor=actor, settings=settings,
            )  # fmt: skip
            granted = select(OutboxEvent.id).where(OutboxEvent.type == "hardship.deferral.granted")
            last = session.scalar(select(func.max(OutboxEvent.id)).where(OutboxEvent.id.in_(granted)))
            first = session.scalar(
                granted.order_by(OutboxEvent.id.desc()).offset(args.deliver - 1).limit(1)
            ) or session.scalar(select(func.min(OutboxEvent.id)).where(OutboxEvent.id.in_(granted)))
            assert first is not None and last is not None, "no deferral.granted events: run a pair first"
            # The last --deliver deferral.granted events (the latest scan's) go out.
            session.execute(
                update(OutboxEvent).where(OutboxEvent.id.between(first, last)).values(relayed_at=None)
            )
        print(f"load average before delivery: {load()}")
        started = time.monotonic()
        with ThreadPoolExecutor(settings.webhook_concurrency) as pool:
            rounds = 0
            while run_round(engine, settings, pool).busy:
                rounds += 1
        seconds = time.monotonic() - started
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/count") as answer:
            received = int(answer.read())
        print(f"load average after delivery: {load()}")
        print(
            f"delivered {received:,} events in {seconds:.1f} s ({received / seconds:,.0f}/s; "
            f"{rounds} relay rounds, {settings.webhook_concurrency} threads, batches of "
            f"{settings.webhook_batch_size}; receiver in its own process)"
        )
        print(f"deliveries still pending: {webhooks.pending_count(engine)}")
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
