"""A large file is validated in two processes at once (PostgreSQL; app.services.imports.loading): every
line gets the verdict and the number that reading the file in one piece gives it, and a failure of
either process writes nothing.  Also the write: unchanged rows are not written again, a key that
another transaction inserts meanwhile still gets the file's values, and a failure halfway through
the write leaves nothing of the file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.persistence.models import CardAccount, Customer, Statement
from app.services import imports
from app.services.imports import ImportRejected, loading
from app.services.imports import accounts as account_file
from tests.conftest import Database
from tests.integration.test_import import A1, A2, A3, HEADER, STATEMENT_HEADER, count, lines, write


def account_line(n: int, **changes: str) -> str:
    values = dict(zip(HEADER.split(","), A1.replace("A1,C1", f"A{n},C{n % 7}").split(","), strict=True))
    values.update(changes)
    return ",".join(values.values())


GOOD = [account_line(n) for n in range(1, 41)]


@pytest.fixture
def halves(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int | None]]:
    """Every file is cut in two (on PostgreSQL; SQLite reads each in one piece): the answers of
    load_in_two (None: it read the file in one piece after all) are listed."""
    monkeypatch.setattr(loading, "PARALLEL_MIN_BYTES", 0)
    answers: list[int | None] = []
    real = loading.load_in_two

    def spy(*args: Any, **kwargs: Any) -> int | None:
        answer = real(*args, **kwargs)
        answers.append(answer)
        return answer

    monkeypatch.setattr(loading, "load_in_two", spy)
    yield answers
    if db.name == "postgresql":
        assert answers, "the file was not cut in two"
    else:
        assert answers == []


def outcome(session: Session, path: Path, max_errors: int = 100) -> tuple[Any, ...]:
    """What importing ``path`` gives: the accounts written, or the bad lines; nothing is kept."""
    try:
        summary = imports.import_file(session, "accounts", path, max_errors=max_errors)
        refs = sorted(session.scalars(select(CardAccount.account_ref)))
        result: tuple[Any, ...] = ("imported", summary.rows, summary.customers, refs)
    except ImportRejected as rejected:
        result = ("rejected", rejected.total_errors, [(e.line, e.message) for e in rejected.errors])
    session.rollback()
    return result


def in_one_piece(session: Session, path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[Any, ...]:
    with monkeypatch.context() as patch:
        patch.setattr(loading, "PARALLEL_MIN_BYTES", 1 << 60)
        return outcome(session, path, **kw)


def test_a_good_file_in_two_halves_imports_every_line(
    halves: list[int | None], session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, lines(HEADER, *GOOD))
    result = outcome(session, path)
    assert result == in_one_piece(session, path, monkeypatch)
    assert result[:3] == ("imported", 40, 7)
    if halves:
        assert halves == [40]


BAD_IN_BOTH_HALVES = [
    *GOOD[:5],
    account_line(41, status="frozen"),
    *GOOD[5:20],
    GOOD[25],  # repeats a line of the second half
    account_line(42, credit_limit="1.234"),
    *GOOD[20:38],
    account_line(43, opened_on="2025-02-30"),
    GOOD[3],  # repeats a line of the first half
    account_line(44, region_code="12345") + ",extra",
]


@pytest.mark.parametrize("max_errors", [100, 3, 1])
def test_bad_lines_in_both_halves_are_named_as_in_one_piece(
    halves: list[int | None],
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    max_errors: int,
) -> None:
    path = write(tmp_path, lines(HEADER, *BAD_IN_BOTH_HALVES))
    result = outcome(session, path, max_errors)
    assert result == in_one_piece(session, path, monkeypatch, max_errors=max_errors)
    assert result[:2] == ("rejected", 6)
    assert count(session, CardAccount) == 0


@pytest.mark.parametrize("where", [3, 30])
def test_bad_utf8_ends_the_reading_in_either_half_as_in_one_piece(
    halves: list[int | None], session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: int
) -> None:
    rows = [row.encode() for row in [HEADER, *GOOD[:35], account_line(50, status="frozen")]]
    rows[where] = rows[where].replace(b"STD_GOLD", b"STD\xe9GOLD")
    path = write(tmp_path, b"\n".join(rows) + b"\n")
    result = outcome(session, path)
    assert result == in_one_piece(session, path, monkeypatch)
    assert result[2][0] == (where + 1, "not valid UTF-8")


def test_a_quoted_field_across_the_middle_reads_the_file_in_one_piece(
    halves: list[int | None], session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spread = account_line(60, product_code='"STD' + "\nGOLD" * 60 + '"')
    path = write(tmp_path, lines(HEADER, *GOOD[:10], spread, *GOOD[10:20]))
    result = outcome(session, path)
    assert result == in_one_piece(session, path, monkeypatch)
    assert result[:2] == ("rejected", 1)
    assert result[2][0][1] == "product_code must be 1 to 32 characters"
    if halves:
        assert halves == [None]


def test_a_header_only_or_one_line_file_is_read_in_one_piece(
    halves: list[int | None], session: Session, tmp_path: Path
) -> None:
    assert outcome(session, write(tmp_path, lines(HEADER, A1)))[:2] == ("imported", 1)
    if halves:
        assert halves == [1]


def test_the_second_process_dying_fails_the_import_and_writes_nothing(
    db: Database, halves: list[int | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.name != "postgresql":
        pytest.skip("SQLite reads every file in one piece")
    monkeypatch.setattr(loading, "copy_formatter", lambda: (lambda row: os._exit(3), bytes))
    with pytest.raises(loading.PartFailed, match="ended silently"), unit_of_work(db.engine) as s:
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, *GOOD)))
    with unit_of_work(db.engine) as s:
        assert (count(s, CardAccount), count(s, Customer)) == (0, 0)
    halves.append(None)


def test_the_second_process_failing_names_its_error_and_writes_nothing(
    db: Database, halves: list[int | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.name != "postgresql":
        pytest.skip("SQLite reads every file in one piece")

    def broken(path: Path, offset: int) -> int:
        raise OSError("disk on fire")

    monkeypatch.setattr(loading, "_line_number_at", broken)
    with pytest.raises(loading.PartFailed, match="disk on fire"), unit_of_work(db.engine) as s:
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, *GOOD)))
    with unit_of_work(db.engine) as s:
        assert (count(s, CardAccount), count(s, Customer)) == (0, 0)
    halves.append(None)


# --- the write ----------------------------------------------------------------------------------


def load(db: Database, tmp_path: Path, *rows: str, name: str = "accounts.csv") -> None:
    with unit_of_work(db.engine) as s:
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, *rows), name))


def updated_at(session: Session) -> dict[str, datetime]:
    return dict(session.execute(select(CardAccount.account_ref, CardAccount.updated_at)).all())  # type: ignore[arg-type]


def test_an_unchanged_account_is_not_written_again(db: Database, session: Session, tmp_path: Path) -> None:
    load(db, tmp_path, A1, A2)
    before = updated_at(session)
    session.rollback()
    load(db, tmp_path, A1.replace("1234.50", "1000.00"), A2, A3, name="again.csv")
    after = updated_at(session)
    assert after["A2"] == before["A2"]
    assert after["A1"] != before["A1"]
    a1 = session.scalars(select(CardAccount).where(CardAccount.account_ref == "A1")).one()
    assert a1.principal_balance == Decimal("1000.00")
    assert sorted(after) == ["A1", "A2", "A3"]


def test_statements_update_only_what_changed(db: Database, session: Session, tmp_path: Path) -> None:
    load(db, tmp_path, A1, A2)
    s1 = "A1,2025-06-08,2025-06-28,1234.50,123.45,0.00"
    s2 = "A2,2025-07-08,2025-07-28,800.50,80.05,0"
    with unit_of_work(db.engine) as s:
        imports.import_file(s, "statements", write(tmp_path, lines(STATEMENT_HEADER, s1, s2), "s.csv"))
    with unit_of_work(db.engine) as s:
        summary = imports.import_file(
            s,
            "statements",
            write(tmp_path, lines(STATEMENT_HEADER, s1.replace("0.00", "123.45"), s2), "s2.csv"),
        )
        assert summary.rows == 2
    paid = dict(session.execute(select(Statement.account_id, Statement.paid_amount)).all())
    assert sorted(paid.values()) == [Decimal("0.00"), Decimal("123.45")]
    assert count(session, Statement) == 2


def test_an_account_inserted_meanwhile_still_gets_the_files_values(
    db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction inserts one of the file's new accounts after the import's anti-join has
    run and commits while the import's insert waits on the key: the plain insert fails on the key,
    and the upsert of every line runs instead, as the import did before."""
    if db.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    load(db, tmp_path, A1)
    other = db.engine.connect()
    timers: list[threading.Timer] = []
    real = account_file.changed_rows

    def then_another_transaction_inserts_a2(session: Session, statement: Any) -> int:
        written = real(session, statement)
        other.execute(
            text(
                "INSERT INTO card_account (account_ref, customer_ref, product_code, status, region_code, "
                "opened_on, credit_limit_fen, principal_balance_fen, interest_balance_fen, fee_balance_fen, "
                "updated_at) VALUES ('A2', 'C1', 'OTHER', 'active', '110101', '2010-01-01', 1, 1, 1, 1, "
                "now())"
            )
        )
        timers.append(threading.Timer(0.5, other.commit))
        timers[0].start()
        return written

    monkeypatch.setattr(account_file, "changed_rows", then_another_transaction_inserts_a2)
    try:
        summary = imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1, A2, A3)))
    finally:
        for timer in timers:
            timer.join()
        other.close()
    assert summary.rows == 3
    rows = session.execute(
        select(CardAccount.account_ref, CardAccount.product_code).order_by(CardAccount.account_ref)
    ).all()
    assert [tuple(r) for r in rows] == [("A1", "STD_GOLD"), ("A2", "STD_CLASSIC"), ("A3", "PLATINUM")]


def test_a_failure_halfway_through_the_write_leaves_nothing_of_the_file(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(db, tmp_path, A1)
    real = account_file.changed_rows

    def fails_after_updating(session: Session, statement: Any) -> int:
        real(session, statement)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(account_file, "changed_rows", fails_after_updating)
    changed = A1.replace("1234.50", "1000.00")
    with pytest.raises(RuntimeError, match="went away"), unit_of_work(db.engine) as s:
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, changed, A3), "again.csv"))
    with unit_of_work(db.engine) as s:
        assert s.scalar(select(func.sum(CardAccount.principal_balance))) == Decimal("1234.50")
        assert (count(s, CardAccount), count(s, Customer)) == (1, 1)
