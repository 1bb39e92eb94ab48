"""The business date (CONTRACT.md, "The business date")."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from app.schemas.common import ApiModel, ReadModel


class BusinessDateRead(ReadModel):
    date: dt.date = Field(description="The bank's calendar day that every rule uses as today")
    timezone: str = Field(description="The bank's time zone (IANA name)", examples=["Asia/Shanghai"])
    pinned: bool = Field(description="True while an admin has pinned the date")


class BusinessDatePin(ApiModel):
    date: dt.date
