"""payments.csv (key: payment_ref; the account must exist): inserts the payments not seen before
(CONTRACT.md, "Payments from the card system").

A payment is a fact, not a snapshot: importing the same line again changes nothing, and a
payment_ref that comes back with another account, date or amount, whether in the database already
or earlier in the same file, is a bad line."""

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
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.domain.records import PAYMENT_COLUMNS, payment_from_text
from app.persistence.models import CardAccount, Payment, UtcDateTime
from app.services.imports import quick
from app.services.imports.pipeline import RecordFile, Straight, Written, insert_or_upsert
from app.services.imports.staging import LineError, Stage
from app.services.imports.statements import unknown_accounts
from app.services.imports.straight import RowFn, account_ids, is_empty, with_account_id

STAGE = Table(
    "hardship_import_payment",
    MetaData(),
    Column("line", Integer, nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("payment_ref", String(64), nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
    info={"analyze": ("payment_ref", "account_ref")},
)


def staged_row(raw: Mapping[str, str], business_date: date) -> tuple[Any, ...]:
    v = payment_from_text(raw, business_date)
    return (v["account_ref"], v["payment_ref"], v["paid_on"].isoformat(), v["amount_fen"])


def _imported_before_with_other_values(session: Session, limit: int) -> tuple[list[LineError], int]:
    s, p, a = STAGE, Payment.__table__, CardAccount.__table__
    other = (
        select(s.c.line, s.c.payment_ref)
        .join(p, p.c.payment_ref == s.c.payment_ref)
        .join(a, a.c.id == p.c.account_id)
        .where(
            or_(
                a.c.account_ref != s.c.account_ref,
                p.c.paid_on != s.c.paid_on,
                p.c.amount_fen != s.c.amount_fen,
            )
        )
    )
    total = session.execute(select(func.count()).select_from(other.subquery())).scalar_one()
    if not total:
        return [], 0
    rows = session.execute(other.order_by(s.c.line).limit(limit)).all()
    return [
        LineError(line, f"payment_ref {ref!r} was imported before with other values") for line, ref in rows
    ], int(total)


def check(session: Session, stage: Stage, limit: int) -> tuple[list[LineError], int]:
    repeats, repeat_total = stage.repeated_keys(
        ("payment_ref",), limit, differing=("account_ref", "paid_on", "amount_fen")
    )
    errors = [
        LineError(line, f"payment_ref {key[0]!r} repeats line {first} with other values")
        for line, first, key in repeats
    ]
    unknown, unknown_total = unknown_accounts(session, STAGE, limit)
    before, before_total = _imported_before_with_other_values(session, limit)
    return errors + unknown + before, repeat_total + unknown_total + before_total


def write(session: Session, stage: Stage, now: datetime, count: int) -> Written:
    """One insert of the payments not imported before (a line repeated in the file once)."""
    s, p = STAGE, Payment.__table__
    new = (
        select(s.c.payment_ref, CardAccount.id, s.c.paid_on, s.c.amount_fen, literal(now, UtcDateTime))
        .join_from(s, CardAccount, CardAccount.account_ref == s.c.account_ref)
        .where(~exists().where(p.c.payment_ref == s.c.payment_ref))
        .group_by(s.c.payment_ref, CardAccount.id, s.c.paid_on, s.c.amount_fen)
        .order_by(func.min(s.c.line))
    )
    columns = ["payment_ref", "account_id", "paid_on", "amount_fen", "imported_at"]
    insert = dialect_insert(session)(p)
    added = insert_or_upsert(
        session,
        insert.from_select(columns, new),
        insert.from_select(columns, new).on_conflict_do_nothing(index_elements=["payment_ref"]),
    )
    return Written(added, changed={"payment": added})


def straight_rows(session: Session, now: datetime) -> RowFn | None:
    """Into an empty payment table (nothing imported before): the payment with its account's id."""
    if not is_empty(session, "payment"):
        return None
    account_id = with_account_id(account_ids(session))
    imported_at = now.isoformat()
    return lambda row: (row[1], account_id(row[0]), row[2], row[3], imported_at)


def straight_finish(session: Session, now: datetime, count: int) -> Written:
    return Written(count, changed={"payment": count})


PAYMENTS = RecordFile(
    kind="payments",
    columns=PAYMENT_COLUMNS,
    optional=frozenset(),
    stage=STAGE,
    staged_row=staged_row,
    quick=quick.payments,
    check=check,
    write=write,
    audit_action="portfolio.payments_imported",
    tables=("payment",),
    straight=Straight(
        "payment",
        ("payment_ref", "account_id", "paid_on", "amount_fen", "imported_at"),
        straight_rows,
        straight_finish,
    ),
)
