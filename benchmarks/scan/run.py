"""Time the disaster scan on a generated portfolio, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --out /tmp/scan-bench
    .venv/bin/python benchmarks/scan/run.py --data /tmp/scan-bench --database sqlite
    .venv/bin/python benchmarks/scan/run.py --data /tmp/scan-bench --database postgresql \
        --postgres-admin-url postgresql://postgres@127.0.0.1:5432/postgres

Steps, each timed on a fresh database: `hardship import accounts` and `statements`; a dry-run scan
(inline executor, `hardship scan --dry-run`; on PostgreSQL its chunks run in one process per core);
on PostgreSQL the same dry run in one process (`HARDSHIP_SCAN_INLINE_PROCESSES=1`); the same dry
run with Celery and 1, then 2 `hardship worker` processes (needs Redis; --skip-celery to leave it
out); the hand-written set-based SQL baseline for the same selection and insert (baseline.py, on a
twin event); an enroll scan (`hardship scan --enroll`). The enroll scan's totals must equal the
baseline's, to the fen.
Prints a Markdown table row per step and writes results.json beside the data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from baseline import run_baseline  # noqa: E402
from generate import EVENT  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

HARDSHIP = str(ROOT / ".venv" / "bin" / "hardship")


def fresh_database(kind: str, data: Path, admin_url: str | None) -> str:
    if kind == "sqlite":
        path = data / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert admin_url, "--postgres-admin-url is required for PostgreSQL"
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS hardship_scan_bench WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE hardship_scan_bench"))
    admin.dispose()
    return make_url(admin_url).set(database="hardship_scan_bench").render_as_string(hide_password=False)


class Bench:
    def __init__(self, url: str, data: Path, chunk_size: int, broker: str) -> None:
        self.url = url
        self.data = data
        self.rows: list[dict[str, Any]] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "HARDSHIP_DATABASE_URL": url,
            "HARDSHIP_SECRET_KEY": "benchmark-secret-key-0123456789-abcdef",
            "HARDSHIP_SCAN_CHUNK_SIZE": str(chunk_size),
            "HARDSHIP_CELERY_BROKER_URL": broker,
            "HARDSHIP_SCAN_QUEUE": "hardship-bench",
            "HARDSHIP_LOG_LEVEL": "WARNING",
        }

    def run(self, name: str, args: list[str], **env: str) -> str:
        started = time.perf_counter()
        done = subprocess.run(
            [HARDSHIP, *args], cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(
                f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        self.record(name, seconds)
        return done.stdout

    def record(self, name: str, seconds: float, **extra: Any) -> None:
        self.rows.append({"step": name, "seconds": round(seconds, 1), **extra})
        print(f"| {name} | {seconds:.1f} s | {extra or ''}", flush=True)


def last_scan_seconds(url: str) -> float:
    """The last scan's own time (started_at to finished_at), without the CLI's start-up."""
    from sqlalchemy import select

    from app.persistence.models import Scan

    engine = create_engine(url)
    with engine.connect() as connection:
        started, finished = connection.execute(
            select(Scan.started_at, Scan.finished_at).order_by(Scan.id.desc()).limit(1)
        ).one()
    engine.dispose()
    return round((finished - started).total_seconds(), 1)


def scan_totals(output: str) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in output.splitlines() if "\t" in line)


def analyze(url: str) -> None:
    """Fresh planner statistics, as after any bulk load (PostgreSQL's autovacuum would get there later)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def declare_events(url: str) -> None:
    os.environ["HARDSHIP_DATABASE_URL"] = url
    from app.db import unit_of_work
    from app.domain.access import Role
    from app.services import disasters
    from app.services.principal import Principal
    from app.settings import Settings

    engine = create_engine(Settings(database_url=url).database_url)
    actor = Principal(kind="cli", id=0, name="bench", role=Role.BATCH_OPERATOR)
    with unit_of_work(engine) as session:
        for code in ("BENCH-APP", "BENCH-SQL"):
            disasters.declare_event(session, actor=actor, **{**EVENT, "code": code})
    engine.dispose()


def celery_scan(bench: Bench, workers: int) -> None:
    processes = [
        subprocess.Popen(
            [HARDSHIP, "worker", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=bench.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(4)  # let the workers connect (not timed)
        output = bench.run(
            f"dry run, Celery, {workers} worker(s)",
            ["scan", "BENCH-APP", "--dry-run"],
            HARDSHIP_SCAN_EXECUTOR="celery",
        )
        bench.rows[-1]["totals"] = scan_totals(output)
        bench.rows[-1]["scan_seconds"] = last_scan_seconds(bench.url)
        print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time portfolio scans")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL"))
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--skip-celery", action="store_true")
    args = parser.parse_args()

    url = fresh_database(args.database, args.data, args.postgres_admin_url)
    bench = Bench(url, args.data, args.chunk_size, args.broker)
    print(f"# {args.database}, chunk size {args.chunk_size}, {platform.node()}, {os.cpu_count()} cores")
    print("| step | time | notes |\n| --- | --- | --- |")
    bench.run("db upgrade", ["db", "upgrade"])
    bench.run("import accounts", ["import", "accounts", str(args.data / "accounts.csv")])
    bench.run("import statements", ["import", "statements", str(args.data / "statements.csv")])
    started = time.perf_counter()
    analyze(url)
    bench.record("ANALYZE (statistics after the bulk load)", time.perf_counter() - started)
    declare_events(url)
    output = bench.run("dry run, inline", ["scan", "BENCH-APP", "--dry-run"], HARDSHIP_SCAN_EXECUTOR="inline")
    bench.rows[-1]["totals"] = dry = scan_totals(output)
    bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
    print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s; {dry}")
    if args.database == "postgresql":
        bench.run(
            "dry run, inline, 1 process",
            ["scan", "BENCH-APP", "--dry-run"],
            HARDSHIP_SCAN_EXECUTOR="inline",
            HARDSHIP_SCAN_INLINE_PROCESSES="1",
        )
        bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
        print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s")
    if not args.skip_celery:
        celery_scan(bench, 1)
        celery_scan(bench, 2)
    started = time.perf_counter()
    baseline = run_baseline(url, "BENCH-SQL")
    bench.record("SQL baseline (select + insert deferrals and lines)", time.perf_counter() - started)
    bench.rows[-1]["totals"] = baseline
    output = bench.run("enroll, inline", ["scan", "BENCH-APP", "--enroll"], HARDSHIP_SCAN_EXECUTOR="inline")
    bench.rows[-1]["totals"] = enrolled = scan_totals(output)
    bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
    print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s")
    same = all(str(baseline[k]) == enrolled[k] for k in baseline)
    print(f"  enroll {enrolled}\n  baseline {baseline}\n  equal: {same}")
    result = {
        "database": args.database,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "chunk_size": args.chunk_size,
        "steps": bench.rows,
        "baseline_equals_enroll": same,
    }
    (args.data / f"results-{args.database}.json").write_text(json.dumps(result, indent=2))
    if not same:
        raise SystemExit("the enroll scan and the SQL baseline disagree")


if __name__ == "__main__":
    main()
