"""The deferrals an enroll scan writes: new ones with their lines, and the lines of deferrals from an
earlier version of the event that an amendment lengthened or widened (extended, never shrunk).

Called from :func:`app.jobs.chunk.write_deferrals`, in the chunk's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, func, literal, select, tuple_, update
from sqlalchemy import insert as insert_into
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.domain.deferrals import DeferralLine as DomainLine
from app.domain.deferrals import DeferralResult
from app.jobs.context import ScanContext
from app.jobs.rows import (
    DEFERRAL_COLUMNS,
    DEFERRAL_T,
    HISTORY_COLUMNS,
    HISTORY_T,
    LINE_COLUMNS,
    LINE_T,
    RAW_DEFERRAL,
    RAW_LINE,
    bulk_insert,
    copy_rows,
    fen,
    ids_in,
)
from app.services.clock import utcnow

__all__ = ["extend_deferrals", "insert_deferrals"]


def _deferral_row(ctx: ScanContext, account_id: int, offer: DeferralResult, now: datetime) -> tuple[Any, ...]:
    return (
        account_id,
        ctx.event_row.id,
        ctx.scan.id,
        ctx.scan.event_version,
        ctx.scan.policy_version,
        fen(offer.deferred_amount),
        fen(offer.interest_waived),
        fen(offer.late_fees_waived),
        now,
        now,
        ctx.granted_on,
    )


def _line_rows(deferral_id: int, lines: Sequence[DomainLine], granted_on: date) -> list[tuple[Any, ...]]:
    return [
        (
            deferral_id,
            line.statement_date,
            line.due_date,
            line.new_due_date,
            fen(line.deferred_amount),
            fen(line.interest_waived),
            fen(line.late_fee_waived),
            granted_on,
        )
        for line in lines
    ]


def insert_deferrals(session: Session, ctx: ScanContext, offers: dict[int, DeferralResult]) -> dict[int, int]:
    """Insert the deferrals with their lines; {account id: deferral id} of those really inserted.

    PostgreSQL: the ids are drawn from the deferral sequence in one query and deferrals and lines go
    in with ``COPY``. The accounts were read as not enrolled in this transaction; should another scan
    of the same event enroll one meanwhile (the service allows one enroll scan per event at a time,
    so only a race can), the unique (account_id, disaster_id) fails this attempt and the retried
    chunk lists the account as ALREADY_ENROLLED: nothing is enrolled twice, the totals stay exact.

    Other databases: ``INSERT ... ON CONFLICT DO NOTHING`` in one executemany, then one indexed read
    of the rows this scan now owns among the chunk's accounts: only this transaction can have written
    them (a chunk is done at most once), so they are exactly what was really inserted.
    """
    now = ctx.now
    if session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(
            select(func.nextval(func.pg_get_serial_sequence("deferral", "id"))).select_from(
                func.generate_series(1, len(offers))
            )
        ).all()
        ours = dict(zip(offers, ids, strict=True))
        copy_rows(
            session,
            RAW_DEFERRAL,
            ("id", *DEFERRAL_COLUMNS),
            [
                (ours[account_id], *_deferral_row(ctx, account_id, offer, now))
                for account_id, offer in offers.items()
            ],
        )
    else:
        bulk_insert(
            session,
            RAW_DEFERRAL,
            DEFERRAL_COLUMNS,
            [_deferral_row(ctx, account_id, offer, now) for account_id, offer in offers.items()],
            conflict="(account_id, disaster_id)",
        )
        inserted = session.execute(
            select(DEFERRAL_T.c.id, DEFERRAL_T.c.account_id).where(
                DEFERRAL_T.c.disaster_id == ctx.event_row.id,
                ids_in(session, DEFERRAL_T.c.account_id, list(offers)),
                DEFERRAL_T.c.scan_id == ctx.scan.id,
            )
        ).all()
        ours = {account_id: deferral_id for deferral_id, account_id in inserted if account_id in offers}
    lines = [
        line
        for account_id, deferral_id in ours.items()
        for line in _line_rows(deferral_id, offers[account_id].lines, ctx.granted_on)
    ]
    bulk_insert(session, RAW_LINE, LINE_COLUMNS, lines)
    return ours


def extend_deferrals(
    session: Session, ctx: ScanContext, extensions: dict[int, tuple[int, DeferralResult]]
) -> list[int]:
    """Upsert the recomputed lines of deferrals from an earlier event version whose lines changed.

    Returns the account ids whose deferral changed. Lines are matched by statement date; a line
    that is not recomputed is kept; totals are recomputed from the lines in SQL.
    """
    stored = _stored_lines(session, [deferral_id for deferral_id, _ in extensions.values()])
    changed: list[int] = []
    upserts: list[tuple[Any, ...]] = []
    for account_id, (deferral_id, offer) in extensions.items():
        # Only the new or changed lines are written (and dated: the instruction file lists them).
        fresh = [
            line
            for line in offer.lines
            if (
                line.statement_date,
                line.due_date,
                line.new_due_date,
                line.deferred_amount,
                line.interest_waived,
                line.late_fee_waived,
            )
            not in stored[deferral_id]
        ]
        if fresh:
            changed.append(account_id)
            upserts.extend(_line_rows(deferral_id, fresh, ctx.granted_on))
    if not changed:
        return []
    # Keep the lines about to change as they were (the instruction file of their day keeps them).
    replaced = [(row[0], row[1]) for row in upserts]
    session.execute(
        insert_into(HISTORY_T).from_select(
            [*HISTORY_COLUMNS, "replaced_on"],
            select(*(LINE_T.c[name] for name in HISTORY_COLUMNS), literal(ctx.granted_on, Date)).where(
                tuple_(LINE_T.c.deferral_id, LINE_T.c.statement_date).in_(replaced)
            ),
        )
    )
    insert = dialect_insert(session)(RAW_LINE)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["deferral_id", "statement_date"],
            set_={
                name: insert.excluded[name]
                for name in (
                    "due_date",
                    "new_due_date",
                    "deferred_fen",
                    "interest_waived_fen",
                    "late_fee_waived_fen",
                    "granted_on",
                )
            },
        ),
        [dict(zip(LINE_COLUMNS, row, strict=True)) for row in upserts],
    )
    _recompute_totals(session, ctx, [extensions[account_id][0] for account_id in changed])
    return changed


def _stored_lines(session: Session, deferral_ids: list[int]) -> dict[int, set[tuple[Any, ...]]]:
    """The lines of these deferrals as they are stored, by deferral id."""
    stored: dict[int, set[tuple[Any, ...]]] = defaultdict(set)
    for row in session.execute(
        select(
            LINE_T.c.deferral_id,
            LINE_T.c.statement_date,
            LINE_T.c.due_date,
            LINE_T.c.new_due_date,
            LINE_T.c.deferred_fen,
            LINE_T.c.interest_waived_fen,
            LINE_T.c.late_fee_waived_fen,
        ).where(LINE_T.c.deferral_id.in_(deferral_ids))
    ):
        stored[row.deferral_id].add(tuple(row)[1:])
    return stored


def _recompute_totals(session: Session, ctx: ScanContext, changed_ids: list[int]) -> None:
    """A changed deferral's totals are the sums of its lines; it now follows the scan's event version."""
    line = LINE_T.alias("line")

    def line_sum(column: str) -> Any:
        return (
            select(func.coalesce(func.sum(line.c[column]), 0))
            .where(line.c.deferral_id == DEFERRAL_T.c.id)
            .scalar_subquery()
        )

    session.execute(
        update(DEFERRAL_T)
        .where(DEFERRAL_T.c.id.in_(changed_ids))
        .values(
            deferred_fen=line_sum("deferred_fen"),
            interest_waived_fen=line_sum("interest_waived_fen"),
            late_fees_waived_fen=line_sum("late_fee_waived_fen"),
            event_version=ctx.scan.event_version,
            updated_at=utcnow(),
        )
    )
