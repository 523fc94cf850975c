"""Probing a network at input sizes: one lean shape inference per size (:class:`Probe`),
cached and budgeted per axis (:class:`Prober`), the search for the smallest size with a
monotone property, the pixels a stride drops, the strides into every node, and the range of
input sizes that gives a node its declared size."""

from __future__ import annotations

import math

from cnnspec.ir.graph import Graph
from cnnspec.layers.base import Window
from cnnspec.solvers.size_axes import shape_for
from cnnspec.solvers.size_facts import LIMIT, Constraint


def search_min(predicate, low: int, high: int) -> int | None:
    """Smallest n in [low, high] with predicate(n), for a monotone predicate: galloping from
    ``low`` (low, low + 1, low + 3, low + 7, …), then a binary search, so a small answer takes
    a few probes and none takes more than about 2·log2(high − low)."""
    if low > high:
        return None
    step, last_false = 1, low - 1
    while True:
        n = min(last_false + step, high)
        if predicate(n):
            low, high = last_false + 1, n
            break
        if n == high:
            return None
        last_false, step = n, step * 2
    while low < high:
        mid = (low + high) // 2
        if predicate(mid):
            high = mid
        else:
            low = mid + 1
    return low


def dropped_pixels(node, inputs) -> list[int]:
    """Per spatial axis, how many input pixels (padding included) the layer's last window
    leaves unread because the stride does not divide the span exactly (0 with ceil_mode,
    whose last window overhangs instead, and for adaptive pooling, whose bins cover all)."""
    windows = node.layer.receptive_field(inputs)
    if not isinstance(windows, list) or len(inputs[0]) != len(windows) + 1:
        return []
    dropped = []
    for size, step in zip(inputs[0][1:], windows):
        if (isinstance(step, Window) and step.outputs is None and not step.ceil
                and isinstance(step.stride, int) and isinstance(size, int)):
            dropped.append((size + 2 * step.padding - step.kernel) % step.stride)
        else:
            dropped.append(0)
    return dropped


class Probe:
    """One shape inference at one input size, lean (no facts), and lenient at merges: a merge
    whose inputs disagree is recorded in ``bad_merges`` and continues as if they agreed (its
    inputs taken at the first input's spatial size), so the layers after it are still sized.
    ``failed`` is set when a layer other than a merge cannot take its input (the probe stops
    there). The size is valid when neither happened."""

    __slots__ = ("shapes", "failed", "bad_merges")

    def __init__(self, graph: Graph, shape: tuple):
        from cnnspec.ir.graph import INPUT
        from cnnspec.layers.base import LayerInputError

        shapes = {INPUT: shape}
        self.shapes, self.failed, self.bad_merges = shapes, False, []
        for node in graph.nodes:
            inputs = [shapes[src] for src in node.inputs]
            try:
                output = node.layer.output_shape(inputs)
            except LayerInputError:
                if len(inputs) < 2:
                    self.failed = True
                    return
                self.bad_merges.append(node.name)
                first = inputs[0]
                forced = [(*s[:1], *first[1:]) if len(s) == len(first) else s for s in inputs]
                try:
                    output = node.layer.output_shape(forced)
                except LayerInputError:
                    self.failed = True
                    return
            shapes[node.name] = output

    @property
    def valid(self) -> bool:
        return not self.failed and not self.bad_merges

    def inputs(self, node) -> list:
        return [self.shapes[src] for src in node.inputs]

    def mismatches(self, graph: Graph) -> list:
        """The nodes whose declared size (``in``) the inferred one contradicts."""
        return [node.name for node in graph.nodes
                if node.name in self.shapes and node.layer.declared_mismatch(self.inputs(node))]


def is_exact(graph: Graph, probe: Probe, axes: tuple) -> bool:
    for node in graph.nodes:
        dropped = dropped_pixels(node, probe.inputs(node))
        if dropped and any(dropped[a] for a in axes):
            return False
    return True


def strides_into(graph: Graph, probe: Probe, axes: tuple):
    """Per node, the product of the strides along every path into it (their lcm over paths)
    on the axes, and the node's own stride when it drops pixels by its size (a window with a
    fixed number of outputs or ceil_mode does not): {node: (jump into it, own stride)}."""
    from cnnspec.ir.graph import INPUT

    jumps = {INPUT: 1}
    found = {}
    rank = len(probe.shapes[INPUT])
    for node in graph.nodes:
        inputs = probe.inputs(node)
        jump = 1
        for src in node.inputs:
            jump = math.lcm(jump, jumps[src])
        own, checked = 1, 1
        windows = node.layer.receptive_field(inputs) if len(inputs[0]) == rank else None
        if isinstance(windows, list):
            for axis in axes:
                step = windows[axis] if axis < len(windows) else None
                if (isinstance(step, Window) and step.outputs is None
                        and isinstance(step.stride, int) and step.stride > 0):
                    own = math.lcm(own, step.stride)
                    if not step.ceil:
                        checked = math.lcm(checked, step.stride)
        found[node.name] = (jump, checked)
        jumps[node.name] = jump * own
    return found, jumps


#: The shape inferences (one layer each) one axis of ``sizes`` may spend on enumerating the
#: sizes that are valid (with merges) and exact, residue by residue; past it, validity with
#: merges is not enumerated (the first valid size is then found by a scan as far as the budget
#: goes) and neither are exact sizes.
WORK_BUDGET = 100_000


class Prober:
    """Probes one axis at sizes n, cached, within WORK_BUDGET layer evaluations (the binary
    searches, a few dozen probes, are not counted: they are needed for any answer)."""

    def __init__(self, graph: Graph, reference: tuple, axis: str):
        self.graph, self.reference, self.axis = graph, reference, axis
        self.cache: dict[int, Probe] = {}
        self.budget = self.left = max(WORK_BUDGET // max(len(graph.nodes), 1), 64)

    def __call__(self, n: int, charged: bool = False) -> Probe:
        probe = self.cache.get(n)
        if probe is None:
            if charged:
                if self.left <= 0:
                    raise OverBudget
                self.left -= 1
            probe = self.cache[n] = Probe(self.graph, shape_for(self.reference, self.axis, n))
        return probe


class OverBudget(Exception):
    pass


def declares(node) -> bool:
    return getattr(node.layer, "in_", None) is not None


def constraint_for(graph: Graph, node, at, low: int) -> Constraint | None:
    """The input range over which ``node`` receives exactly its declared size."""

    def compare(n: int) -> int:
        probe = at(n)
        if not probe.valid or node.name not in probe.shapes:
            return -1
        mismatch = node.layer.declared_mismatch(probe.inputs(node))
        if mismatch is None:
            return 0
        declared, received = mismatch
        return -1 if received < declared else 1

    first = search_min(lambda n: compare(n) >= 0, low, LIMIT)
    declared = node.layer.in_
    if first is None or compare(first) != 0:
        return Constraint(node.name, node.type_name, declared, None, None)
    last_over = search_min(lambda n: compare(n) > 0, first, LIMIT)
    high = LIMIT if last_over is None else last_over - 1
    return Constraint(node.name, node.type_name, declared, first, high)


