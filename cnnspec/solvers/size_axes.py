"""The input axes the sizes solver varies, by letter: ``L`` of a (C, L) input; ``H``, ``W``
of (C, H, W); ``D``, ``H``, ``W`` of (C, D, H, W); or all at once (``HW``, ``DHW``)."""

from __future__ import annotations

from cnnspec.layers.ndim import axis_letters

_WORDS = {"L": "length", "D": "depth", "H": "height", "W": "width"}


def solvable(reference: tuple) -> bool:
    """A concrete input with one to three spatial axes."""
    return 2 <= len(reference) <= 4 and all(isinstance(d, int) for d in reference)


def letters(reference: tuple) -> str:
    """Every spatial axis of ``reference``, in order ('HW' for a (C, H, W) input)."""
    return axis_letters(len(reference) - 1)


def dims(reference: tuple, axis: str) -> tuple:
    """The spatial positions (0 = the first spatial axis) that ``axis`` varies."""
    names = letters(reference)
    return tuple(names.index(letter) for letter in axis)


def shape_for(reference: tuple, axis: str, n: int) -> tuple:
    """``reference`` with the axes of ``axis`` set to ``n``."""
    varied = dims(reference, axis)
    return (reference[0], *(n if i in varied else size for i, size in enumerate(reference[1:])))


def fixed(reference: tuple, axis: str) -> dict:
    """The sizes the other axes are held at, by letter."""
    return {letter: reference[1 + i] for i, letter in enumerate(letters(reference))
            if letter not in axis}


def equal_sides(reference: tuple) -> bool:
    return len(set(reference[1:])) == 1


def held(reference: tuple, axis: str, at: str = "") -> str:
    """'heights (width 227)' ('heights (at width 227)' with ``at="at "``): the sizes of one
    axis, the others as they are held."""
    others = ", ".join(f"{_WORDS[k]} {v}" for k, v in fixed(reference, axis).items())
    return f"{_WORDS[axis]}s ({at}{others})" if others else f"{_WORDS[axis]}s"
