"""A form answered with an error: every value typed or chosen, each error beside its field in the
page's language (app/web/messages.py), and the first bad field to focus.

A route that refuses a form renders the same page again (422) with a FormState for that form; the
templates read values and errors from it (templates/partials/forms.html)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.errors import DomainError
from app.services import errors as service_errors
from app.web import i18n, messages

__all__ = ["EMPTY", "FormState", "explain", "state_for"]


@dataclass
class FormState:
    """One form as it was sent back: its values, its errors by field, a summary and refusal reasons."""

    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    reasons: list[tuple[str, str]] = field(default_factory=list)

    def v(self, name: str, default: Any = "") -> Any:
        """The value sent for ``name``, else ``default`` (the page's own default)."""
        return self.values.get(name, default)

    def e(self, name: str) -> str:
        return self.errors.get(name, "")

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.summary or self.reasons)

    @property
    def focus(self) -> str:
        """The first field in error (in the order the form lists its fields), or ""."""
        for name in self.values:
            if name in self.errors:
                return name
        return next(iter(self.errors), "")


EMPTY = FormState()


def _field_name(raw: str) -> str:
    """`body.commitment_accepted` -> `commitment_accepted` (the API's location prefix)."""
    return raw.split(".")[-1]


def explain(exc: BaseException, lang: str) -> tuple[str, dict[str, str], list[tuple[str, str]]]:
    """(summary, errors by field, reasons) for an error, every word from the catalog in ``lang``."""
    from app.web.common import BadForm  # the web layer's own error; imported here to avoid a cycle

    if isinstance(exc, service_errors.Refused):
        return i18n.translate("error.refused", lang), {}, [(r.code, r.message) for r in exc.reasons]
    if isinstance(exc, BadForm):
        if exc.field:
            return "", {exc.field: exc.message}, []
        return exc.message, {}, []
    code: str | None = getattr(exc, "code", None)
    params: Mapping[str, Any] = getattr(exc, "params", None) or {}
    fields: dict[str, str] = {}
    if isinstance(exc, service_errors.InvalidInput):
        for item in exc.errors:
            words = (item.code and messages.message(item.code, lang, item.params)) or messages.message(
                "field.invalid", lang
            )
            fields[_field_name(item.field)] = str(words)
    words = messages.message(code, lang, params) if code else None
    if isinstance(exc, DomainError) and code and "field" in params and words:
        return "", {str(params["field"]): words}, []
    if words is None:
        words = describe_kind(exc, lang)
    return words, fields, []


def describe_kind(exc: BaseException, lang: str) -> str:
    """Words for an error without a code: its kind; the API's English detail only on an English page."""
    kind = "invalid"
    if isinstance(exc, service_errors.NotFound):
        kind = "not_found"
    elif isinstance(exc, service_errors.Conflict):
        kind = "conflict"
    elif isinstance(exc, service_errors.Forbidden):
        kind = "forbidden"
    elif isinstance(exc, service_errors.Unavailable):
        kind = "unavailable"
    words = messages.kind_message(kind, lang)
    if lang == "en":
        detail = exc.detail if isinstance(exc, service_errors.ServiceError) else str(exc)
        if detail:
            words = f"{words} {detail}"
    return words


def state_for(
    name: str, values: Mapping[str, Any], exc: BaseException, lang: str, *, fields: Iterable[str] = ()
) -> FormState:
    """The FormState of form ``name`` refused with ``exc``; an error on a field the form does not
    show (``fields``, when given) joins the summary."""
    summary, errors, reasons = explain(exc, lang)
    shown = set(fields) or set(values)
    stray = [text for key, text in errors.items() if key not in shown]
    errors = {key: text for key, text in errors.items() if key in shown}
    if stray:
        summary = " ".join([summary, *stray]).strip()
    return FormState(
        name=name,
        values={k: "" if v is None else str(v) for k, v in values.items()},
        errors=errors,
        summary=summary,
        reasons=reasons,
    )
