"""Layer attributes: how each setting of a layer type is read from a spec (its kind) and
described in the JSON Schema, and :class:`Attr`, one setting as a layer class declares it."""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class AttrValueError(Exception):
    """An attribute value of the wrong type or out of range (the caller adds the position).
    ``attr`` names the attribute when a cross-attribute check in ``validate`` fails."""

    def __init__(self, message: str, attr: str | None = None):
        super().__init__(message)
        self.message = message
        self.attr = attr

@dataclass(frozen=True)
class Kind:
    """How one attribute's value is read from the spec and described in the JSON Schema."""

    name: str
    parse: Callable[[Any, Callable], Any]
    schema: dict


def _number(value, resolve, what: str):
    if isinstance(value, bool):
        raise AttrValueError(f"expected {what}, got {str(value).lower()}")
    if isinstance(value, str):
        value = resolve(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise AttrValueError(f"expected {what}, got {type(value).__name__} {value!r}")
    return value


def _integer(value, resolve, minimum: int | None):
    number = _number(value, resolve, "an integer")
    if isinstance(number, float):
        if not number.is_integer():
            raise AttrValueError(
                f"expected an integer, got {number:g}"
                + (" (use // for whole-number division)" if isinstance(value, str) else "")
            )
        number = int(number)
    if minimum is not None and number < minimum:
        raise AttrValueError(f"must be at least {minimum}, got {number}")
    return number


_EXPR = {"type": "string", "description": "an arithmetic expression over vars"}


def int_kind(minimum: int | None = 1) -> Kind:
    schema: dict = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    return Kind(
        f"integer >= {minimum}" if minimum is not None else "integer",
        lambda v, r: _integer(v, r, minimum),
        {"anyOf": [schema, _EXPR]},
    )


def pair_kind(minimum: int = 1) -> Kind:
    """An int used for both spatial axes, or a [height, width] pair."""

    def parse(value, resolve):
        if isinstance(value, list):
            if len(value) != 2:
                raise AttrValueError(f"expected [height, width], got {len(value)} values")
            return tuple(_integer(v, resolve, minimum) for v in value)
        number = _integer(value, resolve, minimum)
        return (number, number)

    item = {"anyOf": [{"type": "integer", "minimum": minimum}, _EXPR]}
    return Kind(
        f"integer >= {minimum} or [height, width]",
        parse,
        {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]},
    )


def float_kind(minimum: float | None = None, maximum: float | None = None) -> Kind:
    def parse(value, resolve):
        number = float(_number(value, resolve, "a number"))
        if minimum is not None and number < minimum:
            raise AttrValueError(f"must be at least {minimum:g}, got {number:g}")
        if maximum is not None and number > maximum:
            raise AttrValueError(f"must be at most {maximum:g}, got {number:g}")
        return number

    schema: dict = {"type": "number"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return Kind("number", parse, {"anyOf": [schema, _EXPR]})


def _parse_bool(value, resolve):
    if isinstance(value, str):
        value = resolve(value)
    if not isinstance(value, bool):
        raise AttrValueError(f"expected true or false, got {value!r}")
    return value


BOOL = Kind("true or false", _parse_bool, {"type": "boolean"})


def choice_kind(*choices: str) -> Kind:
    def parse(value, resolve):
        if value not in choices:
            from cnnspec.errors import did_you_mean

            hint = did_you_mean(str(value), choices)
            raise AttrValueError(
                f"expected one of {', '.join(choices)}; got {value!r}" + (f" ({hint})" if hint else "")
            )
        return value

    return Kind("one of " + ", ".join(choices), parse, {"enum": list(choices)})


def padding_kind() -> Kind:
    pair = pair_kind(0)

    def parse(value, resolve):
        if value in ("same", "valid"):
            return value
        return pair.parse(value, resolve)

    return Kind(
        "integer >= 0, [height, width], 'same' or 'valid'",
        parse,
        {"anyOf": [{"enum": ["same", "valid"]}, pair.schema]},
    )


def output_size_kind() -> Kind:
    """Adaptive pooling's output size: an int, or [height, width] where null keeps that axis."""

    def parse(value, resolve):
        if isinstance(value, list):
            if len(value) != 2:
                raise AttrValueError(f"expected [height, width], got {len(value)} values")
            return tuple(None if v is None else _integer(v, resolve, 1) for v in value)
        number = _integer(value, resolve, 1)
        return (number, number)

    item = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, _EXPR]}
    return Kind(
        "integer >= 1 or [height, width]",
        parse,
        {"anyOf": [{"type": "integer", "minimum": 1}, _EXPR,
                   {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]},
    )


@dataclass(frozen=True)
class Attr:
    """One attribute of a layer type as written in a spec."""

    name: str
    kind: Kind
    default: Any = None
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    #: the torch constructor argument that takes the value as it is, where its name differs
    #: (``out`` is Conv2d's ``out_channels``): the emitter finds the spec's text for it
    torch_arg: str = ""
    #: the value changes no shape anywhere (a probability, eps, a slope), so the emitted model
    #: may take the spec variable it is written with as an argument of its top-level class
    shapeless: bool = False

    @property
    def field(self) -> str:
        """The Python attribute the value is stored under (``in`` becomes ``in_``)."""
        return self.name + "_" if keyword.iskeyword(self.name) else self.name
