"""Domain errors: raised only when a question cannot be answered.

A refusal by the rules is a result (``Decision`` with reasons), never an exception
(ARCHITECTURE.md, "Rules of the core"). These errors mean the input itself makes no sense:
a term of 0 months, a negative principal, a money text with three decimals, a broken policy file.
"""


class DomainError(Exception):
    """Base class of every error raised by ``app.domain``.

    The message is English; ``code`` and ``params`` name it for a catalog in other languages."""

    def __init__(self, message: str = "", *, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, object] = params


class InvalidMoney(DomainError):
    """A money text or value is malformed (more than 2 decimals, exponent, NaN, float, sign...)."""


class InvalidRate(DomainError):
    """A rate is negative, not finite, or not a Decimal."""


class InvalidDate(DomainError):
    """A date computation leaves the supported calendar (year 1..9999)."""


class InvalidRegionCode(DomainError):
    """A region code is not exactly 6 ASCII digits (GB/T 2260)."""


class InvalidTerm(DomainError):
    """A term or period count is out of range (term < 1, above 60 months), or nothing to spread."""


class InvalidTransition(DomainError):
    """A lifecycle transition that the state machine does not allow."""


class InvalidWaiver(DomainError):
    """A waiver asks for more than the balances or the policy allow."""


class InvalidEvent(DomainError):
    """A disaster event whose dates, codes or deferral months are inconsistent."""


class PolicyError(DomainError):
    """The policy file is malformed, or no policy applies; the message names the bad key."""
