"""The scan builds Statement and Account values without their constructor's checks (a chunk's hot
loop): the values must be exactly those of the checked constructors, Decimal exponent included."""

from datetime import date
from decimal import Decimal

import pytest

from app.domain.model import Account, Statement
from app.jobs.rows import account_value as _account
from app.jobs.rows import cents as _cents
from app.jobs.rows import statement_value as _statement

FEN = [0, 1, -1, 5, 10, 99, 100, 101, 123456, -123456, 10**15, 9_223_372_036_854_775_807]


def _same(left: object, right: object, fields: tuple[str, ...]) -> None:
    for name in fields:
        a, b = getattr(left, name), getattr(right, name)
        assert a == b and type(a) is type(b), name
        if isinstance(a, Decimal):
            assert str(a) == str(b) and a.as_tuple() == b.as_tuple(), name


@pytest.mark.parametrize("fen", FEN)
def test_statement_equals_checked_constructor(fen: int) -> None:
    fast = _statement(date(2025, 5, 1), date(2025, 5, 28), fen, abs(fen) // 3, 0)
    checked = Statement(
        statement_date=date(2025, 5, 1),
        due_date=date(2025, 5, 28),
        statement_balance=Decimal(fen) / 100,
        minimum_due=Decimal(abs(fen) // 3) / 100,
        paid_amount=Decimal(0),
    )
    assert fast == checked
    _same(fast, checked, ("statement_date", "due_date", "statement_balance", "minimum_due", "paid_amount"))
    assert fast.unpaid_amount == checked.unpaid_amount


@pytest.mark.parametrize("fen", FEN)
def test_account_equals_checked_constructor(fen: int) -> None:
    row = dict(
        account_ref="A1",
        customer_ref="C1",
        product_code="STD",
        status="active",
        region_code="620102",
        opened_on=date(2020, 1, 1),
        credit_limit_fen=abs(fen),
        principal_balance_fen=fen,
        interest_balance_fen=0,
        fee_balance_fen=-fen,
        delinquent_since=None,
        last_payment_on=date(2025, 4, 1),
    )
    checked = Account(
        account_ref="A1",
        customer_ref="C1",
        product_code="STD",
        status="active",
        region_code="620102",
        opened_on=date(2020, 1, 1),
        credit_limit=_cents(abs(fen)),
        principal_balance=Decimal(fen).scaleb(-2),
        interest_balance=Decimal(0),
        fee_balance=Decimal(-fen).scaleb(-2),
        delinquent_since=None,
        last_payment_on=date(2025, 4, 1),
    )
    fast = _account(**row)
    assert fast == checked
    _same(fast, checked, tuple(Account.__dataclass_fields__))
