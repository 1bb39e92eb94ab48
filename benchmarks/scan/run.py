"""Time the disaster scan on a generated portfolio, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --out /tmp/scan-bench
    .venv/bin/python benchmarks/scan/run.py --data /tmp/scan-bench --database sqlite
    .venv/bin/python benchmarks/scan/run.py --data /tmp/scan-bench --database postgresql \
        --postgres-admin-url postgresql://postgres@127.0.0.1:5432/postgres

Steps, each timed on a fresh database: `hardship import accounts` and `statements`; `VACUUM
ANALYZE` (the state autovacuum brings a bulk-loaded table to; not timed as part of a scan); a
dry-run scan (inline executor, `hardship scan --dry-run`; on PostgreSQL its chunks run in one process
per core); on PostgreSQL the same dry run in one process (`HARDSHIP_SCAN_INLINE_PROCESSES=1`); the
same dry run with Celery and 1, then 2 `hardship worker` processes (needs Redis; --skip-celery to
leave them out, --skip-variants to leave out these three); the hand-written set-based SQL baseline
for the same result (baseline.py, on a twin event); an enroll scan (`hardship scan --enroll`). The
enroll scan's totals must equal the baseline's, to the fen, and the dry run's accounts scanned and
reason counts the baseline's.
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
    """Fresh planner statistics and visibility map, as autovacuum leaves a bulk-loaded table (it
    would get there within minutes, maybe in the middle of a timed step)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()


def last_scan_manifest(url: str) -> dict[str, Any]:
    """The last scan's accounts scanned, reason counts, chunks and results listed."""
    from sqlalchemy import func, select

    from app.persistence.models import Scan, ScanResult

    engine = create_engine(url)
    with engine.connect() as connection:
        scan_id, scanned, reasons, chunks = connection.execute(
            select(Scan.id, Scan.accounts_scanned, Scan.reason_counts, Scan.chunks_total)
            .order_by(Scan.id.desc())
            .limit(1)
        ).one()
        listed = connection.scalar(select(func.count()).where(ScanResult.scan_id == scan_id))
    engine.dispose()
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    return {"accounts_scanned": str(scanned), "reason_counts": reasons, "chunks": chunks, "listed": listed}


def declare_events(url: str, regions: list[str]) -> tuple[str, str]:
    """A twin pair of events on ``regions`` (one for the scans, one for the SQL baseline), with codes
    not used yet in the database; returns their codes."""
    os.environ["HARDSHIP_DATABASE_URL"] = url
    from sqlalchemy import func, select

    from app.db import unit_of_work
    from app.domain.access import Role
    from app.persistence.models import DisasterEvent
    from app.services import disasters
    from app.services.principal import Principal
    from app.settings import Settings

    engine = create_engine(Settings(database_url=url).database_url)
    actor = Principal(kind="cli", id=0, name="bench", role=Role.BATCH_OPERATOR)
    with unit_of_work(engine) as session:
        n = session.scalar(select(func.count()).select_from(DisasterEvent)) or 0
        codes = (f"BENCH-APP-{n + 1}", f"BENCH-SQL-{n + 2}")
        for code in codes:
            disasters.declare_event(session, actor=actor, **{**EVENT, "code": code, "region_codes": regions})
    engine.dispose()
    return codes


def double_uncovered(url: str, regions: list[str]) -> int:
    """Copy every account outside the event's regions, with its statements (refs prefixed ``X``, the
    same customers): the portfolio gets twice the uncovered accounts, appended after the others.
    Returns the number of accounts copied."""
    from app.domain.regions import coverage_prefixes, coverage_ranges
    from app.services.policies import PolicyStore

    prefixes = coverage_prefixes(
        regions, PolicyStore.load().in_force(datetime.now(UTC).date()).region_code_changes
    )
    covered = " OR ".join(
        f"(o.region_code >= '{low}'" + (f" AND o.region_code < '{high}')" if high else ")")
        for low, high in coverage_ranges(prefixes)
    )
    columns = (
        "customer_ref, product_code, status, region_code, opened_on, credit_limit_fen,"
        " principal_balance_fen, interest_balance_fen, fee_balance_fen, delinquent_since, last_payment_on,"
        " updated_at"
    )
    copied_columns = ", ".join(f"o.{name.strip()}" for name in columns.split(","))
    engine = create_engine(url)
    with engine.begin() as connection:
        copied = connection.execute(
            text(
                f"INSERT INTO card_account (account_ref, {columns})"
                f" SELECT 'X' || o.account_ref, {copied_columns}"
                f" FROM card_account o WHERE NOT ({covered})"
            )
        ).rowcount
        connection.execute(
            text(
                "INSERT INTO statement (account_id, statement_date, due_date, statement_balance_fen,"
                " minimum_due_fen, paid_amount_fen)"
                " SELECT n.id, s.statement_date, s.due_date, s.statement_balance_fen, s.minimum_due_fen,"
                " s.paid_amount_fen FROM statement s JOIN card_account o ON o.id = s.account_id"
                " JOIN card_account n ON n.account_ref = 'X' || o.account_ref"
                f" WHERE NOT ({covered})"
            )
        )
    engine.dispose()
    return int(copied)


def celery_scan(bench: Bench, workers: int, code: str) -> None:
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
            ["scan", code, "--dry-run"],
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


def _row(bench: Bench, step: str) -> int:
    return max(i for i, row in enumerate(bench.rows) if row["step"] == step)


def scan_round(bench: Bench, args: argparse.Namespace, label: str) -> dict[str, Any]:
    """Dry run, (variants), SQL baseline, enroll on a fresh twin pair of events; the ratios."""
    url = bench.url
    app_code, sql_code = declare_events(url, args.regions)
    dry_step = f"dry run, inline{label}"
    output = bench.run(dry_step, ["scan", app_code, "--dry-run"], HARDSHIP_SCAN_EXECUTOR="inline")
    bench.rows[-1]["totals"] = dry = scan_totals(output)
    bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
    bench.rows[-1]["manifest"] = manifest = last_scan_manifest(url)
    print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s; {dry}; {manifest}")
    if args.database == "postgresql" and not args.skip_variants:
        bench.run(
            f"dry run, inline, 1 process{label}",
            ["scan", app_code, "--dry-run"],
            HARDSHIP_SCAN_EXECUTOR="inline",
            HARDSHIP_SCAN_INLINE_PROCESSES="1",
        )
        bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
        print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s")
    if not (args.skip_celery or args.skip_variants):
        celery_scan(bench, 1, app_code)
        celery_scan(bench, 2, app_code)
    started = time.perf_counter()
    baseline = run_baseline(url, sql_code)
    bench.record(f"SQL baseline{label}", time.perf_counter() - started)
    bench.rows[-1]["totals"] = baseline
    base_seconds = bench.rows[-1]["seconds"]
    output = bench.run(
        f"enroll, inline{label}", ["scan", app_code, "--enroll"], HARDSHIP_SCAN_EXECUTOR="inline"
    )
    bench.rows[-1]["totals"] = enrolled = scan_totals(output)
    bench.rows[-1]["scan_seconds"] = last_scan_seconds(url)
    print(f"  scan itself: {bench.rows[-1]['scan_seconds']} s")
    money_and_counts = [k for k in baseline if k.startswith(("accounts_enrolled", "customers", "total"))]
    same = all(str(baseline[k]) == enrolled[k] for k in money_and_counts)
    counted = {k: baseline[k] for k in ("accounts_scanned", "reason_counts")}
    same = same and counted == {k: manifest[k] for k in counted}
    summary = {
        "covered_share": round(manifest["listed"] / max(1, int(manifest["accounts_scanned"])), 4),
        "accounts": int(manifest["accounts_scanned"]),
        "dry_run_s": bench.rows[_row(bench, dry_step)]["scan_seconds"],
        "enroll_s": bench.rows[-1]["scan_seconds"],
        "baseline_s": base_seconds,
        "dry run / baseline": round(bench.rows[_row(bench, dry_step)]["scan_seconds"] / base_seconds, 2),
        "enroll / baseline": round(bench.rows[-1]["scan_seconds"] / base_seconds, 2),
        "baseline_equals_scan": same,
    }
    print(f"  enroll {enrolled}\n  baseline {baseline}\n  {summary}")
    if not same:
        raise SystemExit("the scans and the SQL baseline disagree")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description="Time portfolio scans")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL"))
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--skip-variants", action="store_true", help="no 1-process or Celery dry runs")
    parser.add_argument(
        "--regions",
        type=lambda text: text.split(","),
        default=list(EVENT["region_codes"]),
        help="the event's region codes (the covered share): 622927 covers 4 %% of the generated accounts",
    )
    parser.add_argument("--reuse", action="store_true", help="the database of the last run, as it is")
    parser.add_argument(
        "--double-uncovered", action="store_true", help="then copy the uncovered accounts and scan again"
    )
    args = parser.parse_args()

    if args.reuse:
        url = (
            f"sqlite:///{args.data / 'bench.db'}"
            if args.database == "sqlite"
            else make_url(args.postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
            .set(database="hardship_scan_bench")
            .render_as_string(hide_password=False)
        )
    else:
        url = fresh_database(args.database, args.data, args.postgres_admin_url)
    bench = Bench(url, args.data, args.chunk_size, args.broker)
    print(f"# {args.database}, chunk size {args.chunk_size}, regions {args.regions}, {platform.node()}")
    print("| step | time | notes |\n| --- | --- | --- |")
    if not args.reuse:
        bench.run("db upgrade", ["db", "upgrade"])
        bench.run("import accounts", ["import", "accounts", str(args.data / "accounts.csv")])
        bench.run("import statements", ["import", "statements", str(args.data / "statements.csv")])
    started = time.perf_counter()
    analyze(url)
    bench.record("VACUUM ANALYZE (after the bulk load)", time.perf_counter() - started)
    rounds = [scan_round(bench, args, "")]
    if args.double_uncovered:
        started = time.perf_counter()
        copied = double_uncovered(url, args.regions)
        analyze(url)
        bench.record(f"copy {copied} uncovered accounts, VACUUM ANALYZE", time.perf_counter() - started)
        rounds.append(scan_round(bench, args, ", uncovered x2"))
        print(
            "  uncovered x2: dry run"
            f" {rounds[1]['dry_run_s'] / rounds[0]['dry_run_s'] - 1:+.0%},"
            f" enroll {rounds[1]['enroll_s'] / rounds[0]['enroll_s'] - 1:+.0%},"
            f" baseline {rounds[1]['baseline_s'] / rounds[0]['baseline_s'] - 1:+.0%}"
        )
    result = {
        "database": args.database,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "chunk_size": args.chunk_size,
        "regions": args.regions,
        "rounds": rounds,
        "steps": bench.rows,
    }
    name = f"results-{args.database}-{'-'.join(args.regions)}.json"
    (args.data / name).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
