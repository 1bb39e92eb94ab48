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
from app.persistence.models import AgentUser, ApiKey, CardAccount, Contact, CreditDispute
from app.services import auth, contacts
from app.services.accounts import ROW_BATCH, upsert_account_rows, upsert_statement_rows
from app.services.clock import today, utcnow
from app.services.principal import Principal

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


# Accounts that show one path each (README, "Demo flows"): (account_ref, customer_ref, overrides).
SHOWCASE: tuple[tuple[str, str, dict[str, Any]], ...] = (
    # fees above an agent's 500.00 authority: a waiver of them waits for a supervisor
    ("DEMO-FEES", "CUST-FEES", {"fee_balance": Decimal("1280.00"), "interest_balance": Decimal("640.00")}),
    # a call to return today: the agent's callback comes back in the work queue
    ("DEMO-CALLBACK", "CUST-CALLBACK", {}),
    # a credit-report dispute already overdue, and one that becomes overdue in two days
    ("DEMO-DISPUTE", "CUST-DISPUTE", {"status": "delinquent", "delinquent_days": 40}),
    # a second card of the callback customer (the customer view)
    ("DEMO-CALLBACK-2", "CUST-CALLBACK", {"product_code": "PLATINUM", "region_code": "630222"}),
)


def build_showcase_rows(on: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The showcase accounts, each with three unpaid monthly statements around ``on``."""
    accounts: list[dict[str, Any]] = []
    statements: list[dict[str, Any]] = []
    for ref, customer, overrides in SHOWCASE:
        extra = dict(overrides)
        days = int(extra.pop("delinquent_days", 0))
        row: dict[str, Any] = {
            "account_ref": ref,
            "customer_ref": customer,
            "product_code": "STD_GOLD",
            "status": "active",
            "region_code": "622927",
            "opened_on": on - timedelta(days=1500),
            "credit_limit": Decimal("50000.00"),
            "principal_balance": Decimal("18000.00"),
            "interest_balance": Decimal("420.00"),
            "fee_balance": Decimal("180.00"),
            "delinquent_since": on - timedelta(days=days) if days else None,
            "last_payment_on": on - timedelta(days=45),
        }
        row.update(extra)
        accounts.append(row)
        for back in (2, 1, 0):
            statement_date = add_months(date(on.year, on.month, 8), -back)
            statements.append(
                {
                    "account_ref": ref,
                    "statement_date": statement_date,
                    "due_date": statement_date + timedelta(days=20),
                    "statement_balance": Decimal("2400.00"),
                    "minimum_due": Decimal("240.00"),
                    "paid_amount": Decimal("0.00"),
                }
            )
    return accounts, statements


def _load_showcase_records(session: Session, on: date, ids: dict[str, int]) -> None:
    """The demo agent's contacts (a callback due today) and the disputes (one overdue, one due in two
    days); written once, however often the demo is loaded."""
    if session.scalar(select(Contact.id).where(Contact.account_id == ids["DEMO-CALLBACK"]).limit(1)) is None:
        user = session.scalar(select(AgentUser).where(AgentUser.username == "agent"))
        if user is not None:
            agent = Principal(kind="user", id=user.id, name=user.username, role=Role(user.role))
            contacts.record_contact(
                session,
                account_ref="DEMO-CALLBACK",
                channel="inbound_call",
                outcome="callback_requested",
                note="The cardholder lost their job last month; call back with the plan quotes.",
                callback_on=on,
                actor=agent,
            )
    if (
        session.scalar(
            select(CreditDispute.id).where(CreditDispute.account_id == ids["DEMO-DISPUTE"]).limit(1)
        )
        is None
    ):
        now = utcnow()
        for submitted_days_ago in (25, 18):
            submitted = on - timedelta(days=submitted_days_ago)
            session.add(
                CreditDispute(
                    account_id=ids["DEMO-DISPUTE"],
                    disaster_id=None,
                    bureau="PBOC_CRC",
                    reason_code="DATA_ERROR",
                    status="submitted",
                    period_start=on - timedelta(days=40),
                    period_end=on - timedelta(days=10),
                    submitted_on=submitted,
                    due_by=submitted + timedelta(days=20),
                    description="Demo: a late-payment mark the cardholder disputes.",
                    evidence_refs=None,
                    resolution_note=None,
                    created_by="system:demo",
                    created_at=now,
                    updated_at=now,
                )
            )
        session.flush()


def load_demo(session: Session, *, accounts: int = 200) -> list[str]:
    """Loads the demo data and returns the lines to print (keys and logins)."""
    on = today(session)
    account_rows, statement_rows = build_demo_rows(accounts, on)
    showcase_accounts, showcase_statements = build_showcase_rows(on)
    account_rows += showcase_accounts
    statement_rows += showcase_statements
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
    _load_showcase_records(session, on, ids)
    lines += ["", "demo flows: see the README (DEMO-FEES, DEMO-CALLBACK, DEMO-DISPUTE)"]
    return lines
