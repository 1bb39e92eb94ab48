"""CSV import of the card system's files (CONTRACT.md, "CSV files from the card system"): every rule names
the bad line and nothing from a bad file is written; good files upsert."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.db import unit_of_work
from app.persistence.models import AuditEvent, CardAccount, Customer, Statement
from app.services import imports
from app.services.imports import ImportRejected, staging
from app.settings import get_settings
from tests.conftest import Database

HEADER = (
    "account_ref,customer_ref,product_code,status,region_code,opened_on,credit_limit,"
    "principal_balance,interest_balance,fee_balance,delinquent_since,last_payment_on"
)
A1 = "A1,C1,STD_GOLD,active,622927,2020-01-15,50000.00,1234.50,10.00,5.00,,2025-06-01"
A2 = "A2,C1,STD_CLASSIC,delinquent,110101,2019-03-01,20000,800.5,0,0,2025-04-01,"
A3 = "A3,C2,PLATINUM,closed,310104,2018-07-31,1.01,0.99,0.00,0.10,,"
STATEMENT_HEADER = "account_ref,statement_date,due_date,statement_balance,minimum_due,paid_amount"
S1 = "A1,2025-06-08,2025-06-28,1234.50,123.45,0.00"
S2 = "A1,2025-07-08,2025-07-28,1300.00,130.00,130.00"
S3 = "A2,2025-07-08,2025-07-28,800.50,80.05,0"


def write(tmp_path: Path, content: str | bytes, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def load_accounts(db: Database, tmp_path: Path, *rows: str) -> None:
    with unit_of_work(db.engine) as s:
        imports.import_file(s, "accounts", write(tmp_path, lines(HEADER, *rows), "seed-accounts.csv"))


def account(session: Session, ref: str) -> CardAccount:
    row = session.scalar(select(CardAccount).where(CardAccount.account_ref == ref))
    assert row is not None
    return row


def assert_rejected(rejected: ImportRejected, line: int, fragment: str) -> None:
    found = [(e.line, e.message) for e in rejected.errors]
    assert any(e.line == line and fragment in e.message for e in rejected.errors), found


# --- bad account files: the bad line is named and nothing is written ---------------------------------

BAD_ACCOUNT_FILES = {
    "unknown_column": (lines(HEADER + ",nickname", A1 + ",Bob"), 1, "unknown column(s): nickname"),
    "missing_column": (
        lines(HEADER.replace("region_code,", ""), A1.replace("622927,", "")),
        1,
        "missing column(s): region_code",
    ),
    "duplicated_column": (lines(HEADER + ",status", A1 + ",active"), 1, "duplicated column(s): status"),
    "bad_status": (lines(HEADER, A1, A2.replace("delinquent", "frozen")), 3, "status must be one of"),
    "region_five_digits": (
        lines(HEADER, A1, A2.replace("110101", "11010")),
        3,
        "region_code must be 6 digits",
    ),
    "region_not_digits": (
        lines(HEADER, A1, A2.replace("110101", "11010X")),
        3,
        "region_code must be 6 digits",
    ),
    "money_three_decimals": (lines(HEADER, A1, A2.replace("800.5", "800.505")), 3, "principal_balance"),
    "money_negative": (lines(HEADER, A1, A2.replace("20000", "-20000")), 3, "credit_limit"),
    "money_exponent": (lines(HEADER, A1, A2.replace("20000", "1e3")), 3, "credit_limit"),
    "money_empty": (lines(HEADER, A1, A2.replace("20000", "")), 3, "credit_limit"),
    "impossible_date": (
        lines(HEADER, A1, A2.replace("2019-03-01", "2025-02-30")),
        3,
        "opened_on is not a real date",
    ),
    "date_wrong_format": (
        lines(HEADER, A1, A2.replace("2019-03-01", "2019/03/01")),
        3,
        "opened_on must be a date",
    ),
    "optional_date_impossible": (
        lines(HEADER, A1, A2.replace("2025-04-01", "2025-13-01")),
        3,
        "delinquent_since is not a real date",
    ),
    "empty_account_ref": (lines(HEADER, A1, "," + A2.split(",", 1)[1]), 3, "account_ref must be 1 to 64"),
    "account_ref_too_long": (lines(HEADER, A1, "X" * 65 + "," + A2.split(",", 1)[1]), 3, "account_ref"),
    "duplicate_key_in_file": (lines(HEADER, A1, A2, A1), 4, "account_ref 'A1' repeats line 2"),
    "too_few_fields": (lines(HEADER, A1, A2.rsplit(",", 1)[0]), 3, "expected 12 fields, found 11"),
    "too_many_fields": (lines(HEADER, A1, A2 + ",extra"), 3, "expected 12 fields, found 13"),
    "empty_file": ("", 1, "the file is empty"),
    "not_utf8": (
        lines(HEADER, A1).encode() + A2.replace("C1", "C\xe9").encode("latin-1") + b"\n",
        3,
        "not valid UTF-8",
    ),
    "unclosed_quote": (lines(HEADER, A1, 'A2,"C1,STD,active'), 3, "expected 12 fields"),
}


@pytest.mark.parametrize(
    ("content", "line", "fragment"), BAD_ACCOUNT_FILES.values(), ids=BAD_ACCOUNT_FILES.keys()
)
def test_bad_accounts_file_names_the_line_and_writes_nothing(
    session: Session, tmp_path: Path, content: str | bytes, line: int, fragment: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, content))
    assert_rejected(caught.value, line, fragment)
    assert caught.value.kind == "accounts"
    assert (count(session, CardAccount), count(session, Customer), count(session, AuditEvent)) == (0, 0, 0)


def test_a_bad_file_leaves_existing_accounts_untouched(
    db: Database, session: Session, tmp_path: Path
) -> None:
    load_accounts(db, tmp_path, A1)
    bad = lines(HEADER, A1.replace("1234.50", "9999.00"), A3, A3.replace("0.99", "0.999"))
    with pytest.raises(ImportRejected):
        imports.import_file(session, "accounts", write(tmp_path, bad))
    session.commit()  # even a caller that commits after the rejection writes nothing from the file
    assert account(session, "A1").principal_balance == Decimal("1234.50")
    assert count(session, CardAccount) == 1


# --- bad statement files --------------------------------------------------------------------------

BAD_STATEMENT_FILES = {
    "due_before_statement": (
        lines(STATEMENT_HEADER, S1, "A1,2025-07-08,2025-07-07,10,1,0"),
        3,
        "due_date must not be before",
    ),
    "minimum_above_balance": (
        lines(STATEMENT_HEADER, S1, "A1,2025-07-08,2025-07-28,10,10.01,0"),
        3,
        "minimum_due must not exceed",
    ),
    "unknown_account": (
        lines(STATEMENT_HEADER, S1, "NOPE,2025-07-08,2025-07-28,10,1,0"),
        3,
        "'NOPE' is not a known account",
    ),
    "duplicate_key_in_file": (
        lines(STATEMENT_HEADER, S1, S2, S1),
        4,
        "statement 'A1' 2025-06-08 repeats line 2",
    ),
    "impossible_date": (
        lines(STATEMENT_HEADER, S1, S2.replace("2025-07-08", "2025-02-30")),
        3,
        "statement_date is not a real date",
    ),
    "money_three_decimals": (
        lines(STATEMENT_HEADER, S1, S2.replace("130.00,130.00", "130.001,0")),
        3,
        "minimum_due",
    ),
    "unknown_column": (lines(STATEMENT_HEADER + ",note", S1 + ",x"), 1, "unknown column(s): note"),
    "missing_column": (
        lines(STATEMENT_HEADER.replace(",paid_amount", ""), S1.rsplit(",", 1)[0]),
        1,
        "paid_amount",
    ),
    "wrong_field_count": (lines(STATEMENT_HEADER, S1, S2 + ",1"), 3, "expected 6 fields, found 7"),
    "empty_file": ("", 1, "the file is empty"),
}


@pytest.mark.parametrize(
    ("content", "line", "fragment"), BAD_STATEMENT_FILES.values(), ids=BAD_STATEMENT_FILES.keys()
)
def test_bad_statements_file_names_the_line_and_writes_nothing(
    db: Database, session: Session, tmp_path: Path, content: str, line: int, fragment: str
) -> None:
    load_accounts(db, tmp_path, A1, A2)
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "statements", write(tmp_path, content, "statements.csv"))
    assert_rejected(caught.value, line, fragment)
    assert caught.value.kind == "statements"
    assert count(session, Statement) == 0


def test_an_unknown_account_is_named_once_on_its_first_line(
    db: Database, session: Session, tmp_path: Path
) -> None:
    load_accounts(db, tmp_path, A1)
    content = lines(
        STATEMENT_HEADER, S1, "NOPE,2025-06-08,2025-06-28,1,0,0", "NOPE,2025-07-08,2025-07-28,1,0,0"
    )
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "statements", write(tmp_path, content, "statements.csv"))
    assert [(e.line, "NOPE" in e.message) for e in caught.value.errors] == [(3, True)]
    assert caught.value.total_errors == 1


# --- error reporting ------------------------------------------------------------------------------


def test_errors_of_every_kind_are_reported_in_line_order(session: Session, tmp_path: Path) -> None:
    content = lines(
        HEADER, A1, A2.replace("active", "x").replace("delinquent", "x"), A1, A3.replace("1.01", "1e1")
    )
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, content))
    assert [e.line for e in caught.value.errors] == [3, 4, 5]
    assert caught.value.total_errors == 3


def test_at_most_max_errors_are_reported_but_all_are_counted(session: Session, tmp_path: Path) -> None:
    bad = [f"B{n},C1,STD,active,1234,2020-01-01,1,1,1,1,," for n in range(10)]
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1, *bad, A1)), max_errors=3)
    assert [e.line for e in caught.value.errors] == [3, 4, 5]
    assert caught.value.total_errors == 11
    assert "11 bad line(s)" in str(caught.value)


def test_repeats_beyond_the_limit_are_counted(session: Session, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1, A1, A1, A1)), max_errors=2)
    assert [e.line for e in caught.value.errors] == [3, 4]
    assert caught.value.total_errors == 3


# --- good files -----------------------------------------------------------------------------------


def test_accounts_are_imported_with_exact_money_dates_and_customers(session: Session, tmp_path: Path) -> None:
    summary = imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1, A2, A3)))
    assert (summary.kind, summary.rows, summary.inserted_or_updated, summary.customers) == (
        "accounts",
        3,
        3,
        2,
    )
    a1, a2 = account(session, "A1"), account(session, "A2")
    assert (a1.credit_limit, a1.principal_balance, a1.interest_balance, a1.fee_balance) == (
        Decimal("50000.00"),
        Decimal("1234.50"),
        Decimal("10.00"),
        Decimal("5.00"),
    )
    assert (a1.status, a1.region_code, a1.opened_on, a1.delinquent_since, a1.last_payment_on) == (
        "active",
        "622927",
        date(2020, 1, 15),
        None,
        date(2025, 6, 1),
    )
    assert (a2.principal_balance, a2.delinquent_since, a2.last_payment_on) == (
        Decimal("800.50"),
        date(2025, 4, 1),
        None,
    )
    assert sorted(session.scalars(select(Customer.customer_ref))) == ["C1", "C2"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "portfolio.accounts_imported"))
    assert event is not None and event.after == {"rows": 3}


def test_money_is_stored_as_fen_not_multiplied_again(session: Session, tmp_path: Path) -> None:
    imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A3)))
    session.flush()
    raw = session.connection().exec_driver_sql(
        "SELECT credit_limit_fen, principal_balance_fen, fee_balance_fen FROM card_account"
    )
    assert raw.one() == (101, 99, 10)


def test_reimport_updates_existing_accounts_and_adds_new_ones(
    db: Database, session: Session, tmp_path: Path
) -> None:
    load_accounts(db, tmp_path, A1, A2)
    first_id = account(session, "A1").id
    session.rollback()
    changed = A1.replace("active,622927", "delinquent,622921").replace(
        ",,2025-06-01", ",2025-07-01,2025-06-01"
    )
    summary = imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, changed, A3)))
    assert summary.rows == 2
    a1 = account(session, "A1")
    assert (a1.id, a1.status, a1.region_code, a1.delinquent_since) == (
        first_id,
        "delinquent",
        "622921",
        date(2025, 7, 1),
    )
    assert account(session, "A2").principal_balance == Decimal("800.50")
    assert count(session, CardAccount) == 3


def test_columns_may_come_in_any_order(session: Session, tmp_path: Path) -> None:
    names, values = HEADER.split(","), A1.split(",")
    order = list(reversed(range(len(names))))
    content = lines(",".join(names[i] for i in order), ",".join(values[i] for i in order))
    imports.import_file(session, "accounts", write(tmp_path, content))
    a1 = account(session, "A1")
    assert (a1.customer_ref, a1.credit_limit, a1.last_payment_on) == (
        "C1",
        Decimal("50000.00"),
        date(2025, 6, 1),
    )


def test_optional_columns_may_be_absent(session: Session, tmp_path: Path) -> None:
    header = HEADER.replace(",delinquent_since,last_payment_on", "")
    row = ",".join(A1.split(",")[:10])
    imports.import_file(session, "accounts", write(tmp_path, lines(header, row)))
    a1 = account(session, "A1")
    assert (a1.delinquent_since, a1.last_payment_on) == (None, None)


def test_byte_order_mark_crlf_quotes_and_blank_lines_are_accepted(session: Session, tmp_path: Path) -> None:
    quoted = A1.replace("STD_GOLD", '"STD_GOLD"')
    content = b"\xef\xbb\xbf" + "\r\n".join([HEADER, quoted, "", A3]).encode() + b"\r\n"
    assert imports.import_file(session, "accounts", write(tmp_path, content)).rows == 2
    assert account(session, "A1").product_code == "STD_GOLD"


def test_a_header_only_file_imports_nothing(session: Session, tmp_path: Path) -> None:
    assert imports.import_file(session, "accounts", write(tmp_path, lines(HEADER))).rows == 0
    assert count(session, CardAccount) == 0


def test_statements_upsert_by_account_and_statement_date(
    db: Database, session: Session, tmp_path: Path
) -> None:
    load_accounts(db, tmp_path, A1, A2)
    imports.import_file(session, "statements", write(tmp_path, lines(STATEMENT_HEADER, S1, S3), "s1.csv"))
    session.commit()
    paid = S1.replace("123.45,0.00", "123.45,123.45")
    summary = imports.import_file(
        session, "statements", write(tmp_path, lines(STATEMENT_HEADER, S2, paid), "s2.csv")
    )
    assert (summary.kind, summary.rows) == ("statements", 2)
    rows = session.execute(
        select(
            CardAccount.account_ref, Statement.statement_date, Statement.minimum_due, Statement.paid_amount
        )
        .join(CardAccount, CardAccount.id == Statement.account_id)
        .order_by(CardAccount.account_ref, Statement.statement_date)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("A1", date(2025, 6, 8), Decimal("123.45"), Decimal("123.45")),
        ("A1", date(2025, 7, 8), Decimal("130.00"), Decimal("130.00")),
        ("A2", date(2025, 7, 8), Decimal("80.05"), Decimal("0.00")),
    ]


def test_staging_in_batches_reports_progress_and_finds_repeats_across_batches(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "BATCH_SIZE", 2)
    rows = [A1.replace("A1,C1", f"A{n},C{n}") for n in range(1, 8)]
    seen: list[int] = []
    summary = imports.import_file(
        session, "accounts", write(tmp_path, lines(HEADER, *rows)), progress=seen.append
    )
    assert summary.rows == 7 and sum(seen) == 7
    with pytest.raises(ImportRejected) as caught:
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, *rows, rows[0]), "again.csv"))
    assert [(e.line, e.message) for e in caught.value.errors] == [(9, "account_ref 'A1' repeats line 2")]


def test_two_imports_in_one_transaction_each_stage_their_own_rows(session: Session, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected):
        imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A1, A1), "bad.csv"))
    imports.import_file(session, "accounts", write(tmp_path, lines(HEADER, A2)))
    assert sorted(session.scalars(select(CardAccount.account_ref))) == ["A2"]


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_database(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The `hardship` command pointed at the test database."""
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_cli_import_succeeds_with_exit_0(cli_database: Database, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "accounts", str(write(tmp_path, lines(HEADER, A1, A2)))])
    assert result.exit_code == 0, result.output
    assert "imported 2 accounts from accounts.csv" in result.stdout
    statements = write(tmp_path, lines(STATEMENT_HEADER, S1, S2, S3), "statements.csv")
    result = runner.invoke(cli, ["import", "statements", str(statements)])
    assert result.exit_code == 0, result.output
    assert "imported 3 statements" in result.stdout


def test_cli_import_of_a_bad_file_exits_2_naming_each_line(cli_database: Database, tmp_path: Path) -> None:
    content = lines(HEADER, A1, A2.replace("110101", "1101"), A3.replace("closed", "gone"))
    result = CliRunner().invoke(cli, ["import", "accounts", str(write(tmp_path, content))])
    assert result.exit_code == 2
    assert "accounts.csv: line 3: region_code must be 6 digits" in result.stdout
    assert "accounts.csv: line 4: status must be one of" in result.stdout
    assert "nothing was imported" in result.stderr
    with unit_of_work(cli_database.engine) as s:
        assert count(s, CardAccount) == 0


def test_cli_import_reports_at_most_the_configured_number_of_errors(
    cli_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDSHIP_IMPORT_MAX_REPORTED_ERRORS", "2")
    get_settings.cache_clear()
    bad = [A1.replace("A1,", f"B{n},").replace("622927", "0") for n in range(5)]
    result = CliRunner().invoke(cli, ["import", "accounts", str(write(tmp_path, lines(HEADER, *bad)))])
    assert result.exit_code == 2
    reported = [line for line in result.stdout.splitlines() if line.startswith("accounts.csv: line")]
    assert [line.split(":")[1] for line in reported] == [" line 2", " line 3"]
    assert "... and 3 more bad line(s)" in result.stdout


def test_cli_import_of_statements_for_unknown_accounts_exits_2(
    cli_database: Database, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["import", "statements", str(write(tmp_path, lines(STATEMENT_HEADER, S1), "s.csv"))]
    )
    assert result.exit_code == 2
    assert "s.csv: line 2: account_ref 'A1' is not a known account" in result.stdout


def test_cli_import_of_a_missing_file_exits_2(cli_database: Database, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["import", "accounts", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_installed_command_exits_2_on_a_bad_file(tmp_path: Path) -> None:
    """The real console script, in its own process, on a fresh SQLite database."""
    hardship = str(Path(sys.executable).parent / "hardship")
    env = {"PATH": "/usr/bin:/bin", "HARDSHIP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env["HARDSHIP_SECRET_KEY"] = "test-secret-key-not-for-production"
    subprocess.run([hardship, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=tmp_path)
    bad = subprocess.run(
        [hardship, "import", "accounts", str(write(tmp_path, lines(HEADER, A1, A1)))],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2, bad.stderr
    assert "accounts.csv: line 3: account_ref 'A1' repeats line 2" in bad.stdout
    good = subprocess.run(
        [hardship, "import", "accounts", str(write(tmp_path, lines(HEADER, A1)))],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert good.returncode == 0, good.stderr
