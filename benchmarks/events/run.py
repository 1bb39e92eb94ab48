"""Events benchmarks: what the outbox costs an enroll scan, and the webhook delivery rate.

    .venv/bin/python benchmarks/events/run.py --accounts 520000 --database postgresql \\
        --postgres-admin-url postgresql://postgres@127.0.0.1:5432/postgres

1. Generates the scan benchmark's portfolio (benchmarks/scan/generate.py), imports it with the real
   command, ANALYZE, and declares two twin disasters (same regions and window).
2. Runs an enroll scan of the first twin with its deferral events switched off (no
   ``deferral.granted`` drafts: the chunk as it was before events), then of the second twin as
   shipped, both inline in this process (one process each, so the two are compared like for
   like). Each grants the same deferrals; the second also writes one ``deferral.granted`` event
   per deferral. Prints both scan times ("scan itself": started_at to finished_at) and the ratio.
3. Delivery rate: subscribes a local HTTP receiver (127.0.0.1, answers 200 at once) to
   ``hardship.deferral.granted`` and times the relay (fan-out, claim, sign, POST, record) over the
   first ``--deliver`` events, with the default 8 sending threads.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks" / "scan")]

from generate import EVENT  # noqa: E402
from run import analyze  # noqa: E402
from sqlalchemy import create_engine, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

HARDSHIP = str(ROOT / ".venv" / "bin" / "hardship")


DATABASE = "hardship_events_bench"


def fresh_database(kind: str, data: Path, admin_url: str | None) -> str:
    """A new scratch database of this benchmark's own (never the test or the service database)."""
    if kind == "sqlite":
        path = data / "events-bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert admin_url, "--postgres-admin-url is required for PostgreSQL"
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def sh(url: str, *args: str) -> None:
    env = {**os.environ, "HARDSHIP_DATABASE_URL": url, "HARDSHIP_SECRET_KEY": "bench-secret-key-0123456789-not-for-production"}
    subprocess.run([HARDSHIP, *args], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=520_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL"))
    parser.add_argument("--data", type=Path, default=Path("/tmp/hardship-bench-events"))
    parser.add_argument("--deliver", type=int, default=20_000)
    parser.add_argument("--events-first", action="store_true", help="run the scan with events first")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    if not (args.data / f"accounts-{args.accounts}.csv").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/scan/generate.py"), "--accounts", str(args.accounts),
             "--out", str(args.data)], check=True,
        )  # fmt: skip
        (args.data / "accounts.csv").rename(args.data / f"accounts-{args.accounts}.csv")
        (args.data / "statements.csv").rename(args.data / f"statements-{args.accounts}.csv")
    url = fresh_database(args.database, args.data, args.postgres_admin_url)
    os.environ["HARDSHIP_DATABASE_URL"] = url
    os.environ.setdefault("HARDSHIP_SECRET_KEY", "bench-secret-key-0123456789-not-for-production")
    started = time.monotonic()
    sh(url, "db", "upgrade")
    sh(url, "import", "accounts", str(args.data / f"accounts-{args.accounts}.csv"))
    sh(url, "import", "statements", str(args.data / f"statements-{args.accounts}.csv"))
    analyze(url)
    print(f"portfolio of {args.accounts:,} accounts loaded in {time.monotonic() - started:.1f} s")

    from app.db import get_engine, unit_of_work
    from app.domain.access import Role
    from app.jobs.executors import run_scan_inline
    from app.persistence.models import OutboxEvent, Scan
    from app.services import disasters, scans
    from app.services.policies import PolicyStore
    from app.services.principal import Principal
    from app.settings import Settings

    settings = Settings(database_url=url, scan_executor="inline")
    engine = get_engine(settings)
    policies = PolicyStore.load(None)
    actor = Principal(kind="cli", id=0, name="bench", role=Role.BATCH_OPERATOR)
    with unit_of_work(engine) as session:
        for code in ("BENCH-NO-EVENTS", "BENCH-EVENTS"):
            disasters.declare_event(session, actor=actor, **{**EVENT, "code": code})
    scans.register_dispatcher(lambda request: None)  # run below, in this thread

    def enroll(code: str) -> tuple[float, int]:
        with unit_of_work(engine) as session:
            scan_id = scans.start_scan(
                session, disaster_code=code, mode="enroll", actor=actor, policies=policies, settings=settings
            ).id
        run_scan_inline(engine, scan_id, policies=policies, chunk_size=5000, max_attempts=3, processes=1)
        with unit_of_work(engine) as session:
            scan = session.get(Scan, scan_id)
            assert scan is not None and scan.status == "succeeded", scan and scan.error
            assert scan.started_at and scan.finished_at
            return (scan.finished_at - scan.started_at).total_seconds(), scan.accounts_enrolled

    import app.jobs.chunk as chunk

    real = chunk.granted_event_drafts

    def without_events() -> tuple[float, int]:
        chunk.granted_event_drafts = lambda **_: []  # type: ignore[assignment]
        try:
            return enroll("BENCH-NO-EVENTS")
        finally:
            chunk.granted_event_drafts = real  # type: ignore[assignment]

    if args.events_first:
        with_events, enrolled_b = enroll("BENCH-EVENTS")
        without, enrolled_a = without_events()
    else:
        without, enrolled_a = without_events()
        with_events, enrolled_b = enroll("BENCH-EVENTS")
    with unit_of_work(engine) as session:
        granted = session.scalar(select(func.count()).where(OutboxEvent.type == "hardship.deferral.granted"))
    print(f"enroll without events: {without:.1f} s, {enrolled_a:,} deferrals")
    print(f"enroll with events:    {with_events:.1f} s, {enrolled_b:,} deferrals, {granted:,} events")
    print(f"ratio: {with_events / without:.3f}")

    # Delivery rate to a local receiver.
    received = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                received[0] += 1
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from app.jobs.events import deliver_due
    from app.services import webhooks

    with unit_of_work(engine) as session:
        webhooks.create_endpoint(
            session, url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            event_types=["hardship.deferral.granted"], actor=actor, settings=settings,
        )  # fmt: skip
        keep = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id).offset(args.deliver).limit(1))
        if keep is not None:  # only the first --deliver events are delivered
            session.execute(update(OutboxEvent).where(OutboxEvent.id >= keep).values(relayed_at=func.now()))
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    relayed = 0
    while webhooks.relay_outbox(engine):
        relayed += 1
    fanned = time.monotonic() - started
    with ThreadPoolExecutor(settings.webhook_concurrency) as pool:
        while deliver_due(engine, settings, pool):
            pass
    seconds = time.monotonic() - started
    rate = received[0] / seconds
    print(f"delivered {received[0]:,} events in {seconds:.1f} s ({rate:,.0f}/s; fan-out {fanned:.1f} s)")
    server.shutdown()


if __name__ == "__main__":
    main()
