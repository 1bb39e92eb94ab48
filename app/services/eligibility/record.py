"""The decision record: the ``decision`` row of an evaluation (inputs snapshot, outcome, policy
version, actor, day), written with an audit event when it comes with a state change, or alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db import core_connection
from app.domain.policy import Policy
from app.persistence import models
from app.schemas.eligibility import ProgramRead
from app.schemas.fast import json_values
from app.services import audit, clock
from app.services.eligibility.answers import ProgramResult
from app.services.eligibility.snapshot import Snapshot
from app.services.principal import Principal

__all__ = ["insert_decision", "outcome_json", "programs_json", "store_decision"]

_PROGRAM = json_values(ProgramRead)
# Built once: building the statement cost more than running it.
_INSERT_DECISION = insert(models.Decision).returning(models.Decision.id)


def programs_json(results: Sequence[ProgramResult]) -> list[dict[str, Any]]:
    """The programs as JSON values, in the shape of ``ProgramRead`` (the answer's and the record's; all
    of its values are JSON already: text, flags and the JSON-ready offer)."""
    return [_PROGRAM(result) for result in results]


def outcome_json(results: Sequence[ProgramResult], *, lang: str) -> dict[str, Any]:
    """The stored outcome of a decision: each program with its reasons (codes and words) and offer."""
    return {"lang": lang, "programs": programs_json(results)}


def _row_values(
    *,
    kind: str,
    snapshot: Snapshot,
    results: Sequence[ProgramResult],
    policy: Policy,
    actor: Principal,
    lang: str,
) -> dict[str, Any]:
    return {
        "account_ref": snapshot.account.account_ref,
        "kind": kind,
        "policy_version": policy.version,
        "decided_on": snapshot.today,
        "inputs": snapshot.to_json(),
        "outcome": outcome_json(results, lang=lang),
        "actor": actor.actor,
        "created_at": clock.utcnow(),
    }


def store_decision(
    session: Session,
    *,
    kind: str,
    snapshot: Snapshot,
    results: Sequence[ProgramResult],
    policy: Policy,
    actor: Principal,
    lang: str,
) -> models.Decision:
    """Write the decision row (inputs snapshot, outcome, policy version) and its audit event (the
    decision comes with a state change: a plan, a waiver)."""
    row = models.Decision(
        **_row_values(kind=kind, snapshot=snapshot, results=results, policy=policy, actor=actor, lang=lang)
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="decision.recorded",
        entity_type="decision",
        entity_id=row.id,
        after={
            "account_ref": row.account_ref,
            "kind": kind,
            "policy_version": policy.version,
            "programs": {
                r.program: {"eligible": r.eligible, "reasons": [c for c, _ in r.reasons]} for r in results
            },
        },
    )
    return row


def insert_decision(
    session: Session,
    *,
    snapshot: Snapshot,
    results: Sequence[ProgramResult],
    policy: Policy,
    actor: Principal,
    lang: str,
) -> int:
    """Write the decision row of a bare evaluation; returns its id.

    No audit event: an evaluation changes no state, and its decision row is itself the record
    (inputs, outcome, policy version, actor, time), replayable by ``app.services.decisions``.
    Appending it to the hash-chained audit trail would also serialise every evaluation on the
    chain's lock.  One Core INSERT ... RETURNING, without the ORM's unit of work."""
    values = _row_values(
        kind="eligibility", snapshot=snapshot, results=results, policy=policy, actor=actor, lang=lang
    )
    decision_id: int = core_connection(session).execute(_INSERT_DECISION, values).scalar_one()
    return decision_id
