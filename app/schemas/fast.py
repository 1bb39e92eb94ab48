"""A response schema's fast path: a function, generated from the schema's fields, that reads a source
(an object's attributes, or a dict's keys) as ``Schema.model_validate(source)`` would and gives the
values ``pydantic_core.to_json`` turns into the same bytes as ``model_dump_json()``, without
validating them again.  For the hot answers (GET account, eligibility), where validating what the
service has just built costs more than the rest of the serialisation.

Being generated from the schema, it cannot forget a field: a field added to the schema is read from
the source too (and a source without it fails).  A field type it does not know is refused when the
function is made, at import time.  ``tests/api/test_hot_answers.py`` checks it against the model.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, PlainSerializer

__all__ = ["json_values"]

_PLAIN = (str, int, bool, dt.date, dt.datetime, float)
_made: dict[type[BaseModel], Callable[[Any], dict[str, Any]]] = {}


def json_values(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    """The fast path of ``model`` (made once per model)."""
    if model not in _made:
        _made[model] = _make(model)
    return _made[model]


def _make(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or model.model_computed_fields:
        raise TypeError(f"json_values: {model.__name__} has serializers of its own")
    helpers: dict[str, Any] = {}
    by_key, by_attribute = [], []
    for name, field in model.model_fields.items():
        if field.alias or field.serialization_alias or field.exclude:
            raise TypeError(f"json_values: {model.__name__}.{name} is renamed or left out in JSON")
        by_key.append(f"{name!r}: {_expression(field.annotation, field.metadata, f'src[{name!r}]', helpers)}")
        by_attribute.append(
            f"{name!r}: {_expression(field.annotation, field.metadata, f'src.{name}', helpers)}"
        )
    source = (
        f"def {model.__name__}_values(src):\n"
        f"    if type(src) is dict:\n"
        f"        return {{{', '.join(by_key)}}}\n"
        f"    return {{{', '.join(by_attribute)}}}\n"
    )
    namespace: dict[str, Any] = dict(helpers)
    exec(compile(source, f"<json_values {model.__qualname__}>", "exec"), namespace)  # noqa: S102
    function: Callable[[Any], dict[str, Any]] = namespace[f"{model.__name__}_values"]
    return function


def _expression(annotation: Any, metadata: list[Any], value: str, helpers: dict[str, Any]) -> str:
    """The Python expression of one field's JSON value, ``value`` being the expression that reads it."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata = [*metadata, *extra]
    serializer = next((m for m in metadata if isinstance(m, PlainSerializer)), None)
    if serializer is not None:
        if serializer.when_used != "always":
            raise TypeError(f"json_values: a serializer used {serializer.when_used!r} is not supported")
        return f"{_helper(helpers, serializer.func)}({value})"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) != 1 or len(args) != 2:
            raise TypeError(f"json_values: only X | None unions are supported, not {annotation!r}")
        inner = _expression(present[0], [], value, helpers)
        return value if inner == value else f"(None if {value} is None else {inner})"
    if origin is list:
        inner = _expression(args[0], [], "item", helpers)
        return value if inner == "item" else f"[{inner} for item in {value}]"
    if origin is dict or origin is typing.Literal or annotation is typing.Any:
        return value  # free-form JSON values (an offer, a stored snapshot): given as they are
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"{_helper(helpers, json_values(annotation))}({value})"
    if (
        isinstance(annotation, type)
        and issubclass(annotation, _PLAIN)
        and not issubclass(annotation, Decimal)
    ):
        return value  # the same JSON from to_json as from the model (enums included: their value)
    raise TypeError(f"json_values: no fast path for a field of type {annotation!r}")


def _helper(helpers: dict[str, Any], function: Any) -> str:
    name = f"_f{len(helpers)}"
    helpers[name] = function
    return name
