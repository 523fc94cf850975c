"""Activation memory per node and peak inference memory from tensor liveness."""

from __future__ import annotations

from .. import dims
from ..facts import Analysis
from ..graph import INPUT, Graph


def measure_memory(graph: Graph, result: Analysis) -> None:
    """Bytes of every node's output, and the peak of live tensors while the nodes run in order.

    A tensor is live from the node that produces it until its last reader has run (the
    network's output stays live). Views (``view_of_input``) share their input's storage, so
    the storage lives until the last reader of any of its views."""
    per_element = result.batch * result.dtype_bytes
    size = {INPUT: dims.prod(result.input_shape) * per_element}
    storage = {INPUT: INPUT}
    for node in graph.nodes:
        facts = result.facts[node.name]
        facts.activation_bytes = dims.normalize(dims.prod(facts.output) * per_element)
        if node.layer.view_of_input and len(node.inputs) == 1:
            storage[node.name] = storage[node.inputs[0]]
        else:
            storage[node.name] = node.name
            size[node.name] = facts.activation_bytes

    last_use = {INPUT: -1}
    for step, node in enumerate(graph.nodes):
        last_use.setdefault(storage[node.name], step)
        for src in node.inputs:
            last_use[storage[src]] = step
    last_use[storage[graph.output]] = len(graph.nodes)
    frees: dict[int, list[str]] = {}
    for name, step in last_use.items():
        frees.setdefault(step, []).append(name)

    live = size[INPUT]
    peak, peak_node = live, INPUT
    for step, node in enumerate(graph.nodes):
        if storage[node.name] == node.name:
            live = live + size[node.name]
        if _larger(live, peak, result.symbolic):
            peak, peak_node = live, node.name
        for name in frees.get(step, ()):
            live = live - size[name]
    result.peak_activation_bytes = dims.normalize(peak)
    result.peak_node = peak_node


def _larger(a, b, symbolic: bool) -> bool:
    if not symbolic:
        return a > b
    decided = dims.is_true(a > b)
    return dims.probe(a) > dims.probe(b) if decided is None else decided
