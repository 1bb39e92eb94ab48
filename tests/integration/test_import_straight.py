"""A file for an empty table goes straight into it by COPY (PostgreSQL; app.services.imports.straight):
the same rows as the staged way, and at any bad line, repeated key, unknown account or key taken
meanwhile, the staged way instead, with its bad lines and numbers exactly as before."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.persistence.models import CardAccount, Customer, Payment, Statement
from app.services import imports
from app.services.imports import ImportRejected, loading, pipeline
from app.services.imports import accounts as account_file
from tests.conftest import Database
from tests.integration.test_import import A1, A2, A3, HEADER, S1, S2, S3, STATEMENT_HEADER, lines, write
from tests.integration.test_import_payments import P1, P2, PAYMENT_HEADER


@pytest.fixture
def ways(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The way each import went: "straight", or "staged" (after a straight attempt or none)."""
    taken: list[str] = []
    real_straight, real_staged = pipeline._straight, pipeline._staged

    def straight(*args: Any, **kwargs: Any) -> Any:
        done = real_straight(*args, **kwargs)
        if done is not None:
            taken.append("straight")
        return done

    def staged(*args: Any, **kwargs: Any) -> Any:
        taken.append("staged")
        return real_staged(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_straight", straight)
    monkeypatch.setattr(pipeline, "_staged", staged)
    yield taken


def only_staged(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, spec in imports.FILES.items():
        monkeypatch.setitem(imports.FILES, kind, dataclasses.replace(spec, straight=None))


def rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every imported row, the times of the write left out."""
    skip = {"updated_at", "created_at", "imported_at"}
    found = {}
    for model in (Customer, CardAccount, Statement, Payment):
        table = model.__table__
        columns = [c for c in table.columns if c.name not in skip]
        found[table.name] = [tuple(r) for r in session.execute(select(*columns).order_by(table.c.id))]
    return found


def import_all(db: Database, tmp_path: Path, files: list[tuple[str, str]]) -> list[Any]:
    outcomes: list[Any] = []
    for n, (kind, content) in enumerate(files):
        try:
            with unit_of_work(db.engine) as s:
                summary = imports.import_file(s, kind, write(tmp_path, content, f"{n}-{kind}.csv"))
            outcomes.append(summary)
        except ImportRejected as rejected:
            outcomes.append((rejected.total_errors, [(e.line, e.message) for e in rejected.errors]))
    return outcomes


def clear(db: Database) -> None:
    """Empties the imported tables, their ids starting again from 1."""
    with unit_of_work(db.engine) as s:
        for table in ("payment", "statement", "card_account", "customer"):
            s.execute(text(f"DELETE FROM {table}"))
            if db.name == "postgresql":
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))


FILES = [
    ("accounts", lines(HEADER, A1, A2, A3)),
    ("statements", lines(STATEMENT_HEADER, S1, S2, S3)),
    ("payments", lines(PAYMENT_HEADER, P1, P2, P1.replace("P-1", "P-9"))),
    ("accounts", lines(HEADER, A1.replace("1234.50", "1000"), A2, A3.replace("A3", "A4"))),
]


def test_good_files_go_straight_and_store_what_the_staged_way_stores(
    db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ways: list[str]
) -> None:
    straight = import_all(db, tmp_path, FILES)
    got = rows(session)
    session.rollback()
    if db.name == "postgresql":
        assert ways == ["straight", "straight", "straight", "staged"]
    else:
        assert ways == ["staged"] * 4
    clear(db)
    with monkeypatch.context() as patch:
        only_staged(patch)
        staged = import_all(db, tmp_path, FILES)
    assert straight == staged
    assert rows(session) == got
    assert len(got["card_account"]) == 4 and len(got["payment"]) == 3


BAD = [
    ("accounts", lines(HEADER, A1, A2.replace("110101", "11010"), A3), 3),  # a bad field
    ("accounts", lines(HEADER, A1, A2, A1), 4),  # a repeated key: the unique constraint
    ("accounts", lines(HEADER + ",nickname", A1 + ",Bob"), 1),  # a bad header
    ("statements", lines(STATEMENT_HEADER, S1, S3.replace("A2", "A9")), 3),  # an unknown account
    ("statements", lines(STATEMENT_HEADER, S1, S2, S1), 4),  # a repeated key
    ("payments", lines(PAYMENT_HEADER, P1, P2.replace("A2", "A9")), 3),  # an unknown account
    ("payments", lines(PAYMENT_HEADER, P1, P1.replace("100.00", "99.00")), 3),  # other values
]


@pytest.mark.parametrize(("kind", "content", "line"), BAD)
def test_a_bad_file_is_rejected_as_the_staged_way_rejects_it(
    db: Database,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ways: list[str],
    kind: str,
    content: str,
    line: int,
) -> None:
    before = [] if kind == "accounts" else [("accounts", lines(HEADER, A1, A2))]
    first = import_all(db, tmp_path, [*before, (kind, content)])[-1]
    assert ways[-1] == "staged"
    assert first[1][0][0] == line
    stored = rows(session)
    session.rollback()
    clear(db)
    with monkeypatch.context() as patch:
        only_staged(patch)
        assert import_all(db, tmp_path, [*before, (kind, content)])[-1] == first
    assert rows(session) == stored


def test_a_line_sent_twice_into_an_empty_payment_table_is_one_payment(
    db: Database, session: Session, tmp_path: Path, ways: list[str]
) -> None:
    import_all(
        db, tmp_path, [("accounts", lines(HEADER, A1, A2)), ("payments", lines(PAYMENT_HEADER, P1, P2, P1))]
    )
    assert ways[-1] == "staged"
    assert [r.payment_ref for r in session.scalars(select(Payment).order_by(Payment.id))] == ["P-1", "P-2"]


def test_an_account_inserted_meanwhile_sends_the_file_the_staged_way(
    db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ways: list[str]
) -> None:
    """Another transaction commits one of the file's accounts after the import found card_account
    empty: the COPY breaks the unique constraint, and the staged way gives that account the file's
    values, as it settles any race."""
    if db.name != "postgresql":
        pytest.skip("the straight way is PostgreSQL's")
    real = account_file.straight_rows

    def then_another_transaction_inserts_a2(session: Session, now: datetime) -> Any:
        to_row = real(session, now)
        with db.engine.begin() as other:
            other.execute(
                text(
                    "INSERT INTO card_account (account_ref, customer_ref, product_code, status, region_code, "
                    "opened_on, credit_limit_fen, principal_balance_fen, interest_balance_fen, "
                    "fee_balance_fen, updated_at) VALUES ('A2', 'C1', 'OTHER', 'active', '110101', "
                    "'2010-01-01', 1, 1, 1, 1, now())"
                )
            )
        return to_row

    plan = imports.FILES["accounts"].straight
    assert plan is not None
    monkeypatch.setitem(
        imports.FILES,
        "accounts",
        dataclasses.replace(
            imports.FILES["accounts"],
            straight=dataclasses.replace(plan, prepare=then_another_transaction_inserts_a2),
        ),
    )
    summary = import_all(db, tmp_path, [("accounts", lines(HEADER, A1, A2, A3))])[0]
    assert summary.rows == 3 and summary.customers == 2
    assert ways == ["staged"]
    found = session.execute(
        select(CardAccount.account_ref, CardAccount.product_code).order_by(CardAccount.account_ref)
    ).all()
    assert [tuple(r) for r in found] == [("A1", "STD_GOLD"), ("A2", "STD_CLASSIC"), ("A3", "PLATINUM")]


def test_an_account_ref_with_a_backslash_finds_its_id(db: Database, session: Session, tmp_path: Path) -> None:
    """COPY's text format escapes a backslash: the account ids are read back exactly."""
    odd = A2.replace("A2,", "A\\2,", 1)
    import_all(
        db,
        tmp_path,
        [
            ("accounts", lines(HEADER, A1, odd)),
            ("statements", lines(STATEMENT_HEADER, S3.replace("A2", "A\\2"))),
        ],
    )
    found = session.execute(
        select(CardAccount.account_ref).join(Statement, Statement.account_id == CardAccount.id)
    ).all()
    assert [r[0] for r in found] == ["A\\2"]


def test_a_file_in_two_halves_goes_in_line_order(
    db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ways: list[str]
) -> None:
    """The second half's rows follow every row of the first half into the COPY: the ids are given in
    line order, as the staged way gives them."""
    monkeypatch.setattr(loading, "PARALLEL_MIN_BYTES", 0)
    refs = [f"A{n:03d}" for n in range(1, 201)]
    content = lines(HEADER, *(A1.replace("A1,", f"{ref},", 1) for ref in refs))
    import_all(db, tmp_path, [("accounts", content)])
    assert ways == ["straight" if db.name == "postgresql" else "staged"]
    assert list(session.scalars(select(CardAccount.account_ref).order_by(CardAccount.id))) == refs
