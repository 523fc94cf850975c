"""A receptive field through one layer's step along one axis: a window (its size, jump and
start, how many units, the pixels reached), or a step mixing all positions; with the check of
the units the (size, jump, start) model can describe wrongly (those at the borders)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from cnnspec.ir.facts import RF
from cnnspec.layers.base import GLOBAL, Window
from cnnspec.passes.rf_geometry import from_box, half_size, hull, inexact, simplest
from cnnspec.util import dims

#: the most units (or taps) looked at one by one at a layer; beyond it a field is not
#: claimed exact (only hostile sizes get there)
_LIMIT = 4096


def apply_step(name: str, rf: RF, step, units=None) -> RF:
    """The field after one step along one axis at node ``name``: None leaves it as it is,
    GLOBAL mixes all units, a Window slides (``units``: the true unit count after it)."""
    if step is None:
        return rf
    if step == GLOBAL:  # every unit sees all units: the union, the same for every unit (jump 0)
        exact = rf.exact or rf.span is not None
        low, high = hull(rf)
        return from_box(low, high, 0, rf.count, exact, None if exact else rf.reason)._replace(
            reach=rf.reach)
    assert isinstance(step, Window)
    kernel = step.kernel
    half = (((kernel - 1) // 2 if kernel % 2 else Fraction(kernel - 1, 2)) if type(kernel) is int
            else (kernel - 1) / 2)
    span = None
    if step.keeps_union and (rf.exact or rf.span is not None):
        span = hull(rf)
    out = RF(dims.normalize(rf.size + (kernel - 1) * rf.jump), simplest(rf.jump * step.stride),
             simplest(rf.start + (half - step.padding) * rf.jump),
             units if units is not None else _count_after(rf.count, step),
             rf.exact, rf.reason, span)
    out = out._replace(reach=_reach_after(rf, step, out.count))
    if not rf.exact:
        return out
    if rf.jump == 0 or rf.count == 1:  # every input unit has one field: so has every output unit
        if step.approximate is not None:
            if step.gaps:
                return inexact(out, name, "some of its units read no input unit and see nothing, "
                                           "the others see the whole field")
            return out._replace(jump=0, start=rf.start, size=rf.size, span=None, reach=rf.reach)
    elif step.approximate is not None:
        return inexact(out, name, step.approximate)
    if isinstance(rf.count, int) and isinstance(out.count, int) and None not in (rf.reach, out.reach):
        why = _border_units(rf, out, step)
    else:
        why = _border_units_symbolic(step)
    if why:
        return inexact(out, name, why)
    return out._replace(span=None)


def _spans(rf: RF):
    """The function giving a unit's (first, last) pixel: its interval cut to the pixels the
    node reaches (an exact field's meaning), or () when none. Integer fields get an
    all-integer function (the pass asks one field for several units' spans)."""
    reach = rf.reach
    if not reach:
        return _nothing
    first, last = reach
    start, jump, size = rf.start, rf.jump, rf.size
    if type(start) is int and type(jump) is int and type(size) is int:
        below, above = 1 - size, size - 1

        def span(unit) -> tuple:
            twice = 2 * (start + unit * jump)  # integer arithmetic on the fast path
            low, high = -(-(twice + below) // 2), (twice + above) // 2
            if low < first:
                low = first
            if high > last:
                high = last
            return (low, high) if low <= high else ()
        return span
    half = half_size(size)

    def general(unit) -> tuple:
        centre = start + unit * jump
        low, high = max(math.ceil(centre - half), first), min(math.floor(centre + half), last)
        return (low, high) if low <= high else ()
    return general


def _nothing(unit) -> tuple:
    return ()


def _reach_after(rf: RF, step: Window, units):
    """The (first, last) pixel the window's output depends on, () for none, None if unknown."""
    reach, n = rf.reach, rf.count
    if reach is None or reach == ():
        return reach
    if step.approximate is not None:
        return reach if step.keeps_union else None
    if not rf.exact or not (isinstance(n, int) and isinstance(units, int)) or not step.stride:
        return reach if not step.stride else None  # (stride 0: every unit reads the one input unit)
    k, s, p, d = step.kernel, step.stride, step.padding, step.dilation
    taps = (k - 1) // d + 1
    if d > 1 and taps > 64:
        return None

    def read(r) -> bool:  # does some output unit read input unit r?
        if d == 1:  # the last unit starting at or before r, if its window reaches r
            o = min((r + p) // s, units - 1)
            return o >= 0 and o * s - p + k - 1 >= r
        for t in range(taps):
            o, rest = divmod(r + p - t * d, s)
            if rest == 0 and 0 <= o < units:
                return True
        return False

    # the input units that depend on some pixel form one run; the first and last of them
    # that some output unit reads give the output's first and last pixel
    span = _spans(rf)
    first = next((r for r in range(min(n, _LIMIT)) if span(r) and read(r)), None)
    last = next((r for r in range(n - 1, max(-1, n - 1 - _LIMIT), -1) if span(r) and read(r)), None)
    if first is None or last is None:
        return () if n <= _LIMIT else None
    return span(first)[0], span(last)[1]


def _border_units(rf: RF, out: RF, step: Window) -> str | None:
    """Check the model on the units it can get wrong: those whose first or last tap falls on
    padding (or on an input unit that depends on no pixel). A unit whose end taps both read
    pixels is described exactly (its interval's ends are the ends of those taps' fields).
    Returns why the field is not exact, or None."""
    n, units = rf.count, out.count
    k, s, p, d = step.kernel, step.stride, step.padding, step.dilation
    if not s:  # stride 0 (adaptive pooling of one unit): every unit reads that unit
        return None
    lit, model = _spans(rf), _spans(out)
    low = next((r for r in range(min(n, _LIMIT)) if lit(r)), None)
    high = next((r for r in range(n - 1, max(-1, n - 1 - _LIMIT), -1) if lit(r)), None)
    if low is None or high is None:
        return None if n <= _LIMIT else "too many units to check"  # (none: nothing is seen)
    if d > high - low + 1 or k > _LIMIT:  # taps may jump over every lit unit: check them all
        runs = (range(units),)
    else:
        left = max(0, -(-(low + p) // s))  # units whose first tap is before the first lit unit
        right = (high + p - k + 1) // s + 1  # units from here on end after the last lit unit
        runs = (range(min(left, units)), range(max(right, left, 0), units))
    # counted, not listed (a padding may be 10^9), and not with len(): a range longer than
    # 2^63 has no length in CPython
    if sum(max(0, r.stop - r.start) for r in runs) > _LIMIT:
        return "too many units to check"
    for o in itertools.chain(*runs):
        origin = o * s - p
        t0 = max(0, -(-(low - origin) // d))
        t1 = min((k - 1) // d, (high - origin) // d)
        actual = ()
        if t0 <= t1:  # the first and last taps on lit input units
            actual = (lit(origin + t0 * d)[0], lit(origin + t1 * d)[1])
        if actual != model(o):
            if not actual:
                return ("some of its units read only padding and see nothing, while the model "
                        "gives them a field")
            return ("a border unit's first or last tap falls on padding while its interval "
                    "reaches real pixels beyond it (dilated taps), so its field is narrower")
    return None


def _border_units_symbolic(step: Window) -> str | None:
    """At a symbolic size: padding as wide as the window leaves units that read only padding;
    dilated taps reaching into the padding skip border pixels."""
    if not step.stride:
        return None
    if step.padding >= step.kernel:
        return "its padding is as wide as its window: border units read only padding and see nothing"
    if step.dilation > 1 and (step.padding or step.ceil or step.outputs is not None):
        return "its dilated taps reach into the padding: border units' fields are narrower"
    return None


def _count_after(count, step: Window):
    """Units along the axis after the window (only needed if a later layer mixes them all)."""
    if step.outputs is not None:
        return step.outputs
    return dims.floordiv(count + 2 * step.padding - step.kernel, step.stride) + 1
