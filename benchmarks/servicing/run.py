"""Time a servicing run and the outcomes report on a large generated portfolio, on PostgreSQL.

    .venv/bin/python benchmarks/servicing/run.py --accounts 1000000 --plans 100000 \
        --postgres-admin-url postgresql://postgres@127.0.0.1:5432/postgres

Builds, in a fresh database ``hardship_servicing_bench`` (dropped and created again), with set-based
SQL (generate_series): N accounts in eight prefectures; P plans on evenly spread accounts, started
through 2025 (one a day, round robin), with terms 3, 6, 12, 24, 36 and 60 months of 1,000.00 each;
and for the installments due by the business date (pinned to 2025-12-31) a payment each: seven in
ten paid two days before the due date, one in ten ten days after it, two in ten not at all. Then
times a servicing run over every plan (the first run, which writes nearly every plan), the same run
again (the same date: nothing to write), and the outcomes report for 2025 (median of 5). The runs
are what `hardship servicing run` does (app/jobs/servicing.py): the chunks in `--processes` child
processes (default: HARDSHIP_SCAN_INLINE_PROCESSES, 0 = one per core, at most 4; 1 = the whole run
in this process and one transaction). Prints a Markdown table and writes the figures to
$TMPDIR/hardship-servicing-bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db import get_engine, unit_of_work  # noqa: E402
from app.domain.access import Role  # noqa: E402
from app.jobs import servicing as servicing_jobs  # noqa: E402
from app.jobs.executors import inline_process_count  # noqa: E402
from app.services import outcomes, servicing  # noqa: E402
from app.services.policies import PolicyStore  # noqa: E402
from app.services.principal import Principal  # noqa: E402
from app.settings import Settings  # noqa: E402

HARDSHIP = str(ROOT / ".venv" / "bin" / "hardship")
DATABASE = "hardship_servicing_bench"
AS_OF = date(2025, 12, 31)
REGIONS = "'622927','622901','630222','632122','110101','653101','510104','440305'"


def fresh_database(admin_url: str) -> str:
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def build(url: str, accounts: int, plans: int) -> dict[str, int]:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("HARDSHIP_DATABASE_URL", None)
    subprocess.run([HARDSHIP, "db", "upgrade"], env=env, check=True, capture_output=True)
    engine = create_engine(url)
    step = max(1, accounts // plans)
    statements = [
        f"""INSERT INTO customer (customer_ref, created_at)
            SELECT 'C' || g, now() FROM generate_series(1, {accounts}) g""",
        f"""INSERT INTO card_account (account_ref, customer_ref, product_code, status, region_code, opened_on,
              credit_limit_fen, principal_balance_fen, interest_balance_fen, fee_balance_fen, updated_at)
            SELECT 'A' || g, 'C' || g, 'STD_CLASSIC', 'active', (ARRAY[{REGIONS}])[1 + g % 8],
              date '2020-01-01', 5000000, 1000000, 50000, 0, now()
            FROM generate_series(1, {accounts}) g""",
        f"""INSERT INTO installment_plan (account_id, status, method, term_months, hardship_reason, start_on,
              start_region_code, principal_fen, fees_waived_fen, fee_total_fen, interest_total_fen, total_fen,
              monthly_fee_rate, annual_interest_rate, policy_version, channel, created_by, created_at,
              outstanding_fen)
            SELECT a.id, 'active', 'equal_principal', t.term, 'illness', date '2025-01-01' + (g % 365),
              a.region_code,
              t.term * 100000, 0, 0, 0, t.term * 100000, '0', '0', '2025.1', 'agent', 'bench', now(),
              t.term * 100000
            FROM generate_series(1, {plans}) g
            JOIN card_account a ON a.account_ref = 'A' || (1 + (g - 1) * {step})
            CROSS JOIN LATERAL (SELECT (ARRAY[3, 6, 12, 24, 36, 60])[1 + g % 6] AS term) t""",
        """INSERT INTO installment
              (plan_id, number, due_date, principal_fen, interest_fen, fee_fen, amount_fen)
            SELECT p.id, k, (p.start_on + make_interval(months => k))::date, 100000, 0, 0, 100000
            FROM installment_plan p, generate_series(1, p.term_months) k""",
        f"""INSERT INTO payment (payment_ref, account_id, paid_on, amount_fen, imported_at)
            SELECT 'PAY' || i.id, p.account_id,
              CASE WHEN (i.id * 7 + p.id) % 10 < 7 THEN i.due_date - 2 ELSE i.due_date + 10 END,
              100000, now()
            FROM installment i JOIN installment_plan p ON p.id = i.plan_id
            WHERE (i.id * 7 + p.id) % 10 < 8
              AND CASE WHEN (i.id * 7 + p.id) % 10 < 7 THEN i.due_date - 2 ELSE i.due_date + 10 END
                  <= date '{AS_OF.isoformat()}'""",
        f"""INSERT INTO business_date_pin (id, pinned_on, pinned_by, pinned_at)
            VALUES (1, date '{AS_OF.isoformat()}', 'bench', now())""",
        "ANALYZE",
    ]
    with engine.begin() as connection:
        for statement in statements[:-1]:
            connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statements[-1]))
        counts = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("card_account", "installment_plan", "installment", "payment")
        }
    engine.dispose()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--plans", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=servicing.DEFAULT_CHUNK_SIZE)
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("HARDSHIP_SCAN_INLINE_PROCESSES", "0")),
        help="chunk processes (0: one per core, at most 4)",
    )
    parser.add_argument(
        "--postgres-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    url = fresh_database(args.postgres_admin_url)
    started = time.perf_counter()
    counts = build(url, args.accounts, args.plans)
    print(f"built {counts} in {time.perf_counter() - started:.1f} s", flush=True)
    engine = get_engine(Settings(database_url=url))
    processes = inline_process_count(engine, args.processes)
    print(f"{processes} process(es), chunk size {args.chunk_size}", flush=True)
    policies = PolicyStore.load()
    actor = Principal(kind="cli", id=0, name="bench", role=Role.BATCH_OPERATOR)
    rows = []

    for label in ("servicing run (first)", "servicing run (again, same date)"):
        started = time.perf_counter()
        summary = servicing_jobs.run_servicing(
            engine, actor=actor, policies=policies, chunk_size=args.chunk_size, processes=processes
        )
        seconds = time.perf_counter() - started
        rows.append(
            {
                "step": label,
                "seconds": round(seconds, 2),
                "plans": summary.plans_examined,
                "plans_per_second": round(summary.plans_examined / seconds) if seconds else None,
                "plans_updated": summary.plans_updated,
                "installments_updated": summary.installments_updated,
                "completed": summary.plans_completed,
                "broken": summary.plans_broken,
            }
        )
        print(rows[-1], flush=True)

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            report = outcomes.outcomes_report(
                session, start=date(2025, 1, 1), end=date(2025, 12, 31), policies=policies
            )
        timings.append(time.perf_counter() - started)
    rows.append(
        {
            "step": "outcomes report, 2025 (median of 5)",
            "seconds": round(statistics.median(timings), 3),
            "plans": report["plans"]["started"],
            "kept_rate": report["plans"]["kept_rate"],
            "on_time_rate": report["plans"]["on_time_rate"],
        }
    )
    print(rows[-1], flush=True)

    print()
    print("| step | plans | seconds | plans/s |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        rate = row.get("plans_per_second") or ""
        print(f"| {row['step']} | {row['plans']:,} | {row['seconds']} | {rate} |")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "load": os.getloadavg(),
        "processes": processes,
        "chunk_size": args.chunk_size,
        "counts": counts,
        "rows": rows,
    }
    out = Path(tempfile.gettempdir()) / "hardship-servicing-bench.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
