"""Writes a deterministic portfolio for the import benchmark: N accounts, 3 statements and 1 payment each.

    .venv/bin/python benchmarks/import/generate.py 1000000 /tmp/bench-1m

gives /tmp/bench-1m/accounts.csv, statements.csv and payments.csv in the card system's format
(docs: CONTRACT.md, "CSV files from the card system", "Payments from the card system").  Same N,
same seed: byte-identical files."""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

ACCOUNT_HEADER = (
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
)
STATEMENT_HEADER = (
    "account_ref",
    "statement_date",
    "due_date",
    "statement_balance",
    "minimum_due",
    "paid_amount",
)
REGIONS = ("622927", "622921", "622901", "630225", "632122", "630222", "620102", "110101", "310104")
PAYMENT_HEADER = ("account_ref", "payment_ref", "paid_on", "amount")
PRODUCTS = ("STD_CLASSIC", "STD_GOLD", "PLATINUM")
STATUSES = ("active",) * 14 + ("delinquent",) * 4 + ("closed", "charged_off")
STATEMENT_DATES = (date(2025, 6, 8), date(2025, 7, 8), date(2025, 8, 8))
AS_OF = date(2025, 8, 20)


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def generate(count: int, out: Path, seed: int = 2025) -> tuple[Path, Path, Path]:
    """Writes accounts.csv, statements.csv and payments.csv for `count` accounts into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    accounts_path, statements_path = out / "accounts.csv", out / "statements.csv"
    with (
        accounts_path.open("w", encoding="utf-8", newline="") as accounts_file,
        statements_path.open("w", encoding="utf-8", newline="") as statements_file,
    ):
        accounts = csv.writer(accounts_file, lineterminator="\n")
        statements = csv.writer(statements_file, lineterminator="\n")
        accounts.writerow(ACCOUNT_HEADER)
        statements.writerow(STATEMENT_HEADER)
        for n in range(1, count + 1):
            ref = f"ACC{n:09d}"
            # every tenth customer holds two cards
            customer = f"CUS{(n - 1 if n % 10 == 0 else n):09d}"
            status = STATUSES[rng.randrange(len(STATUSES))]
            delinquent_since = (
                (AS_OF - timedelta(days=rng.randint(5, 200))).isoformat() if status == "delinquent" else ""
            )
            accounts.writerow(
                (
                    ref,
                    customer,
                    PRODUCTS[n % len(PRODUCTS)],
                    status,
                    REGIONS[rng.randrange(len(REGIONS))],
                    (AS_OF - timedelta(days=rng.randint(200, 3000))).isoformat(),
                    _money(rng.randint(1_000_000, 10_000_000)),
                    _money(rng.randint(30_000, 6_000_000)),
                    _money(rng.randint(0, 90_000)),
                    _money(rng.randint(0, 40_000)),
                    delinquent_since,
                    (AS_OF - timedelta(days=rng.randint(10, 90))).isoformat(),
                )
            )
            for statement_date in STATEMENT_DATES:
                balance = rng.randint(20_000, 900_000)
                minimum = balance // 10
                paid = (0, minimum, balance, 0)[rng.randrange(4)]
                statements.writerow(
                    (
                        ref,
                        statement_date.isoformat(),
                        (statement_date + timedelta(days=20)).isoformat(),
                        _money(balance),
                        _money(minimum),
                        _money(paid),
                    )
                )
    payments_path = out / "payments.csv"
    # A generator of its own, so that the accounts and statements stay the bytes they were.
    payment_rng = random.Random(seed + 1)
    with payments_path.open("w", encoding="utf-8", newline="") as payments_file:
        payments = csv.writer(payments_file, lineterminator="\n")
        payments.writerow(PAYMENT_HEADER)
        for n in range(1, count + 1):
            payments.writerow(
                (
                    f"ACC{n:09d}",
                    f"PAY{n:010d}",
                    (AS_OF - timedelta(days=payment_rng.randint(1, 60))).isoformat(),
                    _money(payment_rng.randint(100, 500_000)),
                )
            )
    return accounts_path, statements_path, payments_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of accounts")
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    accounts, statements, payments = generate(args.count, args.out, args.seed)
    print(f"wrote {accounts}, {statements} and {payments}")


if __name__ == "__main__":
    main()
