"""Analysis passes: plain functions over the graph that fill in per-node facts.

Each pass takes ``(graph, result)`` and writes into ``result.facts[node.name]``; they run in
the order of :data:`PASSES`. A pass never tests a layer's type: it asks the layer's own rules.
"""

from .costs import count_costs
from .memory import measure_memory
from .params import count_params
from .receptive_field import receptive_fields
from .shapes import infer_shapes

PASSES = (infer_shapes, count_params, count_costs, measure_memory, receptive_fields)

__all__ = ["PASSES", "count_costs", "count_params", "infer_shapes", "measure_memory",
           "receptive_fields"]
