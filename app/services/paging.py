"""Opaque keyset cursors: the last id of a page, so pages stay stable while rows are added."""

from __future__ import annotations

import base64

from app.services.errors import FieldError, InvalidInput


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """0 for the first page; InvalidInput for a cursor this service did not issue."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        # ASCII digits only, at most 18 of them: an id the database can hold ("²" is a digit to
        # str.isdigit, and a 30-digit id overflows a BIGINT bind parameter).
        if prefix != "id" or not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "invalid cursor", [FieldError("query.cursor", "not a cursor from this API")]
        ) from None


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor after the last id when the page was full (there may be more)."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None
