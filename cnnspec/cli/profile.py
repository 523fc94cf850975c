"""``cnnspec profile``: per-layer latency and a roofline bound, measured with torch.profiler."""

from __future__ import annotations

import re

import click

from cnnspec.cli.common import (
    DTYPE_CHOICE,
    depth_opt,
    error_boundary,
    input_opt,
    need_concrete_input,
    need_cuda,
    need_torch,
    output_opt,
    set_opt,
    spec_arg,
    write_output,
)
from cnnspec.cli.terminal import Progress
from cnnspec.errors import UsageError


@click.command(name="profile")
@spec_arg
@input_opt
@set_opt
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=DTYPE_CHOICE, default="float32",
              show_default=True)
@click.option("--warmup", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--iters", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--peak-tflops", type=click.FloatRange(min=0, min_open=True),
              help="Peak compute for the roofline (default: a table of GPUs, else measured).")
@click.option("--peak-gbps", type=click.FloatRange(min=0, min_open=True),
              help="Peak memory bandwidth for the roofline (default: as for --peak-tflops).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@depth_opt
@output_opt
@error_boundary
def profile_command(*, spec, input_shape, overrides, batch, device, dtype,  # noqa: PLR0913  (click passes one argument per option)
                    warmup, iters, peak_tflops, peak_gbps, fmt, depth, output):
    """Per-layer latency (torch.profiler), achieved FLOP/s, bytes moved and a roofline bound
    per layer against the device's peak compute and bandwidth."""
    need_torch("profile")
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.torch.profile import device_peaks, profile_graph, render

    _check_device(device)
    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    need_concrete_input(graph, "profile")
    with Progress("profiling") as progress:
        progress(0, iters, "ceilings")
        peaks = device_peaks(device, dtype, peak_tflops, peak_gbps)
        layers = profile_graph(graph, batch, device, dtype, warmup, iters, progress=progress)
    write_output(render(graph, layers, peaks, fmt, batch, device, dtype, depth), output, [spec])


def _check_device(device: str) -> None:
    """--device: cpu, cuda or cuda:N, and a CUDA device only where there is one."""
    if not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        raise UsageError(f"--device {device!r}: profile runs on cpu, cuda or cuda:N")
    need_cuda(device)
