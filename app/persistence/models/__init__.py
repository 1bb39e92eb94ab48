"""The database schema: SQLAlchemy 2 declarative models, one module per area.  Money columns are
integer fen (see types.Money); timestamps are UTC; dates are calendar dates.  Uniqueness rules live
here as constraints.

Every model is importable from here (``from app.persistence.models import CardAccount``), and
importing this package registers every table on ``Base.metadata`` (Alembic reads it)."""

from __future__ import annotations

from app.persistence.models.accounts import CardAccount, Customer, Payment, Statement
from app.persistence.models.base import NAMING_CONVENTION, Base, Id, UtcDateTime, one_of
from app.persistence.models.controls import BusinessDatePin, IdempotencyRecord
from app.persistence.models.desk import Contact
from app.persistence.models.disasters import (
    DisasterAmendment,
    DisasterEvent,
    DisasterRegion,
    RegionCodeChange,
    Scan,
    ScanChunk,
    ScanResult,
)
from app.persistence.models.events import (
    EventSubjectSeq,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointType,
)
from app.persistence.models.people import AgentSession, AgentUser, ApiKey, AuditEvent
from app.persistence.models.relief import (
    Approval,
    CreditDispute,
    Decision,
    Deferral,
    DeferralLine,
    DeferralLineColumns,
    DeferralLineHistory,
    FeeWaiver,
    Installment,
    InstallmentPlan,
    ServicingRun,
)

__all__ = [
    "NAMING_CONVENTION",
    "AgentSession",
    "AgentUser",
    "ApiKey",
    "Approval",
    "AuditEvent",
    "Base",
    "BusinessDatePin",
    "CardAccount",
    "Contact",
    "CreditDispute",
    "Customer",
    "Decision",
    "Deferral",
    "DeferralLine",
    "DeferralLineColumns",
    "DeferralLineHistory",
    "DisasterAmendment",
    "DisasterEvent",
    "DisasterRegion",
    "EventSubjectSeq",
    "FeeWaiver",
    "Id",
    "IdempotencyRecord",
    "Installment",
    "InstallmentPlan",
    "OutboxEvent",
    "Payment",
    "RegionCodeChange",
    "Scan",
    "ScanChunk",
    "ScanResult",
    "ServicingRun",
    "Statement",
    "UtcDateTime",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointType",
    "one_of",
]
