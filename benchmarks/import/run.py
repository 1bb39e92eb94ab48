"""Times `hardship import accounts` and `hardship import statements` on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/import/run.py                      # 100k and 1M accounts, both databases
    .venv/bin/python benchmarks/import/run.py --sizes 100000 --backends sqlite

For each size the portfolio is generated once (generate.py, cached in --workdir).  For each backend a
scratch database is made from nothing (a new SQLite file; PostgreSQL database `hardship_bench_import`,
dropped and created again, never the test database), migrated with `hardship db upgrade`, and then
the real command line is timed: accounts into the empty database, statements, and accounts again
(every row exists: the update path).  Prints a Markdown table for benchmarks/README.md."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from generate import generate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent
SCRATCH_DATABASE = "hardship_bench_import"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Timing:
    backend: str
    size: int
    step: str
    rows: int
    seconds: float
    max_rss_mib: float

    def row(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0
        return (
            f"| {self.backend} | {self.size:,} | {self.step} | {self.rows:,} | {self.seconds:.1f} "
            f"| {rate:,.0f} | {self.max_rss_mib:,.0f} |"
        )


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Runs a command; returns (wall seconds, peak RSS of the child in MiB).  Fails loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stdout is not None and process.stderr is not None
    output = process.stdout.read().decode() + process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-4000:]}")
    return elapsed, usage.ru_maxrss / 1024


def scratch_database(backend: str, pg_admin: str, workdir: Path) -> str:
    """A new, empty database URL for one run."""
    if backend == "sqlite":
        path = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin_url = make_url(pg_admin.replace("postgresql://", "postgresql+psycopg://", 1))
    if admin_url.database == SCRATCH_DATABASE:
        raise SystemExit("--pg-admin-url must name a maintenance database such as postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    admin.dispose()
    return admin_url.set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)


def drop_scratch(pg_admin: str) -> None:
    admin = create_engine(
        pg_admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
    admin.dispose()


STEPS = {
    "accounts": ("accounts (insert)", "accounts"),
    "statements": ("statements (insert)", "statements"),
    "update": ("accounts (update)", "accounts"),
}


def bench(
    backend: str,
    size: int,
    files: tuple[Path, Path],
    *,
    pg_admin: str,
    workdir: Path,
    hardship: str,
    steps: list[str],
) -> list[Timing]:
    url = scratch_database(backend, pg_admin, workdir)
    env = {**os.environ, "DATABASE_URL": url, "HARDSHIP_DATABASE_URL": url}
    env.setdefault("HARDSHIP_SECRET_KEY", "benchmark-secret-key-not-for-production")
    run([hardship, "db", "upgrade"], env)
    paths = {"accounts": files[0], "statements": files[1]}
    timings = []
    for name in steps:
        step, kind = STEPS[name]
        rows = 3 * size if kind == "statements" else size
        seconds, rss = run([hardship, "import", kind, str(paths[kind])], env)
        timing = Timing(backend, size, step, rows, seconds, rss)
        print(timing.row(), f"<!-- load {os.getloadavg()[0]:.1f} -->", flush=True)
        timings.append(timing)
    if backend == "postgresql":
        drop_scratch(pg_admin)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hardship-bench-import"))
    parser.add_argument("--hardship", default=str(BIN / "hardship"), help="the command to time")
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS))
    args = parser.parse_args()
    if "statements" in args.steps and "accounts" not in args.steps:
        parser.error("statements need their accounts: add the accounts step")
    args.workdir.mkdir(parents=True, exist_ok=True)

    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"load average {os.getloadavg()[0]:.1f} (a shared machine makes every figure slower)"
    )
    print("| database | accounts | step | rows | seconds | rows/s | peak RSS MiB |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        folder = args.workdir / f"portfolio-{size}"
        files = (folder / "accounts.csv", folder / "statements.csv")
        if not all(f.exists() for f in files):
            files = generate(size, folder)
        for backend in args.backends:
            bench(
                backend,
                size,
                files,
                pg_admin=args.pg_admin_url,
                workdir=args.workdir,
                hardship=args.hardship,
                steps=args.steps,
            )


if __name__ == "__main__":
    main()
