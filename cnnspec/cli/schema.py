"""``cnnspec schema``: the JSON Schema of the spec format."""

from __future__ import annotations

import json

import click

from cnnspec.cli.common import error_boundary, output_opt, write_output


@click.command()
@output_opt
@error_boundary
def schema(*, output):
    """Print the JSON Schema of the spec format."""
    from cnnspec.reports.schema import spec_schema

    write_output(json.dumps(spec_schema(), indent=2) + "\n", output)
