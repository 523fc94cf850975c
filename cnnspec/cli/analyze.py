"""``cnnspec analyze``: the per-layer table (or JSON, Markdown, CSV) of a spec."""

from __future__ import annotations

import click

from cnnspec.cli.common import (
    batch_opt,
    dtype_opt,
    error_boundary,
    input_opt,
    output_opt,
    set_opt,
    spec_arg,
    write_output,
)

FORMATS = ("table", "json", "markdown", "csv")


@click.command()
@spec_arg
@input_opt
@batch_opt
@dtype_opt
@set_opt
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Table and Markdown: collapse blocks nested deeper than N into one row (and "
                   "one node of the Markdown graph; 0 shows every layer; default: as deep as fits "
                   "in 60 rows).")
@click.option("--no-graph", is_flag=True,
              help="Markdown: leave out the Mermaid graph drawn after the table.")
@output_opt
@error_boundary
def analyze(*, spec, input_shape, batch, dtype, overrides, fmt, depth, no_graph, output):  # noqa: PLR0913  (click passes one argument per option)
    """Per-layer shapes, parameters, MACs, receptive fields and memory of SPEC.

    Never imports torch."""
    from cnnspec.api import analyze as run
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.reports import FORMATS as renderers

    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    result = run(graph, None, batch, dtype)
    if fmt == "markdown":
        text = renderers[fmt](result, depth, graph=not no_graph)
    else:
        text = renderers[fmt](result, depth) if fmt == "table" else renderers[fmt](result)
    write_output(text, output, [spec])
