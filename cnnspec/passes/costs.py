"""Compute cost: MACs, FLOPs and element-wise work, for the whole batch."""

from __future__ import annotations

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph
from cnnspec.util import dims


def count_costs(graph: Graph, result: Analysis) -> None:
    """MACs (conv and linear, bias excluded), FLOPs = 2 x MACs, and the element-wise and
    reduction work each layer declares, all multiplied by the batch size."""
    batch = result.batch
    for node in graph.nodes:
        facts = result.facts[node.name]
        macs = node.layer.macs(facts.inputs, facts.output) * batch
        facts.macs = dims.normalize(macs)
        facts.flops = dims.normalize(2 * macs)
        facts.elementwise_ops = dims.normalize(
            node.layer.elementwise_ops(facts.inputs, facts.output) * batch
        )
