"""Activation memory per node and peak inference memory from tensor liveness."""

from __future__ import annotations

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.util import dims


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
    for output in graph.output_nodes():
        last_use[storage[output]] = len(graph.nodes)
    frees: dict[int, list[str]] = {}
    for name, step in last_use.items():
        frees.setdefault(step, []).append(name)

    if result.symbolic:
        _symbolic_peak(graph, result, size, storage, frees)
        return
    live = size[INPUT]
    peak, peak_node = live, INPUT
    for step, node in enumerate(graph.nodes):
        if storage[node.name] == node.name:
            live = live + size[node.name]
        if live > peak:
            peak, peak_node = live, node.name
        for name in frees.get(step, ()):
            live = live - size[name]
    result.peak_activation_bytes = dims.normalize(peak)
    result.peak_node = peak_node


def _symbolic_peak(graph: Graph, result: Analysis, size: dict, storage: dict, frees: dict) -> None:
    """The peak with formulas: the live bytes are compared at the probe size (every symbol
    1024, ``dims.probe``), which agrees with every comparison sympy could decide for all sizes;
    the formula of the peak is summed once, from the tensors live at that step (adding the
    formulas step by step would rebuild an ever longer sum)."""
    probes = {name: dims.probe(value) for name, value in size.items()}
    live = probes[INPUT]
    peak, peak_step = live, -1
    for step, node in enumerate(graph.nodes):
        if storage[node.name] == node.name:
            live += probes[node.name]
        if live > peak:
            peak, peak_step = live, step
        for name in frees.get(step, ()):
            live -= probes[name]
    alive = {INPUT}
    for step, node in enumerate(graph.nodes[:peak_step + 1]):
        if storage[node.name] == node.name:
            alive.add(node.name)
        if step < peak_step:
            alive.difference_update(frees.get(step, ()))
    result.peak_activation_bytes = dims.total(size[name] for name in alive)
    result.peak_node = INPUT if peak_step < 0 else graph.nodes[peak_step].name
