"""Hot answers: JSON values read straight from an object's attributes, in a response schema's shape.

``json_values(Model)`` makes a function ``obj -> dict`` that reads each field of ``Model`` by name from
``obj``'s attributes (a dict's keys when ``obj`` is a dict), in the schema's order, and gives the
values from which ``pydantic_core.to_json`` (``app.routing.json_response``) writes exactly the bytes
of ``Model.model_validate(obj, from_attributes=True).model_dump_json()``: a field's serializer
applied (money as ``MoneyOut`` text), its before-validators too (UTC timestamps with their zone),
nested schemas, lists and optionals of them the same way, other values as they are. What it skips
is the validation of values the service computed itself, which costs a hot endpoint more than the
rest of its answer (benchmarks/README.md, "API load").

The function is generated from the schema, once: a field added to the schema is read like the others,
and a field this cannot write exactly as the model would (an alias, a custom serializer, a union) is
refused when the function is made (TypeError), never served differently.
``tests/api/test_hot_answers.py`` compares its bytes with the model's.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, PlainSerializer

__all__ = ["json_values"]

JsonValues = Callable[[Any], dict[str, Any]]

# Written by pydantic_core.to_json exactly as a model field of that type is written.
_AS_THEY_ARE: tuple[type, ...] = (bool, int, str, date, datetime, Decimal, float, enum.Enum)
_BUILT: dict[type[BaseModel], JsonValues] = {}


def json_values(model: type[BaseModel]) -> JsonValues:
    """The function that reads ``model``'s fields from an object as JSON values (made once per model)."""
    built = _BUILT.get(model)
    if built is None:
        built = _BUILT[model] = _build(model)
    return built


def _build(model: type[BaseModel]) -> JsonValues:
    names: dict[str, Any] = {}
    by_key = _display(model, "o", names, by_key=True)
    by_attribute = _display(model, "o", names, by_key=False)
    function: JsonValues = eval(  # noqa: S307 - generated from the schema
        f"lambda o: {by_key} if type(o) is dict else {by_attribute}", names
    )
    return function


_BUILDING: set[type[BaseModel]] = set()


def _display(model: type[BaseModel], source: str, names: dict[str, Any], *, by_key: bool) -> str:
    """The dict display of ``model``'s fields read from the object (or the dict) named ``source``."""
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or model.model_computed_fields:
        raise TypeError(f"{model.__name__}: custom serializers are not supported")
    if model in _BUILDING:
        raise TypeError(f"{model.__name__}: recursive schemas are not supported")
    _BUILDING.add(model)
    try:
        entries = []
        for name, field in model.model_fields.items():
            if field.alias or field.validation_alias or field.serialization_alias or field.exclude:
                raise TypeError(f"{model.__name__}.{name}: aliased or excluded fields are not supported")
            where = f"{model.__name__}.{name}"
            read = f"{source}[{name!r}]" if by_key else f"{source}.{name}"
            value = _expression(read, field.annotation, list(field.metadata), names, where)
            entries.append(f"{name!r}: {value}")
    finally:
        _BUILDING.discard(model)
    return f"{{{', '.join(entries)}}}"


def _expression(source: str, annotation: Any, metadata: list[Any], names: dict[str, Any], where: str) -> str:
    """Python source that turns the value ``source`` of type ``annotation`` into its JSON value."""
    while get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        metadata = [*metadata, *more]
    for item in metadata:
        if isinstance(item, BeforeValidator):
            source = f"{_name(names, item.func)}({source})"
    serializers = [item for item in metadata if isinstance(item, PlainSerializer)]
    if serializers:
        if len(serializers) > 1 or serializers[0].when_used != "always":
            raise TypeError(f"{where}: only one serializer, used always, is supported")
        return f"{_name(names, serializers[0].func)}({source})"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        if len(kinds) != 1 or len(args) != 2:
            raise TypeError(f"{where}: only X | None unions are supported")
        inner = _expression(source, kinds[0], [], names, where)
        return source if inner == source else f"(None if {source} is None else {inner})"
    if origin in (list, tuple, Sequence):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"{where}: only tuple[X, ...] is supported")
        item = f"i{len(names)}"
        names[item] = None  # reserves the loop variable's name
        inner = _expression(item, args[0], [], names, where)
        return source if inner == item else f"[{inner} for {item} in {source}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if source.isidentifier():  # an item of a list: written in place, without a call
            by_key = _display(annotation, source, names, by_key=True)
            by_attribute = _display(annotation, source, names, by_key=False)
            return f"({by_key} if type({source}) is dict else {by_attribute})"
        return f"{_name(names, json_values(annotation))}({source})"
    if origin is Literal or annotation is Any or origin is dict or annotation is dict:
        return source
    if isinstance(annotation, type) and issubclass(annotation, _AS_THEY_ARE):
        return source
    raise TypeError(f"{where}: the type {annotation!r} is not supported")


def _name(names: dict[str, Any], value: Any) -> str:
    """A name for ``value`` in the generated function's globals."""
    for name, known in names.items():
        if known is value:
            return name
    name = f"f{len(names)}"
    names[name] = value
    return name
