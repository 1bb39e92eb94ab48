"""Loading a file straight into its table, without the stage (PostgreSQL, a table still empty).

The staged way (``pipeline``) copies every line twice: by COPY into the stage, then by INSERT ...
SELECT into the real table, and that second copy waits for the whole file to be read.  Into an
empty table every key is new and nothing is updated, so the good lines can go by COPY into the real
table itself while the next ones are still being validated: the database stores the rows on one
core while Python validates on the other.  The whole-file checks then need nothing of their own:
a key repeated in the file breaks the table's unique constraint, and an account_ref that is not a
known account is missing from the accounts' ids read beforehand.

This is only ever an attempt, inside a savepoint: at the first bad line of any kind (a field, a
repeated key, an unknown account, a record across the middle of the file), the COPY is abandoned,
the savepoint rolled back, and the file imported the staged way, which names every bad line with
its number and message exactly as before.  A key that another transaction inserts meanwhile breaks
the unique constraint too, and takes the same way back (where the staged write settles the race)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.records import FieldProblem
from app.services.imports.staging import Collector, LineError, Stage


class NotStraight(Exception):
    """The file cannot go straight into its table: import it the staged way."""


class StraightInto(Stage):
    """The COPY of a file's good lines into a real table, in place of the stage (same interface; the
    rows without their line numbers)."""

    numbered = False

    def __init__(self, session: Session, table: str, columns: tuple[str, ...]) -> None:
        self._start(session, table, columns)
        assert self.postgresql

    def restart(self) -> None:
        raise NotStraight("a record crosses the middle of the file")

    def finish_loading(self) -> None:
        self._send_formatted()
        if self._open_copy is not None:
            self._close_copy(None)

    def drop(self) -> None:  # pragma: no cover - the real table stays
        raise AssertionError("never dropped")


class FirstProblem(Collector):
    """Ends the straight loading at the first bad line (the staged way then names them all)."""

    def add(self, line: int, message: str) -> None:
        raise NotStraight(f"line {line}: {message}")

    def add_later(self, errors: list[LineError], total: int) -> None:
        if total:
            raise NotStraight("bad lines in the second half")


def is_empty(session: Session, table: str) -> bool:
    return not session.execute(text(f"SELECT EXISTS (SELECT FROM {table})")).scalar_one()


def account_ids(session: Session) -> dict[str, str]:
    """Every account's id by its account_ref, the id as text (as COPY sends it), so that statements and
    payments can go straight into their tables with their account's id.  Read as one text value (a
    tab between a ref and its id, a newline between accounts: a reference is printable text, without
    either), split in one pass: a second for a million accounts.  Accounts are never deleted: an
    id read here stays right."""
    joined, odd = session.execute(
        text(
            "SELECT string_agg(account_ref || chr(9) || id::text, chr(10)), "
            "bool_or(strpos(account_ref, chr(9)) > 0 OR strpos(account_ref, chr(10)) > 0) FROM card_account"
        )
    ).one()
    if odd:  # pragma: no cover - a reference from before the references were checked
        rows = session.execute(text("SELECT account_ref, id::text FROM card_account"))
        return {ref: account_id for ref, account_id in rows}
    if not joined:
        return {}
    fields = joined.replace("\n", "\t").split("\t")  # ref, id, ref, id, ...
    return dict(zip(fields[0::2], fields[1::2], strict=True))


def with_account_id(ids: dict[str, str]) -> Callable[[str], str]:
    """The account id of an account_ref, or FieldProblem for an account not known (a bad line, the
    staged way names it)."""

    def account_id(ref: str) -> str:
        found = ids.get(ref)
        if found is None:
            raise FieldProblem("account_ref", f"account_ref {ref!r} is not a known account")
        return found

    return account_id


RowFn = Callable[[tuple[Any, ...]], tuple[Any, ...]]
