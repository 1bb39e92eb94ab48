"""Value objects the rules work on: statements, account snapshots, disaster events.

Plain frozen dataclasses, built by the service layer from the database (DOMAIN.md, "Data the
service keeps about accounts"). Money fields are Decimals with 2 decimals (an int is converted; a
float or a fraction of a fen is refused with InvalidMoney).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.dates import days_past_due
from app.domain.errors import InvalidEvent
from app.domain.money import ZERO, require_cents
from app.domain.regions import is_valid_region_code

__all__ = ["Account", "DisasterEvent", "Statement"]


def _normalize_money_fields(instance: object, names: tuple[str, ...]) -> None:
    """Refuse floats and fractions of a fen in the named money fields; store them with 2 decimals."""
    for name in names:
        value = getattr(instance, name)
        object.__setattr__(instance, name, require_cents(value, name=name))


@dataclass(frozen=True, slots=True)
class Statement:
    """One monthly statement of a card account."""

    statement_date: date
    due_date: date
    statement_balance: Decimal
    minimum_due: Decimal
    paid_amount: Decimal

    def __post_init__(self) -> None:
        """Check that money fields are Decimals."""
        _normalize_money_fields(self, ("statement_balance", "minimum_due", "paid_amount"))

    @property
    def unpaid_amount(self) -> Decimal:
        """statement_balance - paid_amount, never below 0 (DOMAIN.md)."""
        return max(ZERO, self.statement_balance - self.paid_amount)


@dataclass(frozen=True, slots=True)
class Account:
    """A card account snapshot from the system of record (CONTRACT.md, accounts.csv)."""

    account_ref: str
    customer_ref: str
    product_code: str
    status: str
    region_code: str
    opened_on: date
    credit_limit: Decimal
    principal_balance: Decimal
    interest_balance: Decimal
    fee_balance: Decimal
    delinquent_since: date | None
    last_payment_on: date | None

    def __post_init__(self) -> None:
        """Check that money fields are Decimals."""
        _normalize_money_fields(
            self, ("credit_limit", "principal_balance", "interest_balance", "fee_balance")
        )

    @property
    def total_balance(self) -> Decimal:
        """principal + interest + fees (DOMAIN.md, installment eligibility)."""
        return self.principal_balance + self.interest_balance + self.fee_balance

    def days_past_due_on(self, on: date) -> int:
        """Days past due at ``on`` (0 when current)."""
        return days_past_due(self.delinquent_since, on)


@dataclass(frozen=True, slots=True)
class DisasterEvent:
    """A declared disaster: affected regions, the relief window and the deferral length.

    Refused with InvalidEvent: no region codes, a code that is not 6 digits, a relief window that
    ends before it starts, or fewer than 1 deferral month. A list of codes is stored as a tuple.
    """

    code: str
    occurred_on: date
    relief_start: date
    relief_end: date
    deferral_months: int
    region_codes: tuple[str, ...]

    def __post_init__(self) -> None:
        """Validate the event (see the class docstring)."""
        codes = tuple(self.region_codes)
        object.__setattr__(self, "region_codes", codes)
        if not codes:
            raise InvalidEvent(f"disaster {self.code!r} names no region code")
        bad = [code for code in codes if not is_valid_region_code(code)]
        if bad:
            raise InvalidEvent(f"disaster {self.code!r}: region codes must be 6 digits: {bad!r}")
        if self.relief_end < self.relief_start:
            raise InvalidEvent(f"disaster {self.code!r}: relief_end is before relief_start")
        months = self.deferral_months
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            raise InvalidEvent(f"disaster {self.code!r}: deferral_months must be at least 1")

    def is_relief_open_on(self, day: date) -> bool:
        """True when ``day`` lies in the relief window [relief_start, relief_end] (both inclusive)."""
        return self.relief_start <= day <= self.relief_end
