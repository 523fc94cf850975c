"""The arithmetic of receptive fields (:class:`~cnnspec.ir.facts.RF`, after Araujo, Norris &
Sim) that both one-input layers and merges use: a field marked inexact, the union of a field's
units, the extent of its first unit, the field of units spanning an interval, and exact
numbers kept as ints or fractions."""

from __future__ import annotations

from fractions import Fraction

from cnnspec.ir.facts import RF
from cnnspec.layers.ndim import axis_letters
from cnnspec.util import dims

OTHER = -1  # a layout token for channels or features; 0, 1, … are the spatial axes
AXES = "HW"  # the axes of a (C, H, W) input


def axis_names(count: int) -> str:
    """The letters of ``count`` spatial axes: L for (C, L), HW for (C, H, W), DHW for
    (C, D, H, W)."""
    return axis_letters(count)


def inexact(rf: RF, name: str, why: str) -> RF:
    """The field marked inexact; an earlier reason is kept (it names the first cause)."""
    if not rf.exact:
        return rf
    return rf._replace(exact=False, reason=f"{name}: {why}")


def half_size(size):
    """(size − 1) / 2: an int for an odd size, a fraction for an even one, a formula else."""
    if type(size) is int:
        return (size - 1) // 2 if size % 2 else Fraction(size - 1, 2)
    return (size - 1) / 2


def hull(rf: RF) -> tuple:
    """(first, last) extent, in input pixel coordinates, of the union of the units' fields."""
    if not rf.exact and rf.span is not None:
        return rf.span
    half = half_size(rf.size)
    return (simplest(rf.start - half), simplest(rf.start + (rf.count - 1) * rf.jump + half))


def box(rf: RF) -> tuple:
    """(first, last) extent of the first unit's field."""
    half = half_size(rf.size)
    return rf.start - half, rf.start + half


def from_box(low, high, jump, count, exact: bool, reason) -> RF:
    """The field of units spanning low…high (input pixel coordinates)."""
    middle = low + high
    middle = Fraction(middle) / 2 if isinstance(middle, (int, Fraction)) else middle / 2
    return RF(simplest(high - low + 1), jump, simplest(middle), count, exact, reason)


def simplest(value):
    """An exact number as an int where it is whole (a fraction stays one), a formula
    normalised. (Tested by type, not isinstance: Fraction's ABC makes isinstance slow on the
    pass's hot path.)"""
    kind = type(value)
    if kind is int:
        return value
    if kind is Fraction:
        return int(value) if value.denominator == 1 else value
    return dims.normalize(value)
