"""Agent-UI users as admins see them through the API (CONTRACT.md, "People and credentials")."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.schemas.common import ReadModel


class UserRead(ReadModel):
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set once the user is disabled; null while enabled")
    sessions_open: int = Field(description="Agent-UI sessions that would still let the user in now")


class UserList(ReadModel):
    items: list[UserRead]


class SessionsEnded(ReadModel):
    username: str
    sessions_ended: int = Field(description="Open sessions ended by this call (0 when there were none)")
