"""app.domain.records: the import's money in fen is exactly parse_money's Decimal, and references
the API can address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.records import FieldProblem, parse_amount, parse_fen, reference_problem

MONEY_TEXT = st.one_of(
    st.from_regex(r"\A[ ]?[+-]?[0-9]{0,18}(\.[0-9]{0,3})?[ ]?\Z"),
    st.text(alphabet="0123456789.-+e ,٣", max_size=8),
)


@given(MONEY_TEXT)
def test_parse_fen_accepts_exactly_what_parse_amount_accepts_and_agrees_to_the_fen(text: str) -> None:
    try:
        expected: int | None = int(parse_amount(text, "x").scaleb(2))
    except FieldProblem:
        expected = None
    try:
        got: int | None = parse_fen(text, "x")
    except FieldProblem as exc:
        assert str(exc) == f"x must be a non-negative amount with at most two decimals, got {text!r}"
        got = None
    assert got == expected


@pytest.mark.parametrize("ref", ["A1", "卡-001", "a b", "x..y", "=SUM(1)", "A" * 64])
def test_addressable_references(ref: str) -> None:
    assert reference_problem(ref, "account_ref") is None


@pytest.mark.parametrize("ref", ["", " ", "A/1", "A?", "A#", "A%", " A", "A ", ".", "..", "A\n", "A" * 65])
def test_references_the_api_cannot_address(ref: str) -> None:
    assert reference_problem(ref, "account_ref")
