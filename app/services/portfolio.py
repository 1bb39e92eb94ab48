"""The portfolio's names, in their homes: the CSV imports in ``app.services.imports``, the record
rules in ``app.domain.records``, the row upserts in ``app.services.accounts`` and the domain values
of stored rows in ``app.persistence.mappers``."""

from __future__ import annotations

from app.persistence.mappers import (
    DOMAIN_ACCOUNT_COLUMNS,
    DOMAIN_STATEMENT_COLUMNS,
    account_from_values,
    statement_from_values,
    to_domain_account,
    to_domain_statement,
)
from app.services.accounts import upsert_account_rows, upsert_statement_rows
from app.services.imports import (
    ImportRejected,
    ImportSummary,
    LineError,
    count_data_lines,
    import_accounts,
    import_payments,
    import_statements,
)

__all__ = [
    "DOMAIN_ACCOUNT_COLUMNS",
    "DOMAIN_STATEMENT_COLUMNS",
    "ImportRejected",
    "ImportSummary",
    "LineError",
    "account_from_values",
    "count_data_lines",
    "import_accounts",
    "import_payments",
    "import_statements",
    "statement_from_values",
    "to_domain_account",
    "to_domain_statement",
    "upsert_account_rows",
    "upsert_statement_rows",
]
