"""Contacts with the cardholder and their callback dates."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from app.domain.contacts import ContactChannel, ContactOutcome
from app.schemas.common import ApiModel, ReadModel, UtcTimestamp


class ContactCreate(ApiModel):
    channel: ContactChannel = Field(description="inbound_call, outbound_call, online or branch")
    outcome: ContactOutcome = Field(description="What the contact came to (a fixed list)")
    note: str | None = Field(default=None, max_length=2000)
    callback_on: date | None = Field(
        default=None, description="A callback date, from the business date up to 90 days ahead"
    )


class ContactRead(ReadModel):
    id: int
    account_ref: str
    channel: str
    outcome: str
    note: str | None
    callback_on: date | None
    recorded_by: str
    recorded_role: str
    created_at: UtcTimestamp


class ContactList(ReadModel):
    items: list[ContactRead]
