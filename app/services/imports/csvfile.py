"""Reading the card system's CSV files (CONTRACT.md, "CSV files from the card system"): UTF-8 with or
without a byte-order mark, a header line, columns in any order, unknown columns an error.  Each data
line comes with its line number, so that every problem can be named where it is."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    # The header's column names, once read (read_rows).
    names: list[str] = field(default_factory=list)


# The file is read and decoded this many bytes at a time (cut after a line's end).
BLOCK_SIZE = 1 << 20


def _decoded_lines(
    handle: BinaryIO, *, first: int = 1, stop: int | None = None, reading: Reading | None = None
) -> Iterator[str]:
    """The file's lines decoded one by one, so that a bad byte is reported on its own line (a text
    stream decodes ahead in blocks and would blame an earlier line, or the header).  ``first`` is
    the number of the line at the handle's position; with ``stop``, the lines that begin before
    that byte offset only.  Decoded a block of whole lines at a time; a block with a bad byte again
    line by line, up to the bad one."""
    number = first
    position = handle.tell()
    rest = b""
    while True:
        want = BLOCK_SIZE if stop is None else min(BLOCK_SIZE, stop - position)
        block = handle.read(want) if want > 0 else b""
        position += len(block)
        if block:
            data = rest + block
            end = data.rfind(b"\n") + 1
            if end == 0:
                rest = data
                continue
            data, rest = data[:end], data[end:]
        else:
            data, rest = rest, b""
            if not data:
                break
        if number == 1 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            for raw in _lines_of(data):
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _BadEncoding(number) from None
                number += 1
            continue  # pragma: no cover - a block that does not decode has a bad line
        yield from io.StringIO(text, newline="\n")  # lines end at "\n" only, as in the file
        number += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if stop is not None and reading is not None and position >= stop and handle.read(1):
        reading.past_end = True


def _header_lines(handle: BinaryIO) -> Iterator[str]:
    """The first lines of the file, read one at a time (the data lines begin where the header ends)."""
    for number, raw in enumerate(iter(handle.readline, b""), start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadEncoding(number) from None


def _lines_of(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its "\\n" (the last one may have none)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


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
) -> Iterator[tuple[int, list[str]]]:
    """(line number, the line's values in the order of the header, whose names ``reading`` gets) for
    each data line; header problems are reported as line 1, a file that cannot be read as line 0.
    Blank lines are skipped; a line with the wrong number of fields is reported and skipped; bad
    UTF-8 or broken quoting ends the reading at that line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        errors.add(0, f"cannot read the file: {exc.strerror}")
        return
    with handle:
        header_reader = csv.reader(_header_lines(handle))
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
        if reading is not None:
            reading.names = names
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
) -> Iterator[tuple[int, list[str]]]:
    """The data lines of a file from byte offset ``start`` (the start of line ``first_line``, and of a
    record) to its end, as ``read_rows`` reads them, under the header ``names``."""
    with path.open("rb") as handle:
        handle.seek(start)
        yield from _records(_decoded_lines(handle, first=first_line), names, first_line, errors, reading)


def _records(
    lines: Iterator[str], names: list[str], first_line: int, errors: ErrorSink, reading: Reading | None
) -> Iterator[tuple[int, list[str]]]:
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
        yield line, values


def count_data_lines(path: Path) -> int:
    """Lines after the header, for a progress bar's total (cheap: counts newlines)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)
