"""``cnnspec profile``: per-layer latency, achieved FLOP/s and bytes moved, and where each layer
stands against a roofline (imports torch).

Each node's module call is wrapped in ``torch.profiler.record_function`` (forward pre- and
post-hooks), the model runs ``warmup`` times and then ``iters`` times under the profiler, and
each node's time is its record's total divided by ``iters``. FLOPs are cnnspec's (2 x MACs plus
the element-wise operations); bytes moved are the node's inputs, output and parameters, once
each (a view such as ``flatten`` or an inference-time dropout moves and computes nothing).

The roofline: a layer needs at least max(FLOPs / P, bytes / B(bytes)) seconds, for a compute
ceiling P and a bandwidth ceiling B that depends on the working set, since on a CPU a layer
whose data fits in a cache moves it several times faster than the DRAM bandwidth (a single
64 MB copy, as measured before, made cache-resident layers run at up to 283 % of "the bound").
The ceilings come from --peak-tflops / --peak-gbps, a table of common GPUs, or measurements on
the spot: the best of matrix products of three sizes for P, and copies of working sets from
32 kB to 128 MB for B. Measured peaks are what this machine demonstrated, not its datasheet
maximum, so a layer can run faster than a micro-benchmark did; then that layer's own rate
becomes the ceiling (reported as such), and the bound holds for every layer of the run: "of
roofline" is at most 100 %.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from cnnspec.api import analyze
from cnnspec.ir.graph import Graph
from cnnspec.torch.builder import to_torch
from cnnspec.util import dims
from cnnspec.util.dtypes import DTYPES
from cnnspec.version import SCHEMA_VERSION

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
TORCH_DTYPES = {name: getattr(torch, name) for name in DTYPES}
#: the matrix sizes whose products measure the compute ceiling
MATMUL_SIZES = (256, 512, 1024)
#: the working sets (bytes read + written) whose copies measure the bandwidth ceilings
COPY_SIZES = tuple(32 * 1024 * 4 ** i for i in range(7))  # 32 kB … 128 MB


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

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds if self.seconds else 0.0


@dataclass
class Ceilings:
    """The roofline's ceilings: compute, the memory's bandwidth, and the faster rates seen
    for working sets up to some size (caches)."""

    flops: float  # FLOP/s
    memory: float  # bytes/s for any working set: the largest copy's, the table's or the given
    source: str  # given, measured, or a GPU's table entry
    bandwidth: list = field(default_factory=list)  # [(working-set bytes, bytes/s)], by size
    raised_by: dict = field(default_factory=dict)  # ceiling -> the layer that raised it

    def bytes_per_s(self, working_set: int) -> float:
        """The fastest rate observed for a working set at least this large (a smaller working
        set is never slower to move): the bandwidth ceiling of a layer moving that many bytes."""
        return max([self.memory, *(rate for size, rate in self.bandwidth if size >= working_set)])

    def bound(self, layer: LayerProfile) -> tuple[float, str]:
        """The roofline's lower bound on the layer's time, and what sets it."""
        compute = layer.flops / self.flops
        memory = layer.bytes / self.bytes_per_s(layer.bytes) if layer.bytes else 0.0
        return (compute, "compute") if compute >= memory else (memory, "memory")

    def include(self, layers: list[LayerProfile]) -> None:
        """Raise the ceilings to every rate a layer reached, so that they bound the whole run."""
        for layer in layers:
            if not layer.seconds:
                continue
            if layer.flops_per_s > self.flops:
                self.flops = layer.flops_per_s
                self.raised_by["compute"] = layer.name
            if layer.bytes and layer.bytes_per_s > self.bytes_per_s(layer.bytes):
                self.bandwidth = sorted([*self.bandwidth, (layer.bytes, layer.bytes_per_s)])
                self.raised_by["bandwidth"] = layer.name

    @property
    def cache(self) -> float:
        """The fastest bandwidth seen, for the smallest working sets."""
        return self.bytes_per_s(0)


def device_peaks(device: str, dtype: str, tflops: float | None, gbps: float | None) -> Ceilings:
    """The ceilings before the run: given, from the GPU table, or measured."""
    source = "measured"
    flops = memory = None
    bandwidth: list = []
    if device.startswith("cuda") and not (tflops and gbps):
        name = torch.cuda.get_device_name(torch.device(device))
        for key, (f32, f16, bw) in GPU_PEAKS.items():
            if key in name:
                flops, memory, source = (f32 if dtype == "float32" else f16) * 1e12, bw * 1e9, key
                break
    if tflops and gbps:
        source = "given"
    elif tflops or gbps:
        source += ", one given"
    if tflops:
        flops = tflops * 1e12
    elif flops is None:
        flops = _measure_compute(device, TORCH_DTYPES[dtype])
    if gbps:
        memory = gbps * 1e9
    elif memory is None:
        bandwidth = _measure_bandwidth(device)
        memory = bandwidth[-1][1]  # the largest working set: from the memory itself
    return Ceilings(flops, memory, source, bandwidth)


def _best(device: str, work, min_seconds: float = 1e-3, samples: int = 5) -> float:
    """The shortest time of one ``work()``: each sample repeats it for at least ``min_seconds``
    (so a short operation is not drowned by the timer), the best of ``samples``."""
    work()
    _sync(device)
    start = time.perf_counter()
    work()
    _sync(device)
    repeats = max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7)))
    best = float("inf")
    for _ in range(samples):
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            work()
        _sync(device)
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _measure_compute(device: str, dtype) -> float:
    """The best FLOP/s of square matrix products of a few sizes."""
    rates = []
    for n in MATMUL_SIZES:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        rates.append(2 * n ** 3 / _best(device, lambda a=a, b=b: a @ b))
    return max(rates)


def _measure_bandwidth(device: str) -> list:
    """[(working set, bytes/s)] of copies whose source and target together hold each size."""
    result = []
    for size in COPY_SIZES:
        source = torch.empty(size // 8, device=device, dtype=torch.float32)
        target = torch.empty_like(source)
        result.append((size, size / _best(device, lambda s=source, t=target: t.copy_(s))))
    return result


@contextmanager
def _without_profiler_banner():
    """Kineto writes ``USDT: ... profiler_start`` and ``profiler_stop`` lines to the process's
    standard error (file descriptor 2, not sys.stderr) when the profiler starts and stops; they
    are noise for a user of ``cnnspec profile``. Anything else written meanwhile is kept."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream without a descriptor
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode("utf-8", "replace").splitlines(True)
                    if not line.startswith("USDT:")]
            sys.stderr.write("".join(kept))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def profile_graph(graph: Graph, batch: int = 1, device: str = "cpu", dtype: str = "float32",
                  warmup: int = 2, iters: int = 10, *, progress=None) -> list[LayerProfile]:
    result = analyze(graph, None, batch, dtype)
    model = to_torch(graph).eval().to(device=device, dtype=TORCH_DTYPES[dtype])
    x = torch.randn(batch, *graph.input_shape, device=device, dtype=TORCH_DTYPES[dtype])
    totals = _layer_seconds(model, x, device, warmup, iters, progress)
    size = result.dtype_bytes
    layers = []
    for node in graph.nodes:
        f = result.facts[node.name]
        if node.layer.view_of_input:  # flatten, identity, dropout at inference: no work at all
            flops = moved = 0
        else:
            flops = f.flops + f.elementwise_ops
            moved = sum(dims.prod(s) for s in f.inputs) * batch * size + f.activation_bytes + f.params * size
        layers.append(LayerProfile(node.name, node.type_name, totals.get(node.name, 0.0),
                                   int(flops), int(moved)))
    return layers


def _layer_seconds(model, x, device: str, warmup: int, iters: int, progress) -> dict[str, float]:
    """Node name -> seconds per forward pass, from torch.profiler with each node's module call
    recorded as ``cnnspec::<name>``."""
    records: dict[str, object] = {}
    hooks = []
    for name, module in model.nodes():
        def enter(mod, args, name=name):
            records[name] = record_function(f"cnnspec::{name}")
            records[name].__enter__()

        def leave(mod, args, out, name=name):
            records.pop(name).__exit__(None, None, None)

        hooks += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            _sync(device)
            prof = profile(activities=activities)
            with _without_profiler_banner():
                prof.__enter__()
            try:
                for i in range(iters):
                    model(x)
                    if progress is not None:
                        progress(i + 1, iters, "timed passes")
                _sync(device)
            finally:
                with _without_profiler_banner():
                    prof.__exit__(None, None, None)
    finally:
        for h in hooks:
            h.remove()
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        if event.key.startswith("cnnspec::"):
            micros = event.device_time_total if device.startswith("cuda") else event.cpu_time_total
            totals[event.key[len("cnnspec::"):]] = micros / 1e6 / iters
    return totals


def render(graph: Graph, layers: list[LayerProfile], ceilings: Ceilings, fmt: str,  # noqa: PLR0917 (the CLI's call)
           batch: int, device: str, dtype: str, depth: int = 0) -> str:
    """The report as JSON (every layer), or as a table with the blocks nested deeper than
    ``depth`` collapsed into one row each (0: every layer)."""
    from cnnspec.torch.profile_table import table
    measured = (ceilings.flops, ceilings.memory, list(ceilings.bandwidth))
    ceilings.include(layers)
    rows = [_row(layer, ceilings) for layer in layers]
    total = sum(r["seconds"] for r in rows)
    if fmt == "json":
        import json

        return json.dumps({"schema_version": SCHEMA_VERSION, "spec": graph.name, "device": device,
                           "dtype": dtype, "batch": batch, "peak_flops_per_s": ceilings.flops,
                           "peak_bytes_per_s": ceilings.memory,
                           "bandwidth_by_working_set": [list(pair) for pair in ceilings.bandwidth],
                           "peaks_from": ceilings.source,
                           "initial_peaks": {"flops_per_s": measured[0], "bytes_per_s": measured[1],
                                              "bandwidth_by_working_set": [list(p) for p in measured[2]]},
                           "raised_by": ceilings.raised_by,
                           "total_seconds": total, "layers": rows}, indent=2) + "\n"
    bandwidth = f"{ceilings.memory / 1e9:,.1f} GB/s"
    if ceilings.cache > ceilings.memory * 1.05:
        bandwidth += f", up to {ceilings.cache / 1e9:,.1f} GB/s for working sets in cache"
    head = (f"{graph.name}: batch {batch}, {dtype} on {device}; ceilings {ceilings.flops / 1e9:,.1f} "
            f"GFLOP/s and {bandwidth} ({ceilings.source})")
    notes = []
    if "compute" in ceilings.raised_by:
        notes.append(f"compute ceiling: {ceilings.raised_by['compute']} ran faster than the "
                     f"{measured[0] / 1e9:,.1f} GFLOP/s of the peaks, so its rate is the ceiling")
    if "bandwidth" in ceilings.raised_by:
        notes.append("bandwidth ceiling: layers moved their bytes faster than the peaks allowed, so "
                     f"their rates are the ceilings (the last: {ceilings.raised_by['bandwidth']})")
    tail = "".join(f"note: {n}\n" for n in notes)
    return (f"{head}\n\n{table(rows, depth)}\n\ntotal {total * 1e3:.2f} ms per forward pass (sum of layers)\n"
            f"{tail}")


def _row(layer: LayerProfile, ceilings: Ceilings) -> dict:
    """One layer's line of the report: its rates and its roofline bound."""
    bound, limit = ceilings.bound(layer)
    work = layer.flops or layer.bytes
    return {
        "name": layer.name, "type": layer.type, "seconds": layer.seconds, "flops": layer.flops,
        "bytes": layer.bytes, "flops_per_s": layer.flops_per_s,
        "intensity": layer.flops / layer.bytes if layer.bytes else 0.0,
        "bandwidth_ceiling": ceilings.bytes_per_s(layer.bytes) if layer.bytes else None,
        "bound_seconds": bound, "bound_by": limit if work else None,
        "efficiency": bound / layer.seconds if layer.seconds and work else None,
    }

