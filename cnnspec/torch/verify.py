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
  it is at most ``RF_MAX_SIDE`` pixels on a side (2-D; as many positions in all for 1-D and
  3-D inputs: 9216 along a (C, L) input, 20 a side of a (C, D, H, W) one), else at the
  largest valid square (cube) input that size allows.

Tensors are real (CPU or CUDA); with ``--device meta`` nothing is allocated and only shapes,
parameters and FLOPs are measured.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnspec.api import analyze
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.torch.builder import to_torch
from cnnspec.torch.fields import RF_MAX_SIDE, check_fields, rf_input
from cnnspec.torch.verify_report import Check, NodeReport, Report, render_json, render_text
from cnnspec.util import dims

__all__ = ["RF_MAX_SIDE", "Check", "NodeReport", "Report", "render_json", "render_text", "verify"]


def _no_progress(done: int, total: int, what: str) -> None:
    pass


def verify(graph: Graph, input_shape=None, batch: int = 1, device: str = "cpu",
           receptive_field: bool = True, progress=_no_progress) -> Report:
    """``progress(done, total, what)`` is told of each stage as it starts (the CLI's bar)."""
    result = analyze(graph, input_shape, batch)
    shape = tuple(result.input_shape)
    if any(dims.is_symbolic(d) for d in shape):
        from cnnspec.errors import UsageError

        raise UsageError("verify needs a concrete input size", hint="give --input, e.g. 3x224x224")
    field_input = None
    if receptive_field and device != "meta" and len(shape) >= 2:
        field_input = rf_input(graph, shape)
    stages = 3 if field_input is not None else 2
    progress(0, stages, "building the model")
    with torch.device(device):  # built where it runs: on meta nothing is ever allocated
        model = to_torch(graph, shape).eval()
    reports = {node.name: NodeReport(node.name, node.type_name) for node in graph.nodes}
    progress(1, stages, "forward pass")
    measured = _forward(model, graph, shape, batch, device)
    for node in graph.nodes:
        reports[node.name].checks += _node_checks(result.facts[node.name], measured["nodes"][node.name],
                                                  batch, device)
    if field_input is not None:
        progress(2, stages, "receptive fields")
        check_fields(graph, field_input, reports, device, result if field_input == shape else None)
    progress(stages, stages, "")
    return Report(graph, result, device, list(reports.values()), _total_checks(result, measured, device),
                  field_input)


def _node_checks(f, m: dict, batch: int, device: str) -> list[Check]:
    """One node's predicted facts ``f`` against what was measured of it, ``m``."""
    checks = [
        Check("shape", (batch, *f.output), m["shape"], (batch, *f.output) == m["shape"]),
        Check("params", f.params, m["params"], f.params == m["params"]),
        Check("buffers", f.buffers, m["buffers"], f.buffers == m["buffers"]),
        Check("flops", f.flops, m["flops"], f.flops == m["flops"]),
    ]
    if device != "meta":
        checks.append(Check("activation_bytes", f.activation_bytes, m["bytes"],
                            f.activation_bytes == m["bytes"]))
    return checks


def _total_checks(result, measured: dict, device: str) -> list[Check]:
    totals = result.totals()
    checks = [
        Check("params", totals["params"], measured["params"], totals["params"] == measured["params"]),
        Check("trainable_params", totals["trainable_params"], measured["trainable"],
              totals["trainable_params"] == measured["trainable"]),
        Check("flops", totals["flops"], measured["flops"], totals["flops"] == measured["flops"]),
    ]
    if result.graph.outputs:  # each output the model returns, under its name
        for name, _, shape in result.output_shapes():
            want, got = (result.batch, *shape), measured["outputs"][name]
            checks.append(Check(f"output {name} shape", want, got, want == got))
    if device != "meta":
        checks.append(Check("peak_activation_bytes", totals["peak_activation_bytes"],
                            measured["peak"], totals["peak_activation_bytes"] == measured["peak"]))
    return checks


class _Storage:
    """The live tensor storage while the nodes run: storages by pointer, each freed after its
    last reader (views share their input's)."""

    def __init__(self, graph: Graph, device: str):
        self.remaining = {name: len(readers) for name, readers in graph.consumers().items()}
        self.outputs = set(graph.output_nodes())  # live to the end
        self.off = device == "meta"  # nothing is allocated
        self.storages: dict[int, list] = {}  # data_ptr -> [bytes, readers left]
        self.owner: dict[str, int] = {}
        self.live = self.peak = 0

    def account(self, name: str, out: torch.Tensor) -> None:
        if self.off:
            return
        storage = out.untyped_storage()
        ptr, size = storage.data_ptr(), storage.nbytes()
        if ptr not in self.storages:
            self.storages[ptr] = [size, 0]
            self.live += size
            self.peak = max(self.peak, self.live)
        self.storages[ptr][1] += self.remaining.get(name, 0) + (1 if name in self.outputs else 0)
        self.owner[name] = ptr

    def release(self, name: str) -> None:
        ptr = self.owner.get(name)
        if ptr is None:
            return
        self.storages[ptr][1] -= 1
        if self.storages[ptr][1] == 0:
            self.live -= self.storages[ptr][0]
            del self.storages[ptr]


def _forward(model, graph: Graph, shape: tuple, batch: int, device: str) -> dict:
    """One forward pass with hooks: per-node facts, FLOPs, and the peak of live storage."""
    nodes: dict[str, dict] = {}
    storage = _Storage(graph, device)

    def hook(mod, args, out, name, node):
        nodes[name] = {
            "shape": tuple(out.shape),
            "bytes": out.numel() * out.element_size(),
            "params": sum(p.numel() for p in model.node_parameters(name)),
            "buffers": sum(b.numel() for b in mod.buffers()),
        }
        storage.account(name, out)
        for src in node.inputs:
            storage.release(src)

    hooks = [module.register_forward_hook(
        lambda mod, args, out, name=name, node=node: hook(mod, args, out, name, node))
        for (name, module), node in zip(model.nodes(), graph.nodes)]
    x = torch.zeros(batch, *shape, device=device)
    storage.account(INPUT, x)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            returned = model(x)
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
        "peak": storage.peak,
        "outputs": _returned(graph, returned),
    }


def _returned(graph: Graph, value) -> dict:
    """The shape of every output the model returned, by output name (None where missing)."""
    if not graph.outputs:
        return {"output": tuple(value.shape)}
    if isinstance(value, tuple):
        value = dict(zip(graph.outputs, value))
    return {name: tuple(value[name].shape) if name in value else None for name in graph.outputs}
