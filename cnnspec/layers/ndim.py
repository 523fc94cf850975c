"""Layers over 1, 2 or 3 spatial axes: the names of the axes, the attribute kinds that take one
number per axis (an int for every axis, or a list of one per axis), and how such a setting is
read from and written as a torch constructor argument.

A (C, L) input has one spatial axis (length), (C, H, W) two, (C, D, H, W) three (depth —
frames of a video, slices of a volume — height, width). The 2-D kinds are the ones
``cnnspec.layers.attrs`` defines, so a 2-D layer's settings and JSON Schema are unchanged.
"""

from __future__ import annotations

from cnnspec.layers.attrs import (
    AttrValueError,
    Kind,
    _integer,
    output_size_kind,
    padding_kind,
    pair_kind,
)

#: the spatial axes of a layer over ``rank`` of them, by name
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def axis_letters(rank: int) -> str:
    """One letter per spatial axis: ``L``, ``HW``, ``DHW`` (reports and messages)."""
    return {1: "L", 2: "HW", 3: "DHW"}.get(rank, "".join(f"{i}" for i in range(rank)))


def _listing(rank: int) -> str:
    return "[" + ", ".join(AXIS_NAMES[rank]) + "]"


def _item(minimum: int, nullable: bool = False) -> dict:
    options = [{"type": "integer", "minimum": minimum}]
    if nullable:
        options.append({"type": "null"})
    options.append({"type": "string", "description": "an arithmetic expression over vars"})
    return {"anyOf": options}


def _per_axis(rank: int, minimum: int, nullable: bool = False):
    """The parser of an int for every axis or a list of one per axis (null keeps an axis)."""

    def parse(value, resolve):
        if isinstance(value, list):
            if len(value) != rank:
                raise AttrValueError(f"expected {_listing(rank)}, got {len(value)} values")
            return tuple(None if nullable and v is None else _integer(v, resolve, minimum)
                         for v in value)
        number = _integer(value, resolve, minimum)
        return (number,) * rank

    return parse


def axes_kind(rank: int, minimum: int = 1) -> Kind:
    """An int used for every spatial axis, or a list of one per axis."""
    if rank == 2:
        return pair_kind(minimum)
    item = _item(minimum)
    return Kind(f"integer >= {minimum} or {_listing(rank)}", _per_axis(rank, minimum),
                {"anyOf": [item, {"type": "array", "items": item, "minItems": rank,
                                  "maxItems": rank}]})


def axes_padding_kind(rank: int) -> Kind:
    """A padding per axis, or 'same' or 'valid'."""
    if rank == 2:
        return padding_kind()
    per_axis = axes_kind(rank, 0)

    def parse(value, resolve):
        if value in ("same", "valid"):
            return value
        return per_axis.parse(value, resolve)

    return Kind(f"integer >= 0, {_listing(rank)}, 'same' or 'valid'", parse,
                {"anyOf": [{"enum": ["same", "valid"]}, per_axis.schema]})


def axes_output_size_kind(rank: int) -> Kind:
    """Adaptive pooling's output size: an int, or one per axis where null keeps that axis
    (not in 1-D, where PyTorch takes an int only)."""
    if rank == 2:
        return output_size_kind()
    nullable = rank > 1
    item = _item(1, nullable)
    return Kind(f"integer >= 1 or {_listing(rank)}", _per_axis(rank, 1, nullable),
                {"anyOf": [_item(1), {"type": "array", "items": item, "minItems": rank,
                                      "maxItems": rank}]})


def compact(values):
    """A per-axis setting as torch would print it: one int when every axis has the same."""
    values = tuple(values)
    return values[0] if all(v == values[0] for v in values) else values


def torch_tuple(value):
    """A torch per-axis setting as a spec writes it: one number when every axis has the same,
    else a list."""
    if isinstance(value, (tuple, list)):
        return value[0] if all(v == value[0] for v in value) else list(value)
    return value


def per_axis_kind(what: str, parse_one, item: dict) -> Kind:
    """One value for every spatial axis or a list of one to three (checked against the input's
    axes by the layer, which takes inputs of any rank): ``what`` names one value."""

    def parse(value, resolve):
        if isinstance(value, list):
            if not 1 <= len(value) <= 3:
                raise AttrValueError(f"expected {what} or a list of 1 to 3, got {len(value)} values")
            return tuple(parse_one(v, resolve) for v in value)
        return parse_one(value, resolve)

    return Kind(f"{what}, or a list of one per spatial axis", parse,
                {"anyOf": [item, {"type": "array", "items": item, "minItems": 1, "maxItems": 3}]})


def per_axis(value, rank: int) -> tuple:
    """A setting that is one value or a tuple of one per axis, as a tuple of ``rank``."""
    return tuple(value) if isinstance(value, tuple) else (value,) * rank
