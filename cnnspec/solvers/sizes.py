"""Which input sizes a network accepts, which it divides exactly, and which satisfy the sizes
declared in the spec.

Each spatial axis is varied with the others held at the reference size (or, for a square
(C, H, W) input, both together). Validity and every declared size are monotone in the input size for the
layers cnnspec knows (each output size is a non-decreasing function of the input size), so
their bounds are found by binary search. Exactness (no border pixel silently dropped by a
stride) is periodic with period P = the product of the strides: it is decided on one period
and stated as ``n0 + P·k``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from cnnspec.ir.graph import Graph
from cnnspec.solvers import size_axes
from cnnspec.solvers.size_facts import LIMIT as LIMIT  # re-exported
from cnnspec.solvers.size_facts import MAX_PERIOD, AxisSizes
from cnnspec.solvers.size_facts import describe_axis as describe_axis  # re-exported
from cnnspec.solvers.size_probes import (
    OverBudget,
    Prober,
    constraint_for,
    declares,
    is_exact,
    search_min,
    strides_into,
)
from cnnspec.solvers.size_probes import dropped_pixels as dropped_pixels  # re-exported

_Prober = Prober  # the name tests use


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
    """Valid, exact and declared-size ranges along ``axis`` (letters of
    :mod:`~cnnspec.solvers.size_axes`: 'H', 'W', 'HW', 'L', 'D', …).

    From ``n0``, the first size at which every window fits (window fits are monotone in the
    size), the network behaves periodically, once no merge input is a 1-wide map that
    broadcasts only at small sizes (from ``base``). Which residues are valid (merges agree)
    and exact (no stride drops a pixel) is found node by node in topological order: at a merge
    or a strided node, only the residues kept so far are refined, modulo the product of the
    strides into that node, and tested there. Twelve stride-2 stages take a few dozen probes,
    not 4,096 analyses."""
    fixed = size_axes.fixed(reference, axis)
    axes = size_axes.dims(reference, axis)
    at = Prober(graph, reference, axis)
    n0 = search_min(lambda n: not at(n).failed, 1, LIMIT)
    sizes = AxisSizes(axis, fixed, None)
    if n0 is None:
        return sizes
    merges = any(len(node.inputs) > 1 for node in graph.nodes)
    found = _Residues(graph, at, _settled(graph, at, n0, axes) if merges else n0, axes)
    found.refine_exact()
    if merges:
        found.refine_valid()
    low = _first_valid(at, n0, found.base, found.valid)
    sizes.min_valid = low
    if low is None:
        return sizes
    return _with_constraints(graph, _periodic(sizes, found, merges, low), at, low)


class _Residues:
    """The residues of n − base that are exact (no stride drops a pixel) and valid (merges
    agree), each modulo the product of the strides that decided it so far, refined node by
    node within the prober's budget; None when the budget ran out first."""

    def __init__(self, graph: Graph, at: Prober, base: int, axes: tuple):
        self.graph, self.at, self.base, self.axes = graph, at, base, axes
        self.strides, self.jumps = strides_into(graph, at(base), axes)
        self.period = math.lcm(*self.jumps.values())
        self.exact, self.exact_mod = [0], 1
        self.valid, self.valid_mod = [0], 1

    def _agrees(self, node):
        at, base = self.at, self.base
        return lambda r: node.name not in at(base + r, True).bad_merges

    def _fits(self, node):
        at, base, axes = self.at, self.base, self.axes

        def test(r):
            probe = at(base + r, True)
            if node.name not in probe.shapes:
                return False
            dropped = dropped_pixels(node, probe.inputs(node))
            return not (dropped and any(dropped[a] for a in axes))
        return test

    def _merge_mod(self, node) -> int:
        return math.lcm(*(self.jumps[src] for src in node.inputs))

    def refine_exact(self) -> None:
        """Exact residues first (few: each strided node keeps about one residue in its stride)."""
        try:
            for node in self.graph.nodes:
                jump, checked = self.strides[node.name]
                if len(node.inputs) > 1:
                    self.exact, self.exact_mod = _refine(self.exact, self.exact_mod, self._merge_mod(node),
                                                         self._agrees(node))
                if checked > 1:
                    self.exact, self.exact_mod = _refine(self.exact, self.exact_mod, jump * checked,
                                                         self._fits(node))
        except OverBudget:
            self.exact = None

    def refine_valid(self) -> None:
        """Then valid ones (with merges), with what is left of the budget."""
        try:
            for node in self.graph.nodes:
                if len(node.inputs) > 1:
                    self.valid, self.valid_mod = _refine(self.valid, self.valid_mod, self._merge_mod(node),
                                                         self._agrees(node))
        except OverBudget:
            self.valid = None

    def verified_exact(self) -> list | None:
        """The exact residues whose first size is also valid and exact everywhere."""
        if self.exact is None:
            return None
        return [e for e in self.exact if _exact_everywhere(self.graph, self.at, self.base + e, self.axes)]


def _periodic(sizes: AxisSizes, found: _Residues, merges: bool, low: int) -> AxisSizes:
    """``sizes`` with the period and the valid and exact residues (as offsets from ``low``),
    or why they were not enumerated."""
    exact, valid, period = found.verified_exact(), found.valid, found.period
    if period > MAX_PERIOD:  # the pattern may repeat sooner than the stride product
        mods = [m for m, r in ((found.valid_mod, valid), (found.exact_mod, exact)) if r is not None]
        period = math.lcm(*mods) if mods else period
    if period > MAX_PERIOD:
        sizes.unchecked = f"stride product over {MAX_PERIOD}"
        sizes.valid_checked = not merges
        return sizes
    sizes.period = period
    if merges and valid is None:
        sizes.valid_checked = False
    elif merges:
        sizes.valid_residues = _expand(found.base, valid, found.valid_mod, low, period)
    if exact is None:
        sizes.unchecked = f"more than {found.at.budget:,} shape inferences"
    else:
        residues = _expand(found.base, exact, found.exact_mod, low, period)
        if sizes.valid_residues is not None:
            residues = sorted(set(residues) & set(sizes.valid_residues))
        sizes.exact_residues = residues
    return sizes


def _settled(graph: Graph, at, n0: int, axes: tuple) -> int:
    """The first size from which no merge input is a 1-wide map that is wider at large sizes
    (a 1-wide map broadcasts, so small sizes may agree where larger ones do not)."""
    far = at(LIMIT)
    if far.failed:
        return n0
    inputs = {src for node in graph.nodes if len(node.inputs) > 1 for src in node.inputs}

    def wide(probe, src, a):
        shape = probe.shapes.get(src)
        return shape is None or len(shape) != len(at.reference) or shape[1 + a] != 1

    def settled(n: int) -> bool:
        probe = at(n)
        return not probe.failed and all(wide(probe, src, a) or not wide(far, src, a)
                                        for src in inputs for a in axes)

    return search_min(settled, n0, LIMIT) or n0


def _exact_everywhere(graph: Graph, at, n: int, axes: tuple) -> bool:
    try:
        probe = at(n, True)
    except OverBudget:
        return True  # decided by the refinement already
    return probe.valid and is_exact(graph, probe, axes)


def _first_valid(at, n0: int, base: int, valid) -> int | None:
    """The first valid size: tried from n0 up to ``base`` (broadcasting may make small sizes
    valid), then from the valid residues when they are known (checked with one probe), else
    by trying the sizes from ``base`` up for as long as the budget lasts."""
    try:
        for n in range(n0, base):
            if at(n, True).valid:
                return n
    except OverBudget:
        pass
    if valid is not None:
        if not valid:
            return None
        first = base + min(valid)
        try:
            if at(first, True).valid:
                return first
        except OverBudget:
            return first
    n = base
    while n <= LIMIT:
        try:
            if at(n, True).valid:
                return n
        except OverBudget:
            return None
        n += 1
    return None


def _with_constraints(graph: Graph, sizes: AxisSizes, at, low: int) -> AxisSizes:
    """Add the ranges of the declared sizes (``in``)."""
    names = set(at(low).mismatches(graph))
    names |= set(at(LIMIT).mismatches(graph)) if not at(LIMIT).failed else set()
    for node in graph.nodes:
        if node.name in names or declares(node):
            constraint = constraint_for(graph, node, at, low)
            if constraint is not None:
                sizes.constraints.append(constraint)
    return sizes


def no_progress(done: int, total: int, what: str) -> None:
    pass


def solve(graph: Graph, reference: tuple | None = None, progress=no_progress) -> list[AxisSizes]:
    """The size facts of each spatial axis (L; H and W; D, H and W) of a concrete input;
    ``progress(done, total, what)`` is told of each axis as it starts (the CLI's bar)."""
    reference = tuple(reference or graph.input_shape)
    if not size_axes.solvable(reference):
        from cnnspec.errors import UsageError

        raise UsageError("sizes needs a concrete input: channels and one to three spatial sizes "
                         "(e.g. 1x16000, 3x224x224, 3x16x112x112)")
    letters = size_axes.letters(reference)
    if len(reference) != 3:
        solved = []
        for i, letter in enumerate(letters):
            progress(i, len(letters), f"axis {letter}")
            solved.append(solve_axis(graph, reference, letter))
        return solved
    progress(0, 2, "axis H")
    height = solve_axis(graph, reference, "H")
    if reference[1] == reference[2] and _symmetric(graph):  # W behaves as H does
        width = replace(height, axis="W", fixed={"H": reference[1]},
                        constraints=list(height.constraints),
                        exact_residues=list(height.exact_residues),
                        valid_residues=None if height.valid_residues is None else list(height.valid_residues))
        return [height, width]
    progress(1, 2, "axis W")
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


