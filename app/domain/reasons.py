"""The shared vocabulary: reason codes, programs, account statuses, hardship reasons.

Reason codes are shared across programs: the same rule has the same code everywhere, and its words
in Simplified Chinese and English come from the policy file (DOMAIN.md, CONTRACT.md).
"""

from enum import StrEnum

__all__ = [
    "DEFERRAL_REASON_ORDER",
    "FEE_WAIVER_REASON_ORDER",
    "INSTALLMENT_REASON_ORDER",
    "AccountStatus",
    "HardshipReason",
    "Program",
    "ReasonCode",
    "ScheduleMethod",
]


class ReasonCode(StrEnum):
    """Why a program is refused; the value is the code shown to callers."""

    REGION_NOT_AFFECTED = "REGION_NOT_AFFECTED"
    ACCOUNT_STATUS_INELIGIBLE = "ACCOUNT_STATUS_INELIGIBLE"
    OPENED_AFTER_EVENT = "OPENED_AFTER_EVENT"
    PRE_EVENT_DELINQUENCY = "PRE_EVENT_DELINQUENCY"
    NO_AMOUNT_DUE_IN_WINDOW = "NO_AMOUNT_DUE_IN_WINDOW"
    ALREADY_ENROLLED = "ALREADY_ENROLLED"
    NO_OPEN_DISASTER = "NO_OPEN_DISASTER"
    DELINQUENCY_TOO_LONG = "DELINQUENCY_TOO_LONG"
    BALANCE_TOO_LOW = "BALANCE_TOO_LOW"
    HARDSHIP_REASON_REQUIRED = "HARDSHIP_REASON_REQUIRED"
    PLAN_ALREADY_ACTIVE = "PLAN_ALREADY_ACTIVE"
    RECENT_BROKEN_PLAN = "RECENT_BROKEN_PLAN"
    TERM_NOT_ALLOWED = "TERM_NOT_ALLOWED"
    NO_FEES_OUTSTANDING = "NO_FEES_OUTSTANDING"
    DATA_INVALID = "DATA_INVALID"


class Program(StrEnum):
    """The relief programs judged by the eligibility endpoint."""

    INSTALLMENT_PLAN = "installment_plan"
    FEE_WAIVER = "fee_waiver"
    DISASTER_DEFERRAL = "disaster_deferral"


class AccountStatus(StrEnum):
    """Account status from the card system of record (CONTRACT.md, accounts.csv)."""

    ACTIVE = "active"
    DELINQUENT = "delinquent"
    CLOSED = "closed"
    CHARGED_OFF = "charged_off"
    FRAUD = "fraud"


class HardshipReason(StrEnum):
    """The hardship reasons a cardholder may state (DOMAIN.md, installment eligibility)."""

    UNEMPLOYMENT = "unemployment"
    ILLNESS = "illness"
    DISASTER = "disaster"
    INCOME_REDUCTION = "income_reduction"
    BEREAVEMENT = "bereavement"
    OTHER = "other"


class ScheduleMethod(StrEnum):
    """How an installment plan spreads the restructured principal."""

    EQUAL_PRINCIPAL = "equal_principal"
    ANNUITY = "annuity"


# The order of the rule tables in DOMAIN.md; reasons are always reported in this order. DATA_INVALID
# (DOMAIN.md, "Data that breaks a rule's arithmetic") comes after the rules it keeps from being applied.
DEFERRAL_REASON_ORDER: tuple[ReasonCode, ...] = (
    ReasonCode.REGION_NOT_AFFECTED,
    ReasonCode.ACCOUNT_STATUS_INELIGIBLE,
    ReasonCode.OPENED_AFTER_EVENT,
    ReasonCode.PRE_EVENT_DELINQUENCY,
    ReasonCode.NO_AMOUNT_DUE_IN_WINDOW,
    ReasonCode.ALREADY_ENROLLED,
    ReasonCode.DATA_INVALID,
)
INSTALLMENT_REASON_ORDER: tuple[ReasonCode, ...] = (
    ReasonCode.ACCOUNT_STATUS_INELIGIBLE,
    ReasonCode.DELINQUENCY_TOO_LONG,
    ReasonCode.BALANCE_TOO_LOW,
    ReasonCode.HARDSHIP_REASON_REQUIRED,
    ReasonCode.PLAN_ALREADY_ACTIVE,
    ReasonCode.RECENT_BROKEN_PLAN,
    ReasonCode.TERM_NOT_ALLOWED,
    ReasonCode.DATA_INVALID,
)
FEE_WAIVER_REASON_ORDER: tuple[ReasonCode, ...] = (
    ReasonCode.ACCOUNT_STATUS_INELIGIBLE,
    ReasonCode.NO_FEES_OUTSTANDING,
)
