"""Events out (CONTRACT.md, "Events out"): the event types and the CloudEvents 1.0 envelope.

Every change of relief state commits one event with it. An event is a CloudEvents 1.0 JSON document
(https://github.com/cloudevents/spec, JSON format): ``specversion`` "1.0", ``id`` (unique, the same on
every retry), ``source`` "/hardship", ``type``, ``subject`` (the account_ref, or the disaster code for
disaster and scan events), ``time``, ``datacontenttype`` "application/json", ``data`` (the resource as
its GET answers it) and the extension ``seq``: strictly increasing over the events of one subject in
the order their changes committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SPEC_VERSION = "1.0"
SOURCE = "/hardship"
CONTENT_TYPE = "application/json"
ALL_TYPES = "*"


class EventType(StrEnum):
    """The event types of CONTRACT.md, "Events out"."""

    PLAN_CREATED = "hardship.plan.created"
    PLAN_CANCELLED = "hardship.plan.cancelled"
    PLAN_BROKEN = "hardship.plan.broken"
    PLAN_COMPLETED = "hardship.plan.completed"
    WAIVER_APPLIED = "hardship.waiver.applied"
    WAIVER_PENDING_APPROVAL = "hardship.waiver.pending_approval"
    WAIVER_REJECTED = "hardship.waiver.rejected"
    WAIVER_REVERSED = "hardship.waiver.reversed"
    DEFERRAL_GRANTED = "hardship.deferral.granted"
    DEFERRAL_EXTENDED = "hardship.deferral.extended"
    DISPUTE_RECORDED = "hardship.dispute.recorded"
    DISPUTE_STATUS_CHANGED = "hardship.dispute.status_changed"
    DISASTER_DECLARED = "hardship.disaster.declared"
    DISASTER_AMENDED = "hardship.disaster.amended"
    DISASTER_CLOSED = "hardship.disaster.closed"
    SCAN_FINISHED = "hardship.scan.finished"


ACCOUNT = "account_ref"
DISASTER = "disaster code"


@dataclass(frozen=True)
class EventSpec:
    """One entry of the event catalog: the type, what its ``subject`` is, when it fires, and its
    ``data`` (the answer of ``data_from``, or one item of it, whose schema is the OpenAPI component
    ``schema``). docs/events.md's table and openapi/asyncapi.json are both made from CATALOG."""

    type: EventType
    subject: str
    fires_when: str
    data_from: str
    schema: str
    item: bool = False  # data is one item of the list data_from answers
    note: str = ""  # added to the data column, e.g. which field the data also carries

    @property
    def data_text(self) -> str:
        """The ``data`` column of the catalog, in Markdown."""
        text = ("one item of " if self.item else "") + f"`{self.data_from}`"
        return f"{text} ({self.note})" if self.note else text


_PLAN, _WAIVER = "GET /v1/installment-plans/{id}", "GET /v1/fee-waivers/{id}"
_DEFERRALS, _DISPUTE = "GET /v1/accounts/{ref}/deferrals", "GET /v1/credit-disputes/{id}"
_DISASTER, _SCAN = "GET /v1/disasters/{code}", "GET /v1/scans/{id}"

CATALOG: tuple[EventSpec, ...] = (
    EventSpec(
        EventType.PLAN_CREATED,
        ACCOUNT,
        "an installment plan is created (API, negotiation, agent UI)",
        _PLAN,
        "PlanRead",
    ),
    EventSpec(EventType.PLAN_CANCELLED, ACCOUNT, "an active plan is cancelled", _PLAN, "PlanRead"),
    EventSpec(
        EventType.PLAN_BROKEN,
        ACCOUNT,
        "a plan is marked broken (by hand, or by a servicing run)",
        _PLAN,
        "PlanRead",
    ),
    EventSpec(EventType.PLAN_COMPLETED, ACCOUNT, "a servicing run finds the plan paid", _PLAN, "PlanRead"),
    EventSpec(
        EventType.WAIVER_APPLIED,
        ACCOUNT,
        "a fee waiver is applied: at once within the requester's authority, or on approval",
        _WAIVER,
        "WaiverRead",
    ),
    EventSpec(
        EventType.WAIVER_PENDING_APPROVAL,
        ACCOUNT,
        "a waiver beyond the requester's authority waits for a supervisor",
        _WAIVER,
        "WaiverRead",
        note="with `approval_id`",
    ),
    EventSpec(
        EventType.WAIVER_REJECTED, ACCOUNT, "the approver rejects a waiting waiver", _WAIVER, "WaiverRead"
    ),
    EventSpec(EventType.WAIVER_REVERSED, ACCOUNT, "an applied waiver is reversed", _WAIVER, "WaiverRead"),
    EventSpec(
        EventType.DEFERRAL_GRANTED,
        ACCOUNT,
        "an enroll scan grants the account a disaster deferral",
        _DEFERRALS,
        "DeferralRead",
        item=True,
        note="with its `lines`",
    ),
    EventSpec(
        EventType.DEFERRAL_EXTENDED,
        ACCOUNT,
        "an enroll scan after an amendment extends the deferral (new or changed lines)",
        _DEFERRALS,
        "DeferralRead",
        item=True,
    ),
    EventSpec(
        EventType.DISPUTE_RECORDED,
        ACCOUNT,
        "a credit-report dispute is recorded (for a disaster, or a single case)",
        _DISPUTE,
        "DisputeRead",
    ),
    EventSpec(
        EventType.DISPUTE_STATUS_CHANGED,
        ACCOUNT,
        "a dispute moves through its lifecycle",
        _DISPUTE,
        "DisputeRead",
    ),
    EventSpec(EventType.DISASTER_DECLARED, DISASTER, "a disaster is declared", _DISASTER, "DisasterRead"),
    EventSpec(
        EventType.DISASTER_AMENDED, DISASTER, "a disaster is widened (new version)", _DISASTER, "DisasterRead"
    ),
    EventSpec(EventType.DISASTER_CLOSED, DISASTER, "a disaster is closed", _DISASTER, "DisasterRead"),
    EventSpec(
        EventType.SCAN_FINISHED,
        DISASTER,
        "a scan ends, `succeeded` or `failed` (dry runs too)",
        _SCAN,
        "ScanRead",
    ),
)


def catalog_table() -> str:
    """The catalog as docs/events.md shows it (a Markdown table; a test keeps the two equal)."""
    rows = ["| type | subject | fires when | `data` is |", "| --- | --- | --- | --- |"]
    rows += [f"| `{s.type.value}` | {s.subject} | {s.fires_when} | {s.data_text} |" for s in CATALOG]
    return "\n".join(rows) + "\n"


def _time_text(value: datetime) -> str:
    """RFC 3339 in UTC with a Z (SQLite hands timestamps back naive: they are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def cloud_event(
    *, event_id: str, type: str, subject: str, seq: int, time: datetime, data: Any
) -> dict[str, Any]:
    """The event as its CloudEvents 1.0 JSON document (keys in a fixed order: the same bytes on
    every retry)."""
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": SOURCE,
        "type": type,
        "subject": subject,
        "time": _time_text(time),
        "datacontenttype": CONTENT_TYPE,
        "seq": seq,
        "data": data,
    }


class InvalidEventTypes(ValueError):
    """A subscription names a type that does not exist."""


def normalise_event_types(types: Iterable[str]) -> tuple[str, ...]:
    """A subscription's types: ``("*",)`` for every type, else the known types named, sorted and
    without repeats. InvalidEventTypes for an empty list or an unknown type."""
    chosen = list(types)
    if not chosen:
        raise InvalidEventTypes("name at least one event type, or '*' for all")
    if ALL_TYPES in chosen:
        return (ALL_TYPES,)
    known = {t.value for t in EventType}
    unknown = sorted({t for t in chosen if t not in known})
    if unknown:
        raise InvalidEventTypes(f"unknown event types: {', '.join(unknown)}")
    return tuple(sorted(set(chosen)))


def retry_delays(schedule: str) -> tuple[int, ...]:
    """The retry schedule ("5,30,120") as seconds; ValueError for anything but positive integers."""
    parts = [part.strip() for part in schedule.split(",") if part.strip()]
    delays = tuple(int(part) for part in parts)
    if any(delay <= 0 for delay in delays):
        raise ValueError("retry delays must be positive whole seconds")
    return delays


def next_delay(attempts: int, delays: tuple[int, ...]) -> int | None:
    """Seconds to wait after the ``attempts``-th failed attempt, or None when the schedule is spent
    (the delivery is then failed): attempt 1 failed waits delays[0], and so on."""
    if attempts < 1 or attempts > len(delays):
        return None
    return delays[attempts - 1]


def subscribed(types: Mapping[str, object] | Iterable[str], event_type: str) -> bool:
    """Whether a subscription to ``types`` receives ``event_type``."""
    chosen = set(types)
    return ALL_TYPES in chosen or event_type in chosen
