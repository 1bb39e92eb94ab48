"""Agent-UI users for admins: who can sign in, and ending a user's sessions everywhere at once
(a lost laptop, a suspected stolen cookie). Creating users and setting passwords stays on the CLI,
where a password never travels through an API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from app.deps import SessionDep, require
from app.domain.access import Permission
from app.problems import STANDARD_PROBLEMS, problem_responses
from app.routing import UnitOfWorkRoute
from app.schemas.users import SessionsEnded, UserList, UserRead
from app.services import auth
from app.services.clock import utcnow
from app.services.principal import Principal
from app.settings import get_settings

router = APIRouter(
    prefix="/v1/users", tags=["users"], route_class=UnitOfWorkRoute, responses=STANDARD_PROBLEMS
)

Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get("", operation_id="users-list")
def list_users(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.USER_MANAGE))],
) -> UserList:
    """Every agent-UI user, by name, with the number of sessions that would still let them in."""
    settings = get_settings()
    users = auth.list_users(
        session,
        now=utcnow(),
        max_age=timedelta(seconds=settings.session_max_age_seconds),
        idle=timedelta(seconds=settings.session_idle_seconds),
    )
    return UserList(items=[UserRead.model_validate(user) for user in users])


@router.post("/{username}/end-sessions", operation_id="users-end-sessions", responses=problem_responses(404))
def end_sessions(
    username: Username,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.USER_MANAGE))],
) -> SessionsEnded:
    """End every agent-UI session of the user in every process; they must sign in again. Their API
    keys are not touched (revoke those with `hardship keys revoke`). Audited."""
    user = auth.get_user_by_name(session, username)
    ended = auth.end_user_sessions(session, user_id=user.id, actor=principal)
    return SessionsEnded(username=user.username, sessions_ended=ended)


@router.post("/{username}/disable", operation_id="users-disable", responses=problem_responses(404))
def disable_user(
    username: Username,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Permission.USER_MANAGE))],
) -> UserRead:
    """Disable the user: their sessions end and the keys issued to them stop working at once in this
    process, within the key cache's 30 s in the others. Repeating it changes nothing. Audited."""
    user = auth.disable_user(session, username=username, actor=principal)
    return UserRead(
        username=user.username,
        role=user.role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        sessions_open=0,
    )
