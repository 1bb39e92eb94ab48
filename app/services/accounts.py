"""Reading one account with everything the bank has arranged for it, and the single-account upsert."""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from app.db import core_connection, dialect_insert
from app.domain.disputes import is_overdue
from app.domain.model import Account, Statement
from app.domain.records import FieldProblem, check_account
from app.persistence import mappers
from app.persistence.models import (
    CardAccount,
    CreditDispute,
    Customer,
    Deferral,
    DisasterEvent,
    FeeWaiver,
    InstallmentPlan,
)
from app.persistence.models import Statement as StatementRow
from app.services import audit, clock
from app.services.clock import today, utcnow
from app.services.errors import FieldError, InvalidInput, NotFound
from app.services.principal import Principal


def get_account_row(session: Session, account_ref: str, *, with_statements: bool = False) -> CardAccount:
    query = select(CardAccount).where(CardAccount.account_ref == account_ref)
    if with_statements:
        query = query.options(selectinload(CardAccount.statements))
    account = session.scalar(query)
    if account is None:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    return account


def lock_account_row(session: Session, account_ref: str) -> CardAccount:
    """The account, locked for update on PostgreSQL, so that decisions on it are serialised."""
    account = session.scalar(
        select(CardAccount).where(CardAccount.account_ref == account_ref).with_for_update()
    )
    if account is None:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    return account


@dataclass(frozen=True)
class AccountView:
    """An account as its readers see it: the attributes of ``AccountRead`` (app/schemas/accounts.py),
    which GET /v1/accounts/{ref} reads from it and the web UI shows.  The account's own fields
    (``account_ref`` .. ``last_payment_on``, ``total_balance``) are read through from ``account`` (the
    properties below the class); each arrangement is a dict of its summary's fields."""

    account: Account
    statements: tuple[Statement, ...]
    arrangements: dict[str, list[dict[str, Any]]]
    as_of: date  # the business date the view was read on (days past due count to it)

    @property
    def days_past_due(self) -> int:
        return self.account.days_past_due_on(self.as_of)


# The account's own fields, read through from ``account`` (a property each: as fast as an attribute).
for _name in (*(f.name for f in dataclasses.fields(Account)), "total_balance"):
    setattr(AccountView, _name, property(operator.attrgetter(f"account.{_name}")))


def _has(model: Any) -> Any:
    """EXISTS (an arrangement of this kind for the account), as a column of the account query."""
    return select(model.id).where(model.account_id == CardAccount.id).exists()


def _view_query() -> Any:
    a, st = CardAccount, StatementRow
    return (
        select(
            a.id,
            *mappers.DOMAIN_ACCOUNT_COLUMNS,
            *(_has(model) for model in _ARRANGEMENT_MODELS),
            *mappers.DOMAIN_STATEMENT_COLUMNS,
            clock.PINNED_ON_COLUMN,
        )
        .outerjoin(st, st.account_id == a.id)
        .where(a.account_ref == bindparam("account_ref"))
        .order_by(st.statement_date)
    )


def _arrangement_queries() -> dict[str, Any]:
    """Each kind of arrangement of an account (``account_id``), its columns labelled as the fields of
    its summary in ``AccountRead.arrangements``; newest first, deferrals in the order they were made."""
    p, w, d, c, event = InstallmentPlan, FeeWaiver, Deferral, CreditDispute, DisasterEvent
    account_id: Any = bindparam("account_id")
    return {
        "installment_plans": select(
            p.id, p.status, p.term_months, p.start_on, p.principal_amount, p.total_amount
        )
        .where(p.account_id == account_id)
        .order_by(p.id.desc()),
        "fee_waivers": select(w.id, w.status, w.fee_amount, w.interest_amount, w.created_at)
        .where(w.account_id == account_id)
        .order_by(w.id.desc()),
        "deferrals": select(
            event.code.label("disaster_code"), d.deferred_amount, d.interest_waived, d.late_fees_waived
        )
        .join(event, event.id == d.disaster_id)
        .where(d.account_id == account_id)
        .order_by(d.id),
        "credit_disputes": select(c.id, c.status, c.bureau, c.reason_code, c.due_by)
        .where(c.account_id == account_id)
        .order_by(c.id.desc()),
    }


# In the order of the EXISTS columns of the view query and of ``AccountRead.arrangements``.
_ARRANGEMENT_MODELS = (InstallmentPlan, FeeWaiver, Deferral, CreditDispute)
# Built once: building these selects (and their cache keys) cost more than running them.
_VIEW_QUERY = _view_query()
_ARRANGEMENT_QUERIES = _arrangement_queries()


def _arrangement(kind: str, row: Any, on: date) -> dict[str, Any]:
    """One arrangement's summary: its columns, a waiver's time as ISO text, a dispute's overdue flag."""
    values: dict[str, Any] = row._asdict()
    if kind == "fee_waivers":
        values["created_at"] = row.created_at.isoformat()
    elif kind == "credit_disputes":
        values["overdue"] = is_overdue(row.status, row.due_by, on)
    return values


def view_account(session: Session, account_ref: str) -> AccountView:
    """The account, its statements and its arrangements.  One query (Core, no ORM objects) answers the
    account, its statements and which kinds of arrangement exist; each kind that exists costs one more
    query (most accounts have none)."""
    rows = core_connection(session).execute(_VIEW_QUERY, {"account_ref": account_ref}).all()
    if not rows:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    first = rows[0]
    account_id = first[0]
    account = mappers.account_from_values(first[1:13])
    exists = first[13:17]
    statements = tuple(mappers.statement_from_values(row[17:22]) for row in rows if row[17] is not None)
    on = clock.today_given_pin(session, first[-1])
    arrangements = {
        kind: (
            [_arrangement(kind, row, on) for row in session.execute(query, {"account_id": account_id})]
            if found
            else []
        )
        for (kind, query), found in zip(_ARRANGEMENT_QUERIES.items(), exists, strict=True)
    }
    return AccountView(account, statements, arrangements, on)


def upsert_account(
    session: Session, *, account_ref: str, values: dict[str, Any], actor: Principal
) -> tuple[AccountView, bool]:
    """Creates or replaces one account snapshot (and the statements given).  Returns (view, created).

    The account's rules are the CSV import's (``app.domain.records.check_account``); the schema has
    typed the fields and checked each statement."""
    try:
        check_account({"account_ref": account_ref, **values}, today(session))
    except FieldProblem as exc:
        where = "path.account_ref" if exc.field == "account_ref" else f"body.{exc.field}"
        raise InvalidInput(str(exc), [FieldError(where, str(exc))]) from None
    before_row = session.scalar(select(CardAccount).where(CardAccount.account_ref == account_ref))
    before = _snapshot(before_row) if before_row is not None else None
    statements = values.pop("statements", None)
    upsert_account_rows(session, [{"account_ref": account_ref, **values}])
    session.expire_all()
    account = get_account_row(session, account_ref)
    if statements:
        upsert_statement_rows(
            session, [{"account_ref": account_ref, **s} for s in statements], {account_ref: account.id}
        )
    audit.record(
        session,
        actor=actor,
        action="account.upserted",
        entity_type="card_account",
        entity_id=account_ref,
        before=before,
        after={**_snapshot(account), "statements_upserted": len(statements or [])},
    )
    session.expire_all()
    return view_account(session, account_ref), before_row is None


# Rows per statement of the row upserts below, for callers that load many (the demo).
ROW_BATCH = 5000


def upsert_account_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Upsert of validated account rows (Decimal money); returns the number of customer refs touched."""
    insert = dialect_insert(session)
    now = utcnow()
    customer_refs = sorted({r["customer_ref"] for r in rows})
    session.execute(
        insert(Customer.__table__).on_conflict_do_nothing(index_elements=["customer_ref"]),
        [{"customer_ref": ref, "created_at": now} for ref in customer_refs],
    )
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
    stmt = insert(CardAccount.__table__)
    updatable = [c for c in payload[0] if c != "account_ref"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_ref"], set_={c: stmt.excluded[c] for c in updatable}
    )
    session.execute(stmt, payload)
    return len(customer_refs)


def upsert_statement_rows(session: Session, rows: list[dict[str, Any]], account_ids: dict[str, int]) -> None:
    """Upsert of validated statement rows (Decimal money) of accounts whose ids are given."""
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
    stmt = dialect_insert(session)(StatementRow.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "statement_date"],
        set_={
            c: stmt.excluded[c]
            for c in ("due_date", "statement_balance_fen", "minimum_due_fen", "paid_amount_fen")
        },
    )
    session.execute(stmt, payload)


def _snapshot(account: CardAccount) -> dict[str, Any]:
    return {
        "status": account.status,
        "region_code": account.region_code,
        "product_code": account.product_code,
        "principal_balance": account.principal_balance,
        "interest_balance": account.interest_balance,
        "fee_balance": account.fee_balance,
        "delinquent_since": account.delinquent_since,
    }


# --- search ---------------------------------------------------------------------------------------

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class AccountHit:
    account_ref: str
    customer_ref: str
    status: str
    product_code: str
    total_balance: Decimal


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_accounts(session: Session, query: str, *, limit: int = SEARCH_LIMIT) -> list[AccountHit]:
    """Accounts whose account_ref is `query` or starts with it, or whose customer_ref is `query`."""
    rows = session.scalars(
        select(CardAccount)
        .where(
            or_(
                CardAccount.account_ref == query,
                CardAccount.customer_ref == query,
                CardAccount.account_ref.like(_escape_like(query) + "%", escape="\\"),
            )
        )
        .order_by(CardAccount.account_ref)
        .limit(limit)
    ).all()
    return [
        AccountHit(
            account_ref=r.account_ref,
            customer_ref=r.customer_ref,
            status=r.status,
            product_code=r.product_code,
            total_balance=r.principal_balance + r.interest_balance + r.fee_balance,
        )
        for r in rows
    ]


def accounts_of_customer(session: Session, customer_ref: str) -> list[str]:
    """The account refs a customer holds (for "other cards of this customer")."""
    return list(
        session.scalars(
            select(CardAccount.account_ref)
            .where(CardAccount.customer_ref == customer_ref)
            .order_by(CardAccount.account_ref)
        )
    )
