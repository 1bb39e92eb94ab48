"""API load benchmark: our endpoints against a bare FastAPI ceiling, on PostgreSQL, with wrk.

    .venv/bin/python benchmarks/api_load/run.py                    # 100k accounts, 1 and 2 workers
    .venv/bin/python benchmarks/api_load/run.py --accounts 20000 --duration 5 --workers 1

1. Makes the scratch database `hardship_bench_api` (never `test`), migrates it and loads the demo
   portfolio (`hardship demo --accounts N`); `--reuse` keeps a loaded one from an earlier run.
2. Starts `hardship serve --workers W` and, next to it, the ceiling (ceiling.py: one account row by
   key, same stack and pool) with the same number of workers; only 127.0.0.1.
3. Drives each with wrk (request.lua) for GET /v1/accounts/{ref}, POST .../eligibility and POST
   /v1/quotes/installment-plan on random demo accounts: throughput, p50 and p99, ratio to the ceiling.
4. Runs each endpoint again paced at 80 % of its measured maximum (wrk's delay() per connection; wrk2
   is not in Debian) and reports p99 there.

Prints a Markdown table for benchmarks/README.md ("API load")."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
SCRATCH_DATABASE = "hardship_bench_api"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "benchmark-secret-key-not-for-production"
AUDIT_KEY = "benchmark-audit-key-not-for-production"
POOL_SIZE = Settings.model_fields["db_pool_size"].default
MAX_OVERFLOW = Settings.model_fields["db_max_overflow"].default
ENDPOINTS = ("account", "eligibility", "quote")
LABELS = {
    "ceiling": "ceiling (bare FastAPI, 1 row)",
    "account": "GET /v1/accounts/{ref}",
    "eligibility": "POST /v1/accounts/{ref}/eligibility",
    "quote": "POST /v1/quotes/installment-plan",
}


@dataclass
class Result:
    workers: int
    kind: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    target_rps: float | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_database(admin_url: str, reuse: bool, name: str = SCRATCH_DATABASE) -> tuple[str, bool]:
    """The scratch database's URL, and whether it already holds a loaded portfolio."""
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not reuse:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(_psycopg(admin_url)).set(database=name).render_as_string(hide_password=False)
    return url, bool(exists)


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def hardship(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "hardship"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"hardship {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def count_accounts(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(text("SELECT count(*) FROM card_account")) or 0)
    except Exception:
        return 0
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """Fresh planner statistics, as a production database has them (a bulk load leaves none until
    autovacuum catches up, and the plans of the per-account queries depend on them)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def start(command: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
        time.sleep(0.2)
    stop(process)
    raise SystemExit(f"{' '.join(command)} did not answer on port {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk(
    url: str,
    kind: str,
    token: str,
    accounts: int,
    *,
    duration: int,
    connections: int,
    threads: int,
    delay_ms: float = 0,
) -> Result:
    env = {
        **os.environ,
        "BENCH_KIND": kind,
        "BENCH_TOKEN": token,
        "BENCH_ACCOUNTS": str(accounts),
        "BENCH_DELAY_MS": f"{delay_ms:.3f}",
    }
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(HERE / "request.lua"),
        url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout + done.stderr, kind, connections)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str, kind: str, connections: int) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    assert p50 and p99, output
    return Result(0, kind, connections, rps, _ms(*p50.groups()), _ms(*p99.groups()), errors)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--endpoints", nargs="+", default=list(ENDPOINTS), choices=ENDPOINTS)
    parser.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG))
    parser.add_argument("--reuse", action="store_true", help="keep the scratch database and its portfolio")
    parser.add_argument(
        "--database", default=SCRATCH_DATABASE, help="the scratch database's name (one per concurrent run)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    url, existed = scratch_database(args.pg_admin_url, args.reuse, args.database)
    env = {
        **os.environ,
        "HARDSHIP_DATABASE_URL": url,
        "HARDSHIP_SECRET_KEY": SECRET_KEY,
        "HARDSHIP_AUDIT_KEY": AUDIT_KEY,
        # the demo portfolio is loaded outside production (`hardship demo` refuses to run there);
        # the servers below run as production does
        "HARDSHIP_ENVIRONMENT": "development",
        "CEILING_DATABASE_URL": url,
        # the same pool as the service's (app/settings.py defaults, or what the environment sets)
        "CEILING_POOL_SIZE": os.environ.get("HARDSHIP_DB_POOL_SIZE", str(POOL_SIZE)),
        "CEILING_MAX_OVERFLOW": os.environ.get("HARDSHIP_DB_MAX_OVERFLOW", str(MAX_OVERFLOW)),
    }
    env.pop("DATABASE_URL", None)
    if not existed or count_accounts(url) < args.accounts:
        started = time.perf_counter()
        hardship(env, "db", "upgrade")
        hardship(env, "demo", "--accounts", str(args.accounts))
        print(
            f"loaded {args.accounts:,} demo accounts in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    analyze(url)
    token = (
        hardship(env, "keys", "create", "--role", "channel", "--name", "api-load-bench")
        .strip()
        .splitlines()[-1]
    )

    serving = {**env, "HARDSHIP_ENVIRONMENT": "production"}
    results: list[Result] = []
    for workers in args.workers:
        app_port, ceiling_port = free_port(), free_port()
        service = start(
            [str(BIN / "hardship"), "serve", "--port", str(app_port), "--workers", str(workers)],
            serving,
            app_port,
            "/healthz",
        )
        ceiling = start(
            [
                str(BIN / "uvicorn"),
                "--app-dir",
                str(HERE),
                "ceiling:app",
                "--port",
                str(ceiling_port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env,
            ceiling_port,
            "/accounts/DEMO-00001",
        )
        try:
            targets = [("ceiling", f"http://127.0.0.1:{ceiling_port}")] + [
                (kind, f"http://127.0.0.1:{app_port}") for kind in args.endpoints
            ]
            for kind, base in targets:
                # a short warm-up, so each worker has its pool and caches filled
                wrk(
                    base,
                    kind,
                    token,
                    args.accounts,
                    duration=2,
                    connections=args.connections,
                    threads=args.threads,
                )
                flat_out = wrk(
                    base,
                    kind,
                    token,
                    args.accounts,
                    duration=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                )
                flat_out.workers = workers
                results.append(flat_out)
                print(_line(flat_out), file=sys.stderr)
                target = 0.8 * flat_out.rps
                paced = paced_run(base, kind, token, args, target, workers / flat_out.rps * 1000)
                paced.workers = workers
                paced.target_rps = target
                results.append(paced)
                print(_line(paced), file=sys.stderr)
        finally:
            stop(service)
            stop(ceiling)

    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))


def paced_run(
    base: str, kind: str, token: str, args: argparse.Namespace, target: float, service_ms: float
) -> Result:
    """wrk paced to `target` req/s: each connection sends a request, waits for the answer, then pauses
    (closed loop, so a slow answer delays the next request: p99 is, if anything, flattered).  The
    pause is set from the service time, then corrected once from the rate actually reached."""
    connections = max(2, min(args.connections, round(target * 0.02)))
    delay = max(0.0, connections / target * 1000 - service_ms)
    result = Result(0, kind, connections, 0, 0, 0, 0)
    for _ in range(2):
        result = wrk(
            base,
            kind,
            token,
            args.accounts,
            duration=args.duration,
            connections=connections,
            threads=min(args.threads, connections),
            delay_ms=delay,
        )
        if abs(result.rps - target) <= 0.1 * target:
            break
        cycle_ms = connections / result.rps * 1000  # latency + delay, as observed
        delay = max(0.0, connections / target * 1000 - (cycle_ms - delay))
    return result


def _line(r: Result) -> str:
    paced = f" (paced to {r.target_rps:,.0f}/s)" if r.target_rps else ""
    return (
        f"workers={r.workers} {r.kind:12} c={r.connections:3} {r.rps:8,.0f} req/s p50={r.p50_ms:6.2f} ms "
        f"p99={r.p99_ms:7.2f} ms errors={r.errors}{paced}"
    )


def report(results: list[Result], args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, {cpu}, "
        f"PostgreSQL, {args.accounts:,} demo accounts, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s on the same machine.",
        "",
        "| workers | endpoint | max req/s | p50 ms | p99 ms | vs ceiling | req/s at 80 % | p99 ms at 80 % |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workers in sorted({r.workers for r in results}):
        mine = [r for r in results if r.workers == workers]
        ceiling = next(r for r in mine if r.kind == "ceiling" and r.target_rps is None)
        for kind in ["ceiling", *ENDPOINTS]:
            flat = next((r for r in mine if r.kind == kind and r.target_rps is None), None)
            paced = next((r for r in mine if r.kind == kind and r.target_rps is not None), None)
            if flat is None:
                continue
            ratio = f"{flat.rps / ceiling.rps:.0%}"
            paced_cells = f"{paced.rps:,.0f} | {paced.p99_ms:.1f}" if paced else "- | -"
            name = LABELS[kind]
            errors = f" ({flat.errors} errors)" if flat.errors else ""
            lines.append(
                f"| {workers} | {name}{errors} | {flat.rps:,.0f} | {flat.p50_ms:.1f} | {flat.p99_ms:.1f} "
                f"| {ratio} | {paced_cells} |"
            )
    return "\n".join(lines)


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return kib / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


if __name__ == "__main__":
    main()
