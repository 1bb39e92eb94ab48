"""Generate a synthetic card portfolio for the scan benchmark: accounts.csv and statements.csv.

    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --out /tmp/scan-bench
    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --covered 0.04 --out /tmp/scan-4
    .venv/bin/python benchmarks/scan/generate.py --accounts 1000000 --covered 0.04 \
        --uncovered-factor 2 --out /tmp/scan-4-x2

Deterministic for a seed. About 1.4 accounts per customer; 20 % of the accounts in Gansu (62xxxx,
the benchmark disaster's province), some in Haidong under the pre-2013 codes (632122 Minhe is covered
through the policy's code changes); statuses, delinquency and payments spread so that every
eligibility rule refuses some accounts. Three statements per account, due 2025-05-28, 06-28, 07-28.

``--covered SHARE`` puts that share of the accounts in the event's regions (24 % without it).
``--uncovered-factor K`` writes, after each account outside them, K - 1 more accounts outside them
(refs ``U...``, drawn from a second random stream): the same covered accounts, byte for byte, in a
portfolio with K times the uncovered accounts, interleaved as a bank's would be.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
# (region code, weight): Gansu 20 %, Qinghai/Haidong 6 %, the rest elsewhere. The event covers Gansu
# and Minhe (632122, now 630222): 24 %.
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


COVERED_REGIONS = ("620102", "620503", "622901", "622927", "622926", "632122", "630222")


class _Regions:
    """Draws each account's region: from REGIONS, or with a given share in the event's regions."""

    def __init__(self, covered_share: float | None) -> None:
        self.share = covered_share
        self.all = [code for code, weight in REGIONS for _ in range(weight)]
        self.inside = [code for code in self.all if code in COVERED_REGIONS]
        self.outside = [code for code in self.all if code not in COVERED_REGIONS]

    def draw(self, rng: random.Random) -> str:
        """The region of the next account (the same draws as before for the default share)."""
        if self.share is None:
            return rng.choice(self.all)
        return rng.choice(self.inside if rng.random() < self.share else self.outside)


def generate(
    accounts: int,
    out: Path,
    seed: int = 2025,
    *,
    covered_share: float | None = None,
    uncovered_factor: int = 1,
) -> tuple[int, int]:
    rng = random.Random(seed)
    extra_rng = random.Random(seed + 1)
    regions = _Regions(covered_share)
    out.mkdir(parents=True, exist_ok=True)
    written = statements = 0
    with (
        (out / "accounts.csv").open("w", newline="") as account_file,
        (out / "statements.csv").open("w", newline="") as statement_file,
    ):
        account_csv = csv.writer(account_file, lineterminator="\n")
        statement_csv = csv.writer(statement_file, lineterminator="\n")
        account_csv.writerow(ACCOUNT_HEADER)
        statement_csv.writerow(STATEMENT_HEADER)
        for n in range(accounts):
            region, count = _write_account(account_csv, statement_csv, rng, f"A{n:08d}", n, regions.draw)
            written, statements = written + 1, statements + count
            if region in COVERED_REGIONS:
                continue
            for k in range(1, uncovered_factor):
                _, count = _write_account(
                    account_csv,
                    statement_csv,
                    extra_rng,
                    f"U{n:08d}{k}",
                    n,
                    lambda extra: extra.choice(regions.outside),
                )
                written, statements = written + 1, statements + count
    return written, statements


STATUS_CHOICES = [status for status, weight in STATUSES for _ in range(weight)]


def _write_account(
    account_csv: Any,
    statement_csv: Any,
    rng: random.Random,
    ref: str,
    n: int,
    draw_region: Callable[[random.Random], str],
) -> tuple[str, int]:
    """One account row and its statements: its region and the number of statements."""
    status = rng.choice(STATUS_CHOICES)
    opened = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))  # up to mid 2025
    delinquent = ""
    if status == "delinquent" or (status == "charged_off" and rng.random() < 0.5):
        delinquent = (date(2025, 3, 1) + timedelta(days=rng.randrange(0, 170))).isoformat()
    limit = rng.choice([500000, 1000000, 2000000, 5000000])
    product = rng.choice(PRODUCTS)
    region = draw_region(rng)
    account_csv.writerow(
        [
            ref,
            f"C{n * 7 // 10:08d}",
            product,
            status,
            region,
            opened.isoformat(),
            money(limit),
            money(rng.randrange(0, limit)),
            money(rng.randrange(0, 50000)),
            money(rng.randrange(0, 20000)),
            delinquent,
            "",
        ]
    )
    statements = 0
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
    return region, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--covered", type=float, default=None, help="share in the event's regions")
    parser.add_argument("--uncovered-factor", type=int, default=1, help="K times the accounts outside them")
    args = parser.parse_args()
    accounts, statements = generate(
        args.accounts,
        args.out,
        args.seed,
        covered_share=args.covered,
        uncovered_factor=args.uncovered_factor,
    )
    print(f"wrote {accounts} accounts and {statements} statements to {args.out}")


if __name__ == "__main__":
    main()
