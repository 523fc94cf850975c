"""Receptive field per node and axis, after Araujo, Norris & Sim (Distill, 2019).

For a window of effective size k (dilation folded in: d(k−1)+1), stride s and padding p:

    size_out  = size_in + (k − 1) · jump_in
    jump_out  = jump_in · s
    start_out = start_in + ((k − 1)/2 − p) · jump_in

``start`` is the centre of the first output unit's field in input pixel coordinates (pixel i
has its centre at i). A layer mixing all positions along an axis (global pooling, ``linear``
over the dim a flatten put the positions in, ``softmax`` along it) gives every unit the union
of its input units' fields: jump 0. At a node with several inputs the fields of the units at
the same position are joined (their hull); inputs whose jump or start disagree are recorded
as a misalignment.

A field is *exact* when it says precisely which pixels each unit depends on: for unit i, the
first and last pixel of [start + i·jump − (size−1)/2, start + i·jump + (size−1)/2] that the
node depends on at all (no pixel when there is none). Where the per-axis (size, jump, start)
model cannot say that, the field is marked inexact with the reason (``RF.reason``), which
every later node inherits: upsampling, strided transposed convolutions and uneven adaptive
bins (units off one grid); border units of a padded window that read only padding while the
model gives them a field; a concat along a spatial axis whose inputs do not continue one
grid; a merge of inputs with different jumps, or of a broadcast field that does not contain
the others. docs/conventions.md states the definition; tests/test_rf_oracle.py checks it
against gradients.

Which spatial axes a tensor dim holds is tracked as a *layout*: (C, H, W) holds H in dim 1
and W in dim 2; a flatten merges dims (``Layer.regroup``), so ``linear`` after
``flatten(start_dim=1, end_dim=2)`` mixes W only.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from cnnspec.ir.facts import RF, Analysis, to_number
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.layers.base import GLOBAL, Mixes, Window
from cnnspec.util import dims

OTHER = -1  # a layout token for channels or features; 0 and 1 are the spatial axes H and W
AXES = "HW"
#: the most units (or taps) looked at one by one at a layer; beyond it a field is not
#: claimed exact (only hostile sizes get there)
_LIMIT = 4096


def receptive_fields(graph: Graph, result: Analysis) -> None:
    if len(result.input_shape) != 3:
        return  # no spatial axes: nothing to say
    for name, field in _propagate(graph, result, local=False):
        result.facts[name].rf = field


def local_fields(graph: Graph, result: Analysis) -> dict:
    """Receptive fields along the paths that keep positions: like the pass's own, except that
    a merge ignores inputs whose field is one for all positions when another input has
    positions (a squeeze-and-excitation gate makes every unit depend on the whole image, but
    the features it scales are still local). Returns {node: fields per axis}."""
    if len(result.input_shape) != 3:
        return {}
    return dict(_propagate(graph, result, local=True))


def _propagate(graph: Graph, result: Analysis, local: bool):
    """(node name, fields per axis) in graph order."""
    facts = result.facts
    extent = tuple(result.input_shape[1:])  # input pixels per axis
    fields = {INPUT: tuple(RF(1, 1, 0, n, reach=(0, n - 1) if isinstance(n, int) else None)
                           for n in extent)}
    layouts = {INPUT: ((OTHER,), (0,), (1,))}
    for node in graph.nodes:
        f = facts[node.name]
        if len(node.inputs) == 1:
            current, layout = fields[node.inputs[0]], layouts[node.inputs[0]]
        else:
            current, layout = _merge(node, [fields[s] for s in node.inputs],
                                     [layouts[s] for s in node.inputs], f, result, local)
        steps = _steps(node.layer.receptive_field(f.inputs), layout)
        if steps is not None:
            units = f.output[1:] if len(f.output) == 3 else (None, None)  # the true unit counts
            current = tuple(_apply(node.name, rf, step, n) for rf, step, n in zip(current, steps, units))
        groups = node.layer.regroup(f.inputs)
        if groups is not None:
            layout = tuple(tuple(t for d in group for t in layout[d]) for group in groups)
        if len(layout) != len(f.output):  # a reshape the layer did not describe: any dim may hold any axis
            layout = tuple((OTHER, 0, 1) for _ in f.output)
        counts = [rf.count for rf in current]
        for dim, entry in enumerate(layout):
            if len(entry) == 1 and entry[0] != OTHER:  # a dim that is one spatial axis: its units
                counts[entry[0]] = f.output[dim]
        if counts[0] != current[0].count or counts[1] != current[1].count:
            current = tuple(rf._replace(count=n) for rf, n in zip(current, counts))
        if current[0].reach == () or current[1].reach == ():  # no pixel along one axis: none at all
            current = tuple(rf._replace(reach=()) for rf in current)
        fields[node.name], layouts[node.name] = current, layout
        yield node.name, current


def _steps(transform, layout) -> tuple | None:
    """The layer's transform as one step per spatial axis (Window, GLOBAL or None)."""
    if transform is None:
        return None
    if transform == GLOBAL:
        return (GLOBAL, GLOBAL)
    if isinstance(transform, Mixes):
        mixed = {t for d in transform.dims for t in layout[d] if t != OTHER}
        return tuple(GLOBAL if a in mixed else None for a in (0, 1)) if mixed else None
    return tuple(transform)


# --------------------------------------------------------------------------- one input


def _inexact(rf: RF, name: str, why: str) -> RF:
    """The field marked inexact; an earlier reason is kept (it names the first cause)."""
    if not rf.exact:
        return rf
    return rf._replace(exact=False, reason=f"{name}: {why}")


def _half(size):
    return Fraction(size - 1, 2) if isinstance(size, int) else (size - 1) / 2


def _hull(rf: RF) -> tuple:
    """(first, last) extent, in input pixel coordinates, of the union of the units' fields."""
    if not rf.exact and rf.span is not None:
        return rf.span
    half = _half(rf.size)
    return (_exact(rf.start - half), _exact(rf.start + (rf.count - 1) * rf.jump + half))


def _apply(name: str, rf: RF, step, units=None) -> RF:
    if step is None:
        return rf
    if step == GLOBAL:  # every unit sees all units: the union, the same for every unit (jump 0)
        exact = rf.exact or rf.span is not None
        low, high = _hull(rf)
        return _from_box(low, high, 0, rf.count, exact, None if exact else rf.reason)._replace(
            reach=rf.reach)
    assert isinstance(step, Window)
    kernel = step.kernel
    if type(kernel) is int:
        half = (kernel - 1) // 2 if kernel % 2 else Fraction(kernel - 1, 2)
    else:
        half = (kernel - 1) / 2
    span = None
    if step.keeps_union and (rf.exact or rf.span is not None):
        span = _hull(rf)
    out = RF(dims.normalize(rf.size + (kernel - 1) * rf.jump), _exact(rf.jump * step.stride),
             _exact(rf.start + (half - step.padding) * rf.jump),
             units if units is not None else _count_after(rf.count, step),
             rf.exact, rf.reason, span)
    out = out._replace(reach=_reach_after(rf, step, out.count))
    if not rf.exact:
        return out
    if rf.jump == 0 or rf.count == 1:  # every input unit has one field: so has every output unit
        if step.approximate is not None:
            if step.gaps:
                return _inexact(out, name, "some of its units read no input unit and see nothing, "
                                           "the others see the whole field")
            return out._replace(jump=0, start=rf.start, size=rf.size, span=None, reach=rf.reach)
    elif step.approximate is not None:
        return _inexact(out, name, step.approximate)
    if isinstance(rf.count, int) and isinstance(out.count, int) and None not in (rf.reach, out.reach):
        why = _border_units(rf, out, step)
    else:
        why = _border_units_symbolic(step)
    if why:
        return _inexact(out, name, why)
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
    half = _half(size)

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


def _exact(value):
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return dims.normalize(value) if not isinstance(value, Fraction) else value


# --------------------------------------------------------------------------- several inputs


def _merge(node, incoming: list, layouts: list, facts, result: Analysis, local: bool):
    """The fields and layout of a merge's output."""
    stack = node.layer.stack_dim(facts.inputs)
    layout = layouts[0]
    side_by_side = stack is not None and len(layout[stack]) == 1 and layout[stack][0] != OTHER
    merged = []
    for axis in (0, 1):
        rfs = [fields[axis] for fields in incoming]
        held = stack is not None and axis in layout[stack]
        if any(other != layout for other in layouts[1:]):
            field = _inexact(_widest(rfs), node.name, "its inputs hold the positions in different dims")
        elif held and side_by_side:
            field = _stack(node.name, rfs, axis)
        elif side_by_side:  # along the other axis each unit is one input's: they must agree
            field = _widest(rfs)
            if any(r._replace(count=0) != rfs[0]._replace(count=0) for r in rfs):
                field = _inexact(field, node.name, f"it places side by side inputs whose fields "
                                                   f"along {AXES[axis]} differ")
        elif held and (len({r.count for r in rfs}) > 1 or len({r.jump == 0 for r in rfs}) > 1):
            field = _inexact(_widest(rfs), node.name,
                             "it concatenates flattened features of different grids (or mixed "
                             f"with features that hold no position) along {AXES[axis]}")
        else:
            count = max((r.count for r in rfs), key=dims.probe)
            field = _combine(node.name, rfs, axis, count, result, local)
        merged.append(field._replace(reach=_reach_union([r.reach for r in rfs])))
    return tuple(merged), layout


def _reach_union(reaches: list):
    if any(r is None for r in reaches):
        return None
    spans = [r for r in reaches if r]
    return (min(r[0] for r in spans), max(r[1] for r in spans)) if spans else ()


def _reach_holds(outer, inner) -> bool | None:
    """Does reach ``outer`` hold ``inner``? None when either is not known."""
    if outer is None or inner is None:
        return None
    return not inner or bool(outer) and outer[0] <= inner[0] and inner[1] <= outer[1]


def _widest(rfs: list) -> RF:
    widest = max(rfs, key=lambda rf: dims.probe(rf.size))
    reason = next((r.reason for r in rfs if not r.exact), None)
    return widest._replace(exact=all(r.exact for r in rfs), reason=reason, span=None)


def _le(a, b) -> bool | None:
    """a <= b: True, False, or None when formulas leave it open."""
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return a <= b
    return dims.is_true(dims.normalize(b - a) >= 0)


def _box(rf: RF) -> tuple:
    """(first, last) extent of the first unit's field."""
    half = _half(rf.size)
    return rf.start - half, rf.start + half


def _from_box(low, high, jump, count, exact: bool, reason) -> RF:
    """The field of units spanning low…high (input pixel coordinates)."""
    middle = low + high
    middle = Fraction(middle) / 2 if isinstance(middle, (int, Fraction)) else middle / 2
    return RF(_exact(high - low + 1), jump, _exact(middle), count, exact, reason)


def _joined(rfs: list, jump, count, name: str, axis: int) -> RF:
    """The hull of fields that move alike (or are fixed): per unit, from the lowest first to
    the highest last pixel."""
    lows, highs = zip(*(_box(r) for r in rfs))
    low, high = _extreme(lows, min), _extreme(highs, max)
    exact = all(r.exact for r in rfs)
    reason = next((r.reason for r in rfs if not r.exact), None)
    if low is None or high is None:  # formulas in an order that depends on the input size
        widest = _widest(rfs)
        return _inexact(widest._replace(jump=jump, count=count), name,
                        f"its inputs' fields along {AXES[axis]} nest only for some input sizes")
    return _from_box(low, high, jump, count, exact, reason)


def _extreme(values, pick):
    """min or max of numbers or formulas; None when formulas leave the order open."""
    best = values[0]
    for v in values[1:]:
        below = _le(v, best)
        if below is None:
            return None
        if (pick is min) == below:
            best = v
    return best


def _combine(name: str, rfs: list, axis: int, count, result: Analysis, local: bool) -> RF:
    """Units at the same position combined (add, mul, concat along the channels)."""
    fixed = [r for r in rfs if r.jump == 0 or r.count == 1]  # one field for every position
    moving = [r for r in rfs if not (r.jump == 0 or r.count == 1)]
    if not moving:  # 1x1 maps, gates: one unit (or copies of it), which sees their union
        widest = max(rfs, key=lambda rf: dims.probe(rf.size))
        return _joined(rfs, widest.jump if count == 1 else 0, count, name, axis)
    if local:
        fixed = []  # a gate does not move where the features it scales look
    jump = moving[0].jump
    if any(r.jump != jump or r.start != moving[0].start for r in moving) and not local:
        starts = [r.start for r in moving]
        offset = _offset(starts)
        result.merge_alignment.append({
            "node": name, "axis": AXES[axis],
            "jumps": [to_number(r.jump) for r in moving], "starts": [to_number(v) for v in starts],
            "offset": to_number(offset) if offset is not None else None,
        })
    if any(r.jump != jump for r in moving):
        jumps = ", ".join(str(to_number(r.jump)) for r in moving)
        return _inexact(_widest(moving)._replace(count=count), name,
                        f"it merges inputs with different jumps ({jumps}) along {AXES[axis]}")
    field = _joined(moving, jump, count, name, axis)
    if field.exact and not _sides_agree(moving):
        field = _inexact(field, name, f"along {AXES[axis]}, the input whose field reaches furthest "
                                      "is not the one that depends on the outermost pixels")
    if not fixed:
        return field
    gate = _joined(fixed, 0, count, name, axis)
    exact = field.exact and gate.exact
    held = [_reach_holds(_reach_union([r.reach for r in fixed]), r.reach) for r in moving]
    if all(h is None for h in held):  # reaches not worked out (symbolic): compare the intervals
        low, high = _box(gate)
        first, last = _box(field)[0], _box(field)[1] + (count - 1) * jump
        held = [_le(low, first) and _le(last, high)]
    if all(held):  # the fixed input depends on every pixel any unit of the others does
        widest = max((gate, field), key=lambda rf: dims.probe(rf.size))
        return gate._replace(size=widest.size, exact=exact,
                             reason=field.reason if not field.exact else gate.reason)
    return _inexact(field._replace(size=max((gate.size, field.size), key=dims.probe)), name,
                    f"a broadcast input along {AXES[axis]} does not depend on every pixel the "
                    "other inputs do")


def _sides_agree(rfs: list) -> bool:
    """The input whose field starts first must be one that reaches the first pixel, and the
    one whose field ends last one that reaches the last (then the hull of the fields, cut to
    the pixels reached, is what each unit depends on). True when reaches are unknown."""
    if len(rfs) < 2 or any(r.reach is None for r in rfs):
        return True
    spans = [r.reach for r in rfs if r.reach]
    if not spans:
        return True
    first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    lows = [_box(r)[0] for r in rfs]
    highs = [_box(r)[1] for r in rfs]
    if any(not isinstance(v, (int, Fraction)) for v in lows + highs):
        return True
    low, high = min(lows), max(highs)
    return (any(lo == low and r.reach and r.reach[0] == first for lo, r in zip(lows, rfs))
            and any(hi == high and r.reach and r.reach[1] == last for hi, r in zip(highs, rfs)))


def _stack(name: str, rfs: list, axis: int) -> RF:
    """Concat along a spatial axis: the inputs' units one after another."""
    count = sum((r.count for r in rfs), 0)
    first = rfs[0]
    if any(r.reach != first.reach for r in rfs):
        return _inexact(_widest(rfs)._replace(jump=first.jump, start=first.start, count=count), name,
                        f"concat along {AXES[axis]} places side by side inputs that depend on "
                        "different pixels")
    fixed = all(r.jump == 0 or r.count == 1 for r in rfs)
    if fixed and all(r.size == first.size and r.start == first.start for r in rfs):
        return _widest(rfs)._replace(jump=0, count=count)  # copies of one field
    offset, continues = 0, True
    for previous, rf in zip(rfs, rfs[1:]):
        offset += previous.count
        continues = continues and (rf.size == first.size and rf.jump == first.jump
                                   and dims.normalize(rf.start - first.start - offset * first.jump) == 0)
    field = _widest(rfs)._replace(jump=first.jump, start=first.start, count=count)
    if continues:
        return field
    return _inexact(field, name, f"concat along {AXES[axis]} places its inputs' units one after "
                                 "another, and they do not continue one grid")


def _offset(starts):
    """How far apart (input pixels) the centres of the inputs' first units are."""
    try:
        return max(starts) - min(starts)
    except TypeError:  # formulas
        return None
