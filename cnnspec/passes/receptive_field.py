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

An input has one, two or three spatial axes — (C, L), (C, H, W), (C, D, H, W) — and every
node gets one field per axis, named by ``axis_names`` (L; H, W; D, H, W); an input of
features only, [F], has none.
"""

from __future__ import annotations

from cnnspec.ir.facts import RF, Analysis
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.layers.base import GLOBAL, Mixes
from cnnspec.passes.rf_geometry import AXES as AXES  # re-exported
from cnnspec.passes.rf_geometry import OTHER
from cnnspec.passes.rf_geometry import axis_names as axis_names  # re-exported
from cnnspec.passes.rf_merge import merge_fields
from cnnspec.passes.rf_window import apply_step


def receptive_fields(graph: Graph, result: Analysis) -> None:
    if len(result.input_shape) < 2:
        return  # no spatial axes: nothing to say
    for name, field in _propagate(graph, result, local=False):
        result.facts[name].rf = field


def local_fields(graph: Graph, result: Analysis) -> dict:
    """Receptive fields along the paths that keep positions: like the pass's own, except that
    a merge ignores inputs whose field is one for all positions when another input has
    positions (a squeeze-and-excitation gate makes every unit depend on the whole image, but
    the features it scales are still local). Returns {node: fields per axis}."""
    if len(result.input_shape) < 2:
        return {}
    return dict(_propagate(graph, result, local=True))


def _propagate(graph: Graph, result: Analysis, local: bool):
    """(node name, fields per axis) in graph order."""
    facts = result.facts
    extent = tuple(result.input_shape[1:])  # input pixels per axis
    axes = tuple(range(len(extent)))
    fields = {INPUT: tuple(RF(1, 1, 0, n, reach=(0, n - 1) if isinstance(n, int) else None)
                           for n in extent)}
    layouts = {INPUT: ((OTHER,), *((a,) for a in axes))}
    for node in graph.nodes:
        f = facts[node.name]
        if len(node.inputs) == 1:
            current, layout = fields[node.inputs[0]], layouts[node.inputs[0]]
        else:
            current, layout = merge_fields(node, [fields[s] for s in node.inputs],
                                     [layouts[s] for s in node.inputs], f, result, local)
        steps = _steps(node.layer.receptive_field(f.inputs), layout, axes)
        if steps is not None:  # the true unit counts when the output has the input's axes
            units = f.output[1:] if len(f.output) == len(axes) + 1 else (None,) * len(axes)
            current = tuple(apply_step(node.name, rf, step, n) for rf, step, n in zip(current, steps, units))
        groups = node.layer.regroup(f.inputs)
        if groups is not None:
            layout = tuple(tuple(t for d in group for t in layout[d]) for group in groups)
        if len(layout) != len(f.output):  # a reshape the layer did not describe: any dim may hold any axis
            layout = tuple((OTHER, *axes) for _ in f.output)
        counts = [rf.count for rf in current]
        for dim, entry in enumerate(layout):
            if len(entry) == 1 and entry[0] != OTHER:  # a dim that is one spatial axis: its units
                counts[entry[0]] = f.output[dim]
        if any(n != rf.count for n, rf in zip(counts, current)):
            current = tuple(rf._replace(count=n) for rf, n in zip(current, counts))
        if any(rf.reach == () for rf in current):  # no pixel along one axis: none at all
            current = tuple(rf._replace(reach=()) for rf in current)
        fields[node.name], layouts[node.name] = current, layout
        yield node.name, current


def _steps(transform, layout, axes: tuple) -> tuple | None:
    """The layer's transform as one step per spatial axis (Window, GLOBAL or None)."""
    if transform is None:
        return None
    if transform == GLOBAL:
        return (GLOBAL,) * len(axes)
    if isinstance(transform, Mixes):
        mixed = {t for d in transform.dims for t in layout[d] if t != OTHER}
        return tuple(GLOBAL if a in mixed else None for a in axes) if mixed else None
    windows = tuple(transform)
    if len(windows) == len(axes):
        return windows
    return _windows_by_dim(windows, layout, axes)


def _windows_by_dim(windows: tuple, layout, axes: tuple) -> tuple:
    """The steps of a window layer whose rank is not the input's (timm's ECA: a conv1d along
    the channels of a pooled map viewed as (1, C)): its i-th window slides along dim i + 1,
    over the spatial axes that dim holds (none for channels); along a dim holding several
    (flattened) axes it reads neighbours in row-major order, which the per-axis field only
    approximates."""
    steps: list = [None] * len(axes)
    for dim, window in enumerate(windows, 1):
        held = [t for t in layout[dim] if t != OTHER] if dim < len(layout) else []
        if window is None or window == GLOBAL or len(held) <= 1:
            for axis in held:
                steps[axis] = window
            continue
        why = "a window slides along a dim holding several spatial axes (flattened)"
        for axis in held:
            steps[axis] = window._replace(approximate=window.approximate or why)
    return tuple(steps)
