"""``cnnspec import``: trace a PyTorch model factory and write its spec; exit 1 listing every
operation cnnspec has no layer for."""

from __future__ import annotations

import sys

import click

from cnnspec.cli.common import error_boundary, need_torch, output_opt, write_output
from cnnspec.cli.terminal import Progress
from cnnspec.errors import UsageError


@click.command(name="import")
@click.argument("target", metavar="MODULE:FACTORY")
@click.option("--input", "input_shape", metavar="CxHxW", required=True,
              help="Input shape per sample, e.g. 3x224x224.")
@click.option("--name", "spec_name", default=None, help="The spec's name (default: the factory's).")
@output_opt
@error_boundary
def import_command(*, target, input_shape, spec_name, output):
    """Trace MODULE:FACTORY (a function returning an nn.Module, e.g.
    torchvision.models:resnet18) by running it once at --input, and write its spec. Imports
    that module. Exits 1 listing every operation cnnspec has no layer for."""
    need_torch("import")
    from cnnspec.api import analyze, parse_input_shape, parse_spec
    from cnnspec.torch.importer import UnsupportedOperations, import_model, load_factory

    shape = parse_input_shape(input_shape)
    if not all(isinstance(d, int) for d in shape):
        raise UsageError("import needs a concrete --input, e.g. 3x224x224")
    name = spec_name or target.rpartition(":")[2].rpartition(".")[2]
    try:
        with Progress("importing") as progress:  # closed before anything is printed
            progress(0, 3, f"loading {target}")
            model = load_factory(target)
            progress(1, 3, "tracing")
            imported = import_model(model, shape, name)
            progress(2, 3, "checking the spec")  # what we write must load and analyse
            analyze(parse_spec(imported.text, file=f"<import {target}>"))
    except UnsupportedOperations as exc:
        click.echo(exc.render(), err=True)
        sys.exit(1)
    text = imported.text
    module = sys.modules.get(target.partition(":")[0])
    write_output(text, output, [getattr(module, "__file__", None)])
    if imported.note():  # never silently: also in the spec's header comment
        click.echo(f"note: {imported.note()}", err=True)
