"""Value objects: statements, account snapshots, disaster events."""

from datetime import date
from decimal import Decimal

import pytest

from app.domain.errors import InvalidEvent, InvalidMoney
from app.domain.model import Account, DisasterEvent, Statement


def make_statement(balance: str = "3200.00", minimum: str = "320.00", paid: str = "0.00") -> Statement:
    return Statement(
        statement_date=date(2025, 6, 8),
        due_date=date(2025, 6, 28),
        statement_balance=Decimal(balance),
        minimum_due=Decimal(minimum),
        paid_amount=Decimal(paid),
    )


def make_account(**overrides: object) -> Account:
    values: dict[str, object] = {
        "account_ref": "ACC-1",
        "customer_ref": "CUS-1",
        "product_code": "STD_CLASSIC",
        "status": "active",
        "region_code": "622927",
        "opened_on": date(2020, 1, 1),
        "credit_limit": Decimal("20000.00"),
        "principal_balance": Decimal("9000.00"),
        "interest_balance": Decimal("500.00"),
        "fee_balance": Decimal("500.00"),
        "delinquent_since": None,
        "last_payment_on": None,
    }
    values.update(overrides)
    return Account(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("balance", "paid", "unpaid"),
    [
        pytest.param("3200.00", "0.00", "3200.00", id="nothing_paid"),
        pytest.param("3200.00", "1000.00", "2200.00", id="partly_paid"),
        pytest.param("3200.00", "3200.00", "0.00", id="fully_paid"),
        pytest.param("3200.00", "3500.00", "0.00", id="overpaid_is_never_below_zero"),
    ],
)
def test_statement_unpaid_amount(balance: str, paid: str, unpaid: str) -> None:
    assert make_statement(balance=balance, paid=paid).unpaid_amount == Decimal(unpaid)


def test_account_total_balance_adds_principal_interest_and_fees() -> None:
    assert make_account().total_balance == Decimal("10000.00")


def test_account_days_past_due_on() -> None:
    account = make_account(delinquent_since=date(2025, 5, 1))
    assert account.days_past_due_on(date(2025, 6, 1)) == 31
    assert make_account().days_past_due_on(date(2025, 6, 1)) == 0


def test_money_fields_are_stored_with_two_decimals() -> None:
    account = make_account(principal_balance=Decimal("9000"), fee_balance=0)
    assert str(account.principal_balance) == "9000.00"
    assert account.fee_balance == Decimal("0.00")
    assert isinstance(account.fee_balance, Decimal)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(9000.0, id="float"),
        pytest.param(Decimal("9000.001"), id="fraction_of_a_fen"),
        pytest.param("9000.00", id="text"),
        pytest.param(Decimal("NaN"), id="nan"),
    ],
)
def test_account_refuses_money_that_is_not_an_exact_decimal(value: object) -> None:
    with pytest.raises(InvalidMoney):
        make_account(principal_balance=value)


def test_statement_refuses_floats() -> None:
    with pytest.raises(InvalidMoney):
        Statement(date(2025, 6, 8), date(2025, 6, 28), 3200.0, Decimal("320.00"), Decimal(0))  # type: ignore[arg-type]


def make_event(**overrides: object) -> DisasterEvent:
    values: dict[str, object] = {
        "code": "JSS-2023",
        "occurred_on": date(2023, 12, 18),
        "relief_start": date(2023, 12, 18),
        "relief_end": date(2024, 3, 31),
        "deferral_months": 3,
        "region_codes": ("622927", "630222"),
    }
    values.update(overrides)
    return DisasterEvent(**values)  # type: ignore[arg-type]


def test_disaster_event_stores_region_codes_as_a_tuple() -> None:
    event = make_event(region_codes=["622927"])
    assert event.region_codes == ("622927",)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"region_codes": ()}, id="no_region_code"),
        pytest.param({"region_codes": ("62292",)}, id="five_digit_code"),
        pytest.param({"relief_end": date(2023, 12, 17)}, id="window_ends_before_it_starts"),
        pytest.param({"deferral_months": 0}, id="zero_deferral_months"),
        pytest.param({"deferral_months": True}, id="boolean_deferral_months"),
    ],
)
def test_disaster_event_refuses_inconsistent_data(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidEvent):
        make_event(**overrides)


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        pytest.param(date(2023, 12, 17), False, id="day_before_start"),
        pytest.param(date(2023, 12, 18), True, id="start_inclusive"),
        pytest.param(date(2024, 3, 31), True, id="end_inclusive"),
        pytest.param(date(2024, 4, 1), False, id="day_after_end"),
    ],
)
def test_disaster_event_relief_window_is_inclusive(day: date, open_: bool) -> None:
    assert make_event().is_relief_open_on(day) is open_


def test_value_objects_are_frozen() -> None:
    account = make_account()
    with pytest.raises(AttributeError):
        account.status = "closed"  # type: ignore[misc]
