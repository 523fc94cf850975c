"""The command line: the click group, with one command from each module of this package.

A command's module is imported when the command runs (or ``--help`` lists it), so
``cnnspec analyze`` reads only the analyze command's code.

Exit codes: 0 success, 1 a finding (reserved for check/verify), 2 an error in the spec or the
command line (:mod:`cnnspec.cli.common`)."""

from __future__ import annotations

from importlib import import_module

import click

from cnnspec.version import __version__

__all__ = ["COMMANDS", "main"]

#: command name -> (module of this package, the click command in it)
COMMANDS = {
    "analyze": ("analyze", "analyze"),
    "sizes": ("sizes", "sizes"),
    "build": ("build", "build"),
    "verify": ("verify", "verify"),
    "profile": ("profile", "profile_command"),
    "import": ("import_", "import_command"),
    "diff": ("diff", "diff"),
    "schema": ("schema", "schema"),
    "check": ("check", "check"),
    "draw": ("draw", "draw"),
    "rules": ("rules", "rules"),
    "rule": ("rules", "rule"),
}


class _Commands(click.Group):
    """A group whose commands are imported by name when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name]
        return getattr(import_module(f"cnnspec.cli.{module}"), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        no_such = getattr(click.exceptions, "NoSuchCommand", None)  # click 8.2 and later
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:  # suggest among the names not yet imported
            if no_such is None or not isinstance(exc, no_such):
                raise
            raise no_such(exc.command_name, possibilities=COMMANDS, ctx=ctx) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnspec")
def main() -> None:
    """Static, exact analysis of CNN architectures written as YAML specs."""
