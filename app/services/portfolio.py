"""The portfolio from the card system of record: CSV bulk import and single-account upsert.

Import is all-or-nothing per file, in one transaction: a first pass reads and validates every line
(naming each bad one) and stages the good ones in a temporary table; the checks that need the whole
file (repeated keys, unknown accounts) run on that table; only when every line is good does one
set-based upsert per table copy the staged rows into the real tables."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    func,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.errors import InvalidMoney
from app.domain.model import Account, Statement
from app.domain.money import parse_money
from app.domain.reasons import AccountStatus
from app.domain.regions import is_valid_region_code
from app.persistence.models import CardAccount, Customer, UtcDateTime
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
    if "\ufffd" in value:
        # U+FFFD is what a decoder leaves of invalid UTF-8: never part of a real reference.
        raise FieldProblem(f"{name} is not valid UTF-8 text")
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


def _read_rows(
    path: Path, columns: tuple[str, ...], optional: frozenset[str], errors: _Collector
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, raw row) for each data line; header problems are reported as line 1."""
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


def refresh_planner_statistics(session: Session) -> None:
    """PostgreSQL plans portfolio-wide queries from table statistics; after a bulk load they are stale
    until autovacuum catches up (a scan was measured 2x slower, its baseline 100x).  ANALYZE is
    transactional there, so it joins the import's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        for table in ("customer", "card_account", "statement"):
            session.execute(text(f"ANALYZE {table}"))


def _insert(session: Session) -> Callable[..., Any]:
    """The dialect's insert(), which has on_conflict_do_update / on_conflict_do_nothing."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    insert: Callable[..., Any] = module.insert
    return insert


# --- staging: the whole file is checked before anything is written ---------------------------------

_stage_metadata = MetaData()
ACCOUNT_STAGE = Table(
    "hardship_import_account",
    _stage_metadata,
    Column("line", Integer, nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("customer_ref", String(64), nullable=False),
    Column("product_code", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("credit_limit_fen", BigInteger, nullable=False),
    Column("principal_balance_fen", BigInteger, nullable=False),
    Column("interest_balance_fen", BigInteger, nullable=False),
    Column("fee_balance_fen", BigInteger, nullable=False),
    Column("delinquent_since", Date),
    Column("last_payment_on", Date),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
STATEMENT_STAGE = Table(
    "hardship_import_statement",
    _stage_metadata,
    Column("line", Integer, nullable=False),
    Column("account_ref", String(64), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("statement_balance_fen", BigInteger, nullable=False),
    Column("minimum_due_fen", BigInteger, nullable=False),
    Column("paid_amount_fen", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


class _Stage:
    """A temporary table holding a file's valid lines, with their line numbers, in the importing
    transaction.  Checks that need the whole file (repeated keys, unknown accounts) run on it in SQL,
    and the real tables get one set-based upsert from it only when the whole file is good.  Loaded
    with COPY on PostgreSQL and executemany on SQLite; dates travel as ISO text, money as fen."""

    def __init__(self, session: Session, table: Table) -> None:
        self.connection = session.connection()
        self.table = table
        self.postgresql = self.connection.dialect.name == "postgresql"
        self.rows: list[tuple[Any, ...]] = []
        self.drop()  # a leftover of an earlier import in this transaction
        table.create(self.connection)
        if self.postgresql:
            # Sorting and hashing a million keys in memory rather than in temporary files.
            self.connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        names = ", ".join(c.name for c in self.table.columns)
        if self.postgresql:
            driver = self.connection.connection.driver_connection
            assert driver is not None
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY {self.table.name} ({names}) FROM STDIN") as copy,
            ):
                for row in self.rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in self.table.columns)
            self.connection.exec_driver_sql(
                f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})", self.rows
            )
        self.rows = []

    def finish_loading(self) -> None:
        self.flush()
        if self.postgresql:  # autovacuum never analyses temporary tables: the planner needs the counts
            self.connection.exec_driver_sql(f"ANALYZE {self.table.name}")

    def repeated_keys(
        self, key: tuple[str, ...], limit: int
    ) -> tuple[list[tuple[int, int, tuple[Any, ...]]], int]:
        """(line, first line of the same key, key) for each line repeating an earlier line's key: the
        first `limit` by line, and how many there are."""
        t = self.table
        key_columns = [t.c[name] for name in key]
        any_repeat = select(*key_columns).group_by(*key_columns).having(func.count() > 1).limit(1)
        if self.connection.execute(any_repeat).first() is None:  # the usual case, and a cheap question
            return [], 0
        first = func.min(t.c.line).over(partition_by=key_columns).label("first_line")
        ranked = select(t.c.line, first, *key_columns).subquery()
        repeats = select(ranked).where(ranked.c.line != ranked.c.first_line)
        total = self.connection.execute(select(func.count()).select_from(repeats.subquery())).scalar_one()
        rows = self.connection.execute(repeats.order_by(ranked.c.line).limit(limit)).all()
        return [(row[0], row[1], tuple(row[2:])) for row in rows], int(total)

    def drop(self) -> None:
        # Schema-qualified, so that it can only ever name the temporary table.
        schema = "pg_temp" if self.postgresql else "temp"
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{self.table.name}")


def _fen(amount: Decimal) -> int:
    """Fen of an amount parse_money accepted (at most two decimals, so exact)."""
    return int(amount.scaleb(2))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


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
    stage = _Stage(session, ACCOUNT_STAGE)
    count, pending = 0, 0
    for line, raw in _read_rows(path, ACCOUNT_COLUMNS, ACCOUNT_OPTIONAL, errors):
        pending += 1
        try:
            v = validate_account_fields(raw)
        except FieldProblem as exc:
            errors.add(line, str(exc))
            continue
        stage.add(
            (
                line,
                v["account_ref"],
                v["customer_ref"],
                v["product_code"],
                v["status"],
                v["region_code"],
                v["opened_on"].isoformat(),
                _fen(v["credit_limit"]),
                _fen(v["principal_balance"]),
                _fen(v["interest_balance"]),
                _fen(v["fee_balance"]),
                _iso(v["delinquent_since"]),
                _iso(v["last_payment_on"]),
            )
        )
        count += 1
        if progress and pending >= BATCH_SIZE:
            progress(pending)
            pending = 0
    stage.finish_loading()
    repeats, repeat_total = stage.repeated_keys(("account_ref",), max_errors)
    extra = [LineError(line, f"account_ref {key[0]!r} repeats line {first}") for line, first, key in repeats]
    _reject_if_bad(stage, "accounts", errors, extra, repeat_total)

    s = ACCOUNT_STAGE
    now = utcnow()
    insert = _insert(session)
    customer_refs = select(s.c.customer_ref).distinct().subquery()
    customers = session.execute(select(func.count()).select_from(customer_refs)).scalar_one()
    session.execute(
        insert(Customer.__table__)
        .from_select(
            ["customer_ref", "created_at"],
            select(customer_refs.c.customer_ref, literal(now, UtcDateTime))
            .where(true())
            .order_by(customer_refs.c.customer_ref),
        )
        .on_conflict_do_nothing(index_elements=["customer_ref"])
    )
    table = CardAccount.__table__
    copied = [c.name for c in s.columns if c.name != "line"]
    upsert = insert(table).from_select(
        [*copied, "updated_at"],
        select(*(s.c[name] for name in copied), literal(now, UtcDateTime)).where(true()).order_by(s.c.line),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["account_ref"],
        set_={name: upsert.excluded[name] for name in [*copied, "updated_at"] if name != "account_ref"},
    )
    session.execute(upsert)
    stage.drop()
    if progress and pending:
        progress(pending)
    refresh_planner_statistics(session)
    audit.record(
        session,
        actor=actor,
        action="portfolio.accounts_imported",
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": count},
    )
    return ImportSummary("accounts", count, count, int(customers))


def _reject_if_bad(
    stage: _Stage, kind: str, errors: _Collector, extra: list[LineError], extra_total: int
) -> None:
    """Raises ImportRejected (and drops the staged rows) when any line is bad."""
    total = errors.total + extra_total
    if not total:
        return
    stage.drop()
    reported = sorted([*errors.errors, *extra], key=lambda e: e.line)[: errors.limit]
    raise ImportRejected(kind, reported, total)


def upsert_account_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Upsert of validated account rows (Decimal money); returns the number of customer refs touched."""
    insert = _insert(session)
    now = utcnow()
    customer_refs = sorted({r["customer_ref"] for r in rows})
    session.execute(
        insert(Customer.__table__).on_conflict_do_nothing(index_elements=["customer_ref"]),
        [{"customer_ref": ref, "created_at": now} for ref in customer_refs],
    )
    table = CardAccount.__table__
    # The money columns are of type Money: they take Decimal amounts and store fen themselves.
    payload = [
        {
            "account_ref": r["account_ref"],
            "customer_ref": r["customer_ref"],
            "product_code": r["product_code"],
            "status": r["status"],
            "region_code": r["region_code"],
            "opened_on": r["opened_on"],
            "credit_limit_fen": r["credit_limit"],
            "principal_balance_fen": r["principal_balance"],
            "interest_balance_fen": r["interest_balance"],
            "fee_balance_fen": r["fee_balance"],
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
    stage = _Stage(session, STATEMENT_STAGE)
    count, pending = 0, 0
    for line, raw in _read_rows(path, STATEMENT_COLUMNS, frozenset(), errors):
        pending += 1
        try:
            v = validate_statement_fields(raw)
        except FieldProblem as exc:
            errors.add(line, str(exc))
            continue
        stage.add(
            (
                line,
                v["account_ref"],
                v["statement_date"].isoformat(),
                v["due_date"].isoformat(),
                _fen(v["statement_balance"]),
                _fen(v["minimum_due"]),
                _fen(v["paid_amount"]),
            )
        )
        count += 1
        if progress and pending >= BATCH_SIZE:
            progress(pending)
            pending = 0
    stage.finish_loading()
    s = STATEMENT_STAGE
    repeats, repeat_total = stage.repeated_keys(("account_ref", "statement_date"), max_errors)
    extra = [
        LineError(line, f"statement {key[0]!r} {_date_text(key[1])} repeats line {first}")
        for line, first, key in repeats
    ]
    # Each unknown account is named once, on the first line that refers to it.
    unknown = (
        select(s.c.account_ref, func.min(s.c.line).label("first_line"))
        .outerjoin(CardAccount, CardAccount.account_ref == s.c.account_ref)
        .where(CardAccount.id.is_(None))
        .group_by(s.c.account_ref)
    )
    unknown_total = session.execute(select(func.count()).select_from(unknown.subquery())).scalar_one()
    if unknown_total:
        for ref, line in session.execute(unknown.order_by("first_line").limit(max_errors)):
            extra.append(
                LineError(line, f"account_ref {ref!r} is not a known account (import accounts first)")
            )
    _reject_if_bad(stage, "statements", errors, extra, repeat_total + unknown_total)

    insert = _insert(session)
    copied = ("statement_date", "due_date", "statement_balance_fen", "minimum_due_fen", "paid_amount_fen")
    upsert = insert(StatementRow.__table__).from_select(
        ["account_id", *copied],
        select(CardAccount.id, *(s.c[name] for name in copied))
        .join_from(s, CardAccount, CardAccount.account_ref == s.c.account_ref)
        .where(true())
        .order_by(s.c.line),
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["account_id", "statement_date"],
        set_={name: upsert.excluded[name] for name in copied if name != "statement_date"},
    )
    session.execute(upsert)
    stage.drop()
    if progress and pending:
        progress(pending)
    refresh_planner_statistics(session)
    audit.record(
        session,
        actor=actor,
        action="portfolio.statements_imported",
        entity_type="import",
        entity_id=path.name[:64],
        after={"rows": count},
    )
    return ImportSummary("statements", count, count)


def _date_text(value: date | str) -> str:
    """A staged date as YYYY-MM-DD (SQLite hands it back as text, PostgreSQL as a date)."""
    return value if isinstance(value, str) else value.isoformat()


def upsert_statement_rows(session: Session, rows: list[dict[str, Any]], account_ids: dict[str, int]) -> None:
    """Upsert of validated statement rows (Decimal money) of accounts whose ids are given."""
    insert = _insert(session)
    # The money columns are of type Money: they take Decimal amounts and store fen themselves.
    payload = [
        {
            "account_id": account_ids[r["account_ref"]],
            "statement_date": r["statement_date"],
            "due_date": r["due_date"],
            "statement_balance_fen": r["statement_balance"],
            "minimum_due_fen": r["minimum_due"],
            "paid_amount_fen": r["paid_amount"],
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


# Columns in the order of the domain's fields, for Core selects that skip the ORM's objects (the
# hot read paths: GET /v1/accounts/{ref}, eligibility).
DOMAIN_ACCOUNT_COLUMNS: tuple[Any, ...] = (
    CardAccount.account_ref,
    CardAccount.customer_ref,
    CardAccount.product_code,
    CardAccount.status,
    CardAccount.region_code,
    CardAccount.opened_on,
    CardAccount.credit_limit,
    CardAccount.principal_balance,
    CardAccount.interest_balance,
    CardAccount.fee_balance,
    CardAccount.delinquent_since,
    CardAccount.last_payment_on,
)
DOMAIN_STATEMENT_COLUMNS: tuple[Any, ...] = (
    StatementRow.statement_date,
    StatementRow.due_date,
    StatementRow.statement_balance,
    StatementRow.minimum_due,
    StatementRow.paid_amount,
)


def account_from_values(values: Sequence[Any]) -> Account:
    """The domain account from the values of DOMAIN_ACCOUNT_COLUMNS, in that order."""
    return Account(*values)


def statement_from_values(values: Sequence[Any]) -> Statement:
    """The domain statement from the values of DOMAIN_STATEMENT_COLUMNS, in that order."""
    return Statement(*values)
