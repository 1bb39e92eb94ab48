"""Webhook endpoints and their deliveries (CONTRACT.md, "Events out")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from app.domain.statuses import DeliveryStatus
from app.schemas.common import ApiModel, ReadModel, UtcTimestamp


class EndpointCreate(ApiModel):
    url: str = Field(min_length=1, max_length=2000, examples=["https://mobile.example.cn/hooks/hardship"])
    event_types: list[str] = Field(
        min_length=1, max_length=50, examples=[["*"], ["hardship.deferral.granted"]]
    )


class EndpointRead(ReadModel):
    id: int
    url: str
    event_types: list[str]
    created_by: str
    created_at: UtcTimestamp


class EndpointCreated(EndpointRead):
    secret: str = Field(description="The signing secret (whsec_ + base64), shown only in this answer")


class EndpointList(ReadModel):
    items: list[EndpointRead]


class DeliveryRead(ReadModel):
    id: int
    event_id: str
    type: str
    subject: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: UtcTimestamp | None
    next_attempt_at: UtcTimestamp | None
    delivered_at: UtcTimestamp | None
    created_at: UtcTimestamp


class DeliveryList(ReadModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class ReplayRequest(ApiModel):
    """Either the events to send again, or every failed delivery."""

    event_ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    status: Literal["failed"] | None = None

    @model_validator(mode="after")
    def one_of(self) -> ReplayRequest:
        if (self.event_ids is None) == (self.status is None):
            raise ValueError("give either event_ids or status")
        return self


class ReplayResult(ReadModel):
    pending: int
