"""What ``cnnspec verify`` reports: per node and in total, each predicted quantity next to
the measured one; and the report as a table or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph


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


def _cell(check: Check | None) -> str:
    if check is None:
        return "-"
    if check.ok is False:
        return f"MISMATCH {_text(check.predicted)} != {_text(check.measured)}"
    mark = "~" if check.ok is None else ""
    return f"{mark}{_text(check.measured)}"


def _text(value) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return " ".join(f"{a}-{b}" for a, b in value)
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_text(report: Report) -> str:
    from tabulate import tabulate

    rows = []
    for node in report.nodes:
        by_what = {c.what: c for c in node.checks}
        rows.append([node.name, node.type, *(_cell(by_what.get(c)) for c in COLUMNS)])
    rank = len(report.analysis.input_shape) - 1
    axes = {1: ("positions",), 3: ("frames", "rows", "cols")}.get(rank, ("rows", "cols"))
    headers = ["name", "type", "shape", "params", "buffers", "FLOPs", "act. bytes",
               f"receptive field ({', '.join(axes)})"]
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    shape = "x".join(map(str, report.analysis.input_shape))
    lines = [f"{report.graph.name}: predicted vs measured in PyTorch on {report.device}, input "
             f"{shape}, batch {report.analysis.batch}", "", table, ""]
    for check in report.totals:
        lines.append(f"{check.what:<22} predicted {_text(check.predicted):>18}  measured "
                     f"{_text(check.measured):>18}  {check.mark}")
    if report.rf_input is not None and report.rf_input != tuple(report.analysis.input_shape):
        lines.append(f"receptive fields measured at input {'x'.join(map(str, report.rf_input))} "
                     "(smaller, to keep the gradient measurement fast)")
    lines.append("values are the measured ones; ~ marks a field the analysis does not claim exact "
                 "(reported, not judged); a field is the (first-last) input "
                 + {1: "positions", 3: "frames, rows and columns"}.get(rank, "rows and columns")
                 + " of the centre unit")
    count = report.mismatches
    lines.append(f"{count} mismatch{'es' if count != 1 else ''}" if count else "every number matches")
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
