"""What the commands share: the options several of them take, the output helper, and the
error boundary.

Exit codes: 0 success, 1 a finding (reserved for check/verify), 2 an error in the spec or the
command line. Every CnnspecError is caught by :func:`error_boundary` and printed as
``file:line:col: error: …``.

The commands import the library inside their functions, so that ``import cnnspec.cli`` (and
``cnnspec --help``) costs click and no more, and a command imports only what it runs."""

from __future__ import annotations

import functools
import sys

import click

from cnnspec.errors import CnnspecError, UsageError
from cnnspec.util.dtypes import DTYPES

#: the --dtype choices
DTYPE_CHOICE = click.Choice(DTYPES)

__all__ = ["DTYPE_CHOICE", "batch_opt", "depth_opt", "dtype_opt", "error_boundary", "input_opt",
           "need_concrete_input", "need_cuda", "need_torch", "output_opt", "set_opt", "spec_arg",
           "write_output"]


def error_boundary(func):
    """Print cnnspec errors without a traceback and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CnnspecError as exc:
            click.echo(exc.render(), err=True)
            sys.exit(2)
        except RecursionError:
            click.echo("error: the spec is nested too deeply to analyse", err=True)
            sys.exit(2)

    return wrapper


def need_torch(command: str) -> None:
    """Exit 2 with how to install PyTorch when it cannot be imported (verify, profile, import)."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # not installed, or a broken install (missing shared library, …)
        raise UsageError(f"cnnspec {command} needs PyTorch, which cannot be imported here: "
                         f"{type(exc).__name__}: {exc}",
                         hint="install it with: pip install torch  (or pip install 'cnnspec[torch]'); "
                              "analyze, check, sizes, build, diff, draw and schema work without it") from None


def need_cuda(device: str) -> None:
    """Exit 2 when ``device`` is a CUDA device and this machine has none."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: no CUDA device is available here", hint="use --device cpu")


def need_concrete_input(graph, command: str) -> None:
    if not all(isinstance(d, int) for d in graph.input_shape):
        raise UsageError(f"{command} needs a concrete input size, not "
                         f"{'x'.join(map(str, graph.input_shape))}", hint="give --input, e.g. 3x224x224")


def write_output(text: str, output: str | None, inputs=(), colour: bool = False) -> None:
    """Print ``text``, or write it to ``output``: atomically, and never over one of the
    command's ``inputs`` (docs/commands.md, "Writing -o"). ``colour``: the text holds ANSI
    styles to keep even where click would strip them (FORCE_COLOR into a pipe)."""
    if output:
        from cnnspec.util.outfile import refuse_inputs, write_text

        refuse_inputs(output, inputs)
        try:
            write_text(output, text)
        except OSError as exc:
            raise UsageError(f"-o {output}: cannot write it: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=False, color=True if colour else None)


spec_arg = click.argument("spec", type=click.Path(dir_okay=False))
input_opt = click.option("--input", "input_shape", metavar="CxHxW",
                         help="Input shape per sample, e.g. 3x224x224, or 3xHxW for formulas.")
set_opt = click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
                       help="Override a spec variable (repeatable).")
batch_opt = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                         help="Batch size for MACs, FLOPs and memory.")
dtype_opt = click.option("--dtype", type=DTYPE_CHOICE, default="float32",
                         show_default=True, help="Element type for memory figures.")
depth_opt = click.option("--depth", type=click.IntRange(min=0), default=0, metavar="N",
                         help="Table: collapse blocks nested deeper than N into one row, as analyze "
                              "--depth does (default 0: every layer).")
output_opt = click.option("-o", "--output", type=click.Path(dir_okay=False),
                          help="Write to this file instead of standard output.")
