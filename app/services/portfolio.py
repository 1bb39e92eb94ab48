"""The portfolio from the card system of record: CSV bulk import and single-account upsert.

Import is all-or-nothing per file: a first pass validates every line (and names each bad one),
a second pass writes in batches of set-based upserts inside one transaction."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.errors import InvalidMoney
from app.domain.model import Account, Statement
from app.domain.money import parse_money, to_fen
from app.domain.reasons import AccountStatus
from app.domain.regions import is_valid_region_code
from app.persistence.models import CardAccount, Customer
from app.persistence.models import Statement as StatementRow
from app.services import audit
from app.services.clock import utcnow
from app.services.principal import SYSTEM, Principal

ACCOUNT_COLUMNS = (
    "account_ref",
    "customer_ref",
    "product_code",
    "status",
    "region_code",
    "opened_on",
    "credit_limit",
    "principal_balance",
    "interest_balance",
    "fee_balance",
    "delinquent_since",
    "last_payment_on",
)
ACCOUNT_OPTIONAL = frozenset({"delinquent_since", "last_payment_on"})
STATEMENT_COLUMNS = (
    "account_ref",
    "statement_date",
    "due_date",
    "statement_balance",
    "minimum_due",
    "paid_amount",
)
BATCH_SIZE = 5000
STATUSES = frozenset(s.value for s in AccountStatus)
ACCOUNT_MONEY = ("credit_limit", "principal_balance", "interest_balance", "fee_balance")
STATEMENT_MONEY = ("statement_balance", "minimum_due", "paid_amount")


class ImportRejected(Exception):
    """The file has bad lines; nothing from it was written."""

    def __init__(self, kind: str, errors: list[LineError], total_errors: int) -> None:
        super().__init__(f"{total_errors} bad line(s) in the {kind} file; nothing was imported")
        self.kind = kind
        self.errors = errors
        self.total_errors = total_errors


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class ImportSummary:
    kind: str
    rows: int
    inserted_or_updated: int
    customers: int = 0


@dataclass
class _Collector:
    limit: int
    errors: list[LineError] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, message: str) -> None:
        self.total += 1
        if len(self.errors) < self.limit:
            self.errors.append(LineError(line, message))


# --- field parsing (shared by CSV and API) ----------------------------------------------------------


class FieldProblem(ValueError):
    pass


def parse_text(value: str, name: str, max_length: int = 64) -> str:
    value = value.strip()
    if not 1 <= len(value) <= max_length:
        raise FieldProblem(f"{name} must be 1 to {max_length} characters")
    if not value.isprintable():
        raise FieldProblem(f"{name} has control characters")
    return value


def parse_date(value: str, name: str, *, optional: bool = False) -> date | None:
    value = value.strip()
    if not value:
        if optional:
            return None
        raise FieldProblem(f"{name} is required (YYYY-MM-DD)")
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise FieldProblem(f"{name} must be a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldProblem(f"{name} is not a real date: {value!r}") from None


def parse_amount(value: str, name: str) -> Decimal:
    try:
        return parse_money(value.strip())
    except InvalidMoney:
        raise FieldProblem(
            f"{name} must be a non-negative amount with at most two decimals, got {value!r}"
        ) from None


def validate_account_fields(raw: dict[str, str]) -> dict[str, Any]:
    """Typed account values, or FieldProblem naming the first bad field."""
    out: dict[str, Any] = {
        "account_ref": parse_text(raw["account_ref"], "account_ref"),
        "customer_ref": parse_text(raw["customer_ref"], "customer_ref"),
        "product_code": parse_text(raw["product_code"], "product_code", 32),
    }
    status = raw["status"].strip()
    if status not in STATUSES:
        raise FieldProblem(f"status must be one of {', '.join(sorted(STATUSES))}, got {status!r}")
    out["status"] = status
    region = raw["region_code"].strip()
    if not is_valid_region_code(region):
        raise FieldProblem(f"region_code must be 6 digits, got {region!r}")
    out["region_code"] = region
    out["opened_on"] = parse_date(raw["opened_on"], "opened_on")
    for name in ACCOUNT_MONEY:
        out[name] = parse_amount(raw[name], name)
    out["delinquent_since"] = parse_date(raw.get("delinquent_since", ""), "delinquent_since", optional=True)
    out["last_payment_on"] = parse_date(raw.get("last_payment_on", ""), "last_payment_on", optional=True)
    return out


def validate_statement_fields(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"account_ref": parse_text(raw["account_ref"], "account_ref")}
    out["statement_date"] = parse_date(raw["statement_date"], "statement_date")
    out["due_date"] = parse_date(raw["due_date"], "due_date")
    for name in STATEMENT_MONEY:
        out[name] = parse_amount(raw[name], name)
    if out["due_date"] < out["statement_date"]:
        raise FieldProblem("due_date must not be before statement_date")
    if out["minimum_due"] > out["statement_balance"]:
        raise FieldProblem("minimum_due must not exceed statement_balance")
    return out


# --- CSV reading ------------------------------------------------------------------------------------


def _read_rows(
    path: Path, columns: tuple[str, ...], optional: frozenset[str], errors: _Collector
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, raw row) for each data line; header problems are reported as line 1."""
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        errors.add(0, f"cannot read the file: {exc.strerror}")
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            errors.add(1, "the file is empty: a header line is required")
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            errors.add(1, f"unreadable header: {exc}")
            return
        names = [h.strip() for h in header]
        unknown = [n for n in names if n not in columns]
        missing = [c for c in columns if c not in names and c not in optional]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if unknown:
            errors.add(1, f"unknown column(s): {', '.join(unknown)}")
        if missing:
            errors.add(1, f"missing column(s): {', '.join(missing)}")
        if duplicated:
            errors.add(1, f"duplicated column(s): {', '.join(duplicated)}")
        if unknown or missing or duplicated:
            return
        line = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                errors.add(line + 1, "not valid UTF-8")
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


def _insert(session: Session) -> Callable[[Any], Any]:
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


ProgressFn = Callable[[int], None]


def import_accounts(
    session: Session,
    path: Path,
    *,
    max_errors: int = 100,
    progress: ProgressFn | None = None,
    actor: Principal = SYSTEM,
) -> ImportSummary:
    """Validates the whole file, then upserts every account (and its customer) by account_ref."""
    errors = _Collector(max_errors)
    seen: dict[str, int] = {}
    count = 0
    for line, raw in _read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL, errors):
        try:
            values = validate_account_fields(raw)
        except FieldProblem as exc:
            errors.add(line, str(exc))
            continue
        first = seen.setdefault(values["account_ref"], line)
        if first != line:
            errors.add(line, f"account_ref {values['account_ref']!r} repeats line {first}")
        count += 1
    if errors.total:
        raise ImportRejected("accounts", errors.errors, errors.total)

    def typed() -> Iterator[dict[str, Any]]:
        for _, raw in _read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL, _Collector(1)):
            yield validate_account_fields(raw)

    written, customers = 0, 0
    for batch in _batches(typed(), BATCH_SIZE):
        customers += upsert_account_rows(session, batch)
        written += len(batch)
        if progress:
            progress(len(batch))
    audit.record(
        session,
        actor=actor,
        action="portfolio.accounts_imported",
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": written},
    )
    return ImportSummary("accounts", count, written, customers)


def upsert_account_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Set-based upsert of validated account rows; returns the number of customer refs touched."""
    insert = _insert(session)
    now = utcnow()
    customer_refs = sorted({r["customer_ref"] for r in rows})
    session.execute(
        insert(Customer.__table__)
        .values([{"customer_ref": ref, "created_at": now} for ref in customer_refs])
        .on_conflict_do_nothing(index_elements=["customer_ref"])
    )
    table = CardAccount.__table__
    payload = [
        {
            "account_ref": r["account_ref"],
            "customer_ref": r["customer_ref"],
            "product_code": r["product_code"],
            "status": r["status"],
            "region_code": r["region_code"],
            "opened_on": r["opened_on"],
            "credit_limit_fen": to_fen(r["credit_limit"]),
            "principal_balance_fen": to_fen(r["principal_balance"]),
            "interest_balance_fen": to_fen(r["interest_balance"]),
            "fee_balance_fen": to_fen(r["fee_balance"]),
            "delinquent_since": r["delinquent_since"],
            "last_payment_on": r["last_payment_on"],
            "updated_at": now,
        }
        for r in rows
    ]
    stmt = insert(table)
    updatable = [c for c in payload[0] if c != "account_ref"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_ref"], set_={c: stmt.excluded[c] for c in updatable}
    )
    session.execute(stmt, payload)
    return len(customer_refs)


def import_statements(
    session: Session,
    path: Path,
    *,
    max_errors: int = 100,
    progress: ProgressFn | None = None,
    actor: Principal = SYSTEM,
) -> ImportSummary:
    """Validates the whole file (accounts must exist), then upserts by (account_ref, statement_date)."""
    errors = _Collector(max_errors)
    seen: dict[tuple[str, date], int] = {}
    refs: dict[str, int] = {}
    count = 0
    for line, raw in _read_rows(path, STATEMENT_COLUMNS, frozenset(), errors):
        try:
            values = validate_statement_fields(raw)
        except FieldProblem as exc:
            errors.add(line, str(exc))
            continue
        key = (values["account_ref"], values["statement_date"])
        first = seen.setdefault(key, line)
        if first != line:
            errors.add(line, f"statement {key[0]!r} {key[1].isoformat()} repeats line {first}")
        refs.setdefault(values["account_ref"], line)
        count += 1
    known = _known_account_ids(session, list(refs))
    for ref, line in sorted(refs.items(), key=lambda item: item[1]):
        if ref not in known:
            errors.add(line, f"account_ref {ref!r} is not a known account (import accounts first)")
    if errors.total:
        raise ImportRejected("statements", sorted(errors.errors, key=lambda e: e.line), errors.total)

    def typed() -> Iterator[dict[str, Any]]:
        for _, raw in _read_rows(path, STATEMENT_COLUMNS, frozenset(), _Collector(1)):
            yield validate_statement_fields(raw)

    written = 0
    for batch in _batches(typed(), BATCH_SIZE):
        upsert_statement_rows(session, batch, known)
        written += len(batch)
        if progress:
            progress(len(batch))
    audit.record(
        session,
        actor=actor,
        action="portfolio.statements_imported",
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": written},
    )
    return ImportSummary("statements", count, written)


def _known_account_ids(session: Session, refs: list[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    for start in range(0, len(refs), 900):
        chunk = refs[start : start + 900]
        for account_id, ref in session.execute(
            select(CardAccount.id, CardAccount.account_ref).where(CardAccount.account_ref.in_(chunk))
        ):
            known[ref] = account_id
    return known


def upsert_statement_rows(session: Session, rows: list[dict[str, Any]], account_ids: dict[str, int]) -> None:
    insert = _insert(session)
    payload = [
        {
            "account_id": account_ids[r["account_ref"]],
            "statement_date": r["statement_date"],
            "due_date": r["due_date"],
            "statement_balance_fen": to_fen(r["statement_balance"]),
            "minimum_due_fen": to_fen(r["minimum_due"]),
            "paid_amount_fen": to_fen(r["paid_amount"]),
        }
        for r in rows
    ]
    stmt = insert(StatementRow.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "statement_date"],
        set_={
            c: stmt.excluded[c]
            for c in ("due_date", "statement_balance_fen", "minimum_due_fen", "paid_amount_fen")
        },
    )
    session.execute(stmt, payload)


def count_data_lines(path: Path) -> int:
    """Lines after the header, for a progress bar's total (cheap: counts newlines)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


# --- domain value objects from rows ------------------------------------------------------------------


def to_domain_account(row: CardAccount) -> Account:
    return Account(
        account_ref=row.account_ref,
        customer_ref=row.customer_ref,
        product_code=row.product_code,
        status=row.status,
        region_code=row.region_code,
        opened_on=row.opened_on,
        credit_limit=row.credit_limit,
        principal_balance=row.principal_balance,
        interest_balance=row.interest_balance,
        fee_balance=row.fee_balance,
        delinquent_since=row.delinquent_since,
        last_payment_on=row.last_payment_on,
    )


def to_domain_statement(row: StatementRow) -> Statement:
    return Statement(
        statement_date=row.statement_date,
        due_date=row.due_date,
        statement_balance=row.statement_balance,
        minimum_due=row.minimum_due,
        paid_amount=row.paid_amount,
    )
