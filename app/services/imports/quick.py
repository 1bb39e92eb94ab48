"""A quick way through the common line: one regular expression per file layout that accepts the plain
line of a good record (ASCII, no surplus whitespace but spaces) and gives its staged values at once.

The rules stay in ``app.domain.records``: this only ever *accepts*.  A line it does not recognise
(any problem, or anything unusual: a tab, a non-ASCII letter, a reference that is ``.``) goes to the
record's validator, which gives the same values for a good line and the one message for a bad one.
What the expression accepts is a subset of what the validator accepts, with the same values: a test
compares the two on every kind of line (``tests/unit/test_import_quick.py``).

Per line this costs a join, one match and a few conversions, a third of the validator's time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from app.domain.money import MAX_INTEGER_DIGITS
from app.domain.records import MAX_DAYS_FROM_STATEMENT_TO_DUE, STATUSES

# A reference the API can address (records.reference_problem), in printable ASCII: 1 to 64
# characters without / ? # %, no space at either end.
_END = r"[!\"$&-.0->@-~]"
_REF = rf"({_END}(?:[ !\"$&-.0->@-~]{{0,62}}{_END})?)"
_DATE = r" *([0-9]{4}-[0-9]{2}-[0-9]{2}) *"
_OPTIONAL_DATE = r" *([0-9]{4}-[0-9]{2}-[0-9]{2})? *"
# records.parse_fen: at most MAX_INTEGER_DIGITS digits after the leading zeros, at most 2 decimals.
_MONEY = rf" *(0*[0-9]{{1,{MAX_INTEGER_DIGITS}}})(?:\.([0-9]{{1,2}}))? *"
_STATUS = rf" *({'|'.join(sorted(re.escape(s) for s in STATUSES))}) *"
_REGION = r" *([0-9]{6}) *"


def _text(max_length: int) -> str:
    """records.parse_text: printable ASCII, surrounding spaces removed."""
    return rf" *([!-~](?:[ -~]{{0,{max_length - 2}}}[!-~])?) *"


_FIELDS: dict[str, str] = {
    "account_ref": _REF,
    "customer_ref": _REF,
    "product_code": _text(32),
    "status": _STATUS,
    "region_code": _REGION,
    "opened_on": _DATE,
    "delinquent_since": _OPTIONAL_DATE,
    "last_payment_on": _OPTIONAL_DATE,
    "statement_date": _DATE,
    "due_date": _DATE,
    "paid_on": _DATE,
    "payment_ref": _text(64),
}
_MONEY_COLUMNS = frozenset(
    {
        "credit_limit",
        "principal_balance",
        "interest_balance",
        "fee_balance",
        "statement_balance",
        "minimum_due",
        "paid_amount",
        "amount",
    }
)

_DOTS = (".", "..")  # references that clients resolve as path steps

# The real dates seen, each checked once (a file has a few thousand distinct ones).
_DATES: dict[str, date] = {}


def _real_date(text: str) -> date | None:
    """The date written YYYY-MM-DD (digits only), or None when there is no such day."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    if len(_DATES) >= 100_000:
        _DATES.clear()
    _DATES[text] = value
    return value


def _fen(units: str, cents: str | None) -> int:
    return int(units + ((cents or "") + "00")[:2])


def _pattern(names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]] | None:
    """The expression of a line's values joined by tabs, and where each column's first group is;
    None for a column this module does not know."""
    parts, at, group = [], {}, 0
    for name in names:
        if name in _MONEY_COLUMNS:
            parts.append(_MONEY)
        elif name in _FIELDS:
            parts.append(_FIELDS[name])
        else:
            return None
        at[name] = group
        group += 2 if name in _MONEY_COLUMNS else 1
    return re.compile("\t".join(parts)), at


# Given a line's values: its staged row, or None (ask the record's validator).
QuickFn = Callable[[list[str], date], "tuple[Any, ...] | None"]


def accounts(names: tuple[str, ...]) -> QuickFn | None:
    """The quick way for accounts.csv with these columns (accounts.staged_row's values)."""
    found = _pattern(names)
    if found is None:
        return None
    fullmatch, at = found[0].fullmatch, found[1]
    ref, customer, product, status, region, opened = (
        at[n] for n in ("account_ref", "customer_ref", "product_code", "status", "region_code", "opened_on")
    )
    credit, principal, interest, fee = (
        at[n] for n in ("credit_limit", "principal_balance", "interest_balance", "fee_balance")
    )
    delinquent, last_payment = at.get("delinquent_since"), at.get("last_payment_on")
    dates = _DATES

    def account(values: list[str], business_date: date) -> tuple[Any, ...] | None:
        match = fullmatch("\t".join(values))
        if match is None:
            return None
        g = match.groups()
        opened_on = g[opened]
        since = None if delinquent is None else g[delinquent]
        last = None if last_payment is None else g[last_payment]
        if (
            (opened_on not in dates and _real_date(opened_on) is None)
            or (
                since is not None
                and ((since not in dates and _real_date(since) is None) or since > business_date.isoformat())
            )
            or (last is not None and last not in dates and _real_date(last) is None)
            or g[ref] in _DOTS
            or g[customer] in _DOTS
        ):
            return None
        return (
            g[ref],
            g[customer],
            g[product],
            g[status],
            g[region],
            opened_on,
            _fen(g[credit], g[credit + 1]),
            _fen(g[principal], g[principal + 1]),
            _fen(g[interest], g[interest + 1]),
            _fen(g[fee], g[fee + 1]),
            since,
            last,
        )

    return account


def statements(names: tuple[str, ...]) -> QuickFn | None:
    """The quick way for statements.csv with these columns (statements.staged_row's values)."""
    found = _pattern(names)
    if found is None:
        return None
    fullmatch, at = found[0].fullmatch, found[1]
    ref, on, due = at["account_ref"], at["statement_date"], at["due_date"]
    balance_at, minimum_at, paid_at = at["statement_balance"], at["minimum_due"], at["paid_amount"]
    dates = _DATES

    def statement(values: list[str], business_date: date) -> tuple[Any, ...] | None:
        match = fullmatch("\t".join(values))
        if match is None:
            return None
        g = match.groups()
        on_text, due_text = g[on], g[due]
        statement_date = dates.get(on_text) or _real_date(on_text)
        due_date = dates.get(due_text) or _real_date(due_text)
        if statement_date is None or due_date is None or g[ref] in _DOTS:
            return None
        if not 0 <= (due_date - statement_date).days <= MAX_DAYS_FROM_STATEMENT_TO_DUE:
            return None
        balance = _fen(g[balance_at], g[balance_at + 1])
        minimum = _fen(g[minimum_at], g[minimum_at + 1])
        if minimum > balance:
            return None
        return (g[ref], on_text, due_text, balance, minimum, _fen(g[paid_at], g[paid_at + 1]))

    return statement


def payments(names: tuple[str, ...]) -> QuickFn | None:
    """The quick way for payments.csv with these columns (payments.staged_row's values)."""
    found = _pattern(names)
    if found is None:
        return None
    fullmatch, at = found[0].fullmatch, found[1]
    ref, payment_ref, paid, amount_at = at["account_ref"], at["payment_ref"], at["paid_on"], at["amount"]
    dates = _DATES

    def payment(values: list[str], business_date: date) -> tuple[Any, ...] | None:
        match = fullmatch("\t".join(values))
        if match is None:
            return None
        g = match.groups()
        paid_on = g[paid]
        if (
            (paid_on not in dates and _real_date(paid_on) is None)
            or paid_on > business_date.isoformat()
            or g[ref] in _DOTS
        ):
            return None
        amount = _fen(g[amount_at], g[amount_at + 1])
        if amount <= 0:
            return None
        return (g[ref], g[payment_ref], paid_on, amount)

    return payment
