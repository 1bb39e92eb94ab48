"""Data that breaks a rule's arithmetic (DOMAIN.md): the account is refused with DATA_INVALID and
listed like any other refusal; the scan goes on and succeeds, the one-account answer is a 200.

The bad values are written straight into the tables: they stand for data that got in before the
imports refused it at the door."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.db import unit_of_work
from app.persistence.models import CardAccount, Deferral, Statement
from app.services import business_date
from app.services.principal import SYSTEM
from tests.conftest import Database, bearer
from tests.integration.test_scan_core import (
    account,
    account_deferrals,
    declare,
    load_portfolio,
    results,
    run_scan,
    statement,
)

BUSINESS_DATE = date(2025, 8, 1)
FAR_FUTURE = date(9999, 12, 31)


def _bad_portfolio(db: Database) -> None:
    """Three good accounts, one with a statement due 9999-12-31, one whose delinquency starts after
    the business date, one outside the event's region."""
    with unit_of_work(db.engine) as session:
        business_date.pin(session, on=BUSINESS_DATE, actor=SYSTEM)
    load_portfolio(
        db.engine,
        [
            account("GOOD-1", statements=[statement("2025-07-10", "1000.00")]),
            account("BAD-DUE", statements=[statement("2025-07-10", "700.00"), statement("2025-07-20")]),
            account("GOOD-2", statements=[statement("2025-07-10", "2000.00")]),
            account("BAD-DELINQUENT", statements=[statement("2025-07-10", "500.00")]),
            account("GOOD-3", statements=[statement("2025-07-28", "3000.00")]),
            account("FAR", region="110101", statements=[statement("2025-07-10")]),
        ],
    )
    with unit_of_work(db.engine) as session:
        bad_due = session.scalar(select(CardAccount.id).where(CardAccount.account_ref == "BAD-DUE"))
        session.execute(
            update(Statement)
            .where(Statement.account_id == bad_due, Statement.due_date == date(2025, 7, 20))
            .values(due_date=FAR_FUTURE)
        )
        session.execute(
            update(CardAccount)
            .where(CardAccount.account_ref == "BAD-DELINQUENT")
            .values(status="delinquent", delinquent_since=date(2025, 9, 1))
        )


def test_a_scan_refuses_data_invalid_accounts_and_enrolls_the_others(db: Database) -> None:
    _bad_portfolio(db)
    code = declare(db.engine, relief_end=FAR_FUTURE)
    for chunk_size in (2, 5000):  # the bad accounts alone in a chunk, or with the good ones
        dry = run_scan(db, code, "dry_run", chunk_size=chunk_size)
        assert dry.status == "succeeded" and dry.error is None
        assert (dry.accounts_scanned, dry.accounts_eligible) == (6, 3)
        assert dry.reason_counts == {"REGION_NOT_AFFECTED": 1, "DATA_INVALID": 2}
    scan = run_scan(db, code, "enroll", chunk_size=2)
    assert scan.status == "succeeded" and scan.error is None
    assert (scan.accounts_scanned, scan.accounts_eligible, scan.accounts_enrolled) == (6, 3, 3)
    assert scan.reason_counts == {"REGION_NOT_AFFECTED": 1, "DATA_INVALID": 2}
    listed = results(db, scan.id)
    for ref in ("BAD-DUE", "BAD-DELINQUENT"):
        assert (listed[ref].eligible, listed[ref].enrolled, listed[ref].reasons) == (
            False,
            False,
            ["DATA_INVALID"],
        )
        assert account_deferrals(db, ref) == []
    for ref in ("GOOD-1", "GOOD-2", "GOOD-3"):
        assert listed[ref].enrolled and listed[ref].reasons == []
        assert len(account_deferrals(db, ref)) == 1
    with unit_of_work(db.engine) as session:
        assert len(session.scalars(select(Deferral.id)).all()) == 3


def test_the_results_list_and_csv_filter_on_data_invalid(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    _bad_portfolio(db)
    code = declare(db.engine, relief_end=FAR_FUTURE)
    scan = run_scan(db, code, "dry_run")
    auditor = bearer(keys["auditor"])
    page = client.get(f"/v1/scans/{scan.id}/results?reason=DATA_INVALID", headers=auditor)
    assert page.status_code == 200
    assert [item["account_ref"] for item in page.json()["items"]] == ["BAD-DUE", "BAD-DELINQUENT"]
    csv = client.get(f"/v1/scans/{scan.id}/results?eligible=false", headers={**auditor, "Accept": "text/csv"})
    assert csv.status_code == 200
    assert [line.split(",")[0] for line in csv.text.splitlines()[1:]] == ["BAD-DUE", "BAD-DELINQUENT"]
    assert all(line.split(",")[5] == "DATA_INVALID" for line in csv.text.splitlines()[1:])


def _programs(client: TestClient, keys: dict[str, str], ref: str) -> dict[str, Any]:
    response = client.post(
        f"/v1/accounts/{ref}/eligibility",
        json={"reason": "disaster"},
        headers={**bearer(keys["channel"]), "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.text
    return {item["program"]: item for item in response.json()["programs"]}


def test_the_eligibility_answer_for_such_an_account_is_a_refusal_not_an_error(
    db: Database, client: TestClient, keys: dict[str, str]
) -> None:
    _bad_portfolio(db)
    declare(db.engine, relief_end=FAR_FUTURE)
    bad_due = _programs(client, keys, "BAD-DUE")
    assert [r["code"] for r in bad_due["disaster_deferral"]["reasons"]] == ["DATA_INVALID"]
    assert not bad_due["disaster_deferral"]["eligible"] and bad_due["disaster_deferral"]["offer"] is None
    assert bad_due["installment_plan"]["eligible"]
    late = _programs(client, keys, "BAD-DELINQUENT")
    assert [r["code"] for r in late["disaster_deferral"]["reasons"]] == ["DATA_INVALID"]
    assert [r["code"] for r in late["installment_plan"]["reasons"]] == ["DATA_INVALID"]
    assert late["installment_plan"]["reasons"][0]["message"].startswith("The account's records")
    assert _programs(client, keys, "GOOD-1")["disaster_deferral"]["eligible"]
