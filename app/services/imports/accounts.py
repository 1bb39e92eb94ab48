"""accounts.csv (key: account_ref): upserts each account and inserts its customer when new."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from app.db import dialect_insert
from app.domain.records import ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL, account_from_text
from app.persistence.models import CardAccount, Customer, UtcDateTime
from app.services.imports import quick
from app.services.imports.pipeline import (
    RecordFile,
    Straight,
    Written,
    changed_rows,
    insert_or_upsert,
)
from app.services.imports.staging import LineError, Stage, iso
from app.services.imports.straight import RowFn, is_empty

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
    info={"analyze": ("account_ref", "customer_ref")},
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


def _insert_new_customers(session: Session, customer_refs: Any, now: datetime) -> int:
    """Inserts the customers of ``customer_refs`` (a subquery of one column, customer_ref, each ref
    once) not known yet, in the order of their refs; returns how many."""
    c = Customer.__table__
    insert = dialect_insert(session)
    new_customers = (
        select(customer_refs.c.customer_ref, literal(now, UtcDateTime))
        .where(~exists().where(c.c.customer_ref == customer_refs.c.customer_ref))
        .order_by(customer_refs.c.customer_ref)
    )
    return insert_or_upsert(
        session,
        insert(c).from_select(["customer_ref", "created_at"], new_customers),
        insert(c)
        .from_select(["customer_ref", "created_at"], new_customers)
        .on_conflict_do_nothing(index_elements=["customer_ref"]),
    )


def write(session: Session, stage: Stage, now: datetime, count: int) -> Written:
    """New customers first (the account refers to its customer), then the accounts: an UPDATE of the
    existing ones whose snapshot differs (an unchanged account is not written again), and a plain
    INSERT of the new ones (pipeline.insert_or_upsert)."""
    s, a = STAGE, cast(Table, CardAccount.__table__)
    insert = dialect_insert(session)
    customer_refs = select(s.c.customer_ref).distinct().subquery()
    customers = session.execute(select(func.count()).select_from(customer_refs)).scalar_one()
    added_customers = _insert_new_customers(session, customer_refs, now)
    copied = [column.name for column in s.columns if column.name != "line"]
    values = [name for name in copied if name != "account_ref"]
    updated = changed_rows(
        session,
        update(a)
        .where(a.c.account_ref == s.c.account_ref)
        .where(or_(*(a.c[name].is_distinct_from(s.c[name]) for name in values)))
        .values({**{name: s.c[name] for name in values}, "updated_at": literal(now, UtcDateTime)}),
    )
    new_accounts = (
        select(*(s.c[name] for name in copied), literal(now, UtcDateTime))
        .where(~exists().where(a.c.account_ref == s.c.account_ref))
        .order_by(s.c.line)
    )
    # The way back if another transaction inserts one of the new accounts meanwhile: the old upsert
    # of every staged line (true(): SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT).
    upsert = insert(a).from_select(
        [*copied, "updated_at"],
        select(*(s.c[name] for name in copied), literal(now, UtcDateTime)).where(true()).order_by(s.c.line),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["account_ref"],
        set_={name: upsert.excluded[name] for name in [*values, "updated_at"]},
    )
    added = insert_or_upsert(session, insert(a).from_select([*copied, "updated_at"], new_accounts), upsert)
    return Written(count, int(customers), {"customer": added_customers, "card_account": updated + added})


COPIED = tuple(column.name for column in STAGE.columns if column.name != "line")


def straight_rows(session: Session, now: datetime) -> RowFn | None:
    """Into an empty card_account, a staged row and the time of the write are the table's row."""
    if not is_empty(session, "card_account"):
        return None
    written_at = now.isoformat()
    return lambda row: (*row, written_at)


def _new_customers_of_the_accounts_written_at(on_conflict: str) -> TextClause:
    return text(
        "WITH refs AS MATERIALIZED (SELECT DISTINCT customer_ref FROM card_account WHERE updated_at = :now), "
        "added AS (INSERT INTO customer (customer_ref, created_at) SELECT customer_ref, :now FROM refs "
        "WHERE NOT EXISTS (SELECT FROM customer c WHERE c.customer_ref = refs.customer_ref) "
        f"ORDER BY customer_ref {on_conflict} RETURNING 1) "
        "SELECT (SELECT count(*) FROM refs), (SELECT count(*) FROM added)"
    )


def straight_finish(session: Session, now: datetime, count: int) -> Written:
    """The customers of the accounts just copied (the ones written at ``now``; the table was empty),
    inserted as the staged write inserts them, their refs found once (one statement counts them and
    inserts the new ones; on a customer inserted meanwhile by another transaction, again with ON
    CONFLICT, as pipeline.insert_or_upsert does)."""
    connection = session.connection()
    values = {"now": now}
    try:
        with connection.begin_nested():
            customers, added = connection.execute(_new_customers_of_the_accounts_written_at(""), values).one()
    except IntegrityError:
        statement = _new_customers_of_the_accounts_written_at("ON CONFLICT (customer_ref) DO NOTHING")
        customers, added = connection.execute(statement, values).one()
    return Written(count, int(customers), {"customer": int(added), "card_account": count})


ACCOUNTS = RecordFile(
    kind="accounts",
    columns=ACCOUNT_COLUMNS,
    optional=ACCOUNT_OPTIONAL,
    stage=STAGE,
    staged_row=staged_row,
    quick=quick.accounts,
    check=check,
    write=write,
    audit_action="portfolio.accounts_imported",
    tables=("customer", "card_account"),
    straight=Straight("card_account", (*COPIED, "updated_at"), straight_rows, straight_finish),
)
