"""Errors a use case raises when a request cannot be carried out.  problems.py maps each to HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import field as _field
from typing import Any


class ServiceError(Exception):
    """Base of the errors a service raises on purpose.

    ``detail`` is the English text of the API's problem document; ``code`` and ``params`` name the
    same message for a catalog in other languages (the agent UI's app/web/messages.py), so that a
    page never shows the English text to a reader of another language."""

    def __init__(
        self, detail: str, *, code: str | None = None, params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.params: dict[str, Any] = dict(params or {})


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
    """One bad field: the English message, and its catalog code and parameters (see ServiceError)."""

    field: str
    message: str
    code: str | None = None
    params: Mapping[str, Any] = _field(default_factory=dict, compare=False, hash=False)


class InvalidInput(ServiceError):
    """Input that is well-formed JSON but breaks a rule of the contract (checked by a service)."""

    def __init__(
        self,
        detail: str,
        errors: Sequence[FieldError] = (),
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, code=code, params=params)
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
