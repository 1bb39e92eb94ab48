from __future__ import annotations

from typing import Any

from app.schemas.common import ReadModel, UtcTimestamp


class AuditEventRead(ReadModel):
    id: int
    occurred_at: UtcTimestamp
    actor: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    request_id: str | None
    hash: str


class AuditEventList(ReadModel):
    items: list[AuditEventRead]
    next_cursor: str | None
