"""Analysis passes: plain functions over the graph that fill in per-node facts.

Each pass takes ``(graph, result)`` and writes into ``result.facts[node.name]``; they run in
the order of :data:`PASSES` (:mod:`cnnspec.passes.run`). A pass never tests a layer's type:
it asks the layer's own rules.
"""

from cnnspec.passes.costs import count_costs
from cnnspec.passes.memory import measure_memory
from cnnspec.passes.params import count_params
from cnnspec.passes.receptive_field import receptive_fields
from cnnspec.passes.run import PASSES
from cnnspec.passes.shapes import infer_shapes

__all__ = ["PASSES", "count_costs", "count_params", "infer_shapes", "measure_memory",
           "receptive_fields"]
