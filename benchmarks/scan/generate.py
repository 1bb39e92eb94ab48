"""Generate a synthetic card portfolio for the scan benchmark: accounts.csv and statements.csv.

    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --out /tmp/scan-bench

Deterministic for a seed. About 1.4 accounts per customer; 20 % of the accounts in Gansu (62xxxx,
the benchmark disaster's province), some in Haidong under the pre-2013 codes (632122 Minhe is covered
through the policy's code changes); statuses, delinquency and payments spread so that every
eligibility rule refuses some accounts. Three statements per account, due 2025-05-28, 06-28, 07-28.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

ACCOUNT_HEADER = [
    "account_ref",
    "customer_ref",
    "product_code",
    "status",
    "region_code",
    "opened_on",
    "credit_limit",
    "principal_balance",
    "interest_balance",
    "fee_balance",
    "delinquent_since",
    "last_payment_on",
]
STATEMENT_HEADER = [
    "account_ref",
    "statement_date",
    "due_date",
    "statement_balance",
    "minimum_due",
    "paid_amount",
]
# (region code, weight): Gansu 20 %, Qinghai/Haidong 6 %, the rest elsewhere.
REGIONS = [
    ("620102", 6),
    ("620503", 4),
    ("622901", 3),
    ("622927", 4),
    ("622926", 3),
    ("632122", 2),
    ("630222", 2),
    ("632123", 2),
    ("653101", 8),
    ("650102", 10),
    ("110101", 15),
    ("310104", 15),
    ("440305", 14),
    ("510107", 12),
]
STATUSES = [("active", 85), ("delinquent", 8), ("closed", 4), ("charged_off", 2), ("fraud", 1)]
PRODUCTS = ["STD_CLASSIC", "STD_GOLD", "PLATINUM"]
STATEMENT_DATES = [date(2025, 5, 8), date(2025, 6, 8), date(2025, 7, 8)]
EVENT = {
    "code": "BENCH-QUAKE",
    "name": "benchmark earthquake",
    "kind": "earthquake",
    "occurred_on": date(2025, 6, 15),
    "relief_start": date(2025, 6, 16),
    "relief_end": date(2025, 8, 31),
    "deferral_months": 3,
    "region_codes": ["620000", "632122"],
}


def money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def generate(accounts: int, out: Path, seed: int = 2025) -> tuple[int, int]:
    rng = random.Random(seed)
    regions = [code for code, weight in REGIONS for _ in range(weight)]
    statuses = [status for status, weight in STATUSES for _ in range(weight)]
    out.mkdir(parents=True, exist_ok=True)
    statements = 0
    with (
        (out / "accounts.csv").open("w", newline="") as account_file,
        (out / "statements.csv").open("w", newline="") as statement_file,
    ):
        account_csv = csv.writer(account_file, lineterminator="\n")
        statement_csv = csv.writer(statement_file, lineterminator="\n")
        account_csv.writerow(ACCOUNT_HEADER)
        statement_csv.writerow(STATEMENT_HEADER)
        for n in range(accounts):
            ref = f"A{n:08d}"
            status = rng.choice(statuses)
            opened = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))  # up to mid 2025
            delinquent = ""
            if status == "delinquent" or (status == "charged_off" and rng.random() < 0.5):
                delinquent = (date(2025, 3, 1) + timedelta(days=rng.randrange(0, 170))).isoformat()
            limit = rng.choice([500000, 1000000, 2000000, 5000000])
            account_csv.writerow(
                [
                    ref,
                    f"C{n * 7 // 10:08d}",
                    rng.choice(PRODUCTS),
                    status,
                    rng.choice(regions),
                    opened.isoformat(),
                    money(limit),
                    money(rng.randrange(0, limit)),
                    money(rng.randrange(0, 50000)),
                    money(rng.randrange(0, 20000)),
                    delinquent,
                    "",
                ]
            )
            for statement_date in STATEMENT_DATES:
                if statement_date < opened:
                    continue
                balance = rng.randrange(0, 2000000)
                minimum = balance // 10
                paid = rng.choice([0, 0, 0, minimum, minimum, balance, balance, balance, balance // 2, 0])
                statement_csv.writerow(
                    [
                        ref,
                        statement_date.isoformat(),
                        (statement_date + timedelta(days=20)).isoformat(),
                        money(balance),
                        money(minimum),
                        money(paid),
                    ]
                )
                statements += 1
    return accounts, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    accounts, statements = generate(args.accounts, args.out, args.seed)
    print(f"wrote {accounts} accounts and {statements} statements to {args.out}")


if __name__ == "__main__":
    main()
