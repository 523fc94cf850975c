"""Receptive fields at a node with several inputs: the fields of the units at the same
position joined (their hull), inputs placed side by side (a concat along a spatial axis), and
the misalignments recorded (inputs whose jump or start disagree)."""

from __future__ import annotations

from fractions import Fraction

from cnnspec.ir.facts import RF, Analysis, to_number
from cnnspec.passes.rf_geometry import OTHER, axis_names, box, from_box, inexact
from cnnspec.util import dims


def merge_fields(node, incoming: list, layouts: list, facts, result: Analysis, local: bool):
    """The fields and layout of a merge's output."""
    stack = node.layer.stack_dim(facts.inputs)
    layout = max(layouts, key=lambda held: len(_holders(held)))  # the first with most axes
    agree = _agree(layouts)
    side_by_side = stack is not None and len(layout[stack]) == 1 and layout[stack][0] != OTHER
    merged = []
    names = axis_names(len(incoming[0]))
    for axis in range(len(incoming[0])):
        rfs = [fields[axis] for fields in incoming]
        held = stack is not None and axis in layout[stack]
        if not agree:
            field = inexact(_widest(rfs), node.name, "its inputs hold the positions in different dims")
        elif held and side_by_side:
            field = _stack(node.name, rfs, names[axis])
        elif side_by_side:  # along the other axis each unit is one input's: they must agree
            field = _widest(rfs)
            if any(r._replace(count=0) != rfs[0]._replace(count=0) for r in rfs):
                field = inexact(field, node.name, f"it places side by side inputs whose fields "
                                                   f"along {names[axis]} differ")
        elif held and (len({r.count for r in rfs}) > 1 or len({r.jump == 0 for r in rfs}) > 1):
            field = inexact(_widest(rfs), node.name,
                             "it concatenates flattened features of different grids (or mixed "
                             f"with features that hold no position) along {names[axis]}")
        else:
            count = max((r.count for r in rfs), key=dims.probe)
            field = _combine(node.name, rfs, names[axis], count, result, local)
        merged.append(field._replace(reach=_reach_union([r.reach for r in rfs])))
    return tuple(merged), layout


def _holders(layout) -> dict:
    """Spatial axis -> the dims of a layout that hold it."""
    held: dict = {}
    for dim, entry in enumerate(layout):
        for token in entry:
            if token != OTHER:
                held.setdefault(token, []).append(dim)
    return held


def _agree(layouts: list) -> bool:
    """Whether the inputs hold every spatial axis in the same dims. An input that holds an
    axis in no dim (a gate pooled over it and viewed back to (C, 1, 1), then expanded) has
    one field for all its units along it, and agrees with any."""
    held = [_holders(layout) for layout in layouts]
    axes = {axis for h in held for axis in h}
    return all(len({tuple(h[axis]) for h in held if axis in h}) == 1 for axis in axes)


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


def _joined(rfs: list, jump, count, name: str, axis: str) -> RF:
    """The hull of fields that move alike (or are fixed): per unit, from the lowest first to
    the highest last pixel."""
    lows, highs = zip(*(box(r) for r in rfs))
    low, high = _extreme(lows, min), _extreme(highs, max)
    exact = all(r.exact for r in rfs)
    reason = next((r.reason for r in rfs if not r.exact), None)
    if low is None or high is None:  # formulas in an order that depends on the input size
        widest = _widest(rfs)
        return inexact(widest._replace(jump=jump, count=count), name,
                        f"its inputs' fields along {axis} nest only for some input sizes")
    return from_box(low, high, jump, count, exact, reason)


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


def _combine(name: str, rfs: list, axis: str, count, result: Analysis, local: bool) -> RF:
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
            "node": name, "axis": axis,
            "jumps": [to_number(r.jump) for r in moving], "starts": [to_number(v) for v in starts],
            "offset": to_number(offset) if offset is not None else None,
        })
    if any(r.jump != jump for r in moving):
        jumps = ", ".join(str(to_number(r.jump)) for r in moving)
        return inexact(_widest(moving)._replace(count=count), name,
                        f"it merges inputs with different jumps ({jumps}) along {axis}")
    field = _joined(moving, jump, count, name, axis)
    if field.exact and not _sides_agree(moving):
        field = inexact(field, name, f"along {axis}, the input whose field reaches furthest "
                                      "is not the one that depends on the outermost pixels")
    if not fixed:
        return field
    gate = _joined(fixed, 0, count, name, axis)
    exact = field.exact and gate.exact
    held = [_reach_holds(_reach_union([r.reach for r in fixed]), r.reach) for r in moving]
    if all(h is None for h in held):  # reaches not worked out (symbolic): compare the intervals
        low, high = box(gate)
        first, last = box(field)[0], box(field)[1] + (count - 1) * jump
        held = [_le(low, first) and _le(last, high)]
    if all(held):  # the fixed input depends on every pixel any unit of the others does
        widest = max((gate, field), key=lambda rf: dims.probe(rf.size))
        return gate._replace(size=widest.size, exact=exact,
                             reason=field.reason if not field.exact else gate.reason)
    return inexact(field._replace(size=max((gate.size, field.size), key=dims.probe)), name,
                    f"a broadcast input along {axis} does not depend on every pixel the "
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
    lows = [box(r)[0] for r in rfs]
    highs = [box(r)[1] for r in rfs]
    if any(not isinstance(v, (int, Fraction)) for v in lows + highs):
        return True
    low, high = min(lows), max(highs)
    return (any(lo == low and r.reach and r.reach[0] == first for lo, r in zip(lows, rfs))
            and any(hi == high and r.reach and r.reach[1] == last for hi, r in zip(highs, rfs)))


def _stack(name: str, rfs: list, axis: str) -> RF:
    """Concat along a spatial axis: the inputs' units one after another."""
    count = sum((r.count for r in rfs), 0)
    first = rfs[0]
    if any(r.reach != first.reach for r in rfs):
        return inexact(_widest(rfs)._replace(jump=first.jump, start=first.start, count=count), name,
                        f"concat along {axis} places side by side inputs that depend on "
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
    return inexact(field, name, f"concat along {axis} places its inputs' units one after "
                                 "another, and they do not continue one grid")


def _offset(starts):
    """How far apart (input pixels) the centres of the inputs' first units are."""
    try:
        return max(starts) - min(starts)
    except TypeError:  # formulas
        return None
