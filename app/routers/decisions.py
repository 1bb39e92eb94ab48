"""Stored decisions: read one with its inputs, or replay it under its recorded policy version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.deps import LanguageDep, PoliciesDep, SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.eligibility import DecisionRead, DecisionReplayRead
from app.services import decisions
from app.services.principal import Principal

router = APIRouter(
    prefix="/v1/decisions", tags=["decisions"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)
DecisionId = Path(ge=1, le=2**62, description="Decision id")


@router.get("/{decision_id}", operation_id="decisions-get", responses=problem_responses(404))
def get_decision(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.DECISION_READ))],
    decision_id: int = DecisionId,
) -> DecisionRead:
    """The decision with the inputs snapshot it saw, its outcome and its policy version."""
    return DecisionRead.model_validate(decisions.get_decision(session, decision_id))


@router.post("/{decision_id}/replay", operation_id="decisions-replay", responses=problem_responses(404, 409))
def replay_decision(
    session: SessionDep,
    policies: PoliciesDep,
    lang: LanguageDep,
    principal: Annotated[Principal, Depends(require(Permission.DECISION_REPLAY))],
    decision_id: int = DecisionId,
) -> DecisionReplayRead:
    """Re-evaluate the decision from its stored snapshot (not today's data) under its policy version."""
    row = decisions.get_decision(session, decision_id)
    stored, replayed, identical = decisions.replay_decision(
        session, decision_id=decision_id, policies=policies, lang=lang, actor=principal
    )
    return DecisionReplayRead(
        decision_id=row.id,
        policy_version=row.policy_version,
        identical=identical,
        stored=stored,
        replayed=replayed,
    )
