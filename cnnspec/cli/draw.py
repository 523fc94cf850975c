"""``cnnspec draw``: the graph of a spec as Graphviz DOT, Mermaid or SVG."""

from __future__ import annotations

import click

from cnnspec.cli.common import (
    batch_opt,
    error_boundary,
    input_opt,
    output_opt,
    set_opt,
    spec_arg,
    write_output,
)

FORMATS = ("dot", "mermaid", "svg")
COLOR_BY = ("params", "macs", "activations")


@click.command()
@spec_arg
@input_opt
@batch_opt
@set_opt
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="dot", show_default=True,
              help="svg needs Graphviz: apt-get install graphviz; pip install \"cnnspec[draw]\".")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Collapse blocks nested deeper than N into one node, as analyze --depth does "
                   "(0 draws every layer; default: as deep as fits in 60 nodes).")
@click.option("--color-by", type=click.Choice(COLOR_BY), default=None,
              help="Fill each node by its cost (activations: its output's memory in float32), on "
                   "a linear scale from white (none) to dark red.")
@output_opt
@error_boundary
def draw(*, spec, input_shape, batch, overrides, fmt, depth, color_by, output):
    """Draw the graph of SPEC: every node with its name, type, output shape, params and MACs;
    blocks as nested clusters; shortcut edges (residual, skip, dense) dashed.

    DOT and Mermaid need nothing; SVG runs Graphviz's dot. Never imports torch."""
    from cnnspec.api import analyze as run
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.reports.draw_graph import build_drawing

    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    drawing = build_drawing(run(graph, None, batch), depth, color_by)
    if fmt == "mermaid":
        from cnnspec.reports.draw_mermaid import render_mermaid as render
    elif fmt == "svg":
        from cnnspec.reports.draw_dot import render_svg as render
    else:
        from cnnspec.reports.draw_dot import render_dot as render
    write_output(render(drawing), output, [spec])
