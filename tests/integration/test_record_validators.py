"""The record validators of app.domain.records accept exactly what the CSV import accepts: for
generated lines, a line imports if and only if its validator accepts it, and what is stored is what
the validator returned (the import adds only the checks that need the whole file or the database)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, select, type_coerce
from sqlalchemy.orm import Session

from app.db import session_factory, unit_of_work
from app.domain.records import (
    ACCOUNT_COLUMNS,
    PAYMENT_COLUMNS,
    STATEMENT_COLUMNS,
    FieldProblem,
    account_from_text,
    payment_from_text,
    statement_from_text,
)
from app.persistence.models import CardAccount, Payment
from app.persistence.models import Statement as StatementRow
from app.services import business_date, imports
from app.services.imports import ImportRejected
from app.services.principal import SYSTEM
from tests.conftest import Database
from tests.integration.test_import import A1, HEADER, lines, write

BUSINESS_DATE = date(2025, 8, 1)

REFS = st.one_of(
    st.sampled_from(
        [
            "A1",
            "A-2",
            "卡1",
            "A/1",
            " A1",
            "A1 ",
            "A?",
            "A#",
            "A%",
            ".",
            "..",
            "",
            "A\x00",
            "x" * 64,
            "x" * 65,
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
)
MONEY = st.one_of(
    st.sampled_from(
        ["0", "0.00", "1", "1.5", "1.50", "1.505", "-1", "+1", "1e3", " 2.00", "", ".5", "9" * 15, "9" * 16]
    ),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(str),
)
DATES = st.one_of(
    st.sampled_from(
        [
            "2025-07-31",
            "2025-08-01",
            "2025-08-02",
            "2025-02-30",
            "2025/07/01",
            "",
            " 2025-07-01",
            "0000-01-01",
        ]
    ),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 1, 1)).map(date.isoformat),
)
TEXT = st.one_of(st.sampled_from(["STD", " STD ", "", "x" * 33, "\x1b"]), st.text(max_size=4))
STATUS = st.sampled_from(["active", "delinquent", "closed", "charged_off", "fraud", "frozen", " active", ""])
REGION = st.sampled_from(["622927", "62292", "62292X", "６２２９２７", " 622927"])


def csv_line(columns: tuple[str, ...], raw: Mapping[str, str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([raw[c] for c in columns])
    return buffer.getvalue()


def accepted(
    validate: Callable[[Mapping[str, str], date], dict[str, Any]], raw: Mapping[str, str]
) -> dict[str, Any] | None:
    try:
        return validate(raw, BUSINESS_DATE)
    except FieldProblem:
        return None


def imported(session: Session, kind: str, path: Path) -> bool:
    try:
        imports.import_file(session, kind, path)
    except ImportRejected:
        return False
    return True


def representable(raw: Mapping[str, str]) -> bool:
    """A line the CSV format can carry as one record: no line breaks inside a field (a quoted break is
    a multi-line record, counted on more lines) and no NUL (which csv cannot write)."""
    return not any(ch in value for value in raw.values() for ch in "\r\n\x00")


def stored_values(model: Any, names: Mapping[str, Any]) -> Any:
    """A select of the stored columns of those names, money as the integer fen it is stored as."""
    columns = model.__table__.c
    return select(*(type_coerce(columns[k], BigInteger) if k.endswith("_fen") else columns[k] for k in names))


@pytest.fixture
def base(db: Database, tmp_path: Path) -> Database:
    with unit_of_work(db.engine) as s:
        business_date.pin(s, on=BUSINESS_DATE, actor=SYSTEM)
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, A1), "seed.csv"))
    return db


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    raw=st.fixed_dictionaries(
        {
            "account_ref": REFS,
            "customer_ref": REFS,
            "product_code": TEXT,
            "status": STATUS,
            "region_code": REGION,
            "opened_on": DATES,
            "credit_limit": MONEY,
            "principal_balance": MONEY,
            "interest_balance": MONEY,
            "fee_balance": MONEY,
            "delinquent_since": DATES,
            "last_payment_on": DATES,
        }
    )
)
def test_the_account_validator_accepts_exactly_what_the_import_accepts(
    base: Database, tmp_path_factory: pytest.TempPathFactory, raw: dict[str, str]
) -> None:
    if not representable(raw) or raw["account_ref"].strip() == "A1":
        return
    expected = accepted(account_from_text, raw)
    path = write(
        tmp_path_factory.mktemp("a"), lines(",".join(ACCOUNT_COLUMNS), csv_line(ACCOUNT_COLUMNS, raw))
    )
    with session_factory(base.engine)() as session:
        assert imported(session, "accounts", path) == (expected is not None), raw
        if expected is not None:
            query = stored_values(CardAccount, expected).where(
                CardAccount.account_ref == expected["account_ref"]
            )
            assert dict(zip(expected, session.execute(query).one(), strict=True)) == expected
        session.rollback()


@SETTINGS
@given(
    raw=st.fixed_dictionaries(
        {
            "account_ref": st.just("A1"),  # a known account: unknown ones are the import's own check
            "statement_date": DATES,
            "due_date": st.one_of(DATES, st.sampled_from(["2025-11-28", "2025-11-29", "9999-12-31"])),
            "statement_balance": MONEY,
            "minimum_due": MONEY,
            "paid_amount": MONEY,
        }
    )
)
def test_the_statement_validator_accepts_exactly_what_the_import_accepts(
    base: Database, tmp_path_factory: pytest.TempPathFactory, raw: dict[str, str]
) -> None:
    if not representable(raw):
        return
    expected = accepted(statement_from_text, raw)
    path = write(
        tmp_path_factory.mktemp("s"), lines(",".join(STATEMENT_COLUMNS), csv_line(STATEMENT_COLUMNS, raw))
    )
    with session_factory(base.engine)() as session:
        assert imported(session, "statements", path) == (expected is not None), raw
        if expected is not None:
            typed = {k: v for k, v in expected.items() if k != "account_ref"}
            stored = session.execute(stored_values(StatementRow, typed)).one()
            assert dict(zip(typed, stored, strict=True)) == typed
        session.rollback()


@SETTINGS
@given(
    raw=st.fixed_dictionaries(
        {"account_ref": st.just("A1"), "payment_ref": TEXT, "paid_on": DATES, "amount": MONEY}
    )
)
def test_the_payment_validator_accepts_exactly_what_the_import_accepts(
    base: Database, tmp_path_factory: pytest.TempPathFactory, raw: dict[str, str]
) -> None:
    if not representable(raw):
        return
    expected = accepted(payment_from_text, raw)
    path = write(
        tmp_path_factory.mktemp("p"), lines(",".join(PAYMENT_COLUMNS), csv_line(PAYMENT_COLUMNS, raw))
    )
    with session_factory(base.engine)() as session:
        assert imported(session, "payments", path) == (expected is not None), raw
        if expected is not None:
            typed = {k: v for k, v in expected.items() if k != "account_ref"}
            stored = session.execute(stored_values(Payment, typed)).one()
            assert dict(zip(typed, stored, strict=True)) == typed
        session.rollback()
