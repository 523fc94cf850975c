"""``cnnspec build``: a spec as standalone PyTorch source."""

from __future__ import annotations

import click

from cnnspec.cli.common import (
    error_boundary,
    input_opt,
    need_concrete_input,
    output_opt,
    set_opt,
    spec_arg,
    write_output,
)


@click.command()
@spec_arg
@input_opt
@set_opt
@click.option("--class-name", metavar="NAME", help="Name of the model class (default: from the spec's name).")
@output_opt
@error_boundary
def build(*, spec, input_shape, overrides, class_name, output):
    """Write SPEC as standalone PyTorch source: one class per block type, a top-level class
    that builds the spec as written with no arguments, and the same module names as the
    spec (so torchvision's weights load into the torchvision-mirroring specs).

    Never imports torch."""
    from cnnspec.api import load_spec, parse_overrides
    from cnnspec.emit.emitter import emit, provenance

    settings = parse_overrides(overrides)
    graph = load_spec(spec, settings, input_shape)
    need_concrete_input(graph, "build")
    write_output(emit(graph, class_name, provenance(spec, settings)), output, [spec])

