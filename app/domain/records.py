"""The card system's records and their rules, one validator per kind: an account snapshot, a statement
and a payment (CONTRACT.md, "CSV files from the card system" and "Payments from the card system").

Both doors use them: the CSV import validates each line with ``account_from_text``,
``statement_from_text`` and ``payment_from_text`` (money in integer fen, as stored, keyed
``<column>_fen``); the single-account upsert of the API, whose schema
has already typed the values, checks them with ``check_account`` and ``check_statement``, the same
rules the text validators apply after parsing.  A bad field raises ``FieldProblem`` naming it.

Refused at the door (DOMAIN.md, "Data that breaks a rule's arithmetic"): a ``delinquent_since`` after
the business date, a ``due_date`` more than ``MAX_DAYS_FROM_STATEMENT_TO_DUE`` days after its
``statement_date``, a payment dated after the business date, and a reference the API cannot address
(``reference_problem``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.errors import InvalidMoney
from app.domain.money import MAX_INTEGER_DIGITS, parse_money
from app.domain.reasons import AccountStatus
from app.domain.regions import is_valid_region_code

__all__ = [
    "ACCOUNT_COLUMNS",
    "ACCOUNT_MONEY",
    "ACCOUNT_OPTIONAL",
    "MAX_DAYS_FROM_STATEMENT_TO_DUE",
    "PAYMENT_COLUMNS",
    "STATEMENT_COLUMNS",
    "STATEMENT_MONEY",
    "FieldProblem",
    "account_from_text",
    "check_account",
    "check_payment",
    "check_statement",
    "parse_amount",
    "parse_date",
    "parse_fen",
    "parse_reference",
    "parse_text",
    "payment_from_text",
    "reference_problem",
    "statement_from_text",
]

ACCOUNT_COLUMNS = (
    "account_ref",
    "customer_ref",
    "product_code",
    "status",
    "region_code",
    "opened_on",
    "credit_limit",
    "principal_balance",
    "interest_balance",
    "fee_balance",
    "delinquent_since",
    "last_payment_on",
)
ACCOUNT_OPTIONAL = frozenset({"delinquent_since", "last_payment_on"})
ACCOUNT_MONEY = ("credit_limit", "principal_balance", "interest_balance", "fee_balance")
STATEMENT_COLUMNS = (
    "account_ref",
    "statement_date",
    "due_date",
    "statement_balance",
    "minimum_due",
    "paid_amount",
)
STATEMENT_MONEY = ("statement_balance", "minimum_due", "paid_amount")
PAYMENT_COLUMNS = ("account_ref", "payment_ref", "paid_on", "amount")
STATUSES = frozenset(s.value for s in AccountStatus)

# A card statement falls due within weeks of its date (Chinese issuers give 20 to 25 days of
# grace; DOMAIN.md, "Data that breaks a rule's arithmetic").  A due date further out than this is
# an error of the exporting system, and a deferral computed from it can leave the calendar
# (9999-12-31 plus months), so the import refuses it.
MAX_DAYS_FROM_STATEMENT_TO_DUE = 120

# Characters a reference cannot hold and still be addressed as one segment of a URL path
# (/v1/accounts/{account_ref}): the path separator, and what starts a query, a fragment or an escape.
_RESERVED_IN_PATH = frozenset("/?#%")


class FieldProblem(ValueError):
    """A field that breaks a rule of the record; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- fields ----------------------------------------------------------------------------------------


def _text_problem(value: str, name: str, max_length: int) -> str | None:
    if not 1 <= len(value) <= max_length:
        return f"{name} must be 1 to {max_length} characters"
    if not value.isprintable():
        return f"{name} has control characters"
    if "\ufffd" in value:
        # U+FFFD is what a decoder leaves of invalid UTF-8: never part of a real reference.
        return f"{name} is not valid UTF-8 text"
    return None


def parse_text(value: str, name: str, max_length: int = 64) -> str:
    """Printable text of 1 to ``max_length`` characters, surrounding spaces removed."""
    value = value.strip()
    problem = _text_problem(value, name, max_length)
    if problem:
        raise FieldProblem(name, problem)
    return value


def reference_problem(value: str, name: str) -> str | None:
    """Why ``value`` cannot be a reference that the API addresses in a URL path, or None.

    A reference is 1 to 64 printable characters, without spaces at either end (a stripped copy would
    be another reference), without ``/ ? # %``, and not ``.`` or ``..`` (which clients resolve as
    path steps).  DOMAIN.md, "Data that breaks a rule's arithmetic"; issue "an account ref with `/`
    imports but can never be opened"."""
    stripped = value.strip()
    problem = _text_problem(stripped, name, 64)
    if problem:
        return problem
    if stripped != value:
        return f"{name} must not begin or end with spaces"
    if not _RESERVED_IN_PATH.isdisjoint(value):
        return f"{name} must not contain '/', '?', '#' or '%'"
    if value in (".", ".."):
        return f"{name} must not be '.' or '..'"
    return None


def parse_reference(value: str, name: str) -> str:
    """A reference the API can address (``reference_problem``), exactly as given."""
    problem = reference_problem(value, name)
    if problem:
        raise FieldProblem(name, problem)
    return value


def parse_date(value: str, name: str, *, optional: bool = False) -> date | None:
    """A date written YYYY-MM-DD (surrounding spaces removed); None for an empty optional one."""
    value = value.strip()
    if not value:
        if optional:
            return None
        raise FieldProblem(name, f"{name} is required (YYYY-MM-DD)")
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise FieldProblem(name, f"{name} must be a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldProblem(name, f"{name} is not a real date: {value!r}") from None


def _required_date(value: str, name: str) -> date:
    parsed = parse_date(value, name)
    assert parsed is not None
    return parsed


# Exactly what parse_money accepts without a sign: digits, then at most two decimals.
_UNSIGNED_MONEY = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?", re.ASCII)


def parse_fen(value: str, name: str) -> int:
    """Money >= 0 with at most two decimals, as integer fen: the amounts ``parse_amount`` accepts
    (surrounding spaces removed, at most MAX_INTEGER_DIGITS integer digits), without building a
    Decimal (the import reads millions of them and stores fen)."""
    text = value.strip()
    match = _UNSIGNED_MONEY.fullmatch(text)
    if match is None or len(match[1].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise FieldProblem(
            name, f"{name} must be a non-negative amount with at most two decimals, got {value!r}"
        )
    cents = match[2]
    return int(match[1]) * 100 + (int(cents) * (10 if len(cents) == 1 else 1) if cents else 0)


def parse_amount(value: str, name: str) -> Decimal:
    """Money >= 0 with at most two decimals (``parse_money``)."""
    try:
        return parse_money(value.strip())
    except InvalidMoney:
        raise FieldProblem(
            name, f"{name} must be a non-negative amount with at most two decimals, got {value!r}"
        ) from None


# --- accounts --------------------------------------------------------------------------------------


def check_account(values: Mapping[str, Any], business_date: date) -> None:
    """The rules of an account snapshot beyond its fields' types: both references addressable, and
    no delinquency that starts after the business date."""
    for name in ("account_ref", "customer_ref"):
        problem = reference_problem(values[name], name)
        if problem:
            raise FieldProblem(name, problem)
    _check_delinquency(values.get("delinquent_since"), business_date)


def _check_delinquency(since: date | None, business_date: date) -> None:
    if since is not None and since > business_date:
        raise FieldProblem(
            "delinquent_since",
            f"delinquent_since {since.isoformat()} is after the business date {business_date.isoformat()}",
        )


def account_from_text(raw: Mapping[str, str], business_date: date) -> dict[str, Any]:
    """The typed account of a line of accounts.csv, or FieldProblem naming the first bad field."""
    out: dict[str, Any] = {
        "account_ref": parse_reference(raw["account_ref"], "account_ref"),
        "customer_ref": parse_reference(raw["customer_ref"], "customer_ref"),
        "product_code": parse_text(raw["product_code"], "product_code", 32),
    }
    status = raw["status"].strip()
    if status not in STATUSES:
        raise FieldProblem("status", f"status must be one of {', '.join(sorted(STATUSES))}, got {status!r}")
    out["status"] = status
    region = raw["region_code"].strip()
    if not is_valid_region_code(region):
        raise FieldProblem("region_code", f"region_code must be 6 digits, got {region!r}")
    out["region_code"] = region
    out["opened_on"] = _required_date(raw["opened_on"], "opened_on")
    for name in ACCOUNT_MONEY:
        out[f"{name}_fen"] = parse_fen(raw[name], name)
    out["delinquent_since"] = parse_date(raw.get("delinquent_since", ""), "delinquent_since", optional=True)
    out["last_payment_on"] = parse_date(raw.get("last_payment_on", ""), "last_payment_on", optional=True)
    # check_account's other rules are parse_reference's, applied above.
    _check_delinquency(out["delinquent_since"], business_date)
    return out


# --- statements ------------------------------------------------------------------------------------


def check_statement(
    statement_date: date, due_date: date, statement_balance: Decimal | int, minimum_due: Decimal | int
) -> None:
    """Due on or after its date and within MAX_DAYS_FROM_STATEMENT_TO_DUE days of it; a minimum due
    within the balance (both amounts Decimal, or both fen)."""
    if due_date < statement_date:
        raise FieldProblem("due_date", "due_date must not be before statement_date")
    if (due_date - statement_date).days > MAX_DAYS_FROM_STATEMENT_TO_DUE:
        raise FieldProblem(
            "due_date",
            f"due_date must be at most {MAX_DAYS_FROM_STATEMENT_TO_DUE} days after statement_date, "
            f"got {due_date.isoformat()}",
        )
    if minimum_due > statement_balance:
        raise FieldProblem("minimum_due", "minimum_due must not exceed statement_balance")


def statement_from_text(raw: Mapping[str, str], business_date: date) -> dict[str, Any]:
    """The typed statement of a line of statements.csv, or FieldProblem naming the first bad field."""
    out: dict[str, Any] = {"account_ref": parse_reference(raw["account_ref"], "account_ref")}
    out["statement_date"] = _required_date(raw["statement_date"], "statement_date")
    out["due_date"] = _required_date(raw["due_date"], "due_date")
    for name in STATEMENT_MONEY:
        out[f"{name}_fen"] = parse_fen(raw[name], name)
    check_statement(
        out["statement_date"], out["due_date"], out["statement_balance_fen"], out["minimum_due_fen"]
    )
    return out


# --- payments --------------------------------------------------------------------------------------


def check_payment(paid_on: date, amount_fen: int, business_date: date) -> None:
    """A payment is of more than 0 and not dated after the business date."""
    if amount_fen <= 0:
        amount = f"{'-' if amount_fen < 0 else ''}{abs(amount_fen) // 100}.{abs(amount_fen) % 100:02d}"
        raise FieldProblem("amount", f"amount must be greater than 0, got {amount!r}")
    if paid_on > business_date:
        raise FieldProblem(
            "paid_on",
            f"paid_on {paid_on.isoformat()} is after the business date {business_date.isoformat()}",
        )


def payment_from_text(raw: Mapping[str, str], business_date: date) -> dict[str, Any]:
    """The typed payment of a line of payments.csv, or FieldProblem naming the first bad field."""
    out: dict[str, Any] = {
        "account_ref": parse_reference(raw["account_ref"], "account_ref"),
        "payment_ref": parse_text(raw["payment_ref"], "payment_ref"),
        "paid_on": _required_date(raw["paid_on"], "paid_on"),
    }
    try:
        out["amount_fen"] = parse_fen(raw["amount"], "amount")
    except FieldProblem:
        raise FieldProblem(
            "amount",
            f"amount must be an amount greater than 0 with at most two decimals, got {raw['amount']!r}",
        ) from None
    check_payment(out["paid_on"], out["amount_fen"], business_date)
    return out
