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

from fractions import Fraction

from .. import dims
from ..facts import RF, Analysis, to_number
from ..graph import INPUT, Graph
from ..layers.base import GLOBAL, Mixes, Window

OTHER = -1  # a layout token for channels or features; 0 and 1 are the spatial axes H and W
AXES = "HW"
#: units to check one by one for a dilated window wider than its input (taps may straddle it)
_BLIND_LIMIT = 4096


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
    fields = {INPUT: tuple(RF(1, 1, 0, n) for n in extent)}
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
            current = tuple(_apply(node.name, rf, step, n) for rf, step, n in zip(current, steps, extent))
        groups = node.layer.regroup(f.inputs)
        if groups is not None:
            layout = tuple(tuple(t for d in group for t in layout[d]) for group in groups)
        if len(layout) != len(f.output):  # a reshape the layer did not describe: any dim may hold any axis
            layout = tuple((OTHER, 0, 1) for _ in f.output)
        counts = [rf.count for rf in current]
        for dim, entry in enumerate(layout):
            if len(entry) == 1 and entry[0] != OTHER:  # a dim that is one spatial axis: its units
                counts[entry[0]] = f.output[dim]
        current = tuple(rf._replace(count=n) for rf, n in zip(current, counts))
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


def _apply(name: str, rf: RF, step, extent) -> RF:
    if step is None:
        return rf
    if step == GLOBAL:  # every unit sees all units: the union, the same for every unit (jump 0)
        exact = rf.exact or rf.span is not None
        low, high = _hull(rf)
        return _from_box(low, high, 0, rf.count, exact, None if exact else rf.reason)
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
             _exact(rf.start + (half - step.padding) * rf.jump), _count_after(rf.count, step),
             rf.exact, rf.reason, span)
    if not rf.exact:
        return out
    if rf.jump == 0 or rf.count == 1:  # every input unit has one field: so has every output unit
        if step.approximate is not None:
            if step.gaps:
                return _inexact(out, name, "some of its units read no input unit and see nothing, "
                                           "the others see the whole field")
            return out._replace(jump=0, start=rf.start, size=rf.size, span=None)
    elif step.approximate is not None:
        return _inexact(out, name, step.approximate)
    blind = _blind(out, rf.count, step, extent)
    if blind:
        return _inexact(out, name, f"{blind} read only padding and see nothing, while the model "
                                   "gives them a field")
    if step.dilation > 1 and (step.padding != 0 or step.ceil or step.outputs is not None) \
            and not _borders_alike(rf, step.dilation, extent):
        return _inexact(out, name, "its dilated taps reach into the padding: a border unit's first "
                                   "(or last) real tap is not at the border, so its field starts "
                                   "(or ends) inside its interval")
    return out._replace(span=None)


def _borders_alike(rf: RF, d: int, extent) -> bool:
    """Do the first d and the last d input units' fields all reach past the input's borders?
    Then a border unit of a dilated window sees up to the border whichever tap is its first
    real one."""
    half = _half(rf.size)
    left = _le(rf.start + (d - 1) * rf.jump - half, 0)
    right = _le(extent - 1, rf.start + (rf.count - d) * rf.jump + half)
    return bool(left) and bool(right)


def _blind(out: RF, n, step: Window, extent) -> str | None:
    """Which output units read only padding while their interval reaches into the input
    (an interval outside the input says "nothing" already), or None."""
    k, s, p, d = step.kernel, step.stride, step.padding, step.dilation
    if step.approximate is not None or not s:  # (stride 0: every unit reads the one input unit)
        return None
    units = out.count
    if p >= k:  # unit 0's last tap, k − 1 − p, is in the left padding
        last = (p - k + s) // s - 1  # the rightmost unit whose window ends before pixel 0
        if _reaches_input(out, min(last, units - 1) if isinstance(units, int) else last, extent):
            return "its first units"
    # the leftmost unit whose window starts after the input; a window that is wider than its
    # padding and leaves the output count to the formula never starts there
    if p >= k or step.outputs is not None:
        first = dims.ceildiv(n + p, s)
        after = dims.is_true(dims.normalize(units - 1 - first) >= 0)
        if after is not False and _reaches_input(out, first, extent):
            return "its last units"
    # dilated taps can jump over a map narrower than the dilation (assumed not at a symbolic size)
    if d > 1 and dims.is_true(n < d) and _straddles(n, units, k, s, p, d):
        return "units whose dilated taps straddle the input"
    return None


def _reaches_input(rf: RF, unit, extent) -> bool:
    """Does the interval of ``unit`` hold an input pixel? (True when it cannot be decided.)"""
    centre, half = rf.start + unit * rf.jump, _half(rf.size)
    inside = (dims.is_true(centre + half >= 0), dims.is_true(centre - half <= extent - 1))
    return all(v is not False for v in inside)


def _straddles(n, units, k: int, s: int, p: int, d: int) -> bool:
    """A dilated window whose taps jump over the whole input (d > n): does some unit read no
    input pixel? True when it cannot be told cheaply."""
    if not (isinstance(n, int) and isinstance(units, int)) or units > _BLIND_LIMIT:
        return True
    for o in range(units):
        first = o * s - p
        tap = -(first // d) if first < 0 else 0  # the first tap at or after pixel 0
        if tap * d > k - 1 or first + tap * d > n - 1:
            return True
    return False


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
    merged = []
    for axis in (0, 1):
        rfs = [fields[axis] for fields in incoming]
        held = stack is not None and axis in layout[stack]
        if any(other != layout for other in layouts[1:]):
            field = _inexact(_widest(rfs), node.name, "its inputs hold the positions in different dims")
        elif held and layout[stack] == (axis,):
            field = _stack(node.name, rfs, axis)
        elif held and (len({r.count for r in rfs}) > 1 or len({r.jump == 0 for r in rfs}) > 1):
            field = _inexact(_widest(rfs), node.name,
                             "it concatenates flattened features of different grids (or mixed "
                             f"with features that hold no position) along {AXES[axis]}")
        else:
            count = max((r.count for r in rfs), key=dims.probe)
            field = _combine(node.name, rfs, axis, count, result, local)
        merged.append(field)
    return tuple(merged), layout


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
    if not fixed:
        return field
    gate = _joined(fixed, 0, count, name, axis)
    low, high = _box(gate)
    first, _ = _box(field)
    last = _box(field)[1] + (count - 1) * jump
    exact = field.exact and gate.exact
    if _le(low, first) and _le(last, high):  # the fixed field holds every unit's: it is the field
        return gate._replace(exact=exact, reason=field.reason if not field.exact else gate.reason)
    return _inexact(field, name, f"a broadcast input's field along {AXES[axis]} does not contain "
                                 "the other inputs' fields")


def _stack(name: str, rfs: list, axis: int) -> RF:
    """Concat along a spatial axis: the inputs' units one after another."""
    count = sum((r.count for r in rfs), 0)
    first = rfs[0]
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
