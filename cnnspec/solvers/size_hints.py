"""Hints for shape errors: the input sizes that are valid, or that give a node the size the
spec declares for it (the answer to a :class:`~cnnspec.ir.infer.SizeQuestion`)."""

from __future__ import annotations

from contextlib import contextmanager

from cnnspec.errors import CnnspecError, ShapeError
from cnnspec.ir.graph import Graph

# The probes are imported where a hint is worked out: every load and analysis enters
# size_hints(), and only an error needs the solver.


def add_size_hint(error: ShapeError) -> ShapeError:
    """Answer the error's size question (once) and make the answer its hint."""
    question = error.sizes
    if question is not None:
        error.sizes = None
        try:
            text = answer(question)
        except (CnnspecError, RecursionError):  # the hint is a courtesy: the error is the news
            text = None
        if text is not None:
            error.hint = text
    return error


@contextmanager
def size_hints():
    """Add the size hint to a ShapeError raised inside the block."""
    try:
        yield
    except ShapeError as error:
        add_size_hint(error)
        raise


def _hint_axis(input_shape: tuple) -> str:
    from cnnspec.solvers import size_axes

    letters = size_axes.letters(input_shape)
    return letters if size_axes.equal_sides(input_shape) else letters[0]


def valid_range_text(graph: Graph, input_shape: tuple) -> str | None:
    """'inputs from 67 up are valid', for an error at an input that is too small."""
    axis = _hint_axis(input_shape)
    sizes = solve_axis_valid_only(graph, input_shape, axis)
    if sizes is None:
        return None
    from cnnspec.solvers import size_axes

    what = "inputs" if len(axis) == len(input_shape) - 1 else size_axes.held(input_shape, axis)
    return f"{what} of {sizes} and more are valid"


def solve_axis_valid_only(graph: Graph, reference: tuple, axis: str) -> int | None:
    """The first size from which every window fits (merges may still disagree at some)."""
    from cnnspec.solvers.size_facts import LIMIT
    from cnnspec.solvers.size_probes import Prober, search_min

    at = Prober(graph, reference, axis)
    return search_min(lambda n: not at(n).failed, 1, LIMIT)


def declared_input_text(graph: Graph, input_shape: tuple, node_name: str, declared) -> str | None:
    """'inputs from 227 to 258 give 9216', for a declared-size mismatch; None when no input
    size changes what the node receives (a channel count, say)."""
    from cnnspec.solvers import size_axes
    from cnnspec.solvers.size_facts import LIMIT
    from cnnspec.solvers.size_probes import Prober, constraint_for

    square = size_axes.equal_sides(input_shape)
    every = size_axes.letters(input_shape)
    found = []
    for axis in ((every,) if square or len(every) == 1 else (*every, every)):
        low = solve_axis_valid_only(graph, input_shape, axis)
        if low is None:
            continue
        c = constraint_for(graph, graph.node(node_name), Prober(graph, input_shape, axis), low)
        if c is not None and c.low is not None:
            found.append((axis, c))
    if not found:
        return None
    texts = []
    for axis, c in found:
        if axis == every:
            what = ("inputs" if square or len(every) == 1
                    else "square inputs" if len(every) == 2 else "cubic inputs")
        else:
            what = size_axes.held(input_shape, axis, at="at ")
        if c.low == c.high:
            texts.append(f"only {what} of {c.low} give {declared}")
        elif c.high >= LIMIT:
            texts.append(f"{what} from {c.low} up give {declared}")
        else:
            texts.append(f"{what} from {c.low} to {c.high} give {declared}")
    return "; ".join(texts)


def answer(question) -> str | None:
    """The hint for a shape error's ``SizeQuestion`` (``cnnspec.ir.infer``), or None."""
    if question.node is None:
        return valid_range_text(question.graph, question.input_shape)
    return declared_input_text(question.graph, question.input_shape, question.node,
                               question.declared)
