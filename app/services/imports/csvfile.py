"""Reading the card system's CSV files (CONTRACT.md, "CSV files from the card system"): UTF-8 with or
without a byte-order mark, a header line, columns in any order, unknown columns an error.  Each data
line comes with its line number, so that every problem can be named where it is."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class ErrorSink(Protocol):
    def add(self, line: int, message: str) -> None: ...


class _BadEncoding(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _decoded_lines(handle: BinaryIO) -> Iterator[str]:
    """The file's lines decoded one by one, so that a bad byte is reported on its own line (a text
    stream decodes ahead in blocks and would blame an earlier line, or the header)."""
    for number, raw in enumerate(handle, start=1):
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


def read_rows(
    path: Path, columns: tuple[str, ...], optional: frozenset[str], errors: ErrorSink
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
        reader = csv.reader(_decoded_lines(handle))
        try:
            header = next(reader)
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
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except _BadEncoding as exc:
                errors.add(exc.line, "not valid UTF-8")
                return
            except csv.Error as exc:
                errors.add(reader.line_num, f"malformed CSV: {exc}")
                return
            line = reader.line_num
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
