"""Shared pieces of the JSON contract: money as a two-decimal string, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.domain.errors import InvalidMoney
from app.domain.money import format_money, parse_money

MONEY_PATTERN = r"^\d{1,15}(\.\d{1,2})?$"


def _parse_money_input(value: Any) -> Decimal:
    """JSON money must be a string (or an integer) with at most two decimals; never a float."""
    if isinstance(value, Decimal):
        value = format(value, "f")
    if isinstance(value, bool | float):
        raise ValueError('money must be a string with at most two decimals, e.g. "1234.50"')
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError('money must be a string with at most two decimals, e.g. "1234.50"')
    try:
        return parse_money(value)
    except InvalidMoney as exc:
        raise ValueError(str(exc)) from None


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_parse_money_input),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"]}),
]


# JSON money: ``format_money`` itself (one call a value: the hot answers write hundreds), whose fast
# path serves amounts already quantised to the fen (read from the database's integer fen, or made by
# ``round_money``); it refuses a fraction of a fen.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1234.50"]}),
]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )


PageLimit = Annotated[int, Field(ge=1, le=1000)]


def _as_utc(value: Any) -> Any:
    """SQLite hands timestamps back naive (they are stored in UTC); PostgreSQL hands them back aware."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# A UTC timestamp, always shown with its offset whatever the database .
UtcTimestamp = Annotated[datetime, BeforeValidator(_as_utc)]


class Attributes:
    """An object's attributes, a few of them added or replaced: what a response schema reads (from
    attributes) when its shape is a stored row plus what the row does not hold itself, e.g. a plan's
    ``account_ref`` (``PlanRead.model_validate(Attributes(plan, account_ref=...))``)."""

    def __init__(self, base: object, /, **more: Any) -> None:
        self.__dict__.update(more)
        self._base = base

    def __getattr__(self, name: str) -> Any:  # only for the names not given to __init__
        return getattr(self._base, name)


# The path parameter of every /v1/accounts/{account_ref}/... endpoint.
AccountRef = Path(min_length=1, max_length=64, description="Card account id in the system of record")
