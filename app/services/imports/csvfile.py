"""Reading the card system's CSV files (CONTRACT.md, "CSV files from the card system"): UTF-8 with or
without a byte-order mark, a header line, columns in any order, unknown columns an error.  Each data
line comes with its line number, so that every problem can be named where it is."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


class ErrorSink(Protocol):
    def add(self, line: int, message: str) -> None: ...


class _BadEncoding(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


@dataclass
class Reading:
    """How the reading of a part of a file (``stop``, ``read_part``) ended."""

    # Bad UTF-8 or broken quoting ended it before the part's end.
    stopped: bool = False
    # A record ran on past the part's end: the end fell inside a quoted field, so the part was not
    # a whole number of records (the file must be read in one piece).
    crossed: bool = False
    # The reader asked for a line past the part's end (set while reading).
    past_end: bool = False


def _decoded_lines(
    handle: BinaryIO, *, first: int = 1, stop: int | None = None, reading: Reading | None = None
) -> Iterator[str]:
    """The file's lines decoded one by one, so that a bad byte is reported on its own line (a text
    stream decodes ahead in blocks and would blame an earlier line, or the header).  ``first`` is
    the number of the line at the handle's position; with ``stop``, the lines that begin before
    that byte offset only."""
    position = handle.tell()
    for number, raw in enumerate(handle, start=first):
        if stop is not None and position >= stop:
            if reading is not None:
                reading.past_end = True
            return
        position += len(raw)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadEncoding(number) from None


def _header_problems(names: list[str], columns: tuple[str, ...], optional: frozenset[str]) -> list[str]:
    unknown = [n for n in names if n not in columns]
    missing = [c for c in columns if c not in names and c not in optional]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if duplicated:
        problems.append(f"duplicated column(s): {', '.join(duplicated)}")
    return problems


# Told the good header's names and the byte offset where the data lines begin; may answer a byte
# offset (the start of a line) where this reading stops: the lines from there are read elsewhere.
SplitFn = Callable[[list[str], int], int | None]


def read_rows(
    path: Path,
    columns: tuple[str, ...],
    optional: frozenset[str],
    errors: ErrorSink,
    *,
    split: SplitFn | None = None,
    reading: Reading | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, raw row) for each data line; header problems are reported as line 1, a file that
    cannot be read as line 0.  Blank lines are skipped; a line with the wrong number of fields is
    reported and skipped; bad UTF-8 or broken quoting ends the reading at that line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        errors.add(0, f"cannot read the file: {exc.strerror}")
        return
    with handle:
        header_reader = csv.reader(_decoded_lines(handle))
        try:
            header = next(header_reader)
        except StopIteration:
            errors.add(1, "the file is empty: a header line is required")
            return
        except _BadEncoding as exc:
            errors.add(exc.line, "not valid UTF-8")
            return
        except csv.Error as exc:
            errors.add(1, f"unreadable header: {exc}")
            return
        names = [h.strip() for h in header]
        problems = _header_problems(names, columns, optional)
        for problem in problems:
            errors.add(1, problem)
        if problems:
            return
        first = header_reader.line_num + 1  # (a quoted name may hold a newline)
        stop = None if split is None else split(names, handle.tell())
        data = _decoded_lines(handle, first=first, stop=stop, reading=reading)
        yield from _records(data, names, first, errors, reading)


def read_part(
    path: Path, names: list[str], start: int, first_line: int, errors: ErrorSink, reading: Reading
) -> Iterator[tuple[int, dict[str, str]]]:
    """The data lines of a file from byte offset ``start`` (the start of line ``first_line``, and of a
    record) to its end, as ``read_rows`` reads them, under the header ``names``."""
    with path.open("rb") as handle:
        handle.seek(start)
        yield from _records(_decoded_lines(handle, first=first_line), names, first_line, errors, reading)


def _records(
    lines: Iterator[str], names: list[str], first_line: int, errors: ErrorSink, reading: Reading | None
) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(lines)
    before = first_line - 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except _BadEncoding as exc:
            errors.add(exc.line, "not valid UTF-8")
            if reading is not None:
                reading.stopped = True
            return
        except csv.Error as exc:
            errors.add(before + reader.line_num, f"malformed CSV: {exc}")
            if reading is not None:
                reading.stopped = True
            return
        if reading is not None and reading.past_end:
            reading.crossed = True  # a record cut at the part's end
            return
        line = before + reader.line_num
        if not values or values == [""]:
            continue
        if len(values) != len(names):
            errors.add(line, f"expected {len(names)} fields, found {len(values)}")
            continue
        yield line, dict(zip(names, values, strict=True))


def count_data_lines(path: Path) -> int:
    """Lines after the header, for a progress bar's total (cheap: counts newlines)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)
