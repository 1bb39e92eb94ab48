"""The card system's instruction file (CONTRACT.md, "Instructions for the card system")."""

from __future__ import annotations

from datetime import date

from app.schemas.common import MoneyOut, ReadModel


class InstructionRead(ReadModel):
    instruction_id: str
    account_ref: str
    action: str
    effective_on: date
    end_on: date | None
    statement_date: date | None
    due_date: date | None
    new_due_date: date | None
    amount: MoneyOut | None
    source_type: str
    source_id: int


class InstructionList(ReadModel):
    items: list[InstructionRead]
