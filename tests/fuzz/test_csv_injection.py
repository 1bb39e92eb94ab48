"""Spreadsheet formulas smuggled in through the card system's CSV files come out neutralised in every
CSV the service writes (app/services/csvout.py): imported with `hardship import`, carried through
a disaster scan, an enrolment and the disputes, and exported through every operation whose OpenAPI
answer offers text/csv."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.services.csvout import FORMULA_START, PLAIN_NUMBER, safe_cell
from tests.conftest import Database
from tests.fuzz.cli import invoke_cli
from tests.fuzz.scenario import ScenarioResult, bearer, collect_csv_exports, csv_exports, wait_for_scan

pytestmark = pytest.mark.slow

FORMULAS = [
    '=HYPERLINK("http://evil.example/x","open")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
]
ACCOUNT_HEADER = (
    "account_ref,customer_ref,product_code,status,region_code,opened_on,credit_limit,"
    "principal_balance,interest_balance,fee_balance,delinquent_since,last_payment_on"
)


def _quote(value: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([value])
    return buffer.getvalue()


def addressable(formula: str) -> str:
    """The formula as a reference the API can address (no '/', '?', '#' or '%': the import refuses
    those), still a formula to a spreadsheet."""
    return formula.replace("/", "\\").replace("?", "").replace("#", "").replace("%", "")


def account_ref(n: int) -> str:
    return f"{addressable(FORMULAS[n])[:40]}~{n}"


def write_portfolio(directory: Path, today: date) -> tuple[Path, Path]:
    """Accounts whose refs are formulas (all delinquent since after the event: disputes follow)."""
    accounts = [ACCOUNT_HEADER]
    statements = ["account_ref,statement_date,due_date,statement_balance,minimum_due,paid_amount"]
    for n, formula in enumerate(FORMULAS):
        ref = account_ref(n)
        accounts.append(
            ",".join(
                [
                    _quote(ref),
                    _quote(addressable(formula)),
                    "STD_CLASSIC",
                    "delinquent",
                    "622927",
                    (today - timedelta(days=800)).isoformat(),
                    "50000.00",
                    "9000.00",
                    "300.00",
                    "120.00",
                    (today - timedelta(days=5)).isoformat(),
                    "",
                ]
            )
        )
        statement_date = today - timedelta(days=20)
        statements.append(
            ",".join(
                [
                    _quote(ref),
                    statement_date.isoformat(),
                    (statement_date + timedelta(days=25)).isoformat(),
                    "2000.00",
                    "200.00",
                    "0.00",
                ]
            )
        )
    accounts_file = directory / "accounts.csv"
    statements_file = directory / "statements.csv"
    accounts_file.write_text("\n".join(accounts) + "\n", encoding="utf-8")
    statements_file.write_text("\n".join(statements) + "\n", encoding="utf-8")
    return accounts_file, statements_file


def assert_no_live_formula(name: str, text: str) -> None:
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            live = cell.startswith(FORMULA_START) and not PLAIN_NUMBER.match(cell)
            assert not live, f"{name}: the cell {cell!r} would run as a formula in a spreadsheet"


def test_safe_cell_neutralises_every_formula_start() -> None:
    for formula in [*FORMULAS, "\t=1+1", "\r=1+1"]:
        assert safe_cell(formula).startswith("'")
    assert safe_cell("-12.50") == "-12.50"  # a plain negative number stays a number


def test_formulas_imported_from_csv_come_out_neutralised_in_every_csv_export(
    db: Database, app: FastAPI, client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    exports = csv_exports(app)
    if not exports:
        pytest.skip("no CSV export is mounted yet")
    answer = client.get("/v1/business-date", headers=bearer(keys["auditor"]))
    today = date.fromisoformat(answer.json()["date"])
    accounts_file, statements_file = write_portfolio(tmp_path, today)
    for kind, file in (("accounts", accounts_file), ("statements", statements_file)):
        imported = invoke_cli(db.url, "import", kind, str(file), cwd=tmp_path)
        assert imported.returncode == 0, imported.stdout + imported.stderr

    result = ScenarioResult(account_refs=[account_ref(0)])
    code = "CSV-INJECT"
    declared = client.post(
        "/v1/disasters",
        json={
            "code": code,
            "name": '=HYPERLINK("http://evil.example","flood")',
            "kind": "flood",
            "occurred_on": (today - timedelta(days=10)).isoformat(),
            "relief_start": (today - timedelta(days=10)).isoformat(),
            "relief_end": (today + timedelta(days=60)).isoformat(),
            "deferral_months": 3,
            "region_codes": ["622927"],
        },
        headers=bearer(keys["batch_operator"]),
    )
    assert declared.status_code == 201, declared.text
    result.add("code", code)
    for mode in ("dry_run", "enroll"):
        started = client.post(
            f"/v1/disasters/{code}/scans", json={"mode": mode}, headers=bearer(keys["batch_operator"])
        )
        assert started.status_code == 202, started.text
        result.add("scan_id", started.json()["id"])
        assert wait_for_scan(client, keys["batch_operator"], started.json()["id"])["status"] == "succeeded"
    filed = client.post(
        f"/v1/disasters/{code}/credit-disputes", json={}, headers=bearer(keys["batch_operator"])
    )
    assert filed.status_code == 201, filed.text
    listed = client.get("/v1/credit-disputes", headers=bearer(keys["supervisor"])).json()
    for item in listed["items"]:
        result.add("dispute_id", item["id"])

    collect_csv_exports(app, client, keys, result)

    assert set(result.csv_bodies) == {f"{m} {p}" for m, p in exports}, result.responses
    neutralised = 0
    for name, text in result.csv_bodies.items():
        assert_no_live_formula(name, text)
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        neutralised += sum(cell.startswith("'") and cell[1:2] in FORMULA_START for cell in cells)
    assert neutralised >= len(FORMULAS), "the formulas never reached an export: the test proves nothing"
