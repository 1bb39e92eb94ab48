"""The lifecycles of the records the service keeps, one StrEnum each.  The database CHECK constraints
(app/persistence/models/) and the JSON schemas (app/schemas) are made from these, so a status is
spelled in one place.  Statuses owned by a rule live beside it: AccountStatus (app.domain.reasons),
PlanStatus (app.domain.installments), InstallmentStatus (app.domain.servicing), DisputeStatus
(app.domain.disputes)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ApprovalStatus",
    "ChunkStatus",
    "DeferralStatus",
    "DeliveryStatus",
    "DisasterStatus",
    "ScanMode",
    "ScanStatus",
    "WaiverStatus",
]


class WaiverStatus(StrEnum):
    """A fee waiver: applied at once within the requester's authority, else pending a checker."""

    PENDING_APPROVAL = "pending_approval"
    APPLIED = "applied"
    REJECTED = "rejected"
    REVERSED = "reversed"


class ApprovalStatus(StrEnum):
    """Maker-checker: a request beyond the maker's authority waits for another person's decision."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DisasterStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ScanMode(StrEnum):
    DRY_RUN = "dry_run"
    ENROLL = "enroll"


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ChunkStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DeferralStatus(StrEnum):
    """A deferral is completed once its last new due date has passed (DOMAIN.md, "Servicing")."""

    ACTIVE = "active"
    COMPLETED = "completed"


class DeliveryStatus(StrEnum):
    """A webhook delivery: retried on the schedule while pending, then delivered or failed."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
