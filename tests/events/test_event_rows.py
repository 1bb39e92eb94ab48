"""The outbox rows a scan chunk builds by hand are what the general path would build: the
``deferral.granted`` data text is ``json.dumps`` (canonical) of the deferral as its GET answers it, and
the event ids are version 7 UUIDs."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.domain.deferrals import DeferralLine, DeferralResult
from app.domain.money import format_money
from app.schemas.common import UtcTimestamp
from app.services import events
from app.services.deferrals import GrantedDeferral, granted_event_drafts

TIMESTAMP = TypeAdapter(UtcTimestamp)

amounts = st.integers(min_value=0, max_value=10**13).map(lambda fen: Decimal(fen).scaleb(-2))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
lines = st.builds(DeferralLine, days, days, days, amounts, amounts, amounts)
offers = st.builds(DeferralResult, st.lists(lines, max_size=4).map(tuple), amounts, amounts, amounts)
texts = st.text(max_size=40)


def reference(
    *,
    disaster_code: str,
    disaster_name: str,
    event_version: int,
    policy_version: str,
    scan_id: int,
    created_at: datetime,
    item: GrantedDeferral,
) -> str:
    """The data as a dict (DeferralRead's JSON), made canonical the general way."""
    stamp = TIMESTAMP.dump_python(created_at, mode="json")
    offer = item.offer
    data: dict[str, Any] = {
        "id": item.deferral_id,
        "disaster_code": disaster_code,
        "disaster_name": disaster_name,
        "event_version": event_version,
        "policy_version": policy_version,
        "scan_id": scan_id,
        "deferred_amount": format_money(offer.deferred_amount),
        "interest_waived": format_money(offer.interest_waived),
        "late_fees_waived": format_money(offer.late_fees_waived),
        "created_at": stamp,
        "updated_at": stamp,
        "lines": [
            {
                "statement_date": line.statement_date.isoformat(),
                "due_date": line.due_date.isoformat(),
                "new_due_date": line.new_due_date.isoformat(),
                "deferred_amount": format_money(line.deferred_amount),
                "interest_waived": format_money(line.interest_waived),
                "late_fee_waived": format_money(line.late_fee_waived),
            }
            for line in sorted(offer.lines, key=lambda line: line.due_date)
        ],
    }
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(
    code=texts,
    name=texts,
    policy=texts,
    version=st.integers(min_value=1, max_value=10**6),
    scan_id=st.integers(min_value=1, max_value=2**62),
    deferral_id=st.integers(min_value=1, max_value=2**62),
    offer=offers,
    micros=st.integers(min_value=0, max_value=10**15),
)
def test_granted_data_text_is_the_canonical_json_of_the_deferral(
    code: str,
    name: str,
    policy: str,
    version: int,
    scan_id: int,
    deferral_id: int,
    offer: DeferralResult,
    micros: int,
) -> None:
    created_at = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    item = GrantedDeferral(deferral_id, "6222020000000001", offer)
    common: dict[str, Any] = {
        "disaster_code": code,
        "disaster_name": name,
        "event_version": version,
        "policy_version": policy,
        "scan_id": scan_id,
        "created_at": created_at,
    }
    batch = granted_event_drafts(**common, granted=[item])
    [text] = batch.texts
    assert text == reference(**common, item=item)
    assert (batch.type, list(batch.subjects)) == ("hardship.deferral.granted", ["6222020000000001"])


def test_texts_are_not_ascii_escaped_and_the_time_is_utc_with_a_z() -> None:
    at = datetime(2025, 7, 1, 4, 0, tzinfo=UTC)
    offer = DeferralResult((), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    [text] = granted_event_drafts(
        disaster_code="Q",
        disaster_name="名",
        event_version=1,
        policy_version="2025.1",
        scan_id=1,
        created_at=at,
        granted=[GrantedDeferral(1, "A", offer)],
    ).texts
    data = json.loads(text)
    assert data["disaster_name"] == "名" and data["lines"] == [] and data["deferred_amount"] == "0.00"
    assert data["created_at"] == data["updated_at"] == "2025-07-01T04:00:00Z"


def test_event_ids_are_version_7_uuids_of_the_current_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    before = time.time_ns() // 1_000_000
    ids = events._event_ids(2000)
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after
    monkeypatch.setattr(events.os, "urandom", lambda n: b"\xff" * n)
    monkeypatch.setattr(events.time, "time_ns", lambda: 0x0123456789AB * 1_000_000)
    assert events._event_ids(1) == ["01234567-89ab-7fff-bfff-ffffffffffff"]
