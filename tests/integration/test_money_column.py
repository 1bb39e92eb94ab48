"""Money columns: Decimal in Python, integer fen in the database, nothing else accepted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from app.persistence.models import CardAccount
from tests.conftest import Database
from tests.factories import make_account


def test_money_is_stored_as_whole_fen_and_read_back_exactly(db: Database, session: Session) -> None:
    make_account(session, "M-1", principal_balance="98799.91", interest_balance="0.01", fee_balance="0.00")
    session.flush()

    raw = session.execute(
        text("SELECT principal_balance_fen, interest_balance_fen FROM card_account WHERE account_ref = 'M-1'")
    ).one()
    account = session.scalar(select(CardAccount).where(CardAccount.account_ref == "M-1"))

    assert tuple(raw) == (9879991, 1)
    assert account is not None
    assert account.principal_balance == Decimal("98799.91")


def test_sums_in_sql_are_exact_in_fen(db: Database, session: Session) -> None:
    for n in range(10):
        make_account(session, f"M-{n}", principal_balance="0.10")
    session.flush()

    total = session.scalar(select(func.sum(CardAccount.principal_balance)))

    assert total == Decimal("1.00")


@pytest.mark.parametrize("value", [pytest.param(5, id="int"), pytest.param(5.0, id="float")])
def test_a_money_column_refuses_anything_but_a_decimal(db: Database, session: Session, value: object) -> None:
    make_account(session, "M-1")
    session.flush()
    account = session.scalar(select(CardAccount).where(CardAccount.account_ref == "M-1"))
    assert account is not None
    account.fee_balance = value  # type: ignore[assignment]

    with pytest.raises(StatementError, match="money must be a Decimal"):
        session.flush()
