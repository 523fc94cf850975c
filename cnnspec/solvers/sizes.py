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
from dataclasses import dataclass, field, replace

from cnnspec.ir.graph import Graph
from cnnspec.layers.base import Window

LIMIT = 1 << 16      # the largest size searched
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
    #: False when merges make validity periodic and it was not enumerated (beyond the period
    #: or the work budget): then every size from min_valid is assumed valid
    valid_checked: bool = True
    #: why exact sizes were not enumerated, when they were not
    unchecked: str | None = None

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


def _search_min(predicate, low: int, high: int) -> int | None:
    """Smallest n in [low, high] with predicate(n), for a monotone predicate: galloping from
    ``low`` (low, low + 1, low + 3, low + 7, …), then a binary search, so a small answer takes
    a few probes and none takes more than about 2·log2(high − low)."""
    if low > high:
        return None
    step, last_false = 1, low - 1
    while True:
        n = min(last_false + step, high)
        if predicate(n):
            low, high = last_false + 1, n
            break
        if n == high:
            return None
        last_false, step = n, step * 2
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


class Probe:
    """One shape inference at one input size, lean (no facts), and lenient at merges: a merge
    whose inputs disagree is recorded in ``bad_merges`` and continues as if they agreed (its
    inputs taken at the first input's spatial size), so the layers after it are still sized.
    ``failed`` is set when a layer other than a merge cannot take its input (the probe stops
    there). The size is valid when neither happened."""

    __slots__ = ("shapes", "failed", "bad_merges")

    def __init__(self, graph: Graph, shape: tuple):
        from cnnspec.ir.graph import INPUT
        from cnnspec.layers.base import LayerInputError

        shapes = {INPUT: shape}
        self.shapes, self.failed, self.bad_merges = shapes, False, []
        for node in graph.nodes:
            inputs = [shapes[src] for src in node.inputs]
            try:
                output = node.layer.output_shape(inputs)
            except LayerInputError:
                if len(inputs) < 2:
                    self.failed = True
                    return
                self.bad_merges.append(node.name)
                first = inputs[0]
                forced = [(*s[:1], *first[1:]) if len(s) == len(first) else s for s in inputs]
                try:
                    output = node.layer.output_shape(forced)
                except LayerInputError:
                    self.failed = True
                    return
            shapes[node.name] = output

    @property
    def valid(self) -> bool:
        return not self.failed and not self.bad_merges

    def inputs(self, node) -> list:
        return [self.shapes[src] for src in node.inputs]

    def mismatches(self, graph: Graph) -> list:
        """The nodes whose declared size (``in``) the inferred one contradicts."""
        return [node.name for node in graph.nodes
                if node.name in self.shapes and node.layer.declared_mismatch(self.inputs(node))]


def _is_exact(graph: Graph, probe: Probe, axes: tuple) -> bool:
    for node in graph.nodes:
        dropped = dropped_pixels(node, probe.inputs(node))
        if dropped and any(dropped[a] for a in axes):
            return False
    return True


def _strides(graph: Graph, probe: Probe, axes: tuple):
    """Per node, the product of the strides along every path into it (their lcm over paths)
    on the axes, and the node's own stride when it drops pixels by its size (a window with a
    fixed number of outputs or ceil_mode does not): {node: (jump into it, own stride)}."""
    from cnnspec.ir.graph import INPUT

    jumps = {INPUT: 1}
    found = {}
    for node in graph.nodes:
        inputs = probe.inputs(node)
        jump = 1
        for src in node.inputs:
            jump = math.lcm(jump, jumps[src])
        own, checked = 1, 1
        windows = node.layer.receptive_field(inputs) if len(inputs[0]) == 3 else None
        if isinstance(windows, list):
            for axis in axes:
                step = windows[axis] if axis < len(windows) else None
                if (isinstance(step, Window) and step.outputs is None
                        and isinstance(step.stride, int) and step.stride > 0):
                    own = math.lcm(own, step.stride)
                    if not step.ceil:
                        checked = math.lcm(checked, step.stride)
        found[node.name] = (jump, checked)
        jumps[node.name] = jump * own
    return found, jumps


def _period(graph: Graph, probe: Probe, axes: tuple) -> int:
    """The product of the strides along every path (their lcm over paths): shifting the input
    by it shifts every strided layer's input by a multiple of its stride."""
    _, jumps = _strides(graph, probe, axes)
    return math.lcm(*jumps.values())


#: The shape inferences (one layer each) one axis of ``sizes`` may spend on enumerating the
#: sizes that are valid (with merges) and exact, residue by residue; past it, validity with
#: merges is not enumerated (the first valid size is then found by a scan as far as the budget
#: goes) and neither are exact sizes.
WORK_BUDGET = 100_000


class _Prober:
    """Probes one axis at sizes n, cached, within WORK_BUDGET layer evaluations (the binary
    searches, a few dozen probes, are not counted: they are needed for any answer)."""

    def __init__(self, graph: Graph, reference: tuple, axis: str):
        self.graph, self.reference, self.axis = graph, reference, axis
        self.cache: dict[int, Probe] = {}
        self.budget = self.left = max(WORK_BUDGET // max(len(graph.nodes), 1), 64)

    def __call__(self, n: int, charged: bool = False) -> Probe:
        probe = self.cache.get(n)
        if probe is None:
            if charged:
                if self.left <= 0:
                    raise _OverBudget
                self.left -= 1
            probe = self.cache[n] = Probe(self.graph, _shape_for(self.reference, self.axis, n))
        return probe


class _OverBudget(Exception):
    pass


def _refine(residues: list, modulus: int, new: int, keep) -> tuple[list, int]:
    """The residues modulo lcm(modulus, new) that lie over ``residues`` (modulo ``modulus``)
    and pass ``keep``."""
    target = math.lcm(modulus, new)
    if target == modulus:
        return [r for r in residues if keep(r)], modulus
    return [r + k * modulus for r in residues for k in range(target // modulus)
            if keep(r + k * modulus)], target


def _expand(base: int, residues: list, modulus: int, start: int, period: int) -> list[int]:
    """The sizes n ≡ base + r (mod modulus), as offsets from ``start`` modulo ``period`` (a
    multiple of ``modulus``), sorted."""
    return sorted({(base + r + k * modulus - start) % period
                   for r in residues for k in range(period // modulus)})


def solve_axis(graph: Graph, reference: tuple, axis: str) -> AxisSizes:
    """Valid, exact and declared-size ranges along ``axis`` ('H', 'W' or 'HW').

    From ``n0``, the first size at which every window fits (window fits are monotone in the
    size), the network behaves periodically, once no merge input is a 1-wide map that
    broadcasts only at small sizes (from ``base``). Which residues are valid (merges agree)
    and exact (no stride drops a pixel) is found node by node in topological order: at a merge
    or a strided node, only the residues kept so far are refined, modulo the product of the
    strides into that node, and tested there. Twelve stride-2 stages take a few dozen probes,
    not 4,096 analyses."""
    fixed = {"H": {"W": reference[2]}, "W": {"H": reference[1]}, "HW": {}}[axis]
    axes = {"H": (0,), "W": (1,), "HW": (0, 1)}[axis]
    at = _Prober(graph, reference, axis)
    n0 = _search_min(lambda n: not at(n).failed, 1, LIMIT)
    sizes = AxisSizes(axis, fixed, None)
    if n0 is None:
        return sizes
    merges = any(len(node.inputs) > 1 for node in graph.nodes)
    base = _settled(graph, at, n0, axes) if merges else n0
    strides, jumps = _strides(graph, at(base), axes)
    period = math.lcm(*jumps.values())

    def agrees(node):
        return lambda r: node.name not in at(base + r, True).bad_merges

    def fits(node):
        def test(r):
            probe = at(base + r, True)
            if node.name not in probe.shapes:
                return False
            dropped = dropped_pixels(node, probe.inputs(node))
            return not (dropped and any(dropped[a] for a in axes))
        return test

    # exact residues first (few: each strided node keeps about one residue in its stride)...
    exact, exact_mod = [0], 1    # residues of n - base that are exact, modulo exact_mod
    try:
        for node in graph.nodes:
            jump, checked = strides[node.name]
            if len(node.inputs) > 1:
                merge_mod = math.lcm(*(jumps[src] for src in node.inputs))
                exact, exact_mod = _refine(exact, exact_mod, merge_mod, agrees(node))
            if checked > 1:
                exact, exact_mod = _refine(exact, exact_mod, jump * checked, fits(node))
    except _OverBudget:
        exact = None
    # ... then valid ones, with what is left of the budget (with merges only)
    valid, valid_mod = [0], 1
    try:
        for node in graph.nodes if merges else ():
            if len(node.inputs) > 1:
                merge_mod = math.lcm(*(jumps[src] for src in node.inputs))
                valid, valid_mod = _refine(valid, valid_mod, merge_mod, agrees(node))
    except _OverBudget:
        valid = None
    low = _first_valid(at, n0, base, valid)
    sizes.min_valid = low
    if low is None:
        return sizes
    if exact is not None:  # every exact residue must also be valid: verify its first size
        exact = [e for e in exact if _exact_everywhere(graph, at, base + e, axes)]
    if period > MAX_PERIOD:  # the pattern may repeat sooner than the stride product
        mods = [m for m, r in ((valid_mod, valid), (exact_mod, exact)) if r is not None]
        period = math.lcm(*mods) if mods else period
    if period > MAX_PERIOD:
        sizes.unchecked = f"stride product over {MAX_PERIOD}"
        sizes.valid_checked = not merges
        return _with_constraints(graph, sizes, at, low)
    sizes.period = period
    if merges and valid is None:
        sizes.valid_checked = False
    elif merges:
        sizes.valid_residues = _expand(base, valid, valid_mod, low, period)
    if exact is None:
        sizes.unchecked = f"more than {at.budget:,} shape inferences"
    else:
        residues = _expand(base, exact, exact_mod, low, period)
        if sizes.valid_residues is not None:
            residues = sorted(set(residues) & set(sizes.valid_residues))
        sizes.exact_residues = residues
    return _with_constraints(graph, sizes, at, low)


def _settled(graph: Graph, at, n0: int, axes: tuple) -> int:
    """The first size from which no merge input is a 1-wide map that is wider at large sizes
    (a 1-wide map broadcasts, so small sizes may agree where larger ones do not)."""
    far = at(LIMIT)
    if far.failed:
        return n0
    inputs = {src for node in graph.nodes if len(node.inputs) > 1 for src in node.inputs}

    def wide(probe, src, a):
        shape = probe.shapes.get(src)
        return shape is None or len(shape) != 3 or shape[1 + a] != 1

    def settled(n: int) -> bool:
        probe = at(n)
        return not probe.failed and all(wide(probe, src, a) or not wide(far, src, a)
                                        for src in inputs for a in axes)

    return _search_min(settled, n0, LIMIT) or n0


def _exact_everywhere(graph: Graph, at, n: int, axes: tuple) -> bool:
    try:
        probe = at(n, True)
    except _OverBudget:
        return True  # decided by the refinement already
    return probe.valid and _is_exact(graph, probe, axes)


def _first_valid(at, n0: int, base: int, valid) -> int | None:
    """The first valid size: tried from n0 up to ``base`` (broadcasting may make small sizes
    valid), then from the valid residues when they are known (checked with one probe), else
    by trying the sizes from ``base`` up for as long as the budget lasts."""
    try:
        for n in range(n0, base):
            if at(n, True).valid:
                return n
    except _OverBudget:
        pass
    if valid is not None:
        if not valid:
            return None
        first = base + min(valid)
        try:
            if at(first, True).valid:
                return first
        except _OverBudget:
            return first
    n = base
    while n <= LIMIT:
        try:
            if at(n, True).valid:
                return n
        except _OverBudget:
            return None
        n += 1
    return None


def _with_constraints(graph: Graph, sizes: AxisSizes, at, low: int) -> AxisSizes:
    """Add the ranges of the declared sizes (``in``)."""
    names = set(at(low).mismatches(graph))
    names |= set(at(LIMIT).mismatches(graph)) if not at(LIMIT).failed else set()
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
        probe = at(n)
        if not probe.valid or node.name not in probe.shapes:
            return -1
        mismatch = node.layer.declared_mismatch(probe.inputs(node))
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
        from cnnspec.errors import UsageError

        raise UsageError("sizes needs a concrete (channels, height, width) input")
    height = solve_axis(graph, reference, "H")
    if reference[1] == reference[2] and _symmetric(graph):  # W behaves as H does
        width = replace(height, axis="W", fixed={"H": reference[1]},
                        constraints=list(height.constraints),
                        exact_residues=list(height.exact_residues),
                        valid_residues=None if height.valid_residues is None else list(height.valid_residues))
        return [height, width]
    return [height, solve_axis(graph, reference, "W")]


def _symmetric(graph: Graph) -> bool:
    """Does every layer treat height and width alike: every [height, width] setting equal, and
    no axis setting (``dim``, ``start_dim``, …) off its default (a concat along H)?"""
    for node in graph.nodes:
        layer = node.layer
        for attr in layer.attrs:
            value = getattr(layer, attr.field)
            if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] != value[1]:
                return False
            if attr.name.endswith("dim") and value != attr.default:
                return False
    return True


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
    if not sizes.valid_checked:
        text["valid"] += " (merges: not checked size by size)"
    if sizes.valid_residues is not None and len(sizes.valid_residues) < (sizes.period or 1):
        starts = ", ".join(str(sizes.min_valid + r) for r in sizes.valid_residues)
        text["valid"] = f"{name} = {starts} + {sizes.period}k"
    if sizes.unchecked is not None:
        text["exact"] = f"not enumerated ({sizes.unchecked})"
    elif sizes.period is None:
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
    """The first size from which every window fits (merges may still disagree at some)."""
    at = _Prober(graph, reference, axis)
    return _search_min(lambda n: not at(n).failed, 1, LIMIT)


def declared_input_text(graph: Graph, input_shape: tuple, node_name: str, declared) -> str | None:
    """'inputs from 227 to 258 give 9216', for a declared-size mismatch; None when no input
    size changes what the node receives (a channel count, say)."""
    square = input_shape[1] == input_shape[2]
    found = []
    for axis in (("HW",) if square else ("H", "W", "HW")):
        low = solve_axis_valid_only(graph, input_shape, axis)
        if low is None:
            continue
        c = _constraint(graph, graph.node(node_name), _Prober(graph, input_shape, axis), low)
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


def answer(question) -> str | None:
    """The hint for a shape error's ``SizeQuestion`` (``cnnspec.ir.infer``), or None."""
    if question.node is None:
        return valid_range_text(question.graph, question.input_shape)
    return declared_input_text(question.graph, question.input_shape, question.node,
                               question.declared)
