"""``cnnspec verify``: build the spec in PyTorch and compare every predicted number."""

from __future__ import annotations

import sys

import click

from cnnspec.cli.common import (
    depth_opt,
    error_boundary,
    input_opt,
    need_cuda,
    need_torch,
    output_opt,
    set_opt,
    spec_arg,
    write_output,
)
from cnnspec.cli.terminal import Progress, colour, painter


@click.command()
@spec_arg
@input_opt
@set_opt
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda", "meta"]), default="cpu", show_default=True,
              help="meta allocates nothing: shapes, parameters and FLOPs only.")
@click.option("--no-rf", is_flag=True, help="Skip the receptive-field measurement.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@depth_opt
@output_opt
@error_boundary
def verify(*, spec, input_shape, overrides, batch, device, no_rf, fmt, depth, output):  # noqa: PLR0913  (click passes one argument per option)
    """Build SPEC in PyTorch, run it, and compare every predicted number with the measured one:
    shapes, parameters, buffers, FLOPs (FlopCounterMode), activation bytes, peak memory and
    receptive fields (from gradients). Exit 1 on any mismatch."""
    need_torch("verify")
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.torch.verify import render_json, render_text
    from cnnspec.torch.verify import verify as run

    need_cuda(device)
    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    with Progress("verifying") as progress:
        report = run(graph, None, batch, device, receptive_field=not no_rf, progress=progress)
    text = render_json(report) if fmt == "json" else render_text(report, depth, painter(output))
    write_output(text, output, [spec], colour=colour(output))
    if report.mismatches:
        sys.exit(1)
