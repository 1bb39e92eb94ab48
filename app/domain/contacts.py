"""Contacts with the cardholder: how the bank reached them and what came of it.

Only the fixed lists live here (ARCHITECTURE.md, "contacts, queue, timeline": none beyond statuses);
the records are written by app/services/contacts.py."""

from __future__ import annotations

from enum import StrEnum

# A callback is booked at most this many days ahead: a longer promise is a new contact, not a callback.
MAX_CALLBACK_DAYS = 90


class ContactChannel(StrEnum):
    INBOUND_CALL = "inbound_call"
    OUTBOUND_CALL = "outbound_call"
    ONLINE = "online"
    BRANCH = "branch"


class ContactOutcome(StrEnum):
    """What the contact came to (one of a fixed list, so that the queue and reports can count them)."""

    RELIEF_AGREED = "relief_agreed"
    RELIEF_REQUESTED = "relief_requested"
    INFORMATION_GIVEN = "information_given"
    DOCUMENTS_REQUESTED = "documents_requested"
    PROMISE_TO_PAY = "promise_to_pay"
    CALLBACK_REQUESTED = "callback_requested"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    COMPLAINT = "complaint"
