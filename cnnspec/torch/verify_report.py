"""What ``cnnspec verify`` reports: per node and in total, each predicted quantity next to
the measured one; and the report as a table or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph
from cnnspec.util.names import prefix_groups


@dataclass
class Check:
    """One compared quantity of one node."""

    what: str
    predicted: object
    measured: object
    ok: bool | None  # None: reported, not judged

    @property
    def mark(self) -> str:
        return {True: "ok", False: "MISMATCH", None: "info"}[self.ok]


@dataclass
class NodeReport:
    name: str
    type: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


@dataclass
class Report:
    graph: Graph
    analysis: Analysis
    device: str
    nodes: list[NodeReport]
    totals: list[Check]
    rf_input: tuple | None

    @property
    def mismatches(self) -> int:
        return sum(1 for n in self.nodes for c in n.checks if c.ok is False) + sum(
            1 for c in self.totals if c.ok is False)


COLUMNS = ("shape", "params", "buffers", "flops", "activation_bytes", "receptive_field")


def _plain(text: str, role: str) -> str:
    return text


def _cell(check: Check | None, paint=_plain) -> str:
    if check is None:
        return "-"
    if check.ok is False:
        return paint(f"MISMATCH {_text(check.predicted)} != {_text(check.measured)}", "mismatch")
    mark = "~" if check.ok is None else ""
    return f"{mark}{_text(check.measured)}"


#: the quantities a collapsed row sums over its nodes (the others are its last node's)
ADDITIVE = ("params", "buffers", "flops")


def _group_cell(members: list[NodeReport], what: str, paint=_plain) -> str:
    """A row's cell for one node, or for a block of nodes: the sum of an additive quantity,
    else the last node's; a mismatch anywhere in the block is shown, naming its node when
    the quantity is not summed."""
    checks = [(n.name, c) for n in members for c in n.checks if c.what == what]
    if len(members) == 1 or not checks:
        return _cell(checks[0][1] if checks else None, paint)
    failed = [(name, c) for name, c in checks if c.ok is False]
    if what in ADDITIVE:
        statuses = {c.ok for _, c in checks}
        ok = False if failed else (None if None in statuses else True)
        return _cell(Check(what, sum(c.predicted for _, c in checks),
                           sum(c.measured for _, c in checks), ok), paint)
    if failed:
        return paint(f"{_cell(failed[0][1])} at {failed[0][0]}", "mismatch")
    return _cell(checks[-1][1], paint)


def _text(value) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return " ".join(f"{a}-{b}" for a, b in value)
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_text(report: Report, depth: int = 0, paint=_plain) -> str:
    """The table (blocks nested deeper than ``depth`` collapsed into one row each; 0 keeps
    every node) and the totals; ``paint(text, role)`` colours the header and the verdicts
    (cnnspec.cli.terminal), by default not at all."""
    from tabulate import tabulate

    rows = []
    for key, members in prefix_groups(report.nodes, depth, lambda node: node.name):
        kind = members[0].type if len(members) == 1 else f"{len(members)} layers"
        rows.append([key, kind, *(_group_cell(members, c, paint) for c in COLUMNS)])
    rank = len(report.analysis.input_shape) - 1
    axes = {1: ("positions",), 3: ("frames", "rows", "cols")}.get(rank, ("rows", "cols"))
    headers = ["name", "type", "shape", "params", "buffers", "FLOPs", "act. bytes",
               f"receptive field ({', '.join(axes)})"]
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    shape = "x".join(map(str, report.analysis.input_shape))
    lines = [paint(f"{report.graph.name}: predicted vs measured in PyTorch on {report.device}, input "
                   f"{shape}, batch {report.analysis.batch}", "header"), "", table, ""]
    for check in report.totals:
        lines.append(f"{check.what:<22} predicted {_text(check.predicted):>18}  measured "
                     f"{_text(check.measured):>18}  "
                     + paint(check.mark, {True: "ok", False: "mismatch", None: "info"}[check.ok]))
    if report.rf_input is not None and report.rf_input != tuple(report.analysis.input_shape):
        lines.append(f"receptive fields measured at input {'x'.join(map(str, report.rf_input))} "
                     "(smaller, to keep the gradient measurement fast)")
    lines.append("values are the measured ones; ~ marks a field the analysis does not claim exact "
                 "(reported, not judged); a field is the (first-last) input "
                 + {1: "positions", 3: "frames, rows and columns"}.get(rank, "rows and columns")
                 + " of the centre unit")
    count = report.mismatches
    lines.append(paint(f"{count} mismatch{'es' if count != 1 else ''}", "mismatch") if count
                 else paint("every number matches", "ok"))
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    import json

    from cnnspec.ir.facts import SCHEMA_VERSION

    def jsonable(value):
        if isinstance(value, tuple):
            return [jsonable(v) for v in value]
        return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)

    data = {
        "schema_version": SCHEMA_VERSION,
        "spec": {"name": report.graph.name, "file": report.graph.file},
        "device": report.device,
        "input": list(report.analysis.input_shape),
        "batch": report.analysis.batch,
        "mismatches": report.mismatches,
        "receptive_field_input": jsonable(report.rf_input),
        "layers": [{"name": n.name, "type": n.type, "checks": [
            {"what": c.what, "predicted": jsonable(c.predicted), "measured": jsonable(c.measured),
             "status": c.mark} for c in n.checks]} for n in report.nodes],
        "totals": [{"what": c.what, "predicted": jsonable(c.predicted), "measured": jsonable(c.measured),
                    "status": c.mark} for c in report.totals],
    }
    return json.dumps(data, indent=2) + "\n"
