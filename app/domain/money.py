"""Money: Decimal in code, fen (integer minor units) in the database, two-decimal strings in JSON.

Rules (DOMAIN.md, "Money and time"): never a float; rounding is half-up to 0.01 and happens in
exactly one place (:func:`round_money`); every total is the sum of rounded parts; remainders go to
the last part.
"""

import re
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from app.domain.errors import InvalidMoney, InvalidRate, InvalidTerm

__all__ = [
    "CENT",
    "MAX_INTEGER_DIGITS",
    "ZERO",
    "InvalidMoney",
    "format_money",
    "from_fen",
    "parse_money",
    "require_cents",
    "require_money",
    "require_rate",
    "round_money",
    "split_equal_principal",
    "to_fen",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# round_money's context: half-up, 60 digits, whatever the calling thread's context says. Passed to
# quantize directly: entering a local context on every call cost more than the rounding itself.
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
# 15 integer digits (< 10**15 yuan) keep every amount, in fen, far inside a signed 64-bit integer.
MAX_INTEGER_DIGITS = 15

_MONEY_TEXT = re.compile(r"(?P<sign>[+-]?)(?P<units>[0-9]+)(?:\.(?P<cents>[0-9]{1,2}))?", re.ASCII)


def parse_money(text: str, *, allow_negative: bool = False) -> Decimal:
    """Parse a strict money text ("123", "123.4", "123.45") into a Decimal quantized to 0.01.

    Refused with InvalidMoney: more than 2 decimals, exponents, NaN/inf, blanks or surrounding
    spaces, a missing integer part (".5"), more than 15 integer digits, and any sign unless
    ``allow_negative`` (then "-" and "+" are accepted). "-0" is returned as 0.00.
    """
    if not isinstance(text, str):
        raise InvalidMoney(f"money must be given as text, not {type(text).__name__}")
    match = _MONEY_TEXT.fullmatch(text)
    if match is None:
        raise InvalidMoney(f"not a money amount with at most 2 decimals: {text!r}")
    if match["sign"] and not allow_negative:
        raise InvalidMoney(f"a sign is not allowed here: {text!r}")
    if len(match["units"].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise InvalidMoney(f"amount too large (more than {MAX_INTEGER_DIGITS} integer digits): {text!r}")
    value = Decimal(text).quantize(CENT)
    return ZERO if value == 0 else value


def require_money(value: Decimal, *, name: str = "amount") -> Decimal:
    """Check that ``value`` is a finite Decimal (an int is accepted and converted; a float never is)."""
    if type(value) is Decimal and value.is_finite():
        return value  # the common case, checked first: the rules call this for every amount
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidMoney(f"{name} must be a Decimal, not {type(value).__name__}")
    decimal_value = Decimal(value)
    if not decimal_value.is_finite():
        raise InvalidMoney(f"{name} must be finite, got {value}")
    return decimal_value


def require_rate(rate: Decimal, *, name: str = "rate") -> Decimal:
    """Check that a rate is a finite Decimal >= 0 (an int is accepted; a float never is)."""
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise InvalidRate(f"{name} must be a Decimal, not {type(rate).__name__}")
    value = Decimal(rate)
    if not value.is_finite() or value < 0:
        raise InvalidRate(f"{name} must be a finite rate of at least 0, got {rate}")
    return value


def round_money(value: Decimal) -> Decimal:
    """Round half-up to 0.01: the one rounding rule of the service (DOMAIN.md, "Money and time")."""
    decimal_value = require_money(value)
    try:
        rounded = decimal_value.quantize(CENT, context=_ROUNDING)
    except InvalidOperation as error:  # pragma: no cover - only for absurdly large values
        raise InvalidMoney(f"cannot round {value}") from error
    return ZERO if rounded == 0 else rounded


def require_cents(value: Decimal, *, name: str = "amount") -> Decimal:
    """Return ``value`` with exactly 2 decimals, refusing a fraction of a fen (InvalidMoney)."""
    if type(value) is Decimal:
        # Fast path: an amount already at the fen (see format_money) is returned as it is.
        text = str(value)
        if text[-3:-2] == "." and "E" not in text and len(text) < 60:
            return value if value else ZERO
    decimal_value = require_money(value, name=name)
    with localcontext() as context:
        context.prec = 60
        quantized = decimal_value.quantize(CENT)
    if quantized != decimal_value:
        raise InvalidMoney(f"{name} has a fraction of a fen: {value}")
    return ZERO if quantized == 0 else quantized


def to_fen(value: Decimal) -> int:
    """Convert an amount with at most 2 decimals to integer fen (the database unit)."""
    return int(require_cents(value).scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Convert integer fen to a Decimal with exactly 2 decimals."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidMoney(f"fen must be an int, not {type(fen).__name__}")
    # Built from text, which is exact whatever the context's precision (no local context needed).
    return Decimal(f"{fen}E-2")


def format_money(value: Decimal) -> str:
    """Format an amount as JSON money: exactly two decimals, no exponent ("10530000.00").

    The value must already be rounded to the fen (use :func:`round_money` first); a fraction of a
    fen raises InvalidMoney rather than being rounded silently here.
    """
    if type(value) is Decimal:
        # Fast path for an amount already at the fen (nearly all: read from fen or rounded): its
        # plain text has a point before the last two digits ("E" would mean an exponent), and it
        # is then exactly what require_cents would format (0 as "0.00").
        text = str(value)
        if text[-3:-2] == "." and "E" not in text and len(text) < 60:
            return text if value else "0.00"
    return f"{require_cents(value):f}"


def split_equal_principal(total: Decimal, parts: int) -> list[Decimal]:
    """Split ``total`` into ``parts`` amounts: 1..n-1 carry floor(total/n) to the fen, the last the rest.

    DOMAIN.md, "Installment plan: amounts": the parts add up to ``total`` exactly.
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InvalidTerm(f"parts must be an integer of at least 1, got {parts!r}")
    total_fen = to_fen(total)
    if total_fen < 0:
        raise InvalidMoney(f"cannot split a negative amount: {total}")
    base_fen = total_fen // parts
    last_fen = total_fen - base_fen * (parts - 1)
    return [from_fen(base_fen)] * (parts - 1) + [from_fen(last_fen)]
