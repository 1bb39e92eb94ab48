"""Money: strict parsing, the one half-up rounding, fen conversion, formatting, equal splits."""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import DomainError, InvalidMoney, InvalidTerm
from app.domain.money import (
    CENT,
    ZERO,
    format_money,
    from_fen,
    parse_money,
    require_cents,
    require_money,
    round_money,
    split_equal_principal,
    to_fen,
)

FAST = settings(max_examples=300, deadline=None)
fens = st.integers(min_value=0, max_value=10**14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("123", "123.00", id="whole_yuan"),
        pytest.param("123.4", "123.40", id="one_decimal"),
        pytest.param("123.45", "123.45", id="two_decimals"),
        pytest.param("0", "0.00", id="zero"),
        pytest.param("0.01", "0.01", id="one_fen"),
        pytest.param("007.10", "7.10", id="leading_zeros"),
        pytest.param("10530000.00", "10530000.00", id="large_balance"),
        pytest.param("999999999999999.99", "999999999999999.99", id="fifteen_integer_digits"),
    ],
)
def test_parse_money_accepts_plain_decimals(text: str, expected: str) -> None:
    value = parse_money(text)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1.234", id="three_decimals"),
        pytest.param("1.000", id="three_decimals_even_if_zero"),
        pytest.param("1e3", id="exponent"),
        pytest.param("1E-2", id="negative_exponent"),
        pytest.param("NaN", id="nan"),
        pytest.param("inf", id="infinity"),
        pytest.param("Infinity", id="infinity_word"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(" 1.00", id="leading_space"),
        pytest.param("1.00 ", id="trailing_space"),
        pytest.param("-1.00", id="negative_not_allowed"),
        pytest.param("+1.00", id="plus_sign_not_allowed"),
        pytest.param(".5", id="no_integer_part"),
        pytest.param("5.", id="dot_without_decimals"),
        pytest.param("1,000.00", id="thousands_separator"),
        pytest.param("1_000", id="underscore_separator"),
        pytest.param("１２３", id="full_width_digits"),
        pytest.param("0x10", id="hexadecimal"),
        pytest.param("1000000000000000", id="sixteen_integer_digits"),
        pytest.param("¥12.00", id="currency_symbol"),
    ],
)
def test_parse_money_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidMoney):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("-1.50", "-1.50", id="minus"),
        pytest.param("+1.50", "1.50", id="plus"),
        pytest.param("-0", "0.00", id="negative_zero_becomes_zero"),
    ],
)
def test_parse_money_accepts_signs_when_allowed(text: str, expected: str) -> None:
    value = parse_money(text, allow_negative=True)
    assert str(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.5, id="float"),
        pytest.param(Decimal("1.5"), id="decimal"),
        pytest.param(None, id="none"),
    ],
)
def test_parse_money_takes_only_text(value: object) -> None:
    with pytest.raises(InvalidMoney):
        parse_money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0.005", "0.01", id="half_fen_rounds_up"),
        pytest.param("0.0049", "0.00", id="below_half_rounds_down"),
        pytest.param("2.675", "2.68", id="half_up_not_bankers"),
        pytest.param("0.125", "0.13", id="half_up_on_even_digit"),
        pytest.param("-0.005", "-0.01", id="negative_half_rounds_away_from_zero"),
        pytest.param("147.2", "147.20", id="pads_to_two_decimals"),
        pytest.param("-0.001", "0.00", id="negative_zero_is_zero"),
        pytest.param("10530000", "10530000.00", id="whole_number"),
    ],
)
def test_round_money_is_half_up_to_the_fen(value: str, expected: str) -> None:
    assert str(round_money(Decimal(value))) == expected


def test_round_money_refuses_floats() -> None:
    with pytest.raises(InvalidMoney):
        round_money(0.1)  # type: ignore[arg-type]


def test_round_money_refuses_nan() -> None:
    with pytest.raises(InvalidMoney):
        round_money(Decimal("NaN"))


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        pytest.param("123.45", 12345, id="yuan_and_fen"),
        pytest.param("0", 0, id="zero"),
        pytest.param("1.230", 123, id="trailing_zero_is_fine"),
        pytest.param("-0.05", -5, id="negative"),
        pytest.param("10530000.00", 1053000000, id="large"),
    ],
)
def test_to_fen_converts_exact_amounts(value: str, fen: int) -> None:
    assert to_fen(Decimal(value)) == fen


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("1.234"), id="fraction_of_a_fen"),
        pytest.param(Decimal("0.001"), id="tenth_of_a_fen"),
        pytest.param(1.5, id="float"),
        pytest.param(Decimal("Infinity"), id="infinity"),
    ],
)
def test_to_fen_refuses_inexact_amounts(value: Decimal) -> None:
    with pytest.raises(InvalidMoney):
        to_fen(value)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        pytest.param(12345, "123.45", id="yuan_and_fen"),
        pytest.param(0, "0.00", id="zero"),
        pytest.param(5, "0.05", id="five_fen"),
        pytest.param(-5, "-0.05", id="negative"),
        pytest.param(1053000000, "10530000.00", id="large"),
    ],
)
def test_from_fen_gives_two_decimals(fen: int, text: str) -> None:
    assert str(from_fen(fen)) == text


@pytest.mark.parametrize(
    "fen", [pytest.param(True, id="bool"), pytest.param(1.0, id="float"), pytest.param("1", id="text")]
)
def test_from_fen_takes_only_integers(fen: object) -> None:
    with pytest.raises(InvalidMoney):
        from_fen(fen)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(Decimal("10530000"), "10530000.00", id="whole_number"),
        pytest.param(Decimal("1E+3"), "1000.00", id="exponent_form_is_expanded"),
        pytest.param(Decimal("0.5"), "0.50", id="one_decimal"),
        pytest.param(Decimal("-0.00"), "0.00", id="negative_zero"),
        pytest.param(Decimal("-12.30"), "-12.30", id="negative"),
    ],
)
def test_format_money_writes_two_decimals(value: Decimal, text: str) -> None:
    assert format_money(value) == text


def test_format_money_refuses_a_fraction_of_a_fen() -> None:
    with pytest.raises(InvalidMoney):
        format_money(Decimal("1.005"))


@pytest.mark.parametrize(
    ("total", "parts", "expected"),
    [
        pytest.param("100.00", 3, ["33.33", "33.33", "33.34"], id="remainder_on_the_last"),
        pytest.param("1000.00", 1, ["1000.00"], id="one_part"),
        pytest.param("12000.00", 12, ["1000.00"] * 12, id="exact_division"),
        pytest.param("0.05", 10, ["0.00"] * 9 + ["0.05"], id="fewer_fen_than_parts"),
        pytest.param("0.00", 3, ["0.00"] * 3, id="zero_total"),
        pytest.param("200.00", 3, ["66.66", "66.66", "66.68"], id="floor_not_round"),
    ],
)
def test_split_equal_principal_gives_floor_and_remainder(total: str, parts: int, expected: list[str]) -> None:
    assert [str(part) for part in split_equal_principal(Decimal(total), parts)] == expected


@pytest.mark.parametrize(
    ("total", "parts", "error"),
    [
        pytest.param("100.00", 0, InvalidTerm, id="zero_parts"),
        pytest.param("100.00", -1, InvalidTerm, id="negative_parts"),
        pytest.param("-100.00", 2, InvalidMoney, id="negative_total"),
        pytest.param("100.001", 2, InvalidMoney, id="fraction_of_a_fen"),
    ],
)
def test_split_equal_principal_refuses_bad_input(total: str, parts: int, error: type[DomainError]) -> None:
    with pytest.raises(error):
        split_equal_principal(Decimal(total), parts)


@FAST
@given(total_fen=fens, parts=st.integers(min_value=1, max_value=60))
def test_split_equal_principal_parts_add_up_to_the_total(total_fen: int, parts: int) -> None:
    total = from_fen(total_fen)
    split = split_equal_principal(total, parts)
    assert len(split) == parts
    assert sum(split, Decimal(0)) == total
    assert all(part >= 0 for part in split)
    assert len(set(split[:-1])) <= 1
    assert split[-1] >= split[0]
    assert split[-1] - split[0] < CENT * parts
    assert all(part == part.quantize(CENT) for part in split)


@FAST
@given(fen=st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip_is_exact(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen
    assert parse_money(format_money(from_fen(fen)), allow_negative=True) == from_fen(fen)


@FAST
@given(
    value=st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False)
)
def test_round_money_moves_at_most_half_a_fen(value: Decimal) -> None:
    rounded = round_money(value)
    assert abs(rounded - value) <= Decimal("0.005")
    assert rounded == rounded.quantize(CENT)


# --- the fast paths (amounts already at the fen) give exactly what the checked path gives ----------


def _checked_cents(value: Decimal) -> Decimal:
    """require_cents without its fast path: quantize at 60 digits, refuse a fraction of a fen."""
    with localcontext() as context:
        context.prec = 60
        quantized = Decimal(value).quantize(CENT)
    if quantized != value:
        raise InvalidMoney(f"fraction of a fen: {value}")
    return ZERO if quantized == 0 else quantized


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0.00",
        "-0.00",
        "0E-2",
        "0E+2",
        "5",
        "5.0",
        "5.00",
        "5.000",
        "-12.50",
        "1E+5",
        "1.234E+3",
        "0.01",
        "-0.01",
        "123456789012345.67",
        "1" * 57 + ".00",
    ],
)
def test_require_cents_and_format_money_agree_with_the_checked_path(text: str) -> None:
    value = Decimal(text)
    expected = _checked_cents(value)
    got = require_cents(value)
    assert got == expected and got.as_tuple() == expected.as_tuple()
    assert format_money(value) == f"{expected:f}"


@pytest.mark.parametrize("text", ["0.001", "1.005", "-0.005", "NaN", "Infinity", "1E-3"])
def test_require_cents_still_refuses_fractions_of_a_fen_and_non_finite_values(text: str) -> None:
    with pytest.raises(InvalidMoney):
        require_cents(Decimal(text))
    with pytest.raises(InvalidMoney):
        format_money(Decimal(text))


@FAST
@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=-4, max_value=3))
def test_fast_paths_equal_the_checked_path(coefficient: int, exponent: int) -> None:
    value = Decimal(coefficient).scaleb(exponent)
    try:
        expected = _checked_cents(value)
    except InvalidMoney:
        with pytest.raises(InvalidMoney):
            require_cents(value)
        return
    assert require_cents(value).as_tuple() == expected.as_tuple()
    assert require_money(value) == value
    assert format_money(value) == f"{expected:f}"


@FAST
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_from_fen_is_exact_whatever_the_context_precision(fen: int) -> None:
    with localcontext() as context:
        context.prec = 60
        expected = Decimal(fen).scaleb(-2)
    with localcontext() as context:
        context.prec = 5
        value = from_fen(fen)
    assert value.as_tuple() == expected.as_tuple()
