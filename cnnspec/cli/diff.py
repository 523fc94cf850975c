"""``cnnspec diff``: per-layer changes between two versions of a spec."""

from __future__ import annotations

import sys

import click

from cnnspec.cli.common import (
    batch_opt,
    dtype_opt,
    error_boundary,
    input_opt,
    output_opt,
    set_opt,
    write_output,
)
from cnnspec.errors import UsageError


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="BEFORE [AFTER]",
                type=click.Path(dir_okay=False))
@click.option("--rev", metavar="REV|REV1..REV2",
              help="Compare the one SPEC given at git revision REV with the file on disk, or at REV1 "
                   "with REV2.")
@input_opt
@batch_opt
@dtype_opt
@set_opt
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Also list the layers that did not change.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (like git diff --exit-code).")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Markdown: collapse the graph's blocks nested deeper than N into one node, as "
                   "analyze --depth (0 draws every layer; default: as deep as fits in 60 nodes).")
@click.option("--no-graph", is_flag=True,
              help="Markdown: leave out the Mermaid graph of the after side, changes highlighted.")
@output_opt
@error_boundary
def diff(*, specs, rev, input_shape, batch, dtype, overrides,  # noqa: PLR0913  (click passes one argument per option)
         fmt, show_all, exit_code, depth, no_graph, output):
    """Per-layer changes between two versions of a spec: BEFORE vs AFTER, or with --rev one
    SPEC as committed vs on disk (or at two revisions). Nodes are matched by name; --set,
    --input, --batch and --dtype apply to both sides. Never imports torch."""
    from cnnspec.api import parse_overrides
    from cnnspec.reports.diff_report import FORMATS as renderers
    from cnnspec.solvers.diff import diff_files, diff_revisions

    settings = parse_overrides(overrides)
    if rev is not None:
        if len(specs) != 1:
            raise UsageError(f"--rev takes one spec file, got {len(specs)}",
                             hint="cnnspec diff SPEC --rev REV, or cnnspec diff BEFORE AFTER without --rev")
        result = diff_revisions(specs[0], rev, settings, input_shape, batch, dtype)
    elif len(specs) != 2:
        raise UsageError(f"diff takes two spec files (BEFORE AFTER), got {len(specs)}",
                         hint="or one spec with --rev REV to compare it with a git revision")
    else:
        result = diff_files(specs[0], specs[1], settings, input_shape, batch, dtype)
    if fmt == "markdown":
        text = renderers[fmt](result, show_all, graph=not no_graph, depth=depth)
    else:
        text = renderers[fmt](result, show_all)
    write_output(text, output, specs)
    if exit_code and result.differs:
        sys.exit(1)
