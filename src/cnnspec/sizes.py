"""Which input sizes a network accepts, which it divides exactly, and which satisfy the sizes
declared in the spec.

Each spatial axis is varied with the other held at the reference size (or both together, for
a square input). Validity and every declared size are monotone in the input size for the
layers cnnspec knows (each output size is a non-decreasing function of the input size), so
their bounds are found by binary search. Exactness (no border pixel silently dropped by a
stride) is periodic with period P = the product of the strides: it is decided on one period
and stated as ``n0 + P·k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import ShapeError
from .graph import Graph
from .layers.base import Window

LIMIT = 1 << 16      # the largest size searched
SCAN_LIMIT = 4096    # with merges, the first valid size is looked for up to here
MAX_PERIOD = 4096    # beyond this, exact sizes are not enumerated


@dataclass
class Constraint:
    """A declared size (e.g. a linear layer's ``in``) and the input range that gives it."""

    node: str
    type: str
    declared: object
    low: int | None
    high: int | None


@dataclass
class AxisSizes:
    """What holds along one axis (``H``, ``W`` or ``H=W``) with the others fixed."""

    axis: str
    fixed: dict
    min_valid: int | None
    period: int | None = None
    exact_residues: list[int] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    #: with merges, validity repeats with the period: the valid offsets from min_valid
    valid_residues: list[int] | None = None

    def is_valid(self, n: int) -> bool:
        if self.min_valid is None or n < self.min_valid:
            return False
        if self.valid_residues is None or self.period is None:
            return True
        return (n - self.min_valid) % self.period in self.valid_residues

    def is_exact(self, n: int) -> bool:
        return (self.is_valid(n) and self.period is not None
                and (n - self.min_valid) % self.period in self.exact_residues)

    def satisfies(self, n: int) -> bool:
        return self.is_valid(n) and all(
            c.low is not None and c.low <= n <= c.high for c in self.constraints
        )


def _shape_for(reference: tuple, axis: str, n: int) -> tuple:
    channels, height, width = reference
    if axis == "H":
        return (channels, n, width)
    if axis == "W":
        return (channels, height, n)
    return (channels, n, n)


def _evaluate(graph: Graph, shape: tuple):
    from .analysis import shapes_only

    try:
        return shapes_only(graph, shape, strict=False)
    except ShapeError:
        return None


def _search_min(predicate, low: int, high: int) -> int | None:
    """Smallest n in [low, high] with predicate(n), for a monotone predicate."""
    if low > high or not predicate(high):
        return None
    while low < high:
        mid = (low + high) // 2
        if predicate(mid):
            high = mid
        else:
            low = mid + 1
    return low


def dropped_pixels(node, inputs) -> list[int]:
    """Per spatial axis, how many input pixels (padding included) the layer's last window
    leaves unread because the stride does not divide the span exactly (0 with ceil_mode,
    whose last window overhangs instead, and for adaptive pooling, whose bins cover all)."""
    windows = node.layer.receptive_field(inputs)
    if not isinstance(windows, list) or len(inputs[0]) != 3:
        return []
    dropped = []
    for size, step in zip(inputs[0][1:], windows):
        if (isinstance(step, Window) and step.outputs is None and not step.ceil
                and isinstance(step.stride, int) and isinstance(size, int)):
            dropped.append((size + 2 * step.padding - step.kernel) % step.stride)
        else:
            dropped.append(0)
    return dropped


def _is_exact(graph: Graph, result, axes: tuple) -> bool:
    for node in graph.nodes:
        dropped = dropped_pixels(node, result.facts[node.name].inputs)
        if dropped and any(dropped[a] for a in axes):
            return False
    return True


def _period(graph: Graph, result, axes: tuple) -> int:
    """The product of the strides along every path (their lcm over paths): shifting the input
    by it shifts every strided layer's input by a multiple of its stride."""
    from .graph import INPUT

    jumps = {INPUT: (1, 1)}
    period = 1
    for node in graph.nodes:
        inputs = result.facts[node.name].inputs
        jump = [1, 1]
        for src in node.inputs:
            jump = [math.lcm(a, b) for a, b in zip(jump, jumps[src])]
        windows = node.layer.receptive_field(inputs) if len(inputs[0]) == 3 else None
        if isinstance(windows, list):
            for axis, step in enumerate(windows):
                if (isinstance(step, Window) and step.outputs is None
                        and isinstance(step.stride, int) and step.stride > 0):
                    jump[axis] *= step.stride
        jumps[node.name] = tuple(jump)
        for axis in axes:
            period = math.lcm(period, jump[axis])
    return period


def solve_axis(graph: Graph, reference: tuple, axis: str) -> AxisSizes:
    """Valid, exact and declared-size ranges along ``axis`` ('H', 'W' or 'HW')."""
    fixed = {"H": {"W": reference[2]}, "W": {"H": reference[1]}, "HW": {}}[axis]
    axes = {"H": (0,), "W": (1,), "HW": (0, 1)}[axis]
    cache: dict[int, object] = {}

    def at(n: int):
        if n not in cache:
            cache[n] = _evaluate(graph, _shape_for(reference, axis, n))
        return cache[n]

    merges = any(len(node.inputs) > 1 for node in graph.nodes)
    if merges:  # paths must agree in size: validity can be periodic, so scan for the first
        low = next((n for n in range(1, SCAN_LIMIT + 1) if at(n) is not None), None)
    else:
        low = _search_min(lambda n: at(n) is not None, 1, LIMIT)
    sizes = AxisSizes(axis, fixed, low)
    if low is None:
        return sizes
    period = _period(graph, at(low), axes)
    if period <= MAX_PERIOD:
        sizes.period = period
        valid = [r for r in range(period) if at(low + r) is not None]
        if merges:
            sizes.valid_residues = valid
        sizes.exact_residues = [r for r in valid if _is_exact(graph, at(low + r), axes)]
    names = {m.node for m in at(low).mismatches}
    names |= {m.node for m in (at(LIMIT).mismatches if at(LIMIT) else [])}
    for node in graph.nodes:
        if node.name in names or _declares(node):
            constraint = _constraint(graph, node, at, low)
            if constraint is not None:
                sizes.constraints.append(constraint)
    return sizes


def _declares(node) -> bool:
    return getattr(node.layer, "in_", None) is not None


def _constraint(graph: Graph, node, at, low: int) -> Constraint | None:
    """The input range over which ``node`` receives exactly its declared size."""

    def compare(n: int) -> int:
        result = at(n)
        if result is None:
            return -1
        mismatch = node.layer.declared_mismatch(result.facts[node.name].inputs)
        if mismatch is None:
            return 0
        declared, received = mismatch
        return -1 if received < declared else 1

    first = _search_min(lambda n: compare(n) >= 0, low, LIMIT)
    declared = node.layer.in_
    if first is None or compare(first) != 0:
        return Constraint(node.name, node.type_name, declared, None, None)
    last_over = _search_min(lambda n: compare(n) > 0, first, LIMIT)
    high = LIMIT if last_over is None else last_over - 1
    return Constraint(node.name, node.type_name, declared, first, high)


def solve(graph: Graph, reference: tuple | None = None) -> list[AxisSizes]:
    """The size facts for H and W of a (C, H, W) input."""
    reference = tuple(reference or graph.input_shape)
    if len(reference) != 3 or not all(isinstance(d, int) for d in reference):
        from .errors import UsageError

        raise UsageError("sizes needs a concrete (channels, height, width) input")
    return [solve_axis(graph, reference, "H"), solve_axis(graph, reference, "W")]


def nearest(sizes: AxisSizes, target: int, test) -> list[int]:
    """The closest sizes to ``target`` passing ``test``: the target itself, or one below and
    one above."""
    if test(target):
        return [target]
    found = []
    for step in (-1, 1):
        n = target + step
        while 1 <= n <= LIMIT and abs(n - target) <= 4 * (sizes.period or 1) + 4096:
            if test(n):
                found.append(n)
                break
            n += step
    return found


def describe_axis(sizes: AxisSizes, name: str | None = None) -> dict:
    """Compact text for each fact about one axis."""
    name = name or sizes.axis
    if sizes.min_valid is None:
        return {"valid": f"no {name} up to {LIMIT} is valid"}
    text = {"valid": f"{name} >= {sizes.min_valid}"}
    if sizes.valid_residues is not None and len(sizes.valid_residues) < (sizes.period or 1):
        starts = ", ".join(str(sizes.min_valid + r) for r in sizes.valid_residues)
        text["valid"] = f"{name} = {starts} + {sizes.period}k"
    if sizes.period is None:
        text["exact"] = f"not enumerated (stride product over {MAX_PERIOD})"
    elif not sizes.exact_residues:
        text["exact"] = "none (some stride never divides exactly)"
    elif sizes.period == 1:
        text["exact"] = f"every valid {name}"
    else:
        starts = ", ".join(str(sizes.min_valid + r) for r in sizes.exact_residues)
        text["exact"] = f"{name} = {starts} + {sizes.period}k"
    for c in sizes.constraints:
        key = f"{c.node} ({c.type}) in = {c.declared}"
        if c.low is None:
            text[key] = f"no {name} gives {c.declared}"
        elif c.high >= LIMIT:
            text[key] = f"{name} >= {c.low}"
        elif c.low == c.high:
            text[key] = f"{name} = {c.low}"
        else:
            text[key] = f"{c.low} <= {name} <= {c.high}"
    return text


# --------------------------------------------------------------------- hints for shape errors


def _hint_axis(input_shape: tuple) -> str:
    return "HW" if input_shape[1] == input_shape[2] else "H"


def valid_range_text(graph: Graph, input_shape: tuple) -> str | None:
    """'inputs from 67 up are valid', for an error at an input that is too small."""
    axis = _hint_axis(input_shape)
    sizes = solve_axis_valid_only(graph, input_shape, axis)
    if sizes is None:
        return None
    what = "inputs" if axis == "HW" else f"heights (width {input_shape[2]})"
    return f"{what} of {sizes} and more are valid"


def solve_axis_valid_only(graph: Graph, reference: tuple, axis: str) -> int | None:
    return _search_min(lambda n: _evaluate(graph, _shape_for(reference, axis, n)) is not None,
                       1, LIMIT)


def declared_input_text(graph: Graph, input_shape: tuple, node_name: str, declared) -> str | None:
    """'inputs from 227 to 258 give 9216', for a declared-size mismatch; None when no input
    size changes what the node receives (a channel count, say)."""
    square = input_shape[1] == input_shape[2]
    found = []
    for axis in (("HW",) if square else ("H", "W", "HW")):
        low = solve_axis_valid_only(graph, input_shape, axis)
        if low is None:
            continue
        def at(n: int, axis=axis, cache={}):  # noqa: B006 (a fresh cache per loop turn)
            if n not in cache:
                cache[n] = _evaluate(graph, _shape_for(input_shape, axis, n))
            return cache[n]

        c = _constraint(graph, graph.node(node_name), at, low)
        if c is not None and c.low is not None:
            found.append((axis, c))
    if not found:
        return None
    texts = []
    for axis, c in found:
        what = {"HW": "inputs" if square else "square inputs",
                "H": f"heights (at width {input_shape[2]})",
                "W": f"widths (at height {input_shape[1]})"}[axis]
        if c.low == c.high:
            texts.append(f"only {what} of {c.low} give {declared}")
        elif c.high >= LIMIT:
            texts.append(f"{what} from {c.low} up give {declared}")
        else:
            texts.append(f"{what} from {c.low} to {c.high} give {declared}")
    return "; ".join(texts)
