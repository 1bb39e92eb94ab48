"""The staging table of an import, and the record of its bad lines.

A file's valid lines wait in a temporary table, with their line numbers, inside the importing
transaction.  The checks that need the whole file (repeated keys, unknown accounts, payments seen
before) run on it in SQL, and the real tables get one set-based statement from it only when every
line is good.  Loaded with one COPY on PostgreSQL and executemany in batches on SQLite; dates travel as ISO
text, money as fen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg import Copy
from psycopg._copy_base import TextFormatter
from psycopg.adapt import Transformer
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Table, func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

BATCH_SIZE = 5000


def copy_formatter() -> tuple[Callable[[tuple[Any, ...]], Any], Callable[[], Any]]:
    """psycopg's own formatter of COPY's text format (in C), without a connection: (write_row, end),
    each returning the bytes ready so far (it buffers; end gives the rest)."""
    formatter = TextFormatter(Transformer())
    return formatter.write_row, formatter.end


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


class ImportRejected(Exception):
    """The file has bad lines; nothing from it was written."""

    def __init__(self, kind: str, errors: list[LineError], total_errors: int) -> None:
        super().__init__(f"{total_errors} bad line(s) in the {kind} file; nothing was imported")
        self.kind = kind
        self.errors = errors
        self.total_errors = total_errors


@dataclass
class Collector:
    """The first ``limit`` bad lines, and how many there are."""

    limit: int
    errors: list[LineError] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, message: str) -> None:
        self.total += 1
        if len(self.errors) < self.limit:
            self.errors.append(LineError(line, message))

    def add_later(self, errors: list[LineError], total: int) -> None:
        """Adds the bad lines found after every line added so far (the first of them, and how many)."""
        self.errors = [*self.errors, *errors][: self.limit]
        self.total += total

    def clear(self) -> None:
        self.errors = []
        self.total = 0


class Stage:
    """A temporary table holding a file's valid lines, with their line numbers (see the module)."""

    # Whether each row begins with its line number.
    numbered = True

    def __init__(self, session: Session, table: Table) -> None:
        self._start(session, table.name, tuple(c.name for c in table.columns))
        self.table = table
        if self.postgresql:
            self._memory_for_the_stage()
        self.drop()  # a leftover of an earlier import in this transaction
        table.create(self.connection)

    def _start(self, session: Session, name: str, columns: tuple[str, ...]) -> None:
        self.connection = session.connection()
        self.name = name
        self.columns = columns
        self.postgresql = self.connection.dialect.name == "postgresql"
        self.rows: list[tuple[Any, ...]] = []
        self._open_copy: Copy | None = None
        self._copy_context: Any = None
        self._cursor: Any = None
        # The rows formatted here, so that the rows of the file's second half (add_copy_data)
        # follow every row added before them: the COPY's own row buffer would let them overtake.
        self._format_row, self._format_end = copy_formatter()

    def _memory_for_the_stage(self) -> None:
        """Sorting and hashing a million keys in memory rather than in temporary files, and the stage
        in memory rather than written out and read back (the default 8 MB of temporary buffers hold
        about 50,000 staged lines).  A session that has used temporary tables already keeps its
        buffers: that is harmless, hence the savepoint."""
        self.connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        try:
            with self.connection.begin_nested():
                self.connection.exec_driver_sql("SET LOCAL temp_buffers = '512MB'")
        except DBAPIError:
            pass

    def add(self, row: tuple[Any, ...]) -> None:
        if self.postgresql:
            data = self._format_row(row)
            if data:
                self._copy().write(data)
            return
        self.rows.append(row)
        if len(self.rows) >= BATCH_SIZE:
            self.flush()

    def _copy(self) -> Copy:
        """On PostgreSQL one COPY stays open for the whole file, its data sent by a thread of its own:
        the server stores the lines already read while the next ones are parsed and validated, on
        the other core."""
        if self._open_copy is None:
            driver = self.connection.connection.driver_connection
            assert driver is not None
            self._cursor = driver.cursor()
            self._copy_context = self._cursor.copy(
                f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN",
                writer=QueuedLibpqWriter(self._cursor),
            )
            self._open_copy = self._copy_context.__enter__()
        return self._open_copy

    def add_copy_data(self, data: bytes) -> None:
        """Rows already in COPY's text format (PostgreSQL only), each ending with a newline: after
        every row added before."""
        self._send_formatted()
        self._copy().write(data)

    def _send_formatted(self) -> None:
        data = self._format_end()
        if data:
            self._copy().write(data)

    def restart(self) -> None:
        """Empties the stage, to load it again from the start."""
        self.flush()
        self._format_end()
        if self._open_copy is not None:
            self._close_copy(None)
        self.connection.exec_driver_sql(f"DELETE FROM {self.name}")

    def flush(self) -> None:
        if not self.rows:
            return
        marks = ", ".join("?" for _ in self.columns)
        self.connection.exec_driver_sql(
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})", self.rows
        )
        self.rows = []

    def finish_loading(self) -> None:
        self.flush()
        if self.postgresql:
            self._send_formatted()
        if self._open_copy is not None:
            self._close_copy(None)
        if self.postgresql:  # autovacuum never analyses temporary tables: the planner needs the counts
            # and the spread of the keys that the checks and the write join and group on; the other
            # columns' statistics would cost as much again and serve no plan.
            keys = self.table.info.get("analyze")
            columns = f" ({', '.join(keys)})" if keys else ""
            self.connection.exec_driver_sql(f"ANALYZE {self.name}{columns}")

    def abandon(self, error: BaseException) -> None:
        """Ends an open COPY after a failure while loading (the transaction is rolled back anyway)."""
        if self._open_copy is not None:
            self._close_copy(error)

    def _close_copy(self, error: BaseException | None) -> None:
        assert self._copy_context is not None and self._cursor is not None
        self._open_copy = None
        try:
            if error is None:
                self._copy_context.__exit__(None, None, None)
            else:
                self._copy_context.__exit__(type(error), error, error.__traceback__)
        finally:
            self._cursor.close()

    def repeated_keys(
        self, key: tuple[str, ...], limit: int, *, differing: tuple[str, ...] = ()
    ) -> tuple[list[tuple[int, int, tuple[Any, ...]]], int]:
        """(line, first line of the same key, key) for each line repeating an earlier line's key: the
        first `limit` by line, and how many there are.  With ``differing``, a repeat counts only when
        one of those columns differs from the first line's (a line sent twice is the same record)."""
        t = self.table
        key_columns = [t.c[name] for name in key]
        other = [t.c[name] for name in differing]
        if other:
            versions = select(*key_columns, *other).distinct().subquery()
            any_repeat = (
                select(*(versions.c[name] for name in key))
                .group_by(*(versions.c[name] for name in key))
                .having(func.count() > 1)
                .limit(1)
            )
        else:
            any_repeat = select(*key_columns).group_by(*key_columns).having(func.count() > 1).limit(1)
        if self.connection.execute(any_repeat).first() is None:  # the usual case, and a cheap question
            return [], 0
        first = func.min(t.c.line).over(partition_by=key_columns).label("first_line")
        columns = [t.c.line, first, *key_columns]
        if other:
            columns += [
                func.first_value(c).over(partition_by=key_columns, order_by=t.c.line).label(f"first_{c.name}")
                for c in other
            ]
            columns += other
        ranked = select(*columns).subquery()
        repeats = select(*(ranked.c[c.name] for c in [t.c.line, first, *key_columns])).where(
            ranked.c.line != ranked.c.first_line
        )
        if other:
            repeats = repeats.where(or_(*(ranked.c[c.name] != ranked.c[f"first_{c.name}"] for c in other)))
        total = self.connection.execute(select(func.count()).select_from(repeats.subquery())).scalar_one()
        rows = self.connection.execute(repeats.order_by(ranked.c.line).limit(limit)).all()
        return [(row[0], row[1], tuple(row[2:])) for row in rows], int(total)

    def drop(self) -> None:
        # Schema-qualified, so that it can only ever name the temporary table.
        schema = "pg_temp" if self.postgresql else "temp"
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{self.name}")


def reject_if_bad(
    stage: Stage, kind: str, errors: Collector, extra: list[LineError], extra_total: int
) -> None:
    """Raises ImportRejected (and drops the staged rows) when any line is bad."""
    total = errors.total + extra_total
    if not total:
        return
    stage.drop()
    reported = sorted([*errors.errors, *extra], key=lambda e: e.line)[: errors.limit]
    raise ImportRejected(kind, reported, total)


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def date_text(value: date | str) -> str:
    """A staged date as YYYY-MM-DD (SQLite hands it back as text, PostgreSQL as a date)."""
    return value if isinstance(value, str) else value.isoformat()
