"""What every model shares: the declarative base with its naming convention, the id and timestamp
column types, and the CHECK made from a status enum."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["NAMING_CONVENTION", "Base", "Id", "UtcDateTime", "one_of"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")
UtcDateTime = DateTime(timezone=True)


def one_of(column: str, values: type[StrEnum]) -> str:
    """The CHECK that a column holds one of an enum's values: "status IN ('a','b')"."""
    return f"{column} IN ({','.join(repr(str(v.value)) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
