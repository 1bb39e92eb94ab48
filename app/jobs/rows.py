"""Rows in and out of a scan chunk: domain values built from integer fen without re-running their
constructors' checks, and the bulk writes (binary ``COPY`` on PostgreSQL, executemany elsewhere).

Amounts cross this module as integer fen: the Money type's per-value conversion was a large share of
a chunk's time (benchmarks/README.md, "Scan").
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Table,
    TableClause,
    any_,
    column,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.domain.model import Account, Statement
from app.domain.money import ZERO
from app.persistence.models import CardAccount, Deferral, DeferralLine, DeferralLineHistory, ScanResult
from app.persistence.models import Statement as StatementRow
from app.persistence.types import Money

__all__ = [
    "ACCOUNT_T",
    "DEFERRAL_COLUMNS",
    "DEFERRAL_T",
    "HISTORY_COLUMNS",
    "HISTORY_T",
    "LINE_COLUMNS",
    "LINE_T",
    "RAW_DEFERRAL",
    "RAW_LINE",
    "RAW_RESULT",
    "RESULT_COLUMNS",
    "STATEMENT_T",
    "account_value",
    "bulk_insert",
    "cents",
    "copy_rows",
    "fen",
    "ids_in",
    "raw_money",
    "statement_value",
]

ACCOUNT_T = cast(Table, CardAccount.__table__)
STATEMENT_T = cast(Table, StatementRow.__table__)
DEFERRAL_T = cast(Table, Deferral.__table__)
LINE_T = cast(Table, DeferralLine.__table__)
RESULT_T = cast(Table, ScanResult.__table__)
HISTORY_T = cast(Table, DeferralLineHistory.__table__)


def _raw(table: Table) -> TableClause:
    """The table with its Money columns as plain integers: bulk writes pass fen and skip the
    per-value conversion of the Money type (a large share of a chunk's time otherwise)."""
    return sa_table(
        table.name,
        *(column(c.name, BigInteger() if isinstance(c.type, Money) else c.type) for c in table.columns),
    )


RAW_RESULT, RAW_DEFERRAL, RAW_LINE = _raw(RESULT_T), _raw(DEFERRAL_T), _raw(LINE_T)


def cents(amount_fen: int) -> Decimal:
    """Integer fen -> Decimal with two places (exact for any int of the database): the very value
    ``require_cents`` gives (0 as ``ZERO``, i.e. 0.00, not 0E-2)."""
    return Decimal(amount_fen).scaleb(-2) if amount_fen else ZERO


_new = object.__new__
_set = object.__setattr__


def statement_value(
    statement_date: date, due_date: date, balance_fen: int, minimum_fen: int, paid_fen: int
) -> Statement:
    """A domain Statement from database values, without the per-value checks of its constructor.

    The checks (a Decimal, finite, whole fen, stored as 0.00-style with two places) hold by
    construction for integer fen from a BIGINT column and :func:`cents` produces exactly the value
    ``require_cents`` would store, so the object equals ``Statement(...)`` field for field; the
    checks were a large share of a chunk's time. tests/unit/test_scan_chunk_values.py compares both.
    """
    statement = _new(Statement)
    _set(statement, "statement_date", statement_date)
    _set(statement, "due_date", due_date)
    _set(statement, "statement_balance", cents(balance_fen))
    _set(statement, "minimum_due", cents(minimum_fen))
    _set(statement, "paid_amount", cents(paid_fen))
    return statement


def account_value(
    account_ref: str,
    customer_ref: str,
    product_code: str,
    status: str,
    region_code: str,
    opened_on: date,
    credit_limit_fen: int,
    principal_balance_fen: int,
    interest_balance_fen: int,
    fee_balance_fen: int,
    delinquent_since: date | None,
    last_payment_on: date | None,
) -> Account:
    """A domain Account from an account row (see :func:`statement_value` for why the checks are skipped)."""
    account = _new(Account)
    _set(account, "account_ref", account_ref)
    _set(account, "customer_ref", customer_ref)
    _set(account, "product_code", product_code)
    _set(account, "status", status)
    _set(account, "region_code", region_code)
    _set(account, "opened_on", opened_on)
    _set(account, "credit_limit", cents(credit_limit_fen))
    _set(account, "principal_balance", cents(principal_balance_fen))
    _set(account, "interest_balance", cents(interest_balance_fen))
    _set(account, "fee_balance", cents(fee_balance_fen))
    _set(account, "delinquent_since", delinquent_since)
    _set(account, "last_payment_on", last_payment_on)
    return account


def fen(amount: Decimal) -> int:
    """A domain amount (whole fen, two places) as integer fen for a raw column."""
    return int(amount.scaleb(2))


def _copy_type(table: TableClause, name: str) -> str:
    """The PostgreSQL type name of a column, as binary COPY needs it ("varchar", "timestamptz")."""
    compiled = table.c[name].type.compile(dialect=postgresql.dialect()).lower().split("(")[0].strip()
    return {"timestamp with time zone": "timestamptz"}.get(compiled, compiled)


def copy_rows(
    session: Session, table: TableClause, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: ``COPY table (columns) FROM STDIN`` in the binary format (less to format on our
    side and to parse on the server's than text), with ``rows`` (amounts in integer fen)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_copy_type(table, name) for name in columns])
        for row in rows:
            copy.write_row(row)


def bulk_insert(
    session: Session,
    table: TableClause,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    conflict: str | None = None,
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``; amounts in integer fen).

    PostgreSQL: one ``COPY``. Other databases: one executemany; ``conflict`` (None for a plain
    insert, "" for any unique constraint, or e.g. "(account_id, disaster_id)") adds ``ON CONFLICT
    ... DO NOTHING``. On PostgreSQL a conflict is an error instead: every caller writes rows that can
    only conflict with a concurrent attempt whose chunk then fails and is retried (see
    :func:`app.jobs.deferral_writes.insert_deferrals` and the scan results), which gives the same
    outcome as skipping them.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, columns, rows)
        return
    insert = dialect_insert(session)(table)
    if conflict is not None:
        elements = [name.strip() for name in conflict.strip("()").split(",") if name.strip()]
        insert = insert.on_conflict_do_nothing(index_elements=elements or None)
    session.execute(insert, [dict(zip(columns, row, strict=True)) for row in rows])


def ids_in(session: Session, column_: Any, ids: list[int]) -> Any:
    """The condition "``column_`` is one of ``ids``" with one bound value whatever the number of ids:
    ``= ANY(array)`` on PostgreSQL, ``IN (SELECT value FROM json_each(text))`` on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return column_ == any_(literal(ids, type_=postgresql.ARRAY(BigInteger)))
    return column_.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(ids))))


def raw_money(column_: Any) -> Any:
    """A Money column read as its integer fen."""
    return type_coerce(column_, BigInteger)


RESULT_COLUMNS = (
    "scan_id",
    "account_id",
    "account_ref",
    "customer_ref",
    "region_code",
    "eligible",
    "enrolled",
    "reasons",
    "deferred_fen",
    "interest_waived_fen",
    "late_fees_waived_fen",
)
DEFERRAL_COLUMNS = (
    "account_id",
    "disaster_id",
    "scan_id",
    "event_version",
    "policy_version",
    "deferred_fen",
    "interest_waived_fen",
    "late_fees_waived_fen",
    "created_at",
    "updated_at",
    "granted_on",
)
LINE_COLUMNS = (
    "deferral_id",
    "statement_date",
    "due_date",
    "new_due_date",
    "deferred_fen",
    "interest_waived_fen",
    "late_fee_waived_fen",
    "granted_on",
)
HISTORY_COLUMNS = LINE_COLUMNS
