"""The size facts of one input axis: which sizes are valid, which are exact (``n0 + P·k``),
which satisfy the sizes declared in the spec (:class:`Constraint`), and their text."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def describe_axis(sizes: AxisSizes, name: str | None = None) -> dict:
    """Compact text for each fact about one axis."""
    name = name or sizes.axis
    if sizes.min_valid is None:
        return {"valid": f"no {name} up to {LIMIT} is valid"}
    text = {"valid": _valid_text(sizes, name), "exact": _exact_text(sizes, name)}
    for c in sizes.constraints:
        text[f"{c.node} ({c.type}) in = {c.declared}"] = _constraint_text(c, name)
    return text


def _valid_text(sizes: AxisSizes, name: str) -> str:
    if sizes.valid_residues is not None and len(sizes.valid_residues) < (sizes.period or 1):
        starts = ", ".join(str(sizes.min_valid + r) for r in sizes.valid_residues)
        return f"{name} = {starts} + {sizes.period}k"
    if not sizes.valid_checked:
        return f"{name} >= {sizes.min_valid} (merges: not checked size by size)"
    return f"{name} >= {sizes.min_valid}"


def _exact_text(sizes: AxisSizes, name: str) -> str:
    if sizes.unchecked is not None:
        return f"not enumerated ({sizes.unchecked})"
    if sizes.period is None:
        return f"not enumerated (stride product over {MAX_PERIOD})"
    if not sizes.exact_residues:
        return "none (some stride never divides exactly)"
    if sizes.period == 1:
        return f"every valid {name}"
    starts = ", ".join(str(sizes.min_valid + r) for r in sizes.exact_residues)
    return f"{name} = {starts} + {sizes.period}k"


def _constraint_text(c: Constraint, name: str) -> str:
    if c.low is None:
        return f"no {name} gives {c.declared}"
    if c.high >= LIMIT:
        return f"{name} >= {c.low}"
    if c.low == c.high:
        return f"{name} = {c.low}"
    return f"{c.low} <= {name} <= {c.high}"
