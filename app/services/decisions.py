"""Stored decisions: read one, and replay it from its inputs snapshot under its policy version.

A replay never reads the current portfolio: it rebuilds the account, statements, events and plan
history from the ``inputs`` stored with the decision and applies the policy version recorded then
(ARCHITECTURE.md: "Every decision stores the policy version and a snapshot of its inputs, so it can
be replayed and explained later").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.reasons import Program
from app.persistence.models import Decision
from app.services import audit
from app.services.eligibility import Snapshot, judge, outcome_json
from app.services.errors import Conflict, NotFound
from app.services.policies import PolicyStore
from app.services.principal import Principal

__all__ = ["get_decision", "replay_decision", "same_outcome"]


def get_decision(session: Session, decision_id: int) -> Decision:
    """The decision row; NotFound when there is none."""
    row = session.get(Decision, decision_id)
    if row is None:
        raise NotFound(f"No decision with id {decision_id}.")
    return row


def _comparable(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """The language-independent part of an outcome: programs, eligibility, reason codes, offers."""
    return [
        {
            "program": p["program"],
            "eligible": p["eligible"],
            "reasons": [r["code"] for r in p["reasons"]],
            "offer": p["offer"],
        }
        for p in outcome.get("programs", [])
    ]


def same_outcome(stored: dict[str, Any], replayed: dict[str, Any]) -> bool:
    """True when both outcomes agree on every program, reason code and offer (words aside)."""
    return _comparable(stored) == _comparable(replayed)


def replay_decision(
    session: Session,
    *,
    decision_id: int,
    policies: PolicyStore,
    lang: str,
    actor: Principal | None = None,
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Re-evaluate a stored decision from its snapshot under its recorded policy version.

    Returns (stored outcome, replayed outcome, identical). The reason words of the replay are in
    ``lang``; ``identical`` compares programs, eligibility, reason codes and offers. Conflict when
    the recorded policy version is no longer installed. With an ``actor``, the replay is audited.
    """
    row = get_decision(session, decision_id)
    policy = policies.get(row.policy_version)
    if policy is None:
        raise Conflict(
            f"Decision {decision_id} was made under policy {row.policy_version}, which is not installed."
        )
    snapshot = Snapshot.from_json(row.inputs)
    programs = [Program(p["program"]) for p in row.outcome.get("programs", [])]
    replayed = outcome_json(judge(snapshot, policy, lang=lang, programs=programs), lang=lang)
    stored: dict[str, Any] = row.outcome
    identical = same_outcome(stored, replayed)
    if actor is not None:
        audit.record(
            session,
            actor=actor,
            action="decision.replayed",
            entity_type="decision",
            entity_id=row.id,
            after={"policy_version": row.policy_version, "identical": identical},
        )
    return stored, replayed, identical
