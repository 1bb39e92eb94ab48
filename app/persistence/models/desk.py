"""The agent desk's own records: contacts with the cardholder."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.persistence.models.base import Base, Id, UtcDateTime

__all__ = ["Contact"]


class Contact(Base):
    """One contact with the cardholder (a call, an online session, a branch visit): its channel, its
    outcome from a fixed list (app/domain/contacts.py), a note, and an optional callback date that
    brings the account back into the recorder's work queue on that business date."""

    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_account_id_created_at", "account_id", "created_at"),
        Index("ix_contact_callback_on", "callback_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_account.id"))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    callback_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
