"""Loading a file's good lines into its stage: in one piece, or, for a large file on PostgreSQL, in two
halves validated at once by two processes.

Validating a line in Python costs several times what storing it costs the database, and one process
uses one core.  A large file is therefore cut at the first line that begins after its middle byte:
this process reads and validates the first half, streaming it into the stage's COPY as before, while
a child process (forked: nothing to import again, and it touches neither the database nor the
session) validates the second half into a temporary file in COPY's text format, with its bad lines.
The second half's rows then follow the first half's into the same COPY.

Every line gets exactly the verdict and the number that reading the file in one piece gives it: the
child counts the lines before its half, and reads it with the same reader and validators.  Two
things can make the halves differ from the whole, and both are detected: a reading that ends in the
first half (bad UTF-8 or broken quoting: the rest of the file is not read, so the child's findings
are dropped), and a middle that falls inside a quoted field spread over several lines (then the
stage is emptied and the file is read again in one piece)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from app.domain.records import FieldProblem
from app.services.imports import staging
from app.services.imports.csvfile import Reading, read_part, read_rows
from app.services.imports.staging import Collector, Stage, copy_formatter

ProgressFn = Callable[[int], None]
# The staged row of a line's values (or FieldProblem) ...
LineFn = Callable[[list[str]], tuple[Any, ...]]
# ... given the file's column names.
ValidatorFn = Callable[[list[str]], LineFn]

# Files smaller than this are read in one piece (a child process costs a few milliseconds; below a
# few megabytes the import's fixed costs dominate anyway).
PARALLEL_MIN_BYTES = 4 << 20


def stage_rows(
    rows: Iterable[tuple[int, list[str]]],
    validator: ValidatorFn,
    reading: Reading,
    stage: Stage,
    errors: Collector,
    progress: ProgressFn | None,
) -> int:
    """Validates each line, stages the good ones and names the bad ones; returns the lines staged."""
    count, pending = 0, 0
    staged_row: LineFn | None = None
    add, numbered = stage.add, stage.numbered
    for line, values in rows:
        if staged_row is None:
            staged_row = validator(reading.names)
        pending += 1
        try:
            row = staged_row(values)
        except FieldProblem as exc:
            errors.add(line, str(exc))
            continue
        add((line, *row) if numbered else row)
        count += 1
        if progress and pending >= staging.BATCH_SIZE:
            progress(pending)
            pending = 0
    if progress and pending:
        progress(pending)
    return count


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def in_two(path: Path, stage: Stage) -> bool:
    """Whether to validate the file in two processes: a large file, two cores, and PostgreSQL (the
    COPY takes rows already formatted; SQLite keeps the simple path)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return stage.postgresql and size >= PARALLEL_MIN_BYTES and _cores() >= 2


class PartFailed(RuntimeError):
    """The process validating the second half of a file failed (the import fails, nothing written)."""


def _line_number_at(path: Path, offset: int) -> int:
    """The number of the line that begins at byte ``offset``."""
    newlines = 0
    with path.open("rb") as handle:
        left = offset
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            left -= len(chunk)
    return newlines + 1


def _validate_part(
    path: Path,
    names: list[str],
    start: int,
    validator: ValidatorFn,
    limit: int,
    out_name: str,
    sender: Any,
    numbered: bool = True,
) -> None:
    """The child: validates the lines from ``start`` to the end, writes the good ones to ``out_name``
    in COPY's text format and sends (lines read, lines staged, first bad lines, how many) back."""
    gc.disable()  # validating makes no reference cycles; and nothing inherited is to be finalised here
    try:
        errors = Collector(limit)
        reading = Reading()
        count, lines = 0, 0
        first_line = _line_number_at(path, start)
        staged_row = validator(names)
        write_row, end = copy_formatter()
        with open(out_name, "wb") as out:
            for line, values in read_part(path, names, start, first_line, errors, reading):
                lines += 1
                try:
                    row = staged_row(values)
                except FieldProblem as exc:
                    errors.add(line, str(exc))
                    continue
                data = write_row((line, *row) if numbered else row)
                if data:
                    out.write(data)
                count += 1
            out.write(end())
        sender.send(("done", lines, count, errors.errors, errors.total))
    except BaseException as exc:
        sender.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


def load_in_two(
    path: Path,
    columns: tuple[str, ...],
    optional: frozenset[str],
    validator: ValidatorFn,
    stage: Stage,
    errors: Collector,
    progress: ProgressFn | None,
) -> int | None:
    """Loads the file as ``stage_rows`` does, validating its second half in a child process; returns
    the lines staged, or None when the file must be read in one piece (the stage and ``errors`` are
    then as they were before)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    descriptor, out_name = tempfile.mkstemp(prefix="hardship-import-", suffix=".copy")
    os.close(descriptor)
    process: Any = None
    reading = Reading()

    def split(names: list[str], data_start: int) -> int | None:
        nonlocal process
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(data_start + (size - data_start) // 2)
            handle.readline()
            start = handle.tell()
        if start >= size:
            return None
        process = context.Process(
            target=_validate_part,
            args=(
                path,
                names,
                start,
                validator,
                errors.limit,
                out_name,
                sender,
                stage.numbered,
            ),
            name="hardship-import-part",
            daemon=True,
        )
        process.start()
        sender.close()  # the child holds the sending end now: its death ends our reading
        return start

    try:
        rows = read_rows(path, columns, optional, errors, split=split, reading=reading)
        count = stage_rows(rows, validator, reading, stage, errors, progress)
        if process is None or reading.stopped:
            return count  # read in one piece after all, or the reading ended in the first half
        if reading.crossed:
            stage.restart()
            errors.clear()
            return None
        try:
            answer = receiver.recv()
        except EOFError:
            raise PartFailed("the process validating the second half of the file ended silently") from None
        if answer[0] != "done":
            raise PartFailed(f"the process validating the second half of the file failed: {answer[1]}")
        _, part_lines, part_count, part_errors, part_total = answer
        errors.add_later(part_errors, part_total)
        with open(out_name, "rb") as data:
            while chunk := data.read(1 << 20):
                stage.add_copy_data(chunk)
        if progress and part_lines:
            progress(part_lines)
        return count + int(part_count)
    finally:
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join()
        receiver.close()
        sender.close()
        os.unlink(out_name)
