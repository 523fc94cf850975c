"""The command line: the click group, one module per command, shared options in one place."""

from cnnspec.cli.main import main

__all__ = ["main"]
