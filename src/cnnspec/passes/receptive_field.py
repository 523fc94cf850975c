"""Receptive field per node and axis, after Araujo, Norris & Sim (Distill, 2019).

For a window of effective size k (dilation folded in: d(k−1)+1), stride s and padding p:

    size_out  = size_in + (k − 1) · jump_in
    jump_out  = jump_in · s
    start_out = start_in + ((k − 1)/2 − p) · jump_in

``start`` is the centre of the first output unit's field in input pixel coordinates (pixel i
has its centre at i). A layer mixing all positions (flatten → linear, global pooling) sees the
union of its input units' fields. At a node with several inputs the largest field is kept and
every disagreement in jump or start between the inputs is recorded as a misalignment.
"""

from __future__ import annotations

from fractions import Fraction

from .. import dims
from ..facts import RF, Analysis, to_number
from ..graph import INPUT, Graph
from ..layers.base import GLOBAL, Window


def receptive_fields(graph: Graph, result: Analysis) -> None:
    if len(result.input_shape) != 3:
        return  # no spatial axes: nothing to say
    for name, field in _propagate(graph, result, lambda node, incoming: _merge(node, incoming, result)):
        result.facts[name].rf = field


def local_fields(graph: Graph, result: Analysis) -> dict:
    """Receptive fields along the paths that keep positions: like the pass's own, except that
    a merge ignores inputs that mix all positions (a squeeze-and-excitation gate makes every
    unit depend on the whole image, but the features it scales are still local). Reads an
    analysis the pass has run on; returns {node: fields per axis}."""
    if len(result.input_shape) != 3:
        return {}
    facts = result.facts
    gated = any(len(n.inputs) > 1 and any(any(a.jump == 0 for a in facts[s].rf or ())
                                          for s in n.inputs if s != INPUT)
                for n in graph.nodes)
    if not gated:  # no merge reads a global input: the pass's fields are the local ones
        return {n.name: facts[n.name].rf for n in graph.nodes if facts[n.name].rf}
    return dict(_propagate(graph, result, _merge_located))


def _merge_located(node: str, incoming: list):
    located = [f for f in incoming if all(a.jump != 0 for a in f)] or incoming
    if len(located) == 1:
        return located[0]
    return tuple(max(axes, key=lambda rf: dims.probe(rf.size)) for axes in zip(*located))


def _propagate(graph: Graph, result: Analysis, merge):
    """(node name, fields per axis) in graph order, merging several inputs with ``merge``."""
    fields = {INPUT: tuple(RF(1, 1, 0, n, True) for n in result.input_shape[1:])}
    for node in graph.nodes:
        incoming = [fields[src] for src in node.inputs]
        current = merge(node.name, incoming)
        transform = node.layer.receptive_field(result.facts[node.name].inputs)
        if transform == GLOBAL:
            transform = [GLOBAL] * len(current)
        if transform is not None:
            current = tuple(_apply(rf, step) for rf, step in zip(current, transform))
        out = result.facts[node.name].output
        if len(out) == 3:  # the true unit count (ceil_mode, transposed conv, upsampling)
            current = tuple(rf._replace(count=n) for rf, n in zip(current, out[1:]))
        fields[node.name] = current
        yield node.name, current


def _apply(rf: RF, step) -> RF:
    if step is None:
        return rf
    if step == GLOBAL:  # every unit sees all units: the union, the same for every unit (jump 0)
        span = (rf.count - 1) * rf.jump
        return RF(dims.normalize(rf.size + span), 0, _exact(rf.start + Fraction(1, 2) * span),
                  rf.count, rf.exact)
    assert isinstance(step, Window)
    kernel = step.kernel
    if type(kernel) is int:
        half = (kernel - 1) // 2 if kernel % 2 else Fraction(kernel - 1, 2)
    else:
        half = (kernel - 1) / 2
    size = rf.size + (kernel - 1) * rf.jump
    start = rf.start + (half - step.padding) * rf.jump
    exact = rf.exact and isinstance(step.stride, int) and isinstance(step.padding, int)
    return RF(dims.normalize(size), _exact(rf.jump * step.stride), _exact(start),
              _count_after(rf.count, step), exact)


def _count_after(count, step: Window):
    """Units along the axis after the window (only needed if a later layer mixes them all)."""
    if step.outputs is not None:
        return step.outputs
    return dims.floordiv(count + 2 * step.padding - step.kernel, step.stride) + 1


def _exact(value):
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return dims.normalize(value) if not isinstance(value, Fraction) else value


def _merge(name: str, incoming: list, result: Analysis):
    if len(incoming) == 1:
        return incoming[0]
    merged = []
    for axis, rfs in enumerate(zip(*incoming)):
        widest = max(rfs, key=lambda rf: dims.probe(rf.size))
        exact = all(r.exact for r in rfs)
        located = [r for r in rfs if r.jump != 0]  # a global input (jump 0) has no position
        if any(r.jump != located[0].jump or r.start != located[0].start for r in located):
            rfs = located
            starts = [r.start for r in rfs]
            offset = _offset(starts)
            result.merge_alignment.append({
                "node": name, "axis": "HW"[axis],
                "jumps": [to_number(r.jump) for r in rfs], "starts": [to_number(v) for v in starts],
                "offset": to_number(offset) if offset is not None else None,
            })
        merged.append(widest._replace(exact=exact))
    return tuple(merged)


def _offset(starts):
    """How far apart (input pixels) the centres of the inputs' first units are."""
    try:
        return max(starts) - min(starts)
    except TypeError:  # formulas
        return None
