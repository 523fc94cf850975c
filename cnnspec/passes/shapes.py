"""Shape inference: every node's output shape, and the check of sizes declared in the spec."""

from __future__ import annotations

from cnnspec.errors import ShapeError
from cnnspec.ir.facts import Analysis, Mismatch, NodeFacts
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.ir.infer import SizeQuestion, answerable, node_output
from cnnspec.layers.base import fmt_shape
from cnnspec.util import dims


def infer_shapes(graph: Graph, result: Analysis) -> None:
    """Fill ``inputs`` and ``output`` of every node.

    A layer that cannot take its input raises ShapeError. A declared size that disagrees with
    the inferred one raises too in strict mode, asking which input sizes would satisfy it (see
    :class:`~cnnspec.ir.infer.SizeQuestion`); in lenient mode (used by the sizes solver) it is
    recorded in ``result.mismatches``."""
    shapes = {INPUT: tuple(result.input_shape)}
    whole = (lambda: graph) if result.strict else None
    for node in graph.nodes:
        inputs = [shapes[src] for src in node.inputs]
        layer = node.layer
        output = node_output(node, inputs, result.input_shape, result.symbolic, whole)
        if result.symbolic:
            for equality in layer.assumptions(inputs):
                result.assumptions.append(
                    f"{node.label} needs {equality}: true only for some input sizes (cnnspec sizes)")
        mismatch = layer.declared_mismatch(inputs)
        if mismatch is not None:
            declared, received = mismatch
            if dims.is_symbolic(received):
                result.assumptions.append(
                    f"{node.label} receives {dims.fmt(received)}, declared "
                    f"{dims.fmt(declared)}: true only for some input sizes (cnnspec sizes)"
                )
            elif result.strict:
                raise _mismatch_error(graph, result, node, declared, received, shapes)
            result.mismatches.append(Mismatch(node.name, declared, received))
        shapes[node.name] = output
        result.facts[node.name] = NodeFacts(node.name, node.type_name, inputs, output)


def _mismatch_error(graph, result, node, declared, received, shapes) -> ShapeError:
    """'fc1 expects 9216 = 256x6x6 inputs but receives 6400 = 256x5x5 …', asking which inputs
    give the declared size ('inputs from 227 to 258 give 9216')."""
    received_text = _explain(received, _origin_shape(graph, node, shapes))
    declared_text = _explain_declared(declared, _origin_shape(graph, node, shapes))
    what = node.layer.declared_what
    message = (
        f"{node.label} expects {declared_text} {what} but receives "
        f"{received_text} at input {fmt_shape(result.input_shape)}"
    )
    hint = (f"change the declared size to {dims.fmt(received)}, or remove it to let cnnspec "
            "infer it")
    error = ShapeError(message, node.pos, hint)
    if answerable(result.input_shape, result.symbolic):
        error.sizes = SizeQuestion(graph, tuple(result.input_shape), node.name, declared)
    return error


def _origin_shape(graph, node, shapes):
    """The multi-dimensional shape a flat feature count came from (walking back through
    layers that keep the element count, such as flatten and dropout)."""
    name = node.inputs[0]
    shape = shapes[name]
    while name != INPUT and len(shape) == 1:
        src = graph.node(name).inputs
        if len(src) != 1:
            break
        prev = shapes[src[0]]
        if dims.prod(prev) != dims.prod(shape):
            break
        name, shape = src[0], prev
    return shape


def _explain(value, origin) -> str:
    if len(origin) > 1 and dims.prod(origin) == value:
        return f"{dims.fmt(value)} = {fmt_shape(origin)}"
    return dims.fmt(value)


def _explain_declared(value, origin) -> str:
    """Split a declared feature count like the received one: 9216 = 256x6x6."""
    if len(origin) != 3 or not isinstance(value, int) or not isinstance(origin[0], int):
        return dims.fmt(value)
    channels = origin[0]
    if value % channels:
        return dims.fmt(value)
    area = value // channels
    side = dims.isqrt_exact(area)
    if side is not None and origin[1] == origin[2]:
        return f"{value} = {channels}x{side}x{side}"
    return f"{value} = {channels}x{area}"
