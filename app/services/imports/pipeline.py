"""The one import pipeline that every file of the card system goes through.

All or nothing per file, in the caller's transaction: every line is read and validated by its
record's validator (app.domain.records), naming each bad one; the good ones are staged with their
line numbers (app.services.imports.staging); the checks that need the whole file run in SQL on the
stage; only when no line is bad does the file's set-based write copy the stage into the real
tables.  A file kind (accounts, statements, payments) supplies its columns, its stage, the staged
row of a line (and a quicker way for the plain good line: ``quick``), its whole-file checks and its
write.

On PostgreSQL a file whose table is still empty first goes straight into it, without the stage
(module ``straight``): that attempt ends at the first bad line of any kind, writing nothing, and the
file then goes the staged way, which names every bad line."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Executable, Table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.services import audit
from app.services.clock import today, utcnow
from app.services.imports import loading
from app.services.imports.csvfile import Reading, read_rows
from app.services.imports.loading import ProgressFn
from app.services.imports.quick import QuickFn
from app.services.imports.staging import Collector, LineError, Stage, reject_if_bad
from app.services.imports.straight import FirstProblem, NotStraight, RowFn, StraightInto
from app.services.principal import SYSTEM, Principal


@dataclass
class ImportSummary:
    kind: str
    rows: int
    inserted_or_updated: int
    customers: int = 0


@dataclass(frozen=True)
class Written:
    """What a file's write changed: rows inserted or updated (every good line of the file), customers
    (accounts only), and for each table the rows actually written (None: count them all as changed)."""

    rows: int
    customers: int = 0
    changed: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Straight:
    """How a file goes straight into its table when that is still empty (module ``straight``)."""

    table: str
    columns: tuple[str, ...]
    # The table's row of a staged row (given the session and the time of the write), or None when
    # the file goes the staged way (the table is not empty).
    prepare: Callable[[Session, datetime], RowFn | None]
    # After the rows are in: the rest of the write (accounts: their new customers), and what changed.
    finish: Callable[[Session, datetime, int], Written]


@dataclass(frozen=True)
class RecordFile:
    """One kind of file from the card system, as the pipeline needs it."""

    kind: str
    columns: tuple[str, ...]
    optional: frozenset[str]
    stage: Table
    # The staged values of a line (without its line number), or FieldProblem.
    staged_row: Callable[[Mapping[str, str], date], tuple[Any, ...]]
    # For a file with these columns: the same values of a plain good line, quicker, or None (module
    # ``quick``).
    quick: Callable[[tuple[str, ...]], QuickFn | None]
    # Problems found on the whole stage: (the first ones, how many there are).
    check: Callable[[Session, Stage, int], tuple[list[LineError], int]]
    # The set-based write of a good file's staged lines (how many there are is given).
    write: Callable[[Session, Stage, datetime, int], Written]
    audit_action: str
    # The tables whose planner statistics the write makes stale.
    tables: tuple[str, ...]
    straight: Straight | None = None


def insert_or_upsert(session: Session, insert: Executable, upsert: Executable) -> int:
    """Runs ``insert``, a plain INSERT of the rows whose keys are not in the table yet (an anti-join:
    no speculative insertion, which costs a second pass over each new row's unique indexes), and
    returns the rows it wrote.  Another transaction may insert one of those keys between the
    statement's snapshot and its write; then the savepoint is rolled back and ``upsert``, the same
    rows with ON CONFLICT, runs instead (the same result, the slower way)."""
    connection = session.connection()
    try:
        with connection.begin_nested():
            result = connection.execute(insert.execution_options(preserve_rowcount=True))
    except IntegrityError:
        result = connection.execute(upsert.execution_options(preserve_rowcount=True))
    return int(result.rowcount)


def changed_rows(session: Session, statement: Executable) -> int:
    """Runs an UPDATE or INSERT and returns how many rows it wrote."""
    result = session.connection().execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount)


# ANALYZE when a write changed at least this share of a table (and ANALYZE_MIN_ROWS rows): the
# thresholds of PostgreSQL's autovacuum, below which it keeps the statistics it has too.
ANALYZE_SHARE = 0.1
ANALYZE_MIN_ROWS = 50


def refresh_planner_statistics(
    session: Session, tables: tuple[str, ...], changed: Mapping[str, int] | None = None
) -> None:
    """PostgreSQL plans portfolio-wide queries from table statistics; after a bulk load they are stale
    until autovacuum catches up (a scan was measured 2x slower, its baseline 100x).  ANALYZE is
    transactional there, so it joins the import's transaction.  A table that the write changed by
    less than autovacuum's own threshold keeps its statistics (re-importing an unchanged file
    writes nothing and analyses nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        if changed is not None:
            rows = changed.get(table, 0)
            if rows < ANALYZE_MIN_ROWS:
                continue
            known = session.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
                {"table": table},
            ).scalar_one()
            if known > 0 and rows < ANALYZE_SHARE * known:
                continue
        session.execute(text(f"ANALYZE {table}"))


def validator(spec: RecordFile, business_date: date, then: RowFn | None = None) -> loading.ValidatorFn:
    """Given a file's column names: the staged row of a line's values (``then`` applied to it), by
    the quick way when it knows the line, else by the record's validator."""

    def for_columns(names: list[str]) -> loading.LineFn:
        quick = spec.quick(tuple(names))
        staged_row = spec.staged_row

        def row(values: list[str]) -> tuple[Any, ...]:
            found = None if quick is None else quick(values, business_date)
            if found is None:
                found = staged_row(dict(zip(names, values, strict=True)), business_date)
            return found if then is None else then(found)

        return row

    return for_columns


def _load(
    path: Path,
    spec: RecordFile,
    rows: loading.ValidatorFn,
    stage: Stage,
    errors: Collector,
    progress: ProgressFn | None,
) -> int:
    """Reads, validates and stages every line (a large file in two processes: loading.load_in_two)."""
    if loading.in_two(path, stage):
        count = loading.load_in_two(path, spec.columns, spec.optional, rows, stage, errors, progress)
        if count is not None:
            return count
    reading = Reading()
    lines = read_rows(path, spec.columns, spec.optional, errors, reading=reading)
    return loading.stage_rows(lines, rows, reading, stage, errors, progress)


def _straight(
    session: Session, path: Path, spec: RecordFile, business_date: date, progress: ProgressFn | None
) -> tuple[int, Written] | None:
    """Loads a good file straight into its empty table (module ``straight``); None, having written
    nothing, when the file must go the staged way (a table not empty, any bad line, a key taken)."""
    plan = spec.straight
    connection = session.connection()
    if plan is None or connection.dialect.name != "postgresql":
        return None
    now = utcnow()
    advanced = 0

    def counted(lines: int) -> None:
        nonlocal advanced
        advanced += lines
        if progress:
            progress(lines)

    savepoint = connection.begin_nested()
    try:
        to_row = plan.prepare(session, now)
        if to_row is None:
            savepoint.rollback()
            return None
        connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # the sorts of the finish
        target = StraightInto(session, plan.table, plan.columns)
        try:
            rows = validator(spec, business_date, to_row)
            count = _load(path, spec, rows, target, FirstProblem(1), counted)
            target.finish_loading()
        except BaseException as error:
            with contextlib.suppress(psycopg.Error):
                target.abandon(error)
            raise
        written = plan.finish(session, now, count)
    except (NotStraight, psycopg.IntegrityError, IntegrityError):
        savepoint.rollback()
        if progress and advanced:
            progress(-advanced)  # the staged way reads the file again
        return None
    savepoint.commit()
    return count, written


def run_import(
    session: Session,
    path: Path,
    spec: RecordFile,
    *,
    max_errors: int = 100,
    progress: ProgressFn | None = None,
    actor: Principal = SYSTEM,
) -> ImportSummary:
    """Imports one file of the kind ``spec`` describes, or raises ImportRejected having written nothing."""
    business_date = today(session)
    done = _straight(session, path, spec, business_date, progress)
    if done is None:
        done = _staged(session, path, spec, business_date, max_errors, progress)
    count, written = done
    refresh_planner_statistics(session, spec.tables, written.changed)
    audit.record(
        session,
        actor=actor,
        action=spec.audit_action,
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": count},
    )
    return ImportSummary(spec.kind, count, written.rows, written.customers)


def _staged(
    session: Session,
    path: Path,
    spec: RecordFile,
    business_date: date,
    max_errors: int,
    progress: ProgressFn | None,
) -> tuple[int, Written]:
    """Loads the file into its stage, checks it whole, and writes it (see the module)."""
    errors = Collector(max_errors)
    stage = Stage(session, spec.stage)
    try:
        count = _load(path, spec, validator(spec, business_date), stage, errors, progress)
    except BaseException as error:
        stage.abandon(error)
        raise
    stage.finish_loading()
    extra, extra_total = spec.check(session, stage, max_errors)
    reject_if_bad(stage, spec.kind, errors, extra, extra_total)
    written = spec.write(session, stage, utcnow(), count)
    stage.drop()
    return count, written
