"""Migration 9c4e2b7a1d30: existing plans take their account's region code as the region of their
start; the column is required afterwards, and on SQLite (where the table is copied) the partial
unique index of the active plans and the table's checks are still there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.support import fresh_postgres_database, migrate, postgres_admin_url

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
BEFORE, REVISION = "e5a7c3d19b42", "9c4e2b7a1d30"

_ACCOUNT = (
    "INSERT INTO card_account (id, account_ref, customer_ref, product_code, status, region_code, opened_on, "
    "credit_limit_fen, principal_balance_fen, interest_balance_fen, fee_balance_fen, updated_at) "
    "VALUES (:id, :ref, :ref, 'STD_CLASSIC', 'active', :region, '2020-01-01', 100, 100, 0, 0, "
    "'2025-01-01 00:00:00+00:00')"
)
_PLAN = (
    "INSERT INTO installment_plan (account_id, status, method, term_months, hardship_reason, start_on, "
    "principal_fen, fees_waived_fen, fee_total_fen, interest_total_fen, total_fen, monthly_fee_rate, "
    "annual_interest_rate, policy_version, channel, created_by, created_at{extra}) "
    "VALUES (:account, :status, 'equal_principal', 3, 'illness', '2025-01-15', 300, 0, 0, 0, 300, '0', '0', "
    "'2025.1', 'agent', 'test', '2025-01-15 00:00:00+00:00'{extra_value})"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (never the shared test database)."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'plan-region.db'}")
        yield engine
        engine.dispose()
        return
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    with fresh_postgres_database(admin, f"hardship_servicing_plan_region_{WORKER}_{os.getpid()}") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def insert_plan(engine: Engine, status: str, account: int, region: str | None = None) -> None:
    """A plan row, with ``start_region_code`` when ``region`` is given."""
    extra = (", start_region_code", ", :region") if region else ("", "")
    with engine.begin() as connection:
        connection.execute(
            text(_PLAN.format(extra=extra[0], extra_value=extra[1])),
            {"account": account, "status": status, "region": region},
        )


def test_existing_plans_take_their_accounts_region_and_the_column_is_required(engine: Engine) -> None:
    migrate(engine, BEFORE)
    with engine.begin() as connection:
        for id_, region in ((1, "622927"), (2, "632122")):
            connection.execute(text(_ACCOUNT), {"id": id_, "ref": f"A-{id_}", "region": region})
    for status, account in (("active", 1), ("broken", 2), ("active", 2)):
        insert_plan(engine, status, account)

    migrate(engine, REVISION)

    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT account_id, status, start_region_code FROM installment_plan ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "active", "622927"),
        (2, "broken", "632122"),
        (2, "active", "632122"),
    ]
    columns = {c["name"]: c for c in inspect(engine).get_columns("installment_plan")}
    assert columns["start_region_code"]["nullable"] is False
    with pytest.raises(IntegrityError):
        insert_plan(engine, "completed", 1)  # no region: refused
    # Still one active plan per account, and the status check still holds.
    with pytest.raises(IntegrityError):
        insert_plan(engine, "active", 1, "622927")
    with pytest.raises(IntegrityError):
        insert_plan(engine, "unknown", 1, "622927")
    insert_plan(engine, "cancelled", 1, "622927")

    migrate(engine, BEFORE, down=True)
    assert "start_region_code" not in {c["name"] for c in inspect(engine).get_columns("installment_plan")}
    with pytest.raises(IntegrityError):
        insert_plan(engine, "active", 1)
