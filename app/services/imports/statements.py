"""statements.csv (key: account_ref + statement_date; the account must exist): upserts each statement."""

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
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.domain.records import STATEMENT_COLUMNS, statement_from_text
from app.persistence.models import CardAccount
from app.persistence.models import Statement as StatementRow
from app.services.imports import quick
from app.services.imports.pipeline import (
    RecordFile,
    Straight,
    Written,
    changed_rows,
    insert_or_upsert,
)
from app.services.imports.staging import LineError, Stage, date_text
from app.services.imports.straight import RowFn, account_ids, is_empty, with_account_id

STAGE = Table(
    "hardship_import_statement",
    MetaData(),
    Column("line", Integer, nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("statement_balance_fen", BigInteger, nullable=False),
    Column("minimum_due_fen", BigInteger, nullable=False),
    Column("paid_amount_fen", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
    info={"analyze": ("account_ref", "statement_date")},
)


COPIED = ("statement_date", "due_date", "statement_balance_fen", "minimum_due_fen", "paid_amount_fen")


def staged_row(raw: Mapping[str, str], business_date: date) -> tuple[Any, ...]:
    v = statement_from_text(raw, business_date)
    return (
        v["account_ref"],
        v["statement_date"].isoformat(),
        v["due_date"].isoformat(),
        v["statement_balance_fen"],
        v["minimum_due_fen"],
        v["paid_amount_fen"],
    )


def unknown_accounts(session: Session, stage_table: Table, limit: int) -> tuple[list[LineError], int]:
    """Each account_ref of the stage that is not a known account, named once on the first line that
    refers to it."""
    s = stage_table
    unknown = (
        select(s.c.account_ref, func.min(s.c.line).label("first_line"))
        .outerjoin(CardAccount, CardAccount.account_ref == s.c.account_ref)
        .where(CardAccount.id.is_(None))
        .group_by(s.c.account_ref)
    )
    total = session.execute(select(func.count()).select_from(unknown.subquery())).scalar_one()
    errors = []
    if total:
        for ref, line in session.execute(unknown.order_by("first_line").limit(limit)):
            errors.append(
                LineError(line, f"account_ref {ref!r} is not a known account (import accounts first)")
            )
    return errors, int(total)


def check(session: Session, stage: Stage, limit: int) -> tuple[list[LineError], int]:
    repeats, repeat_total = stage.repeated_keys(("account_ref", "statement_date"), limit)
    errors = [
        LineError(line, f"statement {key[0]!r} {date_text(key[1])} repeats line {first}")
        for line, first, key in repeats
    ]
    unknown, unknown_total = unknown_accounts(session, STAGE, limit)
    return errors + unknown, repeat_total + unknown_total


def write(session: Session, stage: Stage, now: datetime, count: int) -> Written:
    """An UPDATE of the statements already imported whose values differ, and a plain INSERT of the
    new ones (pipeline.insert_or_upsert)."""
    s, t, a = STAGE, cast(Table, StatementRow.__table__), CardAccount.__table__
    copied = COPIED
    values = [name for name in copied if name != "statement_date"]
    updated = changed_rows(
        session,
        update(t)
        .where(a.c.account_ref == s.c.account_ref)
        .where(t.c.account_id == a.c.id, t.c.statement_date == s.c.statement_date)
        .where(or_(*(t.c[name].is_distinct_from(s.c[name]) for name in values)))
        .values({name: s.c[name] for name in values}),
    )
    staged = select(a.c.id, *(s.c[name] for name in copied)).join_from(
        s, a, a.c.account_ref == s.c.account_ref
    )
    new = staged.where(
        ~exists().where(t.c.account_id == a.c.id, t.c.statement_date == s.c.statement_date)
    ).order_by(s.c.line)
    insert = dialect_insert(session)
    # The way back if another transaction inserts one of the new statements meanwhile: the upsert of
    # every staged line (true(): SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT).
    upsert = insert(t).from_select(["account_id", *copied], staged.where(true()).order_by(s.c.line))
    upsert = upsert.on_conflict_do_update(
        index_elements=["account_id", "statement_date"],
        set_={name: upsert.excluded[name] for name in values},
    )
    added = insert_or_upsert(session, insert(t).from_select(["account_id", *copied], new), upsert)
    return Written(count, changed={"statement": updated + added})


def straight_rows(session: Session, now: datetime) -> RowFn | None:
    """Into an empty statement table: the staged row with its account's id for its account_ref."""
    if not is_empty(session, "statement"):
        return None
    account_id = with_account_id(account_ids(session))
    return lambda row: (account_id(row[0]), *row[1:])


def straight_finish(session: Session, now: datetime, count: int) -> Written:
    return Written(count, changed={"statement": count})


STATEMENTS = RecordFile(
    kind="statements",
    columns=STATEMENT_COLUMNS,
    optional=frozenset(),
    stage=STAGE,
    staged_row=staged_row,
    quick=quick.statements,
    check=check,
    write=write,
    audit_action="portfolio.statements_imported",
    tables=("statement",),
    straight=Straight(
        "statement",
        ("account_id", *COPIED),
        straight_rows,
        straight_finish,
    ),
)
