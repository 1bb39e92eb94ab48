"""Column types.  Money is stored as integer fen: SQLite keeps NUMERIC as floating point and would
silently lose fen; integers are exact on every database and sum exactly in SQL."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Text
from sqlalchemy.types import TypeDecorator

from app.domain.money import from_fen, to_fen


class Money(TypeDecorator[Decimal]):
    """A Decimal with two places in Python, an integer number of fen in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        # Only Decimals: an int is ambiguous (yuan or fen?) and a float is never money.
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        return to_fen(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_fen(int(value))


class JSONText(TypeDecorator[Any]):
    """JSON kept as canonical text (sorted keys) so it hashes and compares the same everywhere."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)
