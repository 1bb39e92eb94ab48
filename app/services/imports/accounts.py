"""accounts.csv (key: account_ref): upserts each account and inserts its customer when new."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session

from app.domain.records import ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL, account_from_text
from app.persistence.models import CardAccount, Customer, UtcDateTime
from app.services.imports.pipeline import RecordFile, Written, dialect_insert
from app.services.imports.staging import LineError, Stage, iso

STAGE = Table(
    "hardship_import_account",
    MetaData(),
    Column("line", Integer, nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("customer_ref", String(64), nullable=False),
    Column("product_code", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("credit_limit_fen", BigInteger, nullable=False),
    Column("principal_balance_fen", BigInteger, nullable=False),
    Column("interest_balance_fen", BigInteger, nullable=False),
    Column("fee_balance_fen", BigInteger, nullable=False),
    Column("delinquent_since", Date),
    Column("last_payment_on", Date),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def staged_row(raw: Mapping[str, str], business_date: date) -> tuple[Any, ...]:
    v = account_from_text(raw, business_date)
    return (
        v["account_ref"],
        v["customer_ref"],
        v["product_code"],
        v["status"],
        v["region_code"],
        v["opened_on"].isoformat(),
        v["credit_limit_fen"],
        v["principal_balance_fen"],
        v["interest_balance_fen"],
        v["fee_balance_fen"],
        iso(v["delinquent_since"]),
        iso(v["last_payment_on"]),
    )


def check(session: Session, stage: Stage, limit: int) -> tuple[list[LineError], int]:
    repeats, total = stage.repeated_keys(("account_ref",), limit)
    return [
        LineError(line, f"account_ref {key[0]!r} repeats line {first}") for line, first, key in repeats
    ], total


def write(session: Session, stage: Stage, now: datetime, count: int) -> Written:
    """New customers first (the account refers to its customer), then one upsert of the accounts."""
    s = STAGE
    insert = dialect_insert(session)
    customer_refs = select(s.c.customer_ref).distinct().subquery()
    customers = session.execute(select(func.count()).select_from(customer_refs)).scalar_one()
    session.execute(
        insert(Customer.__table__)
        .from_select(
            ["customer_ref", "created_at"],
            select(customer_refs.c.customer_ref, literal(now, UtcDateTime))
            .where(true())
            .order_by(customer_refs.c.customer_ref),
        )
        .on_conflict_do_nothing(index_elements=["customer_ref"])
    )
    copied = [c.name for c in s.columns if c.name != "line"]
    upsert = insert(CardAccount.__table__).from_select(
        [*copied, "updated_at"],
        select(*(s.c[name] for name in copied), literal(now, UtcDateTime)).where(true()).order_by(s.c.line),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["account_ref"],
        set_={name: upsert.excluded[name] for name in [*copied, "updated_at"] if name != "account_ref"},
    )
    session.execute(upsert)
    return Written(count, int(customers))


ACCOUNTS = RecordFile(
    kind="accounts",
    columns=ACCOUNT_COLUMNS,
    optional=ACCOUNT_OPTIONAL,
    stage=STAGE,
    staged_row=staged_row,
    check=check,
    write=write,
    audit_action="portfolio.accounts_imported",
    tables=("customer", "card_account"),
)
