"""Credit-report disputes for disaster-caused delinquency (DOMAIN.md, "Credit-report disputes").

Lifecycle: submitted -> under_review -> (corrected | rejected), or withdrawn from either of the
first two. The PBOC credit reference center must handle a dispute within 20 days of receipt
(征信业管理条例, State Council Order 631, 2013); an open dispute past its due date is overdue.
"""

from datetime import date
from enum import StrEnum

from app.domain.dates import add_days
from app.domain.errors import InvalidTerm, InvalidTransition
from app.domain.model import DisasterEvent

__all__ = [
    "OPEN_DISPUTE_STATUSES",
    "DisputeStatus",
    "disaster_dispute_period",
    "dispute_due_by",
    "is_overdue",
    "transition_dispute",
]


class DisputeStatus(StrEnum):
    """Lifecycle of a credit-report dispute."""

    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CORRECTED = "corrected"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_DISPUTE_STATUSES: frozenset[DisputeStatus] = frozenset(
    {DisputeStatus.SUBMITTED, DisputeStatus.UNDER_REVIEW}
)

_DISPUTE_TRANSITIONS: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    DisputeStatus.SUBMITTED: frozenset({DisputeStatus.UNDER_REVIEW, DisputeStatus.WITHDRAWN}),
    DisputeStatus.UNDER_REVIEW: frozenset(
        {DisputeStatus.CORRECTED, DisputeStatus.REJECTED, DisputeStatus.WITHDRAWN}
    ),
}


def transition_dispute(current: str, target: str) -> DisputeStatus:
    """Move a dispute from ``current`` to ``target``, or raise InvalidTransition (see module docstring)."""
    try:
        source, destination = DisputeStatus(current), DisputeStatus(target)
    except ValueError as error:
        raise InvalidTransition(f"unknown dispute status in {current!r} -> {target!r}") from error
    if destination not in _DISPUTE_TRANSITIONS.get(source, frozenset()):
        raise InvalidTransition(f"a dispute cannot go from {source.value} to {destination.value}")
    return destination


def dispute_due_by(submitted_on: date, due_days: int) -> date:
    """The day by which the bureau must answer: submitted_on + due_days (20 days for the PBOC CRC)."""
    if isinstance(due_days, bool) or not isinstance(due_days, int) or due_days < 1:
        raise InvalidTerm(f"due_days must be at least 1, got {due_days!r}")
    return add_days(submitted_on, due_days)


def is_overdue(status: str, due_by: date, today: date) -> bool:
    """True when the dispute is still open (submitted or under review) and today is after due_by."""
    return status in OPEN_DISPUTE_STATUSES and today > due_by


def disaster_dispute_period(delinquent_since: date | None, event: DisasterEvent) -> tuple[date, date] | None:
    """The disputed period (delinquent_since, relief_end) if delinquency began in [occurred_on, relief_end].

    Such a delinquency was caused by the disaster (DOMAIN.md); otherwise, or when the account is
    current, None: there is nothing to dispute.
    """
    if delinquent_since is None:
        return None
    if not event.occurred_on <= delinquent_since <= event.relief_end:
        return None
    return (delinquent_since, event.relief_end)
