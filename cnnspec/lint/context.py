"""What the rules read: the graph, its analysis, the thresholds, and small helpers that ask
the layers generic questions (their windows, weights, whether they only map values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import INPUT, Graph, Node
from cnnspec.layers.base import GLOBAL, Window


@dataclass
class Context:
    graph: Graph
    analysis: Analysis
    settings: dict
    #: max_params, max_macs, max_memory: None when not set
    budgets: dict = field(default_factory=dict)
    consumers: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.consumers = self.graph.consumers()
        self._windows: dict = {}

    @cached_property
    def totals(self) -> dict:
        return self.analysis.totals()

    @cached_property
    def from_input(self) -> set:
        """The input and the nodes that are the input seen through pass-through layers."""
        names = {INPUT}
        for node in self.graph.nodes:
            if self.passes_through(node) and node.inputs[0] in names:
                names.add(node.name)
        return names

    @cached_property
    def to_output(self) -> set:
        """The outputs and the nodes that reach one through pass-through layers or views (the
        classes: their number is fixed by the task)."""
        names = set(self.graph.output_nodes())
        for node in reversed(self.graph.nodes):
            if node.name in names and len(node.inputs) == 1 and (
                    self.passes_through(node) or node.layer.view_of_input):
                names.add(node.inputs[0])
        return names

    def inputs(self, node: Node) -> list:
        return self.analysis.facts[node.name].inputs

    def output(self, name: str) -> tuple:
        if name == INPUT:
            return self.analysis.input_shape
        return self.analysis.facts[name].output

    def windows(self, node: Node) -> list[Window] | None:
        """The layer's sliding windows per spatial axis, when it has fixed integer ones (not
        adaptive pooling, not a transposed conv, not a layer mixing all positions)."""
        if node.name not in self._windows:
            self._windows[node.name] = self._find_windows(node)
        return self._windows[node.name]

    def _find_windows(self, node: Node) -> list[Window] | None:
        inputs = self.inputs(node)
        if len(inputs) != 1 or not 2 <= len(inputs[0]) <= 4:  # (C, L), (C, H, W), (C, D, H, W)
            return None
        windows = node.layer.receptive_field(inputs)
        if windows is None or windows == GLOBAL or not isinstance(windows, list):
            return None
        if not all(isinstance(w, Window) and w.outputs is None and type(w.kernel) is int
                   and type(w.stride) is int and type(w.padding) is int for w in windows):
            return None
        return windows

    def weights(self, node: Node):
        return node.layer.weights(self.inputs(node))

    def is_conv(self, node: Node) -> bool:
        """A convolution: a layer with weights sliding over a (C, L), (C, H, W) or (C, D, H, W)
        input."""
        return self.weights(node) is not None and not node.layer.fully_connected \
            and 2 <= len(self.inputs(node)[0]) <= 4

    def passes_through(self, node: Node) -> bool:
        """A node that keeps positions and channels: activations, batch norm, dropout, identity."""
        return len(node.inputs) == 1 and (node.layer.elementwise or node.layer.view_of_input) and \
            self.output(node.name) == self.inputs(node)[0]

    def label(self, name: str) -> str:
        return "the input" if name == INPUT else self.graph.node(name).label

    def siblings(self, node: Node) -> list[Node]:
        """The other nodes that read the same input as this one."""
        if len(node.inputs) != 1:
            return []
        return [self.graph.node(n) for n in self.consumers.get(node.inputs[0], []) if n != node.name]


def hw(shape) -> str:
    """The spatial sizes of a map (``56x56``; ``8x56x56`` for a volume, ``400`` for a
    sequence), or the whole shape of features."""
    return "x".join(str(d) for d in shape[1:]) if 2 <= len(shape) <= 4 else "x".join(map(str, shape))


def pct(part, whole) -> str:
    if not whole:
        return "-"
    try:
        return f"{100 * part / whole:.1f}%"
    except OverflowError:  # a share past 10^308 (a budget exceeded by astronomical sizes)
        from decimal import Decimal

        return f"{Decimal(100 * part) / Decimal(whole):.3g}%"
