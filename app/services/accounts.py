"""Reading one account with everything the bank has arranged for it, and the single-account upsert."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from app.db import core_connection
from app.domain.disputes import is_overdue
from app.domain.model import Account, Statement
from app.domain.money import format_money
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
from app.services import audit
from app.services.clock import today, utcnow
from app.services.errors import FieldError, InvalidInput, NotFound
from app.services.imports.pipeline import dialect_insert
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


@dataclass
class AccountView:
    account: Account
    statements: tuple[Statement, ...]
    arrangements: dict[str, list[dict[str, Any]]]
    as_of: date  # the business date the view was read on (days past due count to it)

    def as_dict(self) -> dict[str, Any]:
        """The account with its statements and arrangements, amounts as Decimal (the web UI, PUT)."""
        return self._fields(_unchanged)

    def to_json(self) -> dict[str, Any]:
        """The answer of GET /v1/accounts/{ref} as JSON values, in the fields and order of
        ``AccountRead`` (money as ``format_money`` text, what ``MoneyOut`` gives)."""
        return self._fields(format_money)

    def _fields(self, money: Callable[[Decimal], Any]) -> dict[str, Any]:
        a = self.account
        arrangements = self.arrangements
        return {
            "account_ref": a.account_ref,
            "customer_ref": a.customer_ref,
            "product_code": a.product_code,
            "status": a.status,
            "region_code": a.region_code,
            "opened_on": a.opened_on,
            "credit_limit": money(a.credit_limit),
            "principal_balance": money(a.principal_balance),
            "interest_balance": money(a.interest_balance),
            "fee_balance": money(a.fee_balance),
            "total_balance": money(a.total_balance),
            "delinquent_since": a.delinquent_since,
            "last_payment_on": a.last_payment_on,
            "days_past_due": a.days_past_due_on(self.as_of),
            "statements": [
                {
                    "statement_date": s.statement_date,
                    "due_date": s.due_date,
                    "statement_balance": money(s.statement_balance),
                    "minimum_due": money(s.minimum_due),
                    "paid_amount": money(s.paid_amount),
                    "unpaid_amount": money(s.unpaid_amount),
                }
                for s in self.statements
            ],
            "arrangements": {
                "installment_plans": [
                    {
                        **p,
                        "principal_amount": money(p["principal_amount"]),
                        "total_amount": money(p["total_amount"]),
                    }
                    for p in arrangements["installment_plans"]
                ],
                "fee_waivers": [
                    {
                        **w,
                        "fee_amount": money(w["fee_amount"]),
                        "interest_amount": money(w["interest_amount"]),
                    }
                    for w in arrangements["fee_waivers"]
                ],
                "deferrals": [
                    {
                        **d,
                        "deferred_amount": money(d["deferred_amount"]),
                        "interest_waived": money(d["interest_waived"]),
                        "late_fees_waived": money(d["late_fees_waived"]),
                    }
                    for d in arrangements["deferrals"]
                ],
                "credit_disputes": arrangements["credit_disputes"],
            },
        }


def _unchanged(amount: Decimal) -> Decimal:
    return amount


def _has(model: Any) -> Any:
    """EXISTS (an arrangement of this kind for the account), as a column of the account query."""
    return select(model.id).where(model.account_id == CardAccount.id).exists()


def _view_query() -> Any:
    a, st = CardAccount, StatementRow
    return (
        select(
            a.id,
            *mappers.DOMAIN_ACCOUNT_COLUMNS,
            _has(InstallmentPlan),
            _has(FeeWaiver),
            _has(Deferral),
            _has(CreditDispute),
            *mappers.DOMAIN_STATEMENT_COLUMNS,
        )
        .outerjoin(st, st.account_id == a.id)
        .where(a.account_ref == bindparam("account_ref"))
        .order_by(st.statement_date)
    )


# Built once: building this select (and its cache key) cost more than running it.
_VIEW_QUERY = _view_query()


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
    has_plans, has_waivers, has_deferrals, has_disputes = first[13:17]
    statements = tuple(mappers.statement_from_values(row[17:22]) for row in rows if row[17] is not None)

    plans: Sequence[Any] = ()
    if has_plans:
        p = InstallmentPlan
        plans = session.execute(
            select(p.id, p.status, p.term_months, p.start_on, p.principal_amount, p.total_amount)
            .where(p.account_id == account_id)
            .order_by(p.id.desc())
        ).all()
    waivers: Sequence[Any] = ()
    if has_waivers:
        w = FeeWaiver
        waivers = session.execute(
            select(w.id, w.status, w.fee_amount, w.interest_amount, w.created_at)
            .where(w.account_id == account_id)
            .order_by(w.id.desc())
        ).all()
    deferrals: Sequence[Any] = ()
    if has_deferrals:
        d = Deferral
        deferrals = session.execute(
            select(DisasterEvent.code, d.deferred_amount, d.interest_waived, d.late_fees_waived)
            .join(DisasterEvent, DisasterEvent.id == d.disaster_id)
            .where(d.account_id == account_id)
            .order_by(d.id)
        ).all()
    disputes: Sequence[Any] = ()
    if has_disputes:
        c = CreditDispute
        disputes = session.execute(
            select(c.id, c.status, c.bureau, c.reason_code, c.due_by)
            .where(c.account_id == account_id)
            .order_by(c.id.desc())
        ).all()
    on = today(session)
    arrangements: dict[str, list[dict[str, Any]]] = {
        "installment_plans": [
            {
                "id": p.id,
                "status": p.status,
                "term_months": p.term_months,
                "start_on": p.start_on,
                "principal_amount": p.principal_amount,
                "total_amount": p.total_amount,
            }
            for p in plans
        ],
        "fee_waivers": [
            {
                "id": w.id,
                "status": w.status,
                "fee_amount": w.fee_amount,
                "interest_amount": w.interest_amount,
                "created_at": w.created_at.isoformat(),
            }
            for w in waivers
        ],
        "deferrals": [
            {
                "disaster_code": d.code,
                "deferred_amount": d.deferred_amount,
                "interest_waived": d.interest_waived,
                "late_fees_waived": d.late_fees_waived,
            }
            for d in deferrals
        ],
        "credit_disputes": [
            {
                "id": c.id,
                "status": c.status,
                "bureau": c.bureau,
                "reason_code": c.reason_code,
                "due_by": c.due_by,
                "overdue": is_overdue(c.status, c.due_by, on),
            }
            for c in disputes
        ],
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
