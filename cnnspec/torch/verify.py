"""``cnnspec verify``: every predicted number against what PyTorch measures (imports torch).

The model is built by the in-memory builder and run once with hooks on every node:

- output shape, parameters and buffers of each node's module;
- FLOPs per node from ``torch.utils.flop_counter.FlopCounterMode`` (predicted: 2 x MACs);
- activation bytes of each node's output tensor, and the peak of live tensor storage while
  the nodes run (storages tracked by pointer, each freed after its last reader);
- receptive fields from gradients: a linearised copy (positive weights and biases, activations and
  batch norm as identities, max pooling as average pooling, softmax as a positive average)
  where the input pixels with a non-zero gradient of one output unit are that unit's field.
  Only exact fields are judged; inexact ones (upsampling, uneven adaptive pooling, … with
  the reason in the analysis) are reported. The field is measured at the analysed input when
  it is at most ``RF_MAX_SIDE`` pixels on a side, else at the largest valid square input that
  size allows.

Tensors are real (CPU or CUDA); with ``--device meta`` nothing is allocated and only shapes,
parameters and FLOPs are measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnspec.api import analyze
from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.torch.builder import factory_of, to_torch
from cnnspec.util import dims

RF_MAX_SIDE = 96
RF_FALLBACK_SIDE = 320
RF_BATCH = 32


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


def verify(graph: Graph, input_shape=None, batch: int = 1, device: str = "cpu",
           receptive_field: bool = True) -> Report:
    result = analyze(graph, input_shape, batch)
    shape = tuple(result.input_shape)
    if any(dims.is_symbolic(d) for d in shape):
        from cnnspec.errors import UsageError

        raise UsageError("verify needs a concrete input size", hint="give --input, e.g. 3x224x224")
    with torch.device(device):  # built where it runs: on meta nothing is ever allocated
        model = to_torch(graph, shape).eval()
    reports = {node.name: NodeReport(node.name, node.type_name) for node in graph.nodes}
    measured = _forward(model, graph, shape, batch, device)
    for node in graph.nodes:
        f = result.facts[node.name]
        m = measured["nodes"][node.name]
        checks = reports[node.name].checks
        checks.append(Check("shape", (batch, *f.output), m["shape"], (batch, *f.output) == m["shape"]))
        checks.append(Check("params", f.params, m["params"], f.params == m["params"]))
        checks.append(Check("buffers", f.buffers, m["buffers"], f.buffers == m["buffers"]))
        checks.append(Check("flops", f.flops, m["flops"], f.flops == m["flops"]))
        if device != "meta":
            checks.append(Check("activation_bytes", f.activation_bytes, m["bytes"],
                                f.activation_bytes == m["bytes"]))
    totals = result.totals()
    total_checks = [
        Check("params", totals["params"], measured["params"], totals["params"] == measured["params"]),
        Check("trainable_params", totals["trainable_params"], measured["trainable"],
              totals["trainable_params"] == measured["trainable"]),
        Check("flops", totals["flops"], measured["flops"], totals["flops"] == measured["flops"]),
    ]
    if device != "meta":
        total_checks.append(Check("peak_activation_bytes", totals["peak_activation_bytes"],
                                  measured["peak"], totals["peak_activation_bytes"] == measured["peak"]))
    rf_input = None
    if receptive_field and device != "meta" and len(shape) == 3:
        rf_input = _rf_input(graph, shape)
        if rf_input is not None:
            _check_fields(graph, rf_input, reports, device)
    return Report(graph, result, device, list(reports.values()), total_checks, rf_input)


def _forward(model, graph: Graph, shape: tuple, batch: int, device: str) -> dict:
    """One forward pass with hooks: per-node facts, FLOPs, and the peak of live storage."""
    nodes: dict[str, dict] = {}
    users = graph.consumers()
    remaining = {name: len(readers) for name, readers in users.items()}
    storages: dict[int, list] = {}  # data_ptr -> [bytes, readers left]
    state = {"live": 0, "peak": 0}
    owner: dict[str, int] = {}

    def account(name: str, out: torch.Tensor) -> None:
        if device == "meta":
            return
        storage = out.untyped_storage()
        ptr, size = storage.data_ptr(), storage.nbytes()
        if ptr not in storages:
            storages[ptr] = [size, 0]
            state["live"] += size
            state["peak"] = max(state["peak"], state["live"])
        storages[ptr][1] += remaining.get(name, 0) + (1 if name == graph.output else 0)
        owner[name] = ptr

    def release(name: str) -> None:
        ptr = owner.get(name)
        if ptr is None:
            return
        storages[ptr][1] -= 1
        if storages[ptr][1] == 0:
            state["live"] -= storages[ptr][0]
            del storages[ptr]

    hooks = []
    for (name, module), node in zip(model.nodes(), graph.nodes):
        def hook(mod, args, out, name=name, node=node):
            nodes[name] = {
                "shape": tuple(out.shape),
                "bytes": out.numel() * out.element_size(),
                "params": sum(p.numel() for p in mod.parameters()),
                "buffers": sum(b.numel() for b in mod.buffers()),
            }
            account(name, out)
            for src in node.inputs:
                release(src)

        hooks.append(module.register_forward_hook(hook))
    x = torch.zeros(batch, *shape, device=device)
    account(INPUT, x)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        for h in hooks:
            h.remove()
    counts = counter.get_flop_counts()
    for name in nodes:
        nodes[name]["flops"] = sum(counts.get(f"GraphModule.{name}", {}).values())
    return {
        "nodes": nodes,
        "params": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "flops": counter.get_total_flops(),
        "peak": state["peak"],
    }


# --------------------------------------------------------------------------- receptive fields


def _rf_input(graph: Graph, shape: tuple) -> tuple | None:
    """The input at which fields are measured: the analysed one if small enough, else the
    largest valid square input up to RF_MAX_SIDE."""
    if max(shape[1:]) <= RF_MAX_SIDE:
        return shape
    from cnnspec.api import shapes_only
    from cnnspec.errors import ShapeError

    for side in range(RF_MAX_SIDE, 0, -1):
        try:
            shapes_only(graph, (shape[0], side, side), strict=True)
            return (shape[0], side, side)
        except ShapeError:
            continue
    return shape if max(shape[1:]) <= RF_FALLBACK_SIDE else None  # e.g. a declared fc size


def _linearise(model, graph: Graph, facts) -> None:
    """Positive weights and biases, element-wise layers as identities, and every other layer
    that has one as its linear twin (``Layer.linear_twin``: max as average pooling, softmax as
    a positive average along its dim): every path from an input pixel to a unit then carries
    a positive weight (the input is all ones, so products such as a squeeze-excitation gate
    stay positive too)."""
    for (name, _), node in zip(model.nodes(), graph.nodes):
        inputs = facts[name].inputs
        twin = node.layer.linear_twin(inputs)
        if twin is not None:
            call = twin.torch_call(inputs)
            model.replace_node(name, factory_of(twin, call)(*call.args, **call.kwargs))
        elif node.layer.elementwise:  # activations, batch norm, dropout: identities
            model.replace_node(name, nn.Identity())
    with torch.no_grad():  # averaging weights keep every value bounded in float32; biases are
        for p in model.parameters():  # positive, so a unit reading only padding is not 0
            p.fill_(1.0 / p[0].numel() if p.dim() > 1 else 1.0)


def _targets(graph: Graph, facts: dict) -> list:
    """The nodes whose field is measured: those that change it (a point-wise layer keeps its
    input's) and merges, with (C, H, W) outputs, or without spatial axes when every unit has
    one field (``linear`` after ``flatten``)."""
    chosen = []
    for node in graph.nodes:
        rf = facts[node.name].rf
        if not rf:
            continue
        spatial = len(facts[node.name].output) == 3
        if not spatial and not all(r.jump == 0 for r in rf):
            continue
        if len(node.inputs) == 1 and node.layer.receptive_field(facts[node.name].inputs) is None:
            continue
        chosen.append(node)
    return chosen


def _check_fields(graph: Graph, shape: tuple, reports: dict, device: str) -> None:
    """Measure the field of the centre unit of each target node, a batch of nodes at a time:
    sample k of the batch carries node k's gradient. The prediction is the unit's interval
    clipped to the input; where that differs, to the pixels the node depends on at all (its
    reach, measured too), as docs/conventions.md defines an exact field."""
    result = analyze(graph, shape)
    model = to_torch(graph, shape).eval().to(device)
    _linearise(model, graph, result.facts)
    targets = _targets(graph, result.facts)
    units = {n.name: _centre(result.facts[n.name]) for n in targets}
    measured = _measure(model, [(n.name, units[n.name]) for n in targets], shape, device)
    whole = tuple((0, n - 1) for n in shape[1:])
    judged = {}
    for node in targets:
        rf = result.facts[node.name].rf
        judged[node.name] = _predict(rf, units[node.name], [range(lo, hi + 1) for lo, hi in whole])
    # where clipping to the input is not enough (strides that skip pixels), clip to the reach
    again = [n for n in targets if all(r.exact for r in result.facts[n.name].rf)
             and judged[n.name] != measured[n.name]]
    if again:
        reach = _measure(model, [(n.name, None) for n in again], shape, device, pixels=True)
        for node in again:
            judged[node.name] = _predict(result.facts[node.name].rf, units[node.name], reach[node.name])
    for node in targets:
        rf, predicted, got = result.facts[node.name].rf, judged[node.name], measured[node.name]
        exact = all(r.exact for r in rf)  # an inexact field is reported, not judged
        reports[node.name].checks.append(Check(
            "receptive_field", predicted or "none", got or "none",
            (predicted == got) if exact else None))


def _centre(facts) -> tuple | None:
    """The unit measured: the centre one of a (C, H, W) output; None (every element) else."""
    out = facts.output
    return (out[1] // 2, out[2] // 2) if len(out) == 3 else None


def _measure(model, wanted: list, shape: tuple, device: str, pixels: bool = False) -> dict:
    """{node: (first, last) input pixels per axis that ``unit`` depends on, or None for none};
    with ``pixels``, {node: the set of pixels per axis the whole node depends on}."""
    modules = dict(model.nodes())
    found = {}
    for start in range(0, len(wanted), RF_BATCH):
        chunk = wanted[start:start + RF_BATCH]
        outputs: dict[str, torch.Tensor] = {}

        def keep(mod, args, out, name, store=outputs):
            store[name] = out

        hooks = [modules[name].register_forward_hook(
            lambda mod, args, out, name=name: keep(mod, args, out, name)) for name, _ in chunk]
        x = torch.ones(len(chunk), *shape, device=device, requires_grad=True)
        try:
            model(x)
        finally:
            for h in hooks:
                h.remove()
        loss = 0
        for k, (name, unit) in enumerate(chunk):
            out = outputs[name][k]
            loss = loss + (out[:, unit[0], unit[1]].sum() if unit is not None else out.sum())
        loss.backward()
        for k, (name, _) in enumerate(chunk):
            touched = x.grad[k].abs().sum(0).nonzero()
            if pixels:
                found[name] = [set(touched[:, a].tolist()) for a in (0, 1)]
            elif len(touched) == 0:
                found[name] = None
            else:
                found[name] = tuple((int(touched[:, a].min()), int(touched[:, a].max())) for a in (0, 1))
    return found


def _predict(rf, unit, reach) -> tuple | None:
    """The predicted field of ``unit`` (None: every unit's, jump 0): per axis the first and
    last pixel of its interval among ``reach`` (the pixels per axis that count); None when an
    axis has none (the unit depends on nothing)."""
    box = []
    for a, r in enumerate(rf):
        centre = r.start + (unit[a] if unit is not None else 0) * r.jump
        half = Fraction(r.size - 1, 2)
        low, high = math.ceil(centre - half), math.floor(centre + half)
        inside = [p for p in reach[a] if low <= p <= high]
        if not inside:
            return None
        box.append((min(inside), max(inside)))
    return tuple(box)


# --------------------------------------------------------------------------- output

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
    headers = ["name", "type", "shape", "params", "buffers", "FLOPs", "act. bytes",
               "receptive field (rows, cols)"]
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
                 "(reported, not judged); a field is the (first-last) input rows and columns of "
                 "the centre unit")
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
