"""Running the passes: the whole analysis of a graph, or only its shapes.

These raise errors as the passes do; :mod:`cnnspec.api` wraps them with the size hints."""

from __future__ import annotations

from cnnspec.errors import ShapeError, UsageError
from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph
from cnnspec.passes.costs import count_costs
from cnnspec.passes.memory import measure_memory
from cnnspec.passes.params import count_params
from cnnspec.passes.receptive_field import receptive_fields
from cnnspec.passes.shapes import infer_shapes
from cnnspec.util import dims
from cnnspec.util.dtypes import DTYPE_BYTES
from cnnspec.util.names import parse_input_shape

PASSES = (infer_shapes, count_params, count_costs, measure_memory, receptive_fields)


def analyze(graph: Graph, input_shape=None, batch: int = 1, dtype: str = "float32") -> Analysis:
    """Shapes, parameters, MACs/FLOPs, memory and receptive fields of every node.

    ``input_shape`` (per sample, e.g. ``(3, 224, 224)`` or ``"3xHxW"``) defaults to the
    spec's; names in it make the results formulas."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype '{dtype}'", hint="use one of " + ", ".join(DTYPE_BYTES))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch must be a positive integer, got {batch!r}")
    shape = input_shape_of(graph, input_shape)
    result = Analysis(graph, shape, batch, dtype)
    with dims.gc_paused():
        for run in PASSES:
            run(graph, result)
    if result.symbolic:
        _check_formulas(graph, result)
    return result


def _check_formulas(graph: Graph, result: Analysis) -> None:
    """Refuse receptive fields whose formulas (symbolic input) have grown past
    dims.MAX_FORMULA_NODES, as shape inference does for sizes: printing them takes seconds
    and tens of thousands of characters each."""
    for node in graph.nodes:
        for axis in result.facts[node.name].rf or ():
            for name, value in getattr(axis, "_asdict", dict)().items():
                if dims.formula_size(value) > dims.MAX_FORMULA_NODES:
                    raise ShapeError(
                        f"{node.label}: the formula of its receptive field's {name} grows past "
                        f"{dims.MAX_FORMULA_NODES} terms; cnnspec stops a symbolic analysis there",
                        node.pos, hint="analyse at a concrete input size, e.g. --input 3x224x224")


def shapes_only(graph: Graph, input_shape: tuple, strict: bool = False) -> Analysis:
    """Only shape inference (fast); in lenient mode declared-size mismatches are collected."""
    result = Analysis(graph, tuple(input_shape), strict=strict)
    infer_shapes(graph, result)
    return result


def input_shape_of(graph: Graph, input_shape) -> tuple:
    """The per-sample input to analyse at: the spec's, or ``input_shape`` checked against it
    (text such as ``"3xHxW"`` is read, names become symbols)."""
    if input_shape is None:
        return graph.input_shape
    if isinstance(input_shape, str):
        input_shape = parse_input_shape(input_shape)
    shape = tuple(dims.symbol(d) if isinstance(d, str) else d for d in input_shape)
    if len(shape) != len(graph.input_shape):
        raise UsageError(
            f"input {input_shape} has {len(shape)} dims; {graph.name} takes "
            f"{len(graph.input_shape)} ({'x'.join(map(str, graph.input_shape))})"
        )
    for d in shape:
        if isinstance(d, int) and d < 1:
            raise UsageError(f"input sizes must be positive, got {input_shape}")
    return shape
