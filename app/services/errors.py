"""Errors a use case raises when a request cannot be carried out.  problems.py maps each to HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ServiceError(Exception):
    """Base of the errors a service raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Unavailable(ServiceError):
    pass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidInput(ServiceError):
    """Input that is well-formed JSON but breaks a rule of the contract (checked by a service)."""

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)


@dataclass(frozen=True)
class RefusalReason:
    code: str
    message: str


@dataclass
class Refused(Exception):
    """The rules refuse the request: 422 with every reason code."""

    detail: str
    reasons: list[RefusalReason] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail
