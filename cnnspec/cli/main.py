"""The command line: the click group, with one command from each module of this package.

Exit codes: 0 success, 1 a finding (reserved for check/verify), 2 an error in the spec or the
command line (:mod:`cnnspec.cli.common`)."""

from __future__ import annotations

import click

from cnnspec.cli.analyze import analyze
from cnnspec.cli.build import build
from cnnspec.cli.check import check
from cnnspec.cli.diff import diff
from cnnspec.cli.import_ import import_command
from cnnspec.cli.profile import profile_command
from cnnspec.cli.schema import schema
from cnnspec.cli.sizes import sizes
from cnnspec.cli.verify import verify
from cnnspec.version import __version__

__all__ = ["COMMANDS", "main"]

COMMANDS = (analyze, sizes, build, verify, profile_command, import_command, diff, schema, check)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnspec")
def main() -> None:
    """Static, exact analysis of CNN architectures written as YAML specs."""


for _command in COMMANDS:
    main.add_command(_command)
