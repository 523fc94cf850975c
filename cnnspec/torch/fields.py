"""Receptive fields measured from gradients, for ``cnnspec verify`` (imports torch).

A linearised copy of the model (positive weights and biases, element-wise layers as
identities, other layers as their linear twins: max pooling as average pooling, softmax as a
positive average) runs on an all-ones input; the input pixels with a non-zero gradient of one
output unit are that unit's field. Only exact fields are judged; inexact ones are reported.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch import nn

from cnnspec.api import analyze
from cnnspec.ir.graph import Graph
from cnnspec.layers.base import Mixes
from cnnspec.torch.builder import factory_of, to_torch
from cnnspec.torch.verify_report import Check

RF_MAX_SIDE = 96
RF_FALLBACK_SIDE = 320
RF_BATCH = 32


def max_side(rank: int, side: int = RF_MAX_SIDE) -> int:
    """The largest side measured over ``rank`` spatial axes: ``side`` in 2-D, and as many
    positions in all (side²) in 1-D and 3-D (9216 along a length, 20 a side of a volume)."""
    limit = side ** 2
    return next(n for n in range(limit, 0, -1) if n ** rank <= limit) if rank != 2 else side


def rf_input(graph: Graph, shape: tuple) -> tuple | None:
    """The input at which fields are measured: the analysed one if small enough, else the
    largest valid square (cube) input up to ``max_side``."""
    rank = len(shape) - 1
    limit = max_side(rank)
    if max(shape[1:]) <= limit:
        return shape
    from cnnspec.api import shapes_only
    from cnnspec.errors import ShapeError

    for side in range(limit, 0, -1):
        try:
            shapes_only(graph, (shape[0], *(side,) * rank), strict=True)
            return (shape[0], *(side,) * rank)
        except ShapeError:
            continue
    # e.g. a declared fc size
    return shape if max(shape[1:]) <= max_side(rank, RF_FALLBACK_SIDE) else None


def _linearise(model, graph: Graph, facts) -> None:
    """Positive weights and biases, element-wise layers as identities, and every other layer
    that has one as its linear twin (``Layer.linear_twin``: max as average pooling, softmax as
    a positive average along its dim): every path from an input pixel to a unit then carries
    a positive weight (the input is all ones, so products such as a squeeze-excitation gate
    stay positive too)."""
    for (name, _), node in zip(model.nodes(), graph.nodes):
        inputs = facts[name].inputs
        twin = node.layer.linear_twin(inputs)
        if twin is not None:
            call = twin.torch_call(inputs)
            model.replace_node(name, factory_of(twin, call)(*call.args, **call.kwargs))
        elif node.layer.elementwise:  # activations, batch norm, dropout: identities
            model.replace_node(name, nn.Identity())
    with torch.no_grad():  # averaging weights keep every value bounded in float32; biases are
        for p in model.parameters():  # positive, so a unit reading only padding is not 0
            p.fill_(1.0 / p[0].numel() if p.dim() > 1 else 1.0)


def _targets(graph: Graph, facts: dict) -> list:
    """The nodes whose field is measured: those that change it (a point-wise layer keeps its
    input's, and so does one mixing only dims that hold no positions, such as a channels-last
    layer norm) and merges, with outputs that have the input's spatial axes, or without them
    when every unit has one field (``linear`` after ``flatten``)."""
    chosen = []
    for node in graph.nodes:
        rf = facts[node.name].rf
        if not rf:
            continue
        spatial = len(facts[node.name].output) == len(rf) + 1
        if not spatial and not all(r.jump == 0 for r in rf):
            continue
        if len(node.inputs) == 1:
            transform = node.layer.receptive_field(facts[node.name].inputs)
            source = facts.get(node.inputs[0])
            if transform is None or (spatial and isinstance(transform, Mixes) and source is not None
                                     and source.rf == rf):
                continue  # it mixes dims that hold no positions (a channels-last layer norm)
        chosen.append(node)
    return chosen


def check_fields(graph: Graph, shape: tuple, reports: dict, device: str, result=None) -> None:
    """Measure the field of the centre unit of each target node, a batch of nodes at a time:
    sample k of the batch carries node k's gradient. The prediction is the unit's interval
    clipped to the input; where that differs, to the pixels the node depends on at all (its
    reach, measured too), as docs/conventions.md defines an exact field. ``result``: the
    analysis at ``shape`` when the caller has it (fields do not depend on the batch)."""
    if result is None:
        result = analyze(graph, shape)
    model = to_torch(graph, shape).eval().to(device)
    _linearise(model, graph, result.facts)
    targets = _targets(graph, result.facts)
    units = {n.name: _centre(result.facts[n.name]) for n in targets}
    measured = _measure(model, [(n.name, units[n.name]) for n in targets], shape, device)
    whole = tuple((0, n - 1) for n in shape[1:])
    judged = {}
    for node in targets:
        rf = result.facts[node.name].rf
        judged[node.name] = _predict(rf, units[node.name], [range(lo, hi + 1) for lo, hi in whole])
    # where clipping to the input is not enough (strides that skip pixels), clip to the reach
    again = [n for n in targets if all(r.exact for r in result.facts[n.name].rf)
             and judged[n.name] != measured[n.name]]
    if again:
        reach = _measure(model, [(n.name, None) for n in again], shape, device, pixels=True)
        for node in again:
            judged[node.name] = _predict(result.facts[node.name].rf, units[node.name], reach[node.name])
    for node in targets:
        rf, predicted, got = result.facts[node.name].rf, judged[node.name], measured[node.name]
        exact = all(r.exact for r in rf)  # an inexact field is reported, not judged
        reports[node.name].checks.append(Check(
            "receptive_field", predicted or "none", got or "none",
            (predicted == got) if exact else None))


def _centre(facts) -> tuple | None:
    """The unit measured: the centre one of an output with the input's spatial axes; None
    (every element) else."""
    out = facts.output
    return tuple(n // 2 for n in out[1:]) if len(out) == len(facts.rf) + 1 else None


def _measure(model, wanted: list, shape: tuple, device: str, pixels: bool = False) -> dict:
    """{node: (first, last) input pixels per axis that ``unit`` depends on, or None for none};
    with ``pixels``, {node: the set of pixels per axis the whole node depends on}."""
    modules = dict(model.nodes())
    found = {}
    for start in range(0, len(wanted), RF_BATCH):
        chunk = wanted[start:start + RF_BATCH]
        outputs: dict[str, torch.Tensor] = {}

        def keep(mod, args, out, name, store=outputs):
            store[name] = out

        hooks = [modules[name].register_forward_hook(
            lambda mod, args, out, name=name: keep(mod, args, out, name)) for name, _ in chunk]
        x = torch.ones(len(chunk), *shape, device=device, requires_grad=True)
        try:
            model(x)
        finally:
            for h in hooks:
                h.remove()
        loss = 0
        for k, (name, unit) in enumerate(chunk):
            out = outputs[name][k]
            loss = loss + (out[(slice(None), *unit)].sum() if unit is not None else out.sum())
        loss.backward()
        axes = range(len(shape) - 1)
        for k, (name, _) in enumerate(chunk):
            touched = x.grad[k].abs().sum(0).nonzero()
            if pixels:
                found[name] = [set(touched[:, a].tolist()) for a in axes]
            elif len(touched) == 0:
                found[name] = None
            else:
                found[name] = tuple((int(touched[:, a].min()), int(touched[:, a].max())) for a in axes)
    return found


def _predict(rf, unit, reach) -> tuple | None:
    """The predicted field of ``unit`` (None: every unit's, jump 0): per axis the first and
    last pixel of its interval among ``reach`` (the pixels per axis that count); None when an
    axis has none (the unit depends on nothing)."""
    box = []
    for a, r in enumerate(rf):
        centre = r.start + (unit[a] if unit is not None else 0) * r.jump
        half = Fraction(r.size - 1, 2)
        low, high = math.ceil(centre - half), math.floor(centre + half)
        inside = [p for p in reach[a] if low <= p <= high]
        if not inside:
            return None
        box.append((min(inside), max(inside)))
    return tuple(box)
