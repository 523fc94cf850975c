"""``cnnspec sizes``: the input sizes a spec accepts, and those that divide exactly."""

from __future__ import annotations

import click

from cnnspec.cli.common import error_boundary, input_opt, output_opt, set_opt, spec_arg, write_output
from cnnspec.cli.terminal import Progress

#: seconds before sizes draws a progress bar (most specs take less)
PROGRESS_DELAY = 0.5


@click.command()
@spec_arg
@input_opt
@set_opt
@click.option("--near", type=click.IntRange(min=1), metavar="N",
              help="Also give the valid and exact sizes nearest to N.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@output_opt
@error_boundary
def sizes(*, spec, input_shape, overrides, near, fmt, output):
    """Which input sizes SPEC accepts and which divide exactly at every layer.

    Each axis is varied with the other held at the spec's input size."""
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.reports.sizes_report import render_sizes

    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    with Progress("sizes", delay=PROGRESS_DELAY) as progress:
        text = render_sizes(graph, near, fmt, progress)
    write_output(text, output, [spec])
