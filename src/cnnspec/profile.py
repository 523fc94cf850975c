"""``cnnspec profile``: per-layer latency, achieved FLOP/s and bytes moved, and a roofline
bound per layer (imports torch).

Each node's module call is wrapped in ``torch.profiler.record_function`` (forward pre- and
post-hooks), the model runs ``warmup`` times and then ``iters`` times under the profiler, and
each node's time is its record's total divided by ``iters``. FLOPs are cnnspec's (2 x MACs plus
the element-wise operations); bytes moved are the node's inputs, output and parameters, once
each. The roofline ceilings are the device's peak compute and memory bandwidth: given with
--peak-tflops / --peak-gbps, taken from a small table of common GPUs, or measured on the spot
(a large matrix product and a large copy) for CPUs and unknown devices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from .analysis import analyze
from .graph import Graph
from .torch_build import to_torch

#: (peak dense TFLOP/s in float32 / float16, memory bandwidth GB/s) of common GPUs
GPU_PEAKS = {
    "H100": (67.0, 989.0, 3350.0),
    "A100": (19.5, 312.0, 1555.0),
    "A10": (31.2, 125.0, 600.0),
    "L4": (30.3, 121.0, 300.0),
    "V100": (15.7, 125.0, 900.0),
    "T4": (8.1, 65.0, 320.0),
    "RTX 4090": (82.6, 165.0, 1008.0),
    "RTX 3090": (35.6, 71.0, 936.0),
}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class LayerProfile:
    name: str
    type: str
    seconds: float
    flops: int
    bytes: int

    @property
    def flops_per_s(self) -> float:
        return self.flops / self.seconds if self.seconds else 0.0

    def bound(self, peak_flops: float, peak_bytes: float) -> tuple[float, str]:
        """The roofline's lower bound on the time, and what sets it."""
        compute, memory = self.flops / peak_flops, self.bytes / peak_bytes
        return (compute, "compute") if compute >= memory else (memory, "memory")


def device_peaks(device: str, dtype: str, tflops: float | None,
                 gbps: float | None) -> tuple[float, float, str]:
    """(FLOP/s, bytes/s, where the figures come from)."""
    if tflops and gbps:
        return tflops * 1e12, gbps * 1e9, "given"
    source = "measured"
    flops = bandwidth = None
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
        for key, (f32, f16, bw) in GPU_PEAKS.items():
            if key in name:
                flops, bandwidth, source = (f32 if dtype == "float32" else f16) * 1e12, bw * 1e9, key
                break
    if flops is None or bandwidth is None:
        flops, bandwidth = _measure_peaks(device, DTYPES[dtype])
    if tflops or gbps:
        source += ", one given"
    return (tflops * 1e12 if tflops else flops), (gbps * 1e9 if gbps else bandwidth), source


def _measure_peaks(device: str, dtype) -> tuple[float, float]:
    """Peak compute from a 1024x1024 matrix product and bandwidth from a 64 MB copy."""
    n = 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    source = torch.empty(16 * 1024 * 1024, device=device, dtype=torch.float32)
    target = torch.empty_like(source)

    def best(work, repeats: int = 5) -> float:
        times = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            work()
            _sync(device)
            times.append(time.perf_counter() - start)
        return min(times)

    best(lambda: a @ b, 1)
    flops = 2 * n ** 3 / best(lambda: a @ b)
    bandwidth = 2 * source.numel() * 4 / best(lambda: target.copy_(source))
    return flops, bandwidth


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def profile_graph(graph: Graph, batch: int = 1, device: str = "cpu", dtype: str = "float32",
                  warmup: int = 2, iters: int = 10, progress=None) -> list[LayerProfile]:
    result = analyze(graph, None, batch, dtype)
    model = to_torch(graph).eval().to(device=device, dtype=DTYPES[dtype])
    records: dict[str, object] = {}
    hooks = []
    for name, module in model.nodes():
        def enter(mod, args, name=name):
            records[name] = record_function(f"cnnspec::{name}")
            records[name].__enter__()

        def leave(mod, args, out, name=name):
            records.pop(name).__exit__(None, None, None)

        hooks += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    x = torch.randn(batch, *graph.input_shape, device=device, dtype=DTYPES[dtype])
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            _sync(device)
            with profile(activities=activities) as prof:
                for _ in range(iters):
                    model(x)
                    if progress is not None:
                        progress(1)
                _sync(device)
    finally:
        for h in hooks:
            h.remove()
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        if event.key.startswith("cnnspec::"):
            micros = event.device_time_total if device.startswith("cuda") else event.cpu_time_total
            totals[event.key[len("cnnspec::"):]] = micros / 1e6 / iters
    size = result.dtype_bytes
    layers = []
    for node in graph.nodes:
        f = result.facts[node.name]
        moved = sum(_numel(s) for s in f.inputs) * batch * size + f.activation_bytes + f.params * size
        layers.append(LayerProfile(node.name, node.type_name, totals.get(node.name, 0.0),
                                   int(f.flops + f.elementwise_ops), int(moved)))
    return layers


def _numel(shape) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


def render(graph: Graph, layers: list[LayerProfile], peaks: tuple[float, float, str], fmt: str,
           batch: int, device: str, dtype: str) -> str:
    peak_flops, peak_bytes, source = peaks
    rows = []
    for layer in layers:
        bound, limit = layer.bound(peak_flops, peak_bytes)
        rows.append({
            "name": layer.name, "type": layer.type, "seconds": layer.seconds, "flops": layer.flops,
            "bytes": layer.bytes, "flops_per_s": layer.flops_per_s,
            "intensity": layer.flops / layer.bytes if layer.bytes else 0.0,
            "bound_seconds": bound, "bound_by": limit,
            "efficiency": bound / layer.seconds if layer.seconds else None,
        })
    total = sum(r["seconds"] for r in rows)
    if fmt == "json":
        import json

        from .facts import SCHEMA_VERSION

        return json.dumps({"schema_version": SCHEMA_VERSION, "spec": graph.name, "device": device,
                           "dtype": dtype, "batch": batch, "peak_flops_per_s": peak_flops,
                           "peak_bytes_per_s": peak_bytes, "peaks_from": source,
                           "total_seconds": total, "layers": rows}, indent=2) + "\n"
    from tabulate import tabulate

    from .report import units

    table = [[r["name"], r["type"], f"{r['seconds'] * 1e3:.3f}",
              units.ops(int(r["flops_per_s"]), "FLOP/s"), units.nbytes(r["bytes"]),
        f"{r['intensity']:.1f}", r["bound_by"],
        "-" if r["efficiency"] is None else f"{100 * r['efficiency']:.0f}%"] for r in rows]
    text = tabulate(table, headers=["name", "type", "ms", "achieved", "bytes moved", "FLOP/byte",
                                    "bound by", "of roofline"], tablefmt="simple", disable_numparse=True)
    head = (f"{graph.name}: batch {batch}, {dtype} on {device}; peaks {peak_flops / 1e9:,.1f} "
            f"GFLOP/s and {peak_bytes / 1e9:,.1f} GB/s ({source})")
    return f"{head}\n\n{text}\n\ntotal {total * 1e3:.2f} ms per forward pass (sum of layers)\n"
