"""Credit-report disputes (DOMAIN.md, "Credit-report disputes for a disaster").

For a disaster, one dispute per account that is enrolled in the event's deferral and whose
``delinquent_since`` lies in [occurred_on, relief_end] (the domain's ``disaster_dispute_period``,
applied here in one set-based ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``): bureau and reason
from the policy, the disputed period from delinquent_since to relief_end, ``due_by`` = the day it is
submitted + the policy's due days (20 for the PBOC CRC). The unique (account_id, disaster_id) makes
asking again, even concurrently, record nothing twice. Agents may also file single cases (no event).
Every transition goes through the domain state machine and is audited; an open dispute past its
due date is overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, literal, select
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.domain.disputes import OPEN_DISPUTE_STATUSES, DisputeStatus, dispute_due_by, is_overdue
from app.domain.disputes import transition_dispute as next_status
from app.domain.errors import InvalidTransition
from app.domain.events import EventType
from app.domain.policy import DisputePolicy
from app.persistence.models import CardAccount, CreditDispute, Deferral, DisasterEvent
from app.schemas.disputes import DisputeRead
from app.services import audit, events
from app.services.accounts import get_account_row
from app.services.clock import today, utcnow
from app.services.disasters import get_event_row
from app.services.errors import Conflict, FieldError, InvalidInput, NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = [
    "DISPUTE_CSV_HEADER",
    "DisputeView",
    "create_dispute",
    "dispute_csv_rows",
    "file_for_disaster",
    "get_dispute",
    "list_disputes",
    "transition_dispute",
]

STATUSES = tuple(status.value for status in DisputeStatus)
OPEN = tuple(status.value for status in OPEN_DISPUTE_STATUSES)
MAX_EVIDENCE = 20
DISPUTE_CSV_HEADER = (
    "id",
    "account_ref",
    "disaster_code",
    "bureau",
    "reason_code",
    "status",
    "period_start",
    "period_end",
    "submitted_on",
    "due_by",
    "overdue",
)


@dataclass(frozen=True)
class DisputeView:
    id: int
    account_ref: str
    disaster_code: str | None
    bureau: str
    reason_code: str
    status: str
    period_start: date
    period_end: date
    submitted_on: date
    due_by: date
    overdue: bool
    description: str | None
    evidence_refs: list[str]
    resolution_note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    def as_row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.account_ref,
            self.disaster_code,
            self.bureau,
            self.reason_code,
            self.status,
            self.period_start,
            self.period_end,
            self.submitted_on,
            self.due_by,
            self.overdue,
        )


def _query() -> Any:
    return (
        select(CreditDispute, CardAccount.account_ref, DisasterEvent.code)
        .join(CardAccount, CardAccount.id == CreditDispute.account_id)
        .outerjoin(DisasterEvent, DisasterEvent.id == CreditDispute.disaster_id)
    )


def _view(row: Any, on: date) -> DisputeView:
    dispute, account_ref, code = row[0], row[1], row[2]
    return DisputeView(
        id=dispute.id,
        account_ref=account_ref,
        disaster_code=code,
        bureau=dispute.bureau,
        reason_code=dispute.reason_code,
        status=dispute.status,
        period_start=dispute.period_start,
        period_end=dispute.period_end,
        submitted_on=dispute.submitted_on,
        due_by=dispute.due_by,
        overdue=is_overdue(dispute.status, dispute.due_by, on),
        description=dispute.description,
        evidence_refs=list(dispute.evidence_refs or []),
        resolution_note=dispute.resolution_note,
        created_by=dispute.created_by,
        created_at=dispute.created_at,
        updated_at=dispute.updated_at,
    )


def _event_data(view: DisputeView) -> Any:
    """A dispute as GET /v1/credit-disputes/{id} answers it (an event's data)."""
    return DisputeRead.model_validate(view).model_dump(mode="json")


def file_for_disaster(
    session: Session, *, disaster_code: str, actor: Principal, policies: PolicyStore
) -> tuple[int, int]:
    """Record the event's disputes in one statement; returns (created, existing)."""
    event = get_event_row(session, disaster_code)
    on = today(session)
    rules = policies.in_force(on).disputes
    due_by = dispute_due_by(on, rules.due_days)
    qualifying = _qualifying(event)
    total = (
        session.scalar(
            select(func.count())
            .select_from(Deferral)
            .join(CardAccount, CardAccount.id == Deferral.account_id)
            .where(qualifying)
        )
        or 0
    )
    source = _dispute_rows(qualifying, event, rules, on=on, due_by=due_by, actor=actor, now=utcnow())
    created_ids = _insert_disputes(session, source)
    created = len(created_ids)
    existing = max(0, total - created)
    events.emit_many(
        session,
        [
            events.EventDraft(EventType.DISPUTE_RECORDED.value, view.account_ref, _event_data(view))
            for view in _created_views(session, event.id, created_ids, on)
        ],
    )
    audit.record(
        session,
        actor=actor,
        action="credit_disputes.filed",
        entity_type="disaster_event",
        entity_id=disaster_code,
        after={
            "created": created,
            "existing": existing,
            "bureau": rules.bureau,
            "reason_code": rules.reason_code,
            "submitted_on": on,
            "due_by": due_by,
        },
    )
    return created, existing


def _qualifying(event: DisasterEvent) -> Any:
    """The deferrals of the event whose account fell delinquent in [occurred_on, relief_end]
    (the domain's ``disaster_dispute_period``), as a condition on Deferral joined to CardAccount."""
    return and_(
        Deferral.disaster_id == event.id,
        CardAccount.delinquent_since.is_not(None),
        CardAccount.delinquent_since >= event.occurred_on,
        CardAccount.delinquent_since <= event.relief_end,
    )


_FILED_COLUMNS = [
    "account_id",
    "disaster_id",
    "bureau",
    "reason_code",
    "status",
    "period_start",
    "period_end",
    "submitted_on",
    "due_by",
    "created_by",
    "created_person",
    "created_at",
    "updated_at",
]


def _dispute_rows(
    qualifying: Any,
    event: DisasterEvent,
    rules: DisputePolicy,
    *,
    on: date,
    due_by: date,
    actor: Principal,
    now: datetime,
) -> Any:
    """A SELECT of the disputes to file (the columns of ``_FILED_COLUMNS``), one per qualifying
    account: the policy's bureau and reason, the period from delinquent_since to relief_end."""
    return (
        select(
            Deferral.account_id,
            Deferral.disaster_id,
            literal(rules.bureau).label("bureau"),
            literal(rules.reason_code).label("reason_code"),
            literal(DisputeStatus.SUBMITTED.value).label("status"),
            CardAccount.delinquent_since,
            literal(event.relief_end).label("period_end"),
            literal(on).label("submitted_on"),
            literal(due_by).label("due_by"),
            literal(actor.actor).label("created_by"),
            literal(actor.person).label("created_person"),
            literal(now, CreditDispute.created_at.type).label("created_at"),
            literal(now, CreditDispute.updated_at.type).label("updated_at"),
        )
        .join(CardAccount, CardAccount.id == Deferral.account_id)
        .where(qualifying)
        .order_by(Deferral.account_id)
    )


def _insert_disputes(session: Session, source: Any) -> list[int]:
    """INSERT ... SELECT ... ON CONFLICT DO NOTHING: the ids of the disputes it created, in order (an
    account that has its dispute for the event already gets none)."""
    table = cast(Table, CreditDispute.__table__)
    statement = (
        dialect_insert(session)(table)
        .from_select(_FILED_COLUMNS, source)
        .on_conflict_do_nothing(index_elements=["account_id", "disaster_id"])
    )
    # Count what RETURNING gives back: psycopg reports no rowcount for INSERT ... SELECT here.
    return sorted(session.scalars(statement.returning(table.c.id)).all())


def _created_views(session: Session, disaster_id: int, created_ids: list[int], on: date) -> list[DisputeView]:
    """The disputes just created (``created_ids``, in order), as the API shows them."""
    if not created_ids:
        return []
    # Read back by the id range (an IN list of every id would exceed SQLite's parameter limit).
    rows = session.execute(
        _query()
        .where(
            CreditDispute.disaster_id == disaster_id,
            CreditDispute.id.between(created_ids[0], created_ids[-1]),
        )
        .order_by(CreditDispute.id)
    ).all()
    mine = set(created_ids)
    return [_view(row, on) for row in rows if row[0].id in mine]


def create_dispute(
    session: Session,
    *,
    account_ref: str,
    bureau: str,
    reason_code: str,
    period_start: date,
    period_end: date,
    description: str | None,
    evidence_refs: Sequence[str] | None,
    actor: Principal,
    policies: PolicyStore,
) -> DisputeView:
    """File one case for an account (not tied to an event); due_by from the policy's due days."""
    errors: list[FieldError] = []
    if period_end < period_start:
        errors.append(FieldError("period_end", "must not be before period_start", "dispute.period_order"))
    refs = list(evidence_refs or [])
    if len(refs) > MAX_EVIDENCE or any(not ref.strip() or len(ref) > 200 for ref in refs):
        errors.append(
            FieldError(
                "evidence_refs",
                f"at most {MAX_EVIDENCE} references of 1-200 characters",
                "dispute.evidence",
                {"max": MAX_EVIDENCE},
            )
        )
    if not bureau.strip() or len(bureau) > 32:
        errors.append(FieldError("bureau", "1 to 32 characters", "field.length", {"low": 1, "high": 32}))
    if not reason_code.strip() or len(reason_code) > 64:
        errors.append(FieldError("reason_code", "1 to 64 characters", "field.length", {"low": 1, "high": 64}))
    if errors:
        raise InvalidInput(
            "The dispute has invalid fields: " + ", ".join(e.field for e in errors),
            errors,
            code="dispute.invalid",
        )
    account = get_account_row(session, account_ref)
    on = today(session)
    now = utcnow()
    dispute = CreditDispute(
        account_id=account.id,
        disaster_id=None,
        bureau=bureau.strip(),
        reason_code=reason_code.strip(),
        status=DisputeStatus.SUBMITTED.value,
        period_start=period_start,
        period_end=period_end,
        submitted_on=on,
        due_by=dispute_due_by(on, policies.in_force(on).disputes.due_days),
        description=description,
        evidence_refs=refs,
        created_by=actor.actor,
        created_person=actor.person,
        created_at=now,
        updated_at=now,
    )
    session.add(dispute)
    session.flush()
    view = get_dispute(session, dispute.id)
    events.emit(session, type=EventType.DISPUTE_RECORDED, subject=account_ref, data=_event_data(view))
    audit.record(
        session,
        actor=actor,
        action="credit_dispute.created",
        entity_type="credit_dispute",
        entity_id=dispute.id,
        after={
            "account_ref": account_ref,
            "bureau": view.bureau,
            "reason_code": view.reason_code,
            "period_start": period_start,
            "period_end": period_end,
            "due_by": view.due_by,
            "evidence_refs": refs,
        },
    )
    return view


def _filtered(disaster_code: str | None, status: str | None, overdue: bool | None, on: date) -> Any:
    if status is not None and status not in STATUSES:
        raise InvalidInput("unknown status", [FieldError("query.status", "one of " + ", ".join(STATUSES))])
    query = _query()
    if disaster_code is not None:
        query = query.where(DisasterEvent.code == disaster_code)
    if status is not None:
        query = query.where(CreditDispute.status == status)
    if overdue is True:
        query = query.where(CreditDispute.status.in_(OPEN), CreditDispute.due_by < on)
    elif overdue is False:
        query = query.where(~and_(CreditDispute.status.in_(OPEN), CreditDispute.due_by < on))
    return query


def list_disputes(
    session: Session,
    *,
    disaster_code: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[DisputeView]:
    """A page of disputes in filing order; filter by event, status, or overdue (open and past due_by)."""
    on = today(session)
    query = _filtered(disaster_code, status, overdue, on).where(CreditDispute.id > after_id)
    rows = session.execute(query.order_by(CreditDispute.id).limit(limit)).all()
    return [_view(row, on) for row in rows]


def dispute_csv_rows(
    session: Session,
    *,
    disaster_code: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> list[tuple[Any, ...]]:
    """Every matching dispute as CSV rows (DISPUTE_CSV_HEADER), for the export."""
    on = today(session)
    rows = session.execute(_filtered(disaster_code, status, overdue, on).order_by(CreditDispute.id)).all()
    return [_view(row, on).as_row() for row in rows]


def get_dispute(session: Session, dispute_id: int) -> DisputeView:
    row = session.execute(_query().where(CreditDispute.id == dispute_id)).first()
    if row is None:
        raise NotFound(f"No credit dispute {dispute_id}.")
    return _view(row, today(session))


def transition_dispute(
    session: Session, *, dispute_id: int, target_status: str, note: str | None, actor: Principal
) -> DisputeView:
    """Move a dispute through its lifecycle (domain state machine); an invalid move is a 409."""
    dispute = session.scalar(select(CreditDispute).where(CreditDispute.id == dispute_id).with_for_update())
    if dispute is None:
        raise NotFound(f"No credit dispute {dispute_id}.")
    if target_status not in STATUSES:
        raise InvalidInput("unknown status", [FieldError("status", "one of " + ", ".join(STATUSES))])
    before = dispute.status
    try:
        dispute.status = next_status(before, target_status).value
    except InvalidTransition as exc:
        raise Conflict(
            str(exc), code="dispute.transition", params={"from": before, "to": target_status}
        ) from None
    if note:
        dispute.resolution_note = note
    dispute.updated_at = utcnow()
    session.flush()
    view = get_dispute(session, dispute_id)
    events.emit(
        session, type=EventType.DISPUTE_STATUS_CHANGED, subject=view.account_ref, data=_event_data(view)
    )
    audit.record(
        session,
        actor=actor,
        action="credit_dispute.transitioned",
        entity_type="credit_dispute",
        entity_id=dispute_id,
        before={"status": before},
        after={"status": dispute.status, "note": note},
    )
    return view
