"""The transactional outbox (CONTRACT.md, "Events out"): every change of relief state writes its
event in the change's own transaction, so neither can commit without the other.

``emit(session, type=..., subject=..., data=...)`` is the one call a service makes, after its change
is flushed and before ``audit.record`` (so that the per-subject counter rows are always locked before
the audit chain's lock, by every writer: no lock-order deadlock). It takes the subject's next ``seq``
from its counter row with ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, which also serialises
the writers of one subject: the second waits for the first to commit, so ``seq`` follows commit order.
``write_events`` does the same for many events at once (a scan chunk), set-based.

Events leave the database later, by jobs beside the scan executors (app/jobs/events.py): webhook
deliveries (app/services/webhooks.py) and the AMQP publisher (app/services/amqp.py). A hook wakes the
process's relay right after a commit that wrote events.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, cast

from sqlalchemy import Table, Text, column, event, select, text
from sqlalchemy import table as sa_table
from sqlalchemy.orm import Session

from app.domain.events import EventType, cloud_event
from app.persistence.models import EventSubjectSeq, OutboxEvent
from app.services.clock import utcnow

__all__ = [
    "OUTBOX_COLUMNS",
    "RAW_OUTBOX",
    "EventBatch",
    "EventDraft",
    "RawJson",
    "cloud_event_of",
    "emit",
    "emit_many",
    "events_of",
    "json_data",
    "on_events_committed",
    "write_events",
]

OUTBOX_T = cast(Table, OutboxEvent.__table__)
SEQ_T = cast(Table, EventSubjectSeq.__table__)
OUTBOX_COLUMNS = ("event_id", "type", "subject", "seq", "occurred_at", "data")
# The outbox with ``data`` as plain text: rows carry their JSON already serialised.
RAW_OUTBOX = sa_table(
    OUTBOX_T.name,
    *(column(c.name, Text() if c.name == "data" else c.type) for c in OUTBOX_T.columns),
)
_SEQ_BATCH = 5000
_HOOKED = "hardship.events_hooked"
_WROTE = "hardship.events_wrote"

log = logging.getLogger("hardship.events")
_listeners: list[Callable[[], None]] = []


@dataclass(frozen=True, slots=True)
class RawJson:
    """An event's ``data`` already written as the canonical JSON text (keys sorted, no spaces, not
    ASCII-escaped) that ``write_events`` would make of its value: a scan chunk builds thousands."""

    text: str


@dataclass(frozen=True)
class EventDraft:
    """An event to write: its type, subject and data (JSON values: the resource as its GET answers;
    or the same as RawJson)."""

    type: str
    subject: str
    data: Any


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events of one type, one per subject in the order given, their ``data`` as canonical JSON texts
    (as RawJson's) made one by one while :func:`write_events` writes them: a scan chunk makes
    thousands, and so makes them while the database inserts the rows before them."""

    type: str
    subjects: Sequence[str]
    texts: Iterator[str]


def json_data(value: Any) -> Any:
    """JSON values of a resource, made the way the API serialises its answers (a Pydantic model's
    ``model_dump(mode="json")`` is what callers pass; plain values go through unchanged)."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    return value


def on_events_committed(listener: Callable[[], None]) -> None:
    """Register a callable run after any commit that wrote events (the relay's wake-up)."""
    _listeners.append(listener)


def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        for listener in list(_listeners):
            try:
                listener()
            except Exception:  # a wake-up is an optimisation; the relay polls anyway
                log.exception("event listener failed")


def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)


def _mark(session: Session) -> None:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
        session.info[_HOOKED] = True
    session.info[_WROTE] = True


_PG_RESERVE = (
    "INSERT INTO event_subject_seq (subject, seq) "
    "SELECT * FROM unnest(CAST(%b AS varchar[]), CAST(%b AS bigint[])) "
    "ON CONFLICT (subject) DO UPDATE SET seq = event_subject_seq.seq + excluded.seq "
    "RETURNING subject, seq"
)
_SQLITE_RESERVE = text(
    "INSERT INTO event_subject_seq (subject, seq) VALUES (:subject, :count) "
    "ON CONFLICT (subject) DO UPDATE SET seq = event_subject_seq.seq + excluded.seq"
)


def _reserve(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """Reserve ``counts[subject]`` sequence numbers per subject; the LAST number of each subject.

    Subjects are locked in sorted order (the same order in every writer). PostgreSQL: see
    :func:`_reserve_pg`. SQLite (one writer at a time): the upserts, then one read of the counters in
    the same transaction."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        return _reserve_pg(driver, counts)
    last: dict[str, int] = {}
    subjects = sorted(counts)
    for start in range(0, len(subjects), _SEQ_BATCH):
        batch = subjects[start : start + _SEQ_BATCH]
        connection.execute(_SQLITE_RESERVE, [{"subject": s, "count": counts[s]} for s in batch])
        rows = connection.execute(select(SEQ_T.c.subject, SEQ_T.c.seq).where(SEQ_T.c.subject.in_(batch)))
        last.update((subject, seq) for subject, seq in rows)
    return last


def _reserve_pg(driver: Any, counts: dict[str, int]) -> dict[str, int]:
    """:func:`_reserve` on PostgreSQL: one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE
    ... RETURNING`` per batch of subjects in sorted order (a small statement whatever the batch; its
    arrays sent in binary), on the driver connection of the session (same transaction; the thousands
    of rows it answers are read as plain tuples)."""
    last: dict[str, int] = {}
    subjects = sorted(counts)
    with driver.cursor() as cursor:
        for start in range(0, len(subjects), _SEQ_BATCH):
            batch = subjects[start : start + _SEQ_BATCH]
            cursor.execute(_PG_RESERVE, (batch, [counts[s] for s in batch]))
            last.update(cursor.fetchall())
    return last


_TYPES = frozenset(t.value for t in EventType)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _event_ids(count: int) -> list[str]:
    """``count`` new event ids: version 7 UUIDs (RFC 9562) as text, the current Unix time in
    milliseconds then 74 random bits (one read of the system's random source for all). Ids made
    together share their first digits, so the unique index on ``event_id`` takes them in one place
    instead of all over it (as it would random version 4 ids): cheaper to write, by the thousand in a
    scan chunk."""
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    text = os.urandom(10 * count).hex()
    variant = "89ab89ab89ab89ab"  # the top bits of the 17th digit are 10
    return [
        f"{head}{text[n : n + 3]}-{variant[int(text[n + 3], 16)]}{text[n + 4 : n + 7]}-{text[n + 7 : n + 19]}"
        for n in range(0, 20 * count, 20)
    ]


def write_events(
    session: Session, *parts: Sequence[EventDraft] | EventBatch, at: datetime | None = None
) -> list[str]:
    """Write the events of ``parts`` (drafts, or batches whose texts are made as they are written),
    in that order, in the caller's transaction; their CloudEvents ids.

    Numbered first: the subjects' ``seq`` numbers are reserved together (:func:`_reserve`, subjects
    locked in sorted order), each subject's events take them in the order given. Then the rows are
    written by one executemany; on PostgreSQL from ``_COPY_FROM`` rows, by one binary ``COPY`` fed row
    by row as each row is made. There the server's work and ours overlap (two cores): a worker
    thread waits for the reservation (the connection is its alone meanwhile) while this one makes
    the first texts, and the rest are made while the server inserts the rows before them (the
    outbox's five indexes); benchmarks/README.md, "Events"."""
    subjects: list[str] = []
    for part in parts:
        subjects.extend(part.subjects if isinstance(part, EventBatch) else [draft.subject for draft in part])
    if not subjects:
        return []
    kinds: set[str] = set()
    for part in parts:
        kinds.update([part.type] if isinstance(part, EventBatch) else [draft.type for draft in part])
    unknown = kinds - _TYPES
    if unknown:  # an unknown type is a programming error
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    counts = Counter(subjects)
    ids = _event_ids(len(subjects))
    now = at or utcnow()
    drafted = _drafted(parts)
    connection = session.connection()
    if len(subjects) < _COPY_FROM or connection.dialect.name != "postgresql":
        rows = _numbered(drafted, ids, _first_seqs(counts, _reserve(session, dict(counts))), now)
        connection.execute(RAW_OUTBOX.insert(), [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for row in rows])
        _mark(session)
        return ids
    driver = connection.connection.driver_connection
    assert driver is not None
    # The server reserves the numbers on one core while this thread makes the first texts on the
    # other (the connection is the worker's alone until it is done); the rest are made during COPY.
    made: list[tuple[str, str, str]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="events-seq") as worker:
        reserving = worker.submit(_reserve_pg, driver, dict(counts))
        for item in drafted:
            made.append(item)
            if reserving.done():
                break
        last = reserving.result()
    rows = _numbered(chain(made, drafted), ids, _first_seqs(counts, last), now)
    with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
        copy.set_types(_PG_COPY_TYPES)
        for row in rows:
            copy.write_row(row)
    _mark(session)
    return ids


_COPY_FROM = 100  # rows: fewer go in one executemany (one round trip, where COPY takes two)
_PG_COPY = f"COPY outbox_event ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_COPY_TYPES = ["varchar", "varchar", "varchar", "int8", "timestamptz", "text"]


def _drafted(parts: Iterable[Sequence[EventDraft] | EventBatch]) -> Iterator[tuple[str, str, str]]:
    """(type, subject, data text) of each event of the parts in order, made when asked for."""
    for part in parts:
        if isinstance(part, EventBatch):
            kind = part.type
            for subject, text in zip(part.subjects, part.texts, strict=True):
                yield kind, subject, text
        else:
            for draft in part:
                data = draft.data
                yield draft.type, draft.subject, data.text if type(data) is RawJson else _canonical(data)


def _first_seqs(counts: Counter[str], last: dict[str, int]) -> dict[str, int]:
    """Each subject's first reserved number, from the last one and how many were reserved."""
    return {subject: last[subject] - count + 1 for subject, count in counts.items()}


def _numbered(
    drafted: Iterable[tuple[str, str, str]], ids: list[str], next_seq: dict[str, int], now: datetime
) -> Iterator[tuple[Any, ...]]:
    """The outbox rows (``OUTBOX_COLUMNS``): ids in order, each subject's numbers in order."""
    for event_id, (kind, subject, data) in zip(ids, drafted, strict=True):
        seq = next_seq[subject]
        next_seq[subject] = seq + 1
        yield event_id, kind, subject, seq, now, data


def emit_many(session: Session, drafts: Sequence[EventDraft]) -> list[str]:
    """Write the events in the caller's transaction; their CloudEvents ids."""
    return write_events(session, drafts)


def emit(session: Session, *, type: str | EventType, subject: str, data: Any) -> str:
    """Write one event in the caller's transaction (after its change, before its audit record);
    its CloudEvents id."""
    return emit_many(session, [EventDraft(str(type), subject, json_data(data))])[0]


def cloud_event_of(row: Any) -> dict[str, Any]:
    """The CloudEvents document of an outbox row (``OutboxEvent`` or a row with its columns)."""
    data = row.data if not isinstance(row.data, str) else json.loads(row.data)
    return cloud_event(
        event_id=row.event_id,
        type=row.type,
        subject=row.subject,
        seq=row.seq,
        time=row.occurred_at,
        data=data,
    )


def events_of(
    session: Session, *, subject: str | None = None, types: Iterable[str] = ()
) -> list[OutboxEvent]:
    """Outbox rows in write order, optionally of one subject and some types (tests, the UI)."""
    query = select(OutboxEvent)
    if subject is not None:
        query = query.where(OutboxEvent.subject == subject)
    chosen = list(types)
    if chosen:
        query = query.where(OutboxEvent.type.in_(chosen))
    return list(session.scalars(query.order_by(OutboxEvent.id)))
