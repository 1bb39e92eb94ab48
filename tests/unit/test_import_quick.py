"""app.services.imports.quick only ever accepts: a line it accepts, the record's validator accepts with
the same staged values; every other line goes to the validator (which names its problem)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.records import FieldProblem
from app.services.imports import accounts, payments, quick, statements

BUSINESS_DATE = date(2025, 9, 1)

REFS = ["A1", "ACC000000001", "a b", "x..y", "=SUM(1)", "A" * 64, "A" * 65, "卡-001", "", " ", "A/1", "A?"]
REFS += [
    "A#",
    "A%",
    " A",
    "A ",
    ".",
    "..",
    "A\t",
    "\tA",
    "A\ufffd",
    "A\x7f",
    '"q"',
    "$&'()*+,-:;<=>@[]^_`{|}~",
]
TEXTS = ["STD_GOLD", " STD ", "X" * 32, "X" * 33, "", "  ", "a\tb", "\tX", "X\x00", "金卡", "a  b", "~"]
DATES = ["2025-06-08", " 2025-06-08 ", "2025-02-29", "2024-02-29", "2025-13-01", "0000-01-01", "9999-12-31"]
DATES += [
    "2025-6-8",
    "20250608",
    "2025/06/08",
    "",
    " ",
    "2025-09-01",
    "2025-09-02",
    "٢٠٢٥-06-08",
    "\t2025-06-08",
]
MONEY = ["0", "0.00", "1", "1.5", "1.50", "1.505", ".5", "1.", "000000000000000000001", "9" * 15, "9" * 16]
MONEY += ["0" * 20 + "9" * 15, " 12.30 ", "-1", "+1", "1e3", "1,000", "١", "\t1", "", "12.3 "]
STATUSES = ["active", " delinquent ", "closed", "charged_off", "fraud", "Active", "", "active\t", "unknown"]
REGIONS = ["110101", " 110101 ", "11010", "1101011", "11010a", "١١٠١٠١", ""]

CHOICES: dict[str, list[str]] = {
    "account_ref": REFS,
    "customer_ref": REFS,
    "payment_ref": REFS + TEXTS,
    "product_code": TEXTS,
    "status": STATUSES,
    "region_code": REGIONS,
    "opened_on": DATES,
    "delinquent_since": DATES,
    "last_payment_on": DATES,
    "statement_date": DATES,
    "due_date": DATES,
    "paid_on": DATES,
}
GOOD: dict[str, str] = {
    "account_ref": "A1",
    "customer_ref": "C1",
    "payment_ref": "P1",
    "product_code": "STD_GOLD",
    "status": "active",
    "region_code": "110101",
    "opened_on": "2020-01-15",
    "delinquent_since": "",
    "last_payment_on": "2025-06-01",
    "statement_date": "2025-06-08",
    "due_date": "2025-06-28",
    "paid_on": "2025-08-01",
}

KINDS: list[
    tuple[tuple[str, ...], Callable[..., Any], Callable[[Mapping[str, str], date], tuple[Any, ...]]]
] = [
    (accounts.ACCOUNTS.columns, quick.accounts, accounts.staged_row),
    (statements.STATEMENTS.columns, quick.statements, statements.staged_row),
    (payments.PAYMENTS.columns, quick.payments, payments.staged_row),
]


def choices(name: str) -> list[str]:
    return CHOICES.get(name, MONEY)


def good(name: str) -> str:
    return GOOD.get(name, "12.30")


def compare(
    names: tuple[str, ...], make: Callable[..., Any], slow: Callable[..., Any], values: list[str]
) -> bool:
    """Asserts the quick way agrees with the validator on ``values``; True when it accepted them."""
    got = make(names)(values, BUSINESS_DATE)
    try:
        expected: tuple[Any, ...] | None = slow(dict(zip(names, values, strict=True)), BUSINESS_DATE)
    except FieldProblem:
        expected = None
    if got is not None:
        assert got == expected, values
    return got is not None


@pytest.mark.parametrize(("names", "make", "slow"), KINDS)
def test_a_plain_good_line_goes_the_quick_way_with_the_validators_values(
    names: tuple[str, ...], make: Callable[..., Any], slow: Callable[..., Any]
) -> None:
    assert compare(names, make, slow, [good(n) for n in names])
    reordered = tuple(reversed(names))
    assert compare(reordered, make, slow, [good(n) for n in reordered])


@pytest.mark.parametrize(("names", "make", "slow"), KINDS)
def test_every_single_odd_field_agrees_with_the_validator(
    names: tuple[str, ...], make: Callable[..., Any], slow: Callable[..., Any]
) -> None:
    for position, name in enumerate(names):
        for value in choices(name):
            values = [good(n) for n in names]
            values[position] = value
            compare(names, make, slow, values)


@pytest.mark.parametrize(("names", "make", "slow"), KINDS)
@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_any_mix_of_fields_agrees_with_the_validator(
    names: tuple[str, ...], make: Callable[..., Any], slow: Callable[..., Any], seed: int
) -> None:
    pick = random.Random(seed)
    compare(names, make, slow, [pick.choice(choices(n)) for n in names])


def test_the_optional_account_columns_may_be_absent() -> None:
    names = tuple(n for n in accounts.ACCOUNTS.columns if n not in accounts.ACCOUNTS.optional)
    assert compare(names, quick.accounts, accounts.staged_row, [good(n) for n in names])


@given(st.lists(st.text(max_size=12), min_size=4, max_size=4))
def test_any_payment_text_agrees_with_the_validator(values: list[str]) -> None:
    compare(payments.PAYMENTS.columns, quick.payments, payments.staged_row, values)
