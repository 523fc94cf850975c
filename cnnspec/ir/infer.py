"""The one shape rule: a node's output shape from its inputs' shapes, used by the expander
(which needs shapes as it builds the graph) and by the shape pass.

A shape error that the sizes solver could explain ("inputs of 34 and more are valid") carries
a :class:`SizeQuestion`; the library boundary (:mod:`cnnspec.api`) asks the solver and turns
the answer into the error's hint, so neither the expander nor the passes depend on solvers.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnspec.errors import ShapeError
from cnnspec.ir.graph import Graph
from cnnspec.layers.base import LayerInputError, fmt_shape
from cnnspec.util import dims


@dataclass(frozen=True)
class SizeQuestion:
    """Which network inputs would avoid a shape error: any input the graph accepts
    (``node`` None), or the inputs that give ``node`` its ``declared`` size."""

    graph: Graph
    input_shape: tuple
    node: str | None = None
    declared: object = None


def answerable(input_shape, symbolic: bool) -> bool:
    """The sizes solver answers for concrete inputs with one to three spatial axes."""
    return not symbolic and 2 <= len(input_shape) <= 4


def node_output(node, inputs: list, input_shape: tuple, symbolic: bool, graph_so_far=None) -> tuple:
    """``node``'s output shape for ``inputs``, normalised; a ShapeError when the layer cannot
    take them. ``graph_so_far`` (a callable returning the graph up to ``node``) lets the error
    carry a :class:`SizeQuestion` when the layer has no hint of its own."""
    try:
        output = node.layer.output_shape(inputs)
    except LayerInputError as exc:
        error = ShapeError(
            f"{node.label} cannot take {describe_inputs(node, inputs)}: "
            f"{exc.message} (network input {fmt_shape(input_shape)})",
            node.pos, exc.hint,
        )
        if exc.hint is None and graph_so_far is not None and answerable(input_shape, symbolic):
            error.sizes = SizeQuestion(graph_so_far(), tuple(input_shape))
        raise error from None
    output = tuple(dims.normalize(d) for d in output)
    if symbolic:
        check_formula(node, output)
    return output


def check_formula(node, output) -> None:
    """Refuse an output size whose formula (symbolic input) has grown past
    dims.MAX_FORMULA_NODES: sympy's cost grows fast with it (a long chain of ceil_mode pools or
    fractional upsamples nests a floor per layer)."""
    for d in output:
        if dims.formula_size(d) > dims.MAX_FORMULA_NODES:
            raise ShapeError(
                f"{node.label}: the formula of its output size grows past {dims.MAX_FORMULA_NODES} "
                "terms; cnnspec stops a symbolic analysis there",
                node.pos, hint="analyse at a concrete input size, e.g. --input 3x224x224")


def describe_inputs(node, inputs) -> str:
    if len(inputs) == 1:
        return f"its input {fmt_shape(inputs[0])}"
    listed = ", ".join(
        f"{i} = {src} ({fmt_shape(shape)})" for i, (src, shape) in enumerate(zip(node.inputs, inputs), 1)
    )
    return f"its inputs {listed}"
