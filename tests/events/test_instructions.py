"""The card system's instruction file: exactly the contract's columns, the same rows on every export,
and sums that reconcile with the relief records to the fen."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.domain.instructions import COLUMNS
from app.settings import get_settings
from tests.api.test_scans import finished_scan, setup_smoke
from tests.conftest import Database, bearer
from tests.factories import freeze_today, make_account

TODAY = date(2025, 7, 1)
CONTRACT_COLUMNS = (
    "instruction_id,account_ref,action,effective_on,end_on,statement_date,due_date,new_due_date,amount,"
    "source_type,source_id"
)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_today(monkeypatch, TODAY)


def rows(client: TestClient, keys: dict[str, str], on: date = TODAY) -> list[dict[str, str]]:
    response = client.get(f"/v1/instructions?date={on}", headers=bearer(keys["batch_operator"]))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def total(items: list[dict[str, str]], action: str) -> Decimal:
    return sum((Decimal(i["amount"]) for i in items if i["action"] == action), Decimal("0.00"))


def test_a_disaster_enroll_scan_reconciles_with_the_scan_totals_to_the_fen(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    setup_smoke(client, keys, db)
    scan = finished_scan(client, keys)
    items = rows(client, keys)
    assert total(items, "DEFER_DUE_DATE") == Decimal(scan["total_deferred_amount"])
    assert total(items, "WAIVE_INTEREST") == Decimal(scan["total_interest_waived"])
    assert total(items, "WAIVE_LATE_FEE") == Decimal(scan["total_late_fees_waived"])
    suspended = {i["account_ref"] for i in items if i["action"] == "SUSPEND_COLLECTIONS"}
    assert len(suspended) == scan["accounts_enrolled"]
    # The same rows on every export, JSON and CSV; another day has none of them.
    assert rows(client, keys) == items
    assert rows(client, keys, date(2025, 7, 2)) == []
    text = client.get(
        f"/v1/instructions?date={TODAY}", headers={**bearer(keys["auditor"]), "Accept": "text/csv"}
    ).text
    assert text.splitlines()[0] == CONTRACT_COLUMNS == ",".join(COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["instruction_id"] for r in parsed] == [i["instruction_id"] for i in items]
    assert len({i["instruction_id"] for i in items}) == len(items)
    # The disaster report agrees with the file.
    report = client.get("/v1/disasters/SMK-FLOOD/report", headers=bearer(keys["auditor"])).json()
    assert str(total(items, "DEFER_DUE_DATE")) in str(report)


def test_an_extension_gives_rows_for_its_new_or_changed_lines_only(
    db: Database, client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_smoke(client, keys, db)
    finished_scan(client, keys)
    first = rows(client, keys)
    freeze_today(monkeypatch, date(2025, 7, 2))
    client.patch("/v1/disasters/SMK-FLOOD", json={"deferral_months": 6}, headers=bearer(keys["supervisor"]))
    finished_scan(client, keys)
    second = rows(client, keys, date(2025, 7, 2))
    assert second and {i["action"] for i in second} <= {"DEFER_DUE_DATE", "WAIVE_INTEREST", "WAIVE_LATE_FEE"}
    assert not {i["instruction_id"] for i in second} & {i["instruction_id"] for i in first}
    assert rows(client, keys) == first  # the first day's file is unchanged


def test_waivers_and_plans_give_credits_reversals_and_plan_rows(
    db: Database, client: TestClient, keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.db import unit_of_work

    with unit_of_work(db.engine) as s:
        make_account(s, "W-1", fee_balance="300.00")
        make_account(s, "P-1")
    waiver = client.post(
        "/v1/accounts/W-1/fee-waivers",
        json={"fee_amount": "120.00", "interest_amount": "0.00", "reason": "illness"},
        headers=bearer(keys["agent"]),
    ).json()
    client.post(
        f"/v1/fee-waivers/{waiver['id']}/reverse", json={"note": "x"}, headers=bearer(keys["supervisor"])
    )
    plan = client.post(
        "/v1/accounts/P-1/installment-plans",
        json={"term_months": 6, "reason": "illness", "commitment_accepted": True},
        headers=bearer(keys["agent"]),
    ).json()
    client.post(
        f"/v1/installment-plans/{plan['id']}/cancel", json={"note": "n"}, headers=bearer(keys["agent"])
    )
    items = rows(client, keys)
    by_action = {(i["account_ref"], i["action"]): i for i in items}
    assert by_action[("W-1", "CREDIT_FEES")]["amount"] == "120.00"
    assert by_action[("W-1", "REVERSE_CREDIT")]["amount"] == "120.00"
    assert ("W-1", "CREDIT_INTEREST") not in by_action
    assert by_action[("P-1", "START_PLAN")]["amount"] == plan["principal_amount"]
    assert by_action[("P-1", "START_PLAN")]["end_on"] == plan["schedule"][-1]["due_date"]
    assert {("P-1", a) for a in ("SUSPEND_COLLECTIONS", "END_PLAN", "RESUME_COLLECTIONS")} <= set(by_action)
    assert by_action[("P-1", "SUSPEND_COLLECTIONS")]["amount"] is None
    # The command writes the same file as the API.
    out = tmp_path / "instructions.csv"
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["export", "instructions", "--date", TODAY.isoformat(), str(out)])
    finally:
        get_settings.cache_clear()
    import traceback

    assert result.exit_code == 0, "".join(traceback.format_exception(result.exception))
    api_csv = client.get(
        f"/v1/instructions?date={TODAY}", headers={**bearer(keys["auditor"]), "Accept": "text/csv"}
    ).text
    assert out.read_text() == api_csv
    assert client.get(f"/v1/instructions?date={TODAY}", headers=bearer(keys["agent"])).status_code == 403
    assert client.get("/v1/instructions?date=2025-13-01", headers=bearer(keys["auditor"])).status_code == 422
