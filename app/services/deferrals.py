"""Disaster deferrals of one account, with their lines (DOMAIN.md, "Disaster deferral: the amounts")."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.domain.deferrals import DeferralLine, DeferralResult
from app.domain.events import EventType
from app.domain.money import format_money
from app.persistence.models import CardAccount, Deferral, DisasterEvent
from app.schemas.common import UtcTimestamp
from app.schemas.deferrals import DeferralRead
from app.services.accounts import get_account_row
from app.services.events import EventBatch, EventDraft

__all__ = [
    "DeferralLineView",
    "DeferralView",
    "GrantedDeferral",
    "extended_event_drafts",
    "granted_event_drafts",
    "list_deferrals",
]


@dataclass(frozen=True)
class DeferralLineView:
    statement_date: date
    due_date: date
    new_due_date: date
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fee_waived: Decimal


@dataclass(frozen=True)
class DeferralView:
    id: int
    disaster_code: str
    disaster_name: str
    event_version: int
    policy_version: str
    scan_id: int | None
    deferred_amount: Decimal
    interest_waived: Decimal
    late_fees_waived: Decimal
    created_at: datetime
    updated_at: datetime
    lines: list[DeferralLineView]


def _views(rows: Iterable[Any]) -> list[DeferralView]:
    return [
        DeferralView(
            id=deferral.id,
            disaster_code=code,
            disaster_name=name,
            event_version=deferral.event_version,
            policy_version=deferral.policy_version,
            scan_id=deferral.scan_id,
            deferred_amount=deferral.deferred_amount,
            interest_waived=deferral.interest_waived,
            late_fees_waived=deferral.late_fees_waived,
            created_at=deferral.created_at,
            updated_at=deferral.updated_at,
            lines=[
                DeferralLineView(
                    statement_date=line.statement_date,
                    due_date=line.due_date,
                    new_due_date=line.new_due_date,
                    deferred_amount=line.deferred_amount,
                    interest_waived=line.interest_waived,
                    late_fee_waived=line.late_fee_waived,
                )
                for line in deferral.lines
            ],
        )
        for deferral, code, name in rows
    ]


def list_deferrals(session: Session, *, account_ref: str) -> list[DeferralView]:
    """Every deferral of the account, oldest first, with its lines by due date; NotFound for no account."""
    account = get_account_row(session, account_ref)
    rows = session.execute(
        select(Deferral, DisasterEvent.code, DisasterEvent.name)
        .join(DisasterEvent, DisasterEvent.id == Deferral.disaster_id)
        .where(Deferral.account_id == account.id)
        .options(selectinload(Deferral.lines))
        .order_by(Deferral.id)
    ).all()
    return _views(rows)


@dataclass(frozen=True)
class GrantedDeferral:
    """A deferral a scan chunk has just inserted: enough to write its event without reading it back."""

    deferral_id: int
    account_ref: str
    offer: DeferralResult


_TIMESTAMP = TypeAdapter(UtcTimestamp)


def granted_event_drafts(
    *,
    disaster_code: str,
    disaster_name: str,
    event_version: int,
    policy_version: str,
    scan_id: int,
    created_at: datetime,
    granted: Sequence[GrantedDeferral],
) -> EventBatch:
    """``deferral.granted`` events of a scan chunk, their data as GET /v1/accounts/{ref}/deferrals
    answers each deferral (DeferralRead), written straight as the canonical JSON text ``emit`` would
    make of it (keys sorted, no spaces): no model, no dict and no ``json.dumps`` per row (a chunk
    writes thousands), each text made only when ``events.write_events`` writes its row. Only the
    money amounts, ids and dates vary from row to row, none of which needs escaping; the texts of the
    chunk are escaped once. tests/events/test_event_rows.py compares the text with ``json.dumps`` of
    the dict, tests/events/test_outbox.py the data with the GET answer."""
    stamp = json.dumps(_TIMESTAMP.dump_python(created_at, mode="json"))
    code, name = json.dumps(disaster_code, ensure_ascii=False), json.dumps(disaster_name, ensure_ascii=False)
    policy = json.dumps(policy_version, ensure_ascii=False)
    head = f'{{"created_at":{stamp},"deferred_amount":"'
    middle = f'","disaster_code":{code},"disaster_name":{name},"event_version":{int(event_version)},"id":'
    tail = f'],"policy_version":{policy},"scan_id":{int(scan_id)},"updated_at":{stamp}}}'

    def texts() -> Iterator[str]:
        money = _money
        day = _Days()  # a chunk's lines share few dates
        for item in granted:
            offer = item.offer
            lines = offer.lines
            if len(lines) > 1 and not (len(lines) == 2 and lines[0].due_date <= lines[1].due_date):
                lines = tuple(sorted(lines, key=_due_date))  # stable: lines in order stay as they are
            text = ",".join(
                [
                    f'{{"deferred_amount":"{money(line.deferred_amount)}","due_date":"{day[line.due_date]}"'
                    f',"interest_waived":"{money(line.interest_waived)}"'
                    f',"late_fee_waived":"{money(line.late_fee_waived)}"'
                    f',"new_due_date":"{day[line.new_due_date]}","statement_date":"{day[line.statement_date]}"}}'
                    for line in lines
                ]
            )
            yield (
                f'{head}{money(offer.deferred_amount)}{middle}{int(item.deferral_id)},"interest_waived":"'
                f'{money(offer.interest_waived)}","late_fees_waived":"{money(offer.late_fees_waived)}","lines":['
                f"{text}{tail}"
            )

    return EventBatch(EventType.DEFERRAL_GRANTED.value, [item.account_ref for item in granted], texts())


def _money(value: Decimal) -> str:
    """``format_money``, with its fast path first: an amount at the fen (``str`` has a point before
    its last two digits, hence no exponent) that is not zero is its own text."""
    if type(value) is Decimal and value:
        text = str(value)
        if text[-3:-2] == "." and len(text) < 60:
            return text
    return format_money(value)


def _due_date(line: DeferralLine) -> date:
    return line.due_date


class _Days(dict[date, str]):
    """Dates as ISO text, each made once."""

    def __missing__(self, key: date) -> str:
        text = self[key] = key.isoformat()
        return text


def extended_event_drafts(session: Session, deferral_ids: Sequence[int]) -> list[EventDraft]:
    """``deferral.extended`` events of deferrals just extended, read back as GET answers them."""
    if not deferral_ids:
        return []
    rows = session.execute(
        select(Deferral, DisasterEvent.code, DisasterEvent.name)
        .join(DisasterEvent, DisasterEvent.id == Deferral.disaster_id)
        .where(Deferral.id.in_(deferral_ids))
        .options(selectinload(Deferral.lines))
        .order_by(Deferral.id)
        .execution_options(populate_existing=True)
    ).all()
    refs = dict(
        session.execute(
            select(Deferral.id, CardAccount.account_ref)
            .join(CardAccount, CardAccount.id == Deferral.account_id)
            .where(Deferral.id.in_(deferral_ids))
        ).all()
    )
    return [
        EventDraft(
            EventType.DEFERRAL_EXTENDED.value,
            refs[view.id],
            DeferralRead.model_validate(view).model_dump(mode="json"),
        )
        for view in _views(rows)
    ]
