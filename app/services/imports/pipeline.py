"""The one import pipeline that every file of the card system goes through.

All or nothing per file, in the caller's transaction: every line is read and validated by its
record's validator (app.domain.records), naming each bad one; the good ones are staged with their
line numbers (app.services.imports.staging); the checks that need the whole file run in SQL on the
stage; only when no line is bad does the file's set-based write copy the stage into the real
tables.  A file kind (accounts, statements, payments) supplies its columns, its stage, the staged
row of a line, its whole-file checks and its write."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.records import FieldProblem
from app.services import audit
from app.services.clock import today, utcnow
from app.services.imports import staging
from app.services.imports.csvfile import read_rows
from app.services.imports.staging import Collector, LineError, Stage, reject_if_bad
from app.services.principal import SYSTEM, Principal

ProgressFn = Callable[[int], None]


@dataclass
class ImportSummary:
    kind: str
    rows: int
    inserted_or_updated: int
    customers: int = 0


@dataclass(frozen=True)
class Written:
    """What a file's write changed: rows inserted or updated, and customers (accounts only)."""

    rows: int
    customers: int = 0


@dataclass(frozen=True)
class RecordFile:
    """One kind of file from the card system, as the pipeline needs it."""

    kind: str
    columns: tuple[str, ...]
    optional: frozenset[str]
    stage: Table
    # The staged values of a line (without its line number), or FieldProblem.
    staged_row: Callable[[Mapping[str, str], date], tuple[Any, ...]]
    # Problems found on the whole stage: (the first ones, how many there are).
    check: Callable[[Session, Stage, int], tuple[list[LineError], int]]
    # The set-based write of a good file's staged lines (how many there are is given).
    write: Callable[[Session, Stage, datetime, int], Written]
    audit_action: str
    # The tables whose planner statistics the write makes stale.
    tables: tuple[str, ...]


def dialect_insert(session: Session) -> Callable[..., Any]:
    """The dialect's insert(), which has on_conflict_do_update / on_conflict_do_nothing."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert: Callable[..., Any] = module.insert
    return insert


def refresh_planner_statistics(session: Session, tables: tuple[str, ...]) -> None:
    """PostgreSQL plans portfolio-wide queries from table statistics; after a bulk load they are stale
    until autovacuum catches up (a scan was measured 2x slower, its baseline 100x).  ANALYZE is
    transactional there, so it joins the import's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


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
    errors = Collector(max_errors)
    business_date = today(session)
    stage = Stage(session, spec.stage)
    count, pending = 0, 0
    staged_row = spec.staged_row
    try:
        for line, raw in read_rows(path, spec.columns, spec.optional, errors):
            pending += 1
            try:
                row = staged_row(raw, business_date)
            except FieldProblem as exc:
                errors.add(line, str(exc))
                continue
            stage.add((line, *row))
            count += 1
            if progress and pending >= staging.BATCH_SIZE:
                progress(pending)
                pending = 0
    except BaseException as error:
        stage.abandon(error)
        raise
    stage.finish_loading()
    extra, extra_total = spec.check(session, stage, max_errors)
    reject_if_bad(stage, spec.kind, errors, extra, extra_total)
    written = spec.write(session, stage, utcnow(), count)
    stage.drop()
    if progress and pending:
        progress(pending)
    refresh_planner_statistics(session, spec.tables)
    audit.record(
        session,
        actor=actor,
        action=spec.audit_action,
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": count},
    )
    return ImportSummary(spec.kind, count, written.rows, written.customers)
