"""`hardship import payments` (CONTRACT.md, "Payments from the card system"): all or nothing, every bad
line named, idempotent by payment_ref, a payment_ref never changes its values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.db import unit_of_work
from app.persistence.models import AuditEvent, CardAccount, Payment
from app.services import business_date, imports
from app.services.imports import ImportRejected
from app.services.principal import SYSTEM
from tests.conftest import Database
from tests.integration.test_import import A1, A2, HEADER, assert_rejected, count, lines, write

BUSINESS_DATE = date(2025, 8, 1)
PAYMENT_HEADER = "account_ref,payment_ref,paid_on,amount"
P1 = "A1,P-1,2025-07-10,100.00"
P2 = "A2,P-2,2025-07-11,0.01"
P3 = "A1,P-3,2025-08-01,1234.5"


@pytest.fixture
def accounts(db: Database, tmp_path: Path) -> Database:
    """Accounts A1 and A2, on a business date pinned to BUSINESS_DATE."""
    with unit_of_work(db.engine) as s:
        business_date.pin(s, on=BUSINESS_DATE, actor=SYSTEM)
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, A1, A2), "seed-accounts.csv"))
    return db


def import_payments(session: Session, tmp_path: Path, *rows: str, name: str = "payments.csv") -> int:
    return imports.import_file(
        session, "payments", write(tmp_path, lines(PAYMENT_HEADER, *rows), name)
    ).inserted_or_updated


def stored(session: Session) -> list[tuple[str, str, date, Decimal]]:
    rows = session.execute(
        select(Payment.payment_ref, CardAccount.account_ref, Payment.paid_on, Payment.amount)
        .join(CardAccount, CardAccount.id == Payment.account_id)
        .order_by(Payment.payment_ref)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_payments_are_imported_with_exact_amounts(
    accounts: Database, session: Session, tmp_path: Path
) -> None:
    assert import_payments(session, tmp_path, P1, P2, P3) == 3
    assert stored(session) == [
        ("P-1", "A1", date(2025, 7, 10), Decimal("100.00")),
        ("P-2", "A2", date(2025, 7, 11), Decimal("0.01")),
        ("P-3", "A1", date(2025, 8, 1), Decimal("1234.50")),
    ]
    raw = session.connection().exec_driver_sql("SELECT amount_fen FROM payment ORDER BY payment_ref")
    assert [r[0] for r in raw] == [10000, 1, 123450]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "portfolio.payments_imported"))
    assert event is not None and event.after == {"rows": 3}


def test_importing_the_same_lines_again_changes_nothing(
    accounts: Database, session: Session, tmp_path: Path
) -> None:
    import_payments(session, tmp_path, P1, P2)
    session.commit()
    before = session.execute(select(Payment.id, Payment.imported_at).order_by(Payment.id)).all()
    assert import_payments(session, tmp_path, P2, P1, P3, name="again.csv") == 1  # only P-3 is new
    session.commit()
    after = session.execute(select(Payment.id, Payment.imported_at).order_by(Payment.id)).all()
    assert after[:2] == before and len(after) == 3


def test_a_line_repeated_within_the_file_is_one_payment(
    accounts: Database, session: Session, tmp_path: Path
) -> None:
    assert import_payments(session, tmp_path, P1, P1, P2) == 2
    assert [r[0] for r in stored(session)] == ["P-1", "P-2"]


BAD_PAYMENT_FILES = {
    "unknown_account": ((P1, "NOPE,P-9,2025-07-10,1.00"), 3, "account_ref 'NOPE' is not a known account"),
    "amount_zero": ((P1, "A1,P-9,2025-07-10,0"), 3, "amount must be greater than 0, got '0.00'"),
    "amount_negative": ((P1, "A1,P-9,2025-07-10,-5.00"), 3, "amount must be an amount greater than 0"),
    "amount_three_decimals": ((P1, "A1,P-9,2025-07-10,1.005"), 3, "with at most two decimals, got '1.005'"),
    "amount_empty": ((P1, "A1,P-9,2025-07-10,"), 3, "amount must be an amount greater than 0"),
    "paid_after_the_business_date": (
        (P1, "A1,P-9,2025-08-02,1.00"),
        3,
        "paid_on 2025-08-02 is after the business date 2025-08-01",
    ),
    "paid_on_not_a_date": ((P1, "A1,P-9,2025-02-30,1.00"), 3, "paid_on is not a real date"),
    "empty_payment_ref": ((P1, "A1,,2025-07-10,1.00"), 3, "payment_ref must be 1 to 64 characters"),
    "payment_ref_too_long": ((P1, f"A1,{'P' * 65},2025-07-10,1.00"), 3, "payment_ref must be 1 to 64"),
    "reused_in_the_file_with_another_amount": (
        (P1, P2, "A1,P-1,2025-07-10,100.01"),
        4,
        "payment_ref 'P-1' repeats line 2 with other values",
    ),
    "reused_in_the_file_with_another_account": (
        (P1, "A2,P-1,2025-07-10,100.00"),
        3,
        "payment_ref 'P-1' repeats line 2 with other values",
    ),
    "wrong_field_count": ((P1, P2 + ",x"), 3, "expected 4 fields, found 5"),
}


@pytest.mark.parametrize(
    ("rows", "line", "fragment"), BAD_PAYMENT_FILES.values(), ids=BAD_PAYMENT_FILES.keys()
)
def test_bad_payment_line_is_named_and_nothing_is_written(
    accounts: Database, session: Session, tmp_path: Path, rows: tuple[str, ...], line: int, fragment: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_payments(session, tmp_path, *rows)
    assert_rejected(caught.value, line, fragment)
    assert caught.value.kind == "payments"
    assert count(session, Payment) == 0


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (PAYMENT_HEADER + ",note", "unknown column(s): note"),
        ("account_ref,payment_ref,paid_on", "missing column(s): amount"),
    ],
)
def test_a_bad_header_is_line_1(
    accounts: Database, session: Session, tmp_path: Path, header: str, fragment: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "payments", write(tmp_path, lines(header, P1 + ",x"), "payments.csv"))
    assert_rejected(caught.value, 1, fragment)


@pytest.mark.parametrize(
    "changed",
    ["A2,P-1,2025-07-10,100.00", "A1,P-1,2025-07-09,100.00", "A1,P-1,2025-07-10,100.01"],
    ids=["account", "paid_on", "amount"],
)
def test_a_payment_ref_imported_before_with_other_values_is_a_bad_line(
    accounts: Database, session: Session, tmp_path: Path, changed: str
) -> None:
    import_payments(session, tmp_path, P1)
    session.commit()
    with pytest.raises(ImportRejected) as caught:
        import_payments(session, tmp_path, P2, changed, name="second.csv")
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (3, "payment_ref 'P-1' was imported before with other values")
    ]
    session.rollback()
    assert stored(session) == [("P-1", "A1", date(2025, 7, 10), Decimal("100.00"))]


def test_every_bad_line_is_named_in_line_order_and_nothing_is_written(
    accounts: Database, session: Session, tmp_path: Path
) -> None:
    rows = (
        P1,
        "A1,P-4,2025-07-10,0",
        P2,
        "NOPE,P-5,2025-07-10,1",
        "A1,P-1,2025-07-10,2",
        "A1,P-6,2099-01-01,1",
    )
    with pytest.raises(ImportRejected) as caught:
        import_payments(session, tmp_path, *rows)
    assert [e.line for e in caught.value.errors] == [3, 5, 6, 7]
    assert caught.value.total_errors == 4
    assert count(session, Payment) == 0


def test_cli_imports_payments_and_exits_2_on_a_bad_file(
    accounts: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("HARDSHIP_DATABASE_URL", accounts.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        good = runner.invoke(
            cli, ["import", "payments", str(write(tmp_path, lines(PAYMENT_HEADER, P1, P2), "p.csv"))]
        )
        assert good.exit_code == 0, good.output
        assert "imported 2 payments from p.csv" in good.stdout
        bad_file = write(tmp_path, lines(PAYMENT_HEADER, P3, "A1,P-1,2025-07-10,5.00"), "bad.csv")
        bad = runner.invoke(cli, ["import", "payments", str(bad_file)])
        assert bad.exit_code == 2
        assert "bad.csv: line 3: payment_ref 'P-1' was imported before with other values" in bad.stdout
        assert "nothing was imported" in bad.stderr
        with unit_of_work(accounts.engine) as s:
            assert count(s, Payment) == 2
    finally:
        get_settings.cache_clear()
