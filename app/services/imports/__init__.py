"""Importing the card system's files: accounts, statements and payments (CONTRACT.md, "CSV files from
the card system" and "Payments from the card system"), all through one pipeline (``pipeline``).

Where things are: the rules of each record in ``app.domain.records``; reading the CSV in
``csvfile``; the staging table and the bad-line report in ``staging``; the pipeline in
``pipeline``; each file's stage, whole-file checks and set-based write in ``accounts``,
``statements`` and ``payments``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.services.imports.accounts import ACCOUNTS
from app.services.imports.csvfile import count_data_lines
from app.services.imports.loading import ProgressFn
from app.services.imports.payments import PAYMENTS
from app.services.imports.pipeline import ImportSummary, RecordFile, run_import
from app.services.imports.staging import ImportRejected, LineError
from app.services.imports.statements import STATEMENTS
from app.services.principal import SYSTEM, Principal

__all__ = [
    "FILES",
    "ImportRejected",
    "ImportSummary",
    "LineError",
    "count_data_lines",
    "import_file",
]

FILES: dict[str, RecordFile] = {spec.kind: spec for spec in (ACCOUNTS, STATEMENTS, PAYMENTS)}


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    max_errors: int = 100,
    progress: ProgressFn | None = None,
    actor: Principal = SYSTEM,
) -> ImportSummary:
    """Imports one file of ``kind`` (a key of FILES), all or nothing."""
    return run_import(session, path, FILES[kind], max_errors=max_errors, progress=progress, actor=actor)
