"""Reading a decision's snapshot: the account, its statements, its plan history, the open disaster
events, its enrolments and the region code changes, in as few queries as the hot path allows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, func, literal_column, null, select, type_coerce, union_all
from sqlalchemy.orm import Session

from app.db import core_connection
from app.domain.model import Account, DisasterEvent, Statement
from app.domain.policy import Policy
from app.persistence import mappers, models
from app.services import clock, regions
from app.services.eligibility.snapshot import Snapshot
from app.services.errors import NotFound

__all__ = [
    "has_active_plan",
    "last_broken_plan_on",
    "load_snapshot",
    "plan_history",
    "read_evaluation",
    "snapshot_of",
]


def has_active_plan(session: Session, account_id: int) -> bool:
    """True when the account has an active installment plan."""
    return plan_history(session, account_id)[0]


def last_broken_plan_on(session: Session, account_id: int) -> date | None:
    """The day the account's most recently broken plan was broken, if any."""
    return plan_history(session, account_id)[1]


def plan_history(session: Session, account_id: int) -> tuple[bool, date | None]:
    """(has an active plan, the day its last broken plan was broken): one query."""
    plan = models.InstallmentPlan
    row = session.execute(
        select(
            func.count(case((plan.status == "active", 1))),
            func.max(case((plan.status == "broken", plan.ended_on))),
        ).where(plan.account_id == account_id)
    ).one()
    return row[0] > 0, row[1]


# The parts of ``_CONTEXT``, the decision's inputs besides the account: one query, one round trip.
_OPEN_EVENT_REGION, _ENROLLED_CODE, _OPERATOR_CODE_CHANGE = 0, 1, 2


def _context_parts(account_id: Any, before: Sequence[Any] = ()) -> list[Any]:
    """The selects of ``_CONTEXT``: the open events with their regions, the codes of the events the
    account (``account_id``, a bind parameter or an expression) is enrolled in, and the operators'
    region code changes, as rows (part, *before, event id, code, occurred_on, relief_start,
    relief_end, deferral_months, value): ``value`` is an event's region code, or a change's new code
    (``code`` being its old code); ``before`` are columns put in every row after the part."""
    event, region = models.DisasterEvent, models.DisasterRegion
    deferral, change = models.Deferral, models.RegionCodeChange
    missing = (null(), null(), null(), null(), null())
    open_event_regions: Any = (
        select(
            literal_column(str(_OPEN_EVENT_REGION)).label("part"),
            *before,
            event.id.label("event_id"),
            event.code.label("code"),
            event.occurred_on.label("occurred_on"),
            event.relief_start.label("relief_start"),
            event.relief_end.label("relief_end"),
            event.deferral_months.label("deferral_months"),
            region.region_code.label("value"),
        )
        .join(region, region.disaster_id == event.id)
        .where(event.status == "open")
    )
    enrolled_codes: Any = (
        select(literal_column(str(_ENROLLED_CODE)), *before, null(), event.code, *missing)
        .join(deferral, deferral.disaster_id == event.id)
        .where(deferral.account_id == account_id)
    )
    operator_changes: Any = select(
        literal_column(str(_OPERATOR_CODE_CHANGE)),
        *before,
        null(),
        change.old_code,
        *missing[:4],
        change.new_code,
    )
    return [open_event_regions, enrolled_codes, operator_changes]


def _context_query() -> Any:
    """The decision's context of the account ``account_id`` (``_context_parts``) in one query."""
    union = union_all(*_context_parts(bindparam("account_id")))
    c = union.selected_columns
    # The events in the order the rules see them (occurred_on, id), each with its codes sorted.
    return union.order_by(c.part, c.occurred_on, c.event_id, c.value)


def _statements_query() -> Any:
    s = models.Statement
    return (
        select(*mappers.DOMAIN_STATEMENT_COLUMNS)
        .where(s.account_id == bindparam("account_id"))
        .order_by(s.statement_date)
    )


def _account_with_statements_query() -> Any:
    a, s, plan = models.CardAccount, models.Statement, models.InstallmentPlan
    active_plan = select(plan.id).where(plan.account_id == a.id, plan.status == "active").exists()
    last_broken = (
        select(func.max(plan.ended_on))
        .where(plan.account_id == a.id, plan.status == "broken")
        .scalar_subquery()
    )
    return (
        select(
            a.id,
            *mappers.DOMAIN_ACCOUNT_COLUMNS,
            active_plan,
            last_broken,
            *mappers.DOMAIN_STATEMENT_COLUMNS,
            clock.PINNED_ON_COLUMN,
        )
        .outerjoin(s, s.account_id == a.id)
        .where(a.account_ref == bindparam("account_ref"))
        .order_by(s.statement_date)
    )


# The part of the account's rows in ``_EVALUATION`` (the context's parts are 0, 1, 2), and the number
# of the context's columns after its part.
_ACCOUNT_ROW = -1
_CONTEXT_WIDTH = 7


def _evaluation_query() -> Any:
    """``_account_with_statements_query`` and ``_CONTEXT`` in one statement (one round trip), the account
    found by ``account_ref``: rows (part, the account query's columns, the context query's columns
    after its part), each part's columns NULL in the other's rows; the account's rows first."""
    account_query = _account_with_statements_query()
    account_columns = list(account_query.selected_columns)
    context_columns = list(_context_parts(bindparam("account_id"))[0].selected_columns)[1:]
    account_types = [column.type for column in account_columns]
    context_types = [column.type for column in context_columns]
    assert len(context_types) == _CONTEXT_WIDTH
    account_rows = account_query.with_only_columns(
        literal_column(str(_ACCOUNT_ROW)).label("part"),
        *(column.label(f"a{n}") for n, column in enumerate(account_columns)),
        *(type_coerce(null(), type_).label(f"c{n}") for n, type_ in enumerate(context_types)),
        maintain_column_froms=True,
    ).order_by(None)
    account = models.CardAccount
    account_id = select(account.id).where(account.account_ref == bindparam("account_ref")).scalar_subquery()
    blanks = [type_coerce(null(), type_) for type_ in account_types]
    union = union_all(account_rows, *_context_parts(account_id, blanks))
    c = union.selected_columns
    statement_date = c[1 + account_columns.index(mappers.DOMAIN_STATEMENT_COLUMNS[0])]
    occurred_on, event_id, value = (c[1 + len(account_columns) + n] for n in (2, 0, 6))
    return union.order_by(c.part, statement_date, occurred_on, event_id, value)


# The statements of an evaluation, built once: building a select and its cache key cost more
# than running it.  They run on the session's connection, as Core (``core_connection``).
_CONTEXT = _context_query()
_STATEMENTS = _statements_query()
_EVALUATION = _evaluation_query()


def _decision_context(
    session: Session, account_id: int, policy: Policy
) -> tuple[tuple[DisasterEvent, ...], frozenset[str], dict[str, str]]:
    """The open events with their regions (an event without regions covers nothing), the codes of
    the events the account is enrolled in, and the region code changes (the policy's with the
    operators', ``regions.merge_code_changes``): one query."""
    rows = core_connection(session).execute(_CONTEXT, {"account_id": account_id})
    return _context_of(((row[0], row[1:]) for row in rows), policy)


def _context_of(
    rows: Iterable[tuple[int, Sequence[Any]]], policy: Policy
) -> tuple[tuple[DisasterEvent, ...], frozenset[str], dict[str, str]]:
    """The context from its rows, each as (part, the columns after the part)."""
    grouped: dict[int, tuple[Sequence[Any], list[str]]] = {}
    enrolled: list[str] = []
    operator_changes: list[tuple[str, str]] = []
    for part, row in rows:
        if part == _OPEN_EVENT_REGION:
            grouped.setdefault(row[0], (row, []))[1].append(row[6])
        elif part == _ENROLLED_CODE:
            enrolled.append(row[1])
        else:
            operator_changes.append((row[1], row[6]))
    events = tuple(
        DisasterEvent(
            code=row[1],
            occurred_on=row[2],
            relief_start=row[3],
            relief_end=row[4],
            deferral_months=row[5],
            region_codes=tuple(codes),
        )
        for row, codes in grouped.values()
    )
    return events, frozenset(enrolled), regions.merge_code_changes(policy, operator_changes)


def _statements(session: Session, account_id: int) -> tuple[Statement, ...]:
    rows = core_connection(session).execute(_STATEMENTS, {"account_id": account_id}).all()
    return tuple(mappers.statement_from_values(row) for row in rows)


def load_snapshot(
    session: Session,
    account: models.CardAccount,
    *,
    policy: Policy,
    on: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
) -> Snapshot:
    """Read everything the rules look at for ``account`` (a row the caller loaded, or locked)."""
    return snapshot_of(
        session,
        account.id,
        mappers.to_domain_account(account),
        _statements(session, account.id),
        policy=policy,
        on=on,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
    )


def snapshot_of(
    session: Session,
    account_id: int,
    account: Account,
    statements: tuple[Statement, ...],
    *,
    policy: Policy,
    on: date,
    hardship_reason: str | None,
    monthly_income: Decimal | None,
    requested_term: int | None,
    history: tuple[bool, date | None] | None = None,
    context: tuple[tuple[DisasterEvent, ...], frozenset[str], dict[str, str]] | None = None,
) -> Snapshot:
    active_plan, last_broken = plan_history(session, account_id) if history is None else history
    open_events, enrolled_codes, region_code_changes = (
        _decision_context(session, account_id, policy) if context is None else context
    )
    return Snapshot(
        account=account,
        statements=statements,
        open_events=open_events,
        enrolled_codes=enrolled_codes,
        region_code_changes=region_code_changes,
        has_active_plan=active_plan,
        last_broken_plan_on=last_broken,
        hardship_reason=hardship_reason,
        monthly_income=monthly_income,
        requested_term=requested_term,
        today=on,
    )


def _account_of(
    session: Session, rows: Sequence[Sequence[Any]]
) -> tuple[int, Account, tuple[Statement, ...], tuple[bool, date | None]]:
    """The account (as the domain sees it), its statements in date order and its plan history (as
    ``plan_history``) from the rows of ``_account_with_statements_query``."""
    first = rows[0]
    account = mappers.account_from_values(first[1:13])
    history = (bool(first[13]), first[14])
    statements = tuple(mappers.statement_from_values(row[15:20]) for row in rows if row[15] is not None)
    clock.today_given_pin(session, first[-1])  # the business date of this unit of work, read here
    return first[0], account, statements, history


@dataclass(frozen=True)
class EvaluationRead:
    """What ``read_evaluation`` read: the account, its statements in date order, its plan history,
    and the rows of the decision's context (``context``)."""

    account_id: int
    account: Account
    statements: tuple[Statement, ...]
    history: tuple[bool, date | None]
    context_rows: tuple[tuple[int, Sequence[Any]], ...]

    def context(self, policy: Policy) -> tuple[tuple[DisasterEvent, ...], frozenset[str], dict[str, str]]:
        """The open events, the account's enrolments and the region code changes under ``policy``."""
        return _context_of(self.context_rows, policy)


def read_evaluation(session: Session, account_ref: str) -> EvaluationRead:
    """The account with its statements and plan history, and the decision's context (as
    ``_decision_context``) in one query: everything an evaluation reads, in one round trip.
    NotFound for an unknown account."""
    rows = core_connection(session).execute(_EVALUATION, {"account_ref": account_ref}).all()
    width = len(rows[0]) if rows else 0
    context_start = width - _CONTEXT_WIDTH  # after the part and the account query's columns
    account_rows = [row[1:context_start] for row in rows if row[0] == _ACCOUNT_ROW]
    if not account_rows:
        raise NotFound(f"No account with account_ref {account_ref!r}.")
    account_id, account, statements, history = _account_of(session, account_rows)
    context_rows = tuple((row[0], row[context_start:]) for row in rows if row[0] != _ACCOUNT_ROW)
    return EvaluationRead(account_id, account, statements, history, context_rows)
