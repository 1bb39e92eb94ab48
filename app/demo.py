"""The demo portfolio for `make run`: deterministic accounts and statements around today, demo API keys
for every role and demo logins.  Safe to run again: accounts are upserted, demo keys are replaced."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.access import Role
from app.domain.dates import add_months
from app.persistence.models import AgentUser, ApiKey, CardAccount
from app.services import auth
from app.services.accounts import ROW_BATCH, upsert_account_rows, upsert_statement_rows
from app.services.clock import today

DEMO_PASSWORD = "demo-pass-2025"  # noqa: S105 - printed demo login, documented in the README
DEMO_USERS = (
    ("agent", Role.AGENT),
    ("agent2", Role.AGENT),
    ("supervisor", Role.SUPERVISOR),
    ("supervisor2", Role.SUPERVISOR),
    ("operator", Role.BATCH_OPERATOR),
    ("auditor", Role.AUDITOR),
)
# (region code, weight): Jishishan county and its neighbours, a pre-2013 Minhe code, and elsewhere.
DEMO_REGIONS = (
    ("622927", 30),
    ("622921", 10),
    ("622901", 8),
    ("630225", 8),
    ("632122", 6),
    ("630222", 6),
    ("620102", 12),
    ("110101", 10),
    ("310104", 10),
)
PRODUCTS = ("STD_CLASSIC", "STD_GOLD", "PLATINUM")


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def build_demo_rows(
    count: int, on: date, seed: int = 2023
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accounts and statements: three monthly statements each, the last due shortly after `on`."""
    rng = random.Random(seed)
    regions = [code for code, weight in DEMO_REGIONS for _ in range(weight)]
    accounts: list[dict[str, Any]] = []
    statements: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        ref = f"DEMO-{n:05d}"
        customer = f"CUST-{(n + 1) // 2 if n % 10 == 0 else n:05d}"  # every tenth customer holds two cards
        status = rng.choices(("active", "delinquent", "closed", "charged_off", "fraud"), (70, 22, 4, 2, 2))[0]
        delinquent_since = on - timedelta(days=rng.randint(5, 200)) if status == "delinquent" else None
        principal = _money(rng, 300, 60000)
        accounts.append(
            {
                "account_ref": ref,
                "customer_ref": customer,
                "product_code": rng.choice(PRODUCTS),
                "status": status,
                "region_code": rng.choice(regions),
                "opened_on": on - timedelta(days=rng.randint(200, 3000)),
                "credit_limit": _money(rng, 10000, 100000),
                "principal_balance": principal,
                "interest_balance": _money(rng, 0, 900),
                "fee_balance": _money(rng, 0, 400),
                "delinquent_since": delinquent_since,
                "last_payment_on": on - timedelta(days=rng.randint(10, 90)),
            }
        )
        for back in (2, 1, 0):
            statement_date = add_months(date(on.year, on.month, 8), -back)
            balance = _money(rng, 200, 9000)
            minimum = (balance / 10).quantize(Decimal("0.01"))
            paid = rng.choice((Decimal("0.00"), minimum, balance, Decimal("0.00")))
            statements.append(
                {
                    "account_ref": ref,
                    "statement_date": statement_date,
                    "due_date": statement_date + timedelta(days=20),
                    "statement_balance": balance,
                    "minimum_due": minimum,
                    "paid_amount": paid,
                }
            )
    return accounts, statements


def load_demo(session: Session, *, accounts: int = 200) -> list[str]:
    """Loads the demo data and returns the lines to print (keys and logins)."""
    on = today(session)
    account_rows, statement_rows = build_demo_rows(accounts, on)
    upsert_account_rows(session, account_rows)
    ids = {
        ref: account_id
        for ref, account_id in session.execute(select(CardAccount.account_ref, CardAccount.id))
    }
    for start in range(0, len(statement_rows), ROW_BATCH):
        upsert_statement_rows(session, statement_rows[start : start + ROW_BATCH], ids)

    lines = [f"demo portfolio: {accounts} accounts, {len(statement_rows)} statements", "", "demo API keys:"]
    for key in session.scalars(select(ApiKey).where(ApiKey.name.like("demo-%"), ApiKey.revoked_at.is_(None))):
        auth.revoke_api_key(session, key_id=key.id)
    for role in Role:
        created = auth.create_api_key(session, name=f"demo-{role.value}", role=role.value)
        lines.append(f"  {role.value:15} {created.token}")
    lines += ["", f"agent UI logins (password {DEMO_PASSWORD}):"]
    existing = set(session.scalars(select(AgentUser.username)))
    for username, role in DEMO_USERS:
        if username not in existing:
            auth.create_user(session, username=username, role=role.value, password=DEMO_PASSWORD)
        lines.append(f"  {username:12} ({role.value})")
    return lines
