"""The library entry points: load a spec, run the passes over its graph."""

from __future__ import annotations

from cnnspec.errors import UsageError
from cnnspec.frontend import spec as _spec
from cnnspec.frontend.spec import parse_input_shape, parse_overrides
from cnnspec.ir.facts import DTYPE_BYTES, Analysis
from cnnspec.ir.graph import Graph
from cnnspec.passes import PASSES
from cnnspec.passes.shapes import infer_shapes
from cnnspec.util.dims import gc_paused

__all__ = ["analyze", "load_spec", "parse_input_shape", "parse_overrides", "parse_spec",
           "shapes_only"]


def load_spec(path, overrides: dict | None = None, input_shape=None,
              only_defined: bool = False) -> Graph:
    """Read a spec file and expand it into a :class:`Graph`.

    ``overrides`` replaces vars (like ``--set``); ``input_shape`` replaces the declared input."""
    return _spec.load_spec(path, overrides, input_shape, only_defined)


def parse_spec(text: str, file: str = "<string>", overrides: dict | None = None,
               input_shape=None) -> Graph:
    """Like :func:`load_spec`, from YAML text (``file`` names it in messages)."""
    return _spec.parse_spec(text, file, overrides, input_shape)


def analyze(graph: Graph, input_shape=None, batch: int = 1, dtype: str = "float32") -> Analysis:
    """Shapes, parameters, MACs/FLOPs, memory and receptive fields of every node.

    ``input_shape`` (per sample, e.g. ``(3, 224, 224)`` or ``"3xHxW"``) defaults to the
    spec's; names in it make the results formulas."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype '{dtype}'", hint="use one of " + ", ".join(DTYPE_BYTES))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch must be a positive integer, got {batch!r}")
    shape = _shape(graph, input_shape)
    result = Analysis(graph, shape, batch, dtype)
    with gc_paused():
        for run in PASSES:
            run(graph, result)
    if result.symbolic:
        _check_formulas(graph, result)
    return result


def _check_formulas(graph: Graph, result: Analysis) -> None:
    """Refuse receptive fields whose formulas (symbolic input) have grown past
    dims.MAX_FORMULA_NODES, as shape inference does for sizes: printing them takes seconds
    and tens of thousands of characters each."""
    from cnnspec.errors import ShapeError
    from cnnspec.util import dims

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


def _shape(graph: Graph, input_shape) -> tuple:
    if input_shape is None:
        return graph.input_shape
    if isinstance(input_shape, str):
        input_shape = parse_input_shape(input_shape)
    from cnnspec.util import dims

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
