"""Parameter and buffer counts."""

from __future__ import annotations

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph
from cnnspec.util import dims


def count_params(graph: Graph, result: Analysis) -> None:
    """Parameters (trainable or frozen, from the node's flag) and buffers of every node."""
    for node in graph.nodes:
        facts = result.facts[node.name]
        facts.params = dims.normalize(node.layer.params(facts.inputs))
        facts.buffers = dims.normalize(node.layer.buffers(facts.inputs))
        facts.trainable = node.trainable
