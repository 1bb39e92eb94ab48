"""Times `hardship import accounts`, `statements` and `payments` on SQLite and PostgreSQL, beside COPY.

    .venv/bin/python benchmarks/import/run.py                      # 100k and 1M accounts, both databases
    .venv/bin/python benchmarks/import/run.py --sizes 100000 --backends sqlite

For each size the portfolio is generated once (generate.py, cached in --workdir).  For each backend a
scratch database is made from nothing (a new SQLite file; PostgreSQL database `hardship_bench_import`,
dropped and created again, never the test database), migrated with `hardship db upgrade`, and then
the real command line is timed: accounts into the empty database, statements, payments, and accounts
again (every row exists: the update path).  On PostgreSQL each file is also loaded with `COPY ...
FROM STDIN (FORMAT csv)` into a table with the same keys and indexes as the service's (the baseline
of issue 14), in the same run.  Prints a Markdown table for benchmarks/README.md."""

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
    "payments": ("payments (insert)", "payments"),
    "update": ("accounts (update)", "accounts"),
}

# The COPY baseline: the file's columns, in tables with the keys and indexes of card_account,
# statement and payment (identity key, the natural key unique, the same secondary indexes).
BASELINE_TABLES = {
    "accounts": (
        "copy_account",
        """CREATE TABLE copy_account (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_ref varchar(64) NOT NULL UNIQUE,
            customer_ref varchar(64) NOT NULL, product_code varchar(32) NOT NULL, status varchar(16) NOT NULL,
            region_code varchar(6) NOT NULL, opened_on date NOT NULL, credit_limit numeric NOT NULL,
            principal_balance numeric NOT NULL, interest_balance numeric NOT NULL,
            fee_balance numeric NOT NULL, delinquent_since date, last_payment_on date);
        CREATE INDEX ON copy_account (customer_ref); CREATE INDEX ON copy_account (region_code)""",
    ),
    "statements": (
        "copy_statement",
        """CREATE TABLE copy_statement (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_ref varchar(64) NOT NULL,
            statement_date date NOT NULL, due_date date NOT NULL, statement_balance numeric NOT NULL,
            minimum_due numeric NOT NULL, paid_amount numeric NOT NULL, UNIQUE (account_ref, statement_date));
        CREATE INDEX ON copy_statement (due_date)""",
    ),
    "payments": (
        "copy_payment",
        """CREATE TABLE copy_payment (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_ref varchar(64) NOT NULL,
            payment_ref varchar(64) NOT NULL UNIQUE, paid_on date NOT NULL, amount numeric NOT NULL);
        CREATE INDEX ON copy_payment (account_ref, paid_on)""",
    ),
}


def copy_baseline(url: str, kind: str, path: Path) -> float:
    """Seconds to COPY the file into its baseline table and commit (streamed from this process)."""
    import psycopg

    table, ddl = BASELINE_TABLES[kind]
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in ddl.split(";"):
            connection.execute(statement)
        connection.commit()
        started = time.perf_counter()
        with path.open("rb") as handle, connection.cursor() as cursor:
            header = handle.readline().decode().strip()
            with cursor.copy(f"COPY {table} ({header}) FROM STDIN (FORMAT csv)") as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        connection.commit()
        return time.perf_counter() - started


def bench(
    backend: str,
    size: int,
    files: tuple[Path, Path, Path],
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
    paths = {"accounts": files[0], "statements": files[1], "payments": files[2]}
    timings = []
    for name in steps:
        step, kind = STEPS[name]
        rows = 3 * size if kind == "statements" else size
        seconds, rss = run([hardship, "import", kind, str(paths[kind])], env)
        timing = Timing(backend, size, step, rows, seconds, rss)
        print(timing.row(), f"<!-- load {os.getloadavg()[0]:.1f} -->", flush=True)
        timings.append(timing)
        if backend == "postgresql" and name != "update":
            baseline = Timing(
                backend, size, f"COPY {kind} (baseline)", rows, copy_baseline(url, kind, paths[kind]), 0
            )
            print(
                baseline.row(),
                f"<!-- import / COPY = {seconds / baseline.seconds:.2f}x, load {os.getloadavg()[0]:.1f} -->",
                flush=True,
            )
            timings.append(baseline)
    if backend == "postgresql":
        drop_scratch(pg_admin)
    return timings


def main() -> None:
    global SCRATCH_DATABASE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hardship-bench-import"))
    parser.add_argument("--hardship", default=str(BIN / "hardship"), help="the command to time")
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS))
    parser.add_argument(
        "--scratch-database",
        default="hardship_bench_import",
        help="the PostgreSQL database to make and drop (a name of its own for each run at once)",
    )
    args = parser.parse_args()
    SCRATCH_DATABASE = args.scratch_database
    if {"statements", "payments"} & set(args.steps) and "accounts" not in args.steps:
        parser.error("statements and payments need their accounts: add the accounts step")
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
        files = (folder / "accounts.csv", folder / "statements.csv", folder / "payments.csv")
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
