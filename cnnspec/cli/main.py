"""The command line: a thin layer over the library API.

Exit codes: 0 success, 1 a finding (reserved for check/verify), 2 an error in the spec or the
command line. Every CnnspecError is caught here and printed as ``file:line:col: error: …``.
"""

from __future__ import annotations

import functools
import json
import re
import sys

import click

from cnnspec import __version__
from cnnspec.errors import CnnspecError, UsageError

FORMATS = ("table", "json", "markdown", "csv")


def _friendly(func):
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


def _need_torch(command: str) -> None:
    """Exit 2 with how to install PyTorch when it cannot be imported (verify, profile, import)."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # not installed, or a broken install (missing shared library, …)
        raise UsageError(f"cnnspec {command} needs PyTorch, which cannot be imported here: "
                         f"{type(exc).__name__}: {exc}",
                         hint="install it with: pip install torch  (or pip install 'cnnspec[torch]'); "
                              "analyze, check, sizes, build, diff and schema work without it") from None


def _concrete(graph, command: str) -> None:
    if not all(isinstance(d, int) for d in graph.input_shape):
        raise UsageError(f"{command} needs a concrete input size, not "
                         f"{'x'.join(map(str, graph.input_shape))}", hint="give --input, e.g. 3x224x224")


def _emit(text: str, output: str | None, inputs=()) -> None:
    """Print ``text``, or write it to ``output``: atomically, and never over one of the
    command's ``inputs`` (docs/commands.md, "Writing -o")."""
    if output:
        from cnnspec.util.outfile import refuse_inputs, write_text

        refuse_inputs(output, inputs)
        try:
            write_text(output, text)
        except OSError as exc:
            raise UsageError(f"-o {output}: cannot write it: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=False)


_spec_arg = click.argument("spec", type=click.Path(dir_okay=False))
_input_opt = click.option("--input", "input_shape", metavar="CxHxW",
                          help="Input shape per sample, e.g. 3x224x224, or 3xHxW for formulas.")
_set_opt = click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
                        help="Override a spec variable (repeatable).")
_batch_opt = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                          help="Batch size for MACs, FLOPs and memory.")
_dtype_opt = click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32",
                          show_default=True, help="Element type for memory figures.")
_output_opt = click.option("-o", "--output", type=click.Path(dir_okay=False),
                           help="Write to this file instead of standard output.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnspec")
def main() -> None:
    """Static, exact analysis of CNN architectures written as YAML specs."""


@main.command()
@_spec_arg
@_input_opt
@_batch_opt
@_dtype_opt
@_set_opt
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Table and Markdown: collapse blocks nested deeper than N into one row "
                   "(0 shows every layer; default: as deep as fits in 60 rows).")
@_output_opt
@_friendly
def analyze(spec, input_shape, batch, dtype, overrides, fmt, depth, output):
    """Per-layer shapes, parameters, MACs, receptive fields and memory of SPEC.

    Never imports torch."""
    from cnnspec.api import analyze as run
    from cnnspec.frontend.spec import load_spec, parse_overrides
    from cnnspec.reports import FORMATS as renderers

    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    result = run(graph, None, batch, dtype)
    text = renderers[fmt](result, depth) if fmt in ("table", "markdown") else renderers[fmt](result)
    _emit(text, output, [spec])


@main.command()
@_spec_arg
@_input_opt
@_set_opt
@click.option("--near", type=click.IntRange(min=1), metavar="N",
              help="Also give the valid and exact sizes nearest to N.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@_output_opt
@_friendly
def sizes(spec, input_shape, overrides, near, fmt, output):
    """Which input sizes SPEC accepts and which divide exactly at every layer.

    Each axis is varied with the other held at the spec's input size."""
    from cnnspec.frontend.spec import load_spec, parse_overrides
    from cnnspec.reports.sizes_report import render_sizes

    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    _emit(render_sizes(graph, near, fmt), output, [spec])


@main.command()
@_spec_arg
@_input_opt
@_set_opt
@click.option("--class-name", metavar="NAME", help="Name of the model class (default: from the spec's name).")
@_output_opt
@_friendly
def build(spec, input_shape, overrides, class_name, output):
    """Write SPEC as standalone PyTorch source: one class per block type, a top-level class
    that builds the spec as written with no arguments, and the same module names as the
    spec (so torchvision's weights load into the torchvision-mirroring specs).

    Never imports torch."""
    import hashlib
    from pathlib import Path

    from cnnspec.emit.emitter import emit
    from cnnspec.frontend.spec import load_spec, parse_overrides

    settings = parse_overrides(overrides)
    graph = load_spec(spec, settings, input_shape)
    _concrete(graph, "build")
    digest = hashlib.sha256(Path(spec).read_bytes()).hexdigest()[:16]
    note = f" from {Path(spec).name} (sha256 {digest})"
    if settings:
        note += " with " + ", ".join(f"{k}={v}" for k, v in settings.items())
    _emit(emit(graph, class_name, note), output, [spec])


@main.command()
@_spec_arg
@_input_opt
@_set_opt
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda", "meta"]), default="cpu", show_default=True,
              help="meta allocates nothing: shapes, parameters and FLOPs only.")
@click.option("--no-rf", is_flag=True, help="Skip the receptive-field measurement.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_output_opt
@_friendly
def verify(spec, input_shape, overrides, batch, device, no_rf, fmt, output):
    """Build SPEC in PyTorch, run it, and compare every predicted number with the measured one:
    shapes, parameters, buffers, FLOPs (FlopCounterMode), activation bytes, peak memory and
    receptive fields (from gradients). Exit 1 on any mismatch."""
    _need_torch("verify")
    from cnnspec.frontend.spec import load_spec, parse_overrides
    from cnnspec.torch.verify import render_json, render_text
    from cnnspec.torch.verify import verify as run

    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here", hint="use --device cpu")
    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    report = run(graph, None, batch, device, receptive_field=not no_rf)
    _emit(render_json(report) if fmt == "json" else render_text(report), output, [spec])
    if report.mismatches:
        sys.exit(1)


@main.command(name="profile")
@_spec_arg
@_input_opt
@_set_opt
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32",
              show_default=True)
@click.option("--warmup", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--iters", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--peak-tflops", type=click.FloatRange(min=0, min_open=True),
              help="Peak compute for the roofline (default: a table of GPUs, else measured).")
@click.option("--peak-gbps", type=click.FloatRange(min=0, min_open=True),
              help="Peak memory bandwidth for the roofline (default: as for --peak-tflops).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_output_opt
@_friendly
def profile_command(spec, input_shape, overrides, batch, device, dtype, warmup, iters, peak_tflops,
                    peak_gbps, fmt, output):
    """Per-layer latency (torch.profiler), achieved FLOP/s, bytes moved and a roofline bound
    per layer against the device's peak compute and bandwidth."""
    _need_torch("profile")
    from cnnspec.frontend.spec import load_spec, parse_overrides
    from cnnspec.torch.profile import device_peaks, profile_graph, render

    if not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        raise UsageError(f"--device {device!r}: profile runs on cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: no CUDA device is available here", hint="use --device cpu")
    graph = load_spec(spec, parse_overrides(overrides), input_shape)
    _concrete(graph, "profile")
    peaks = device_peaks(device, dtype, peak_tflops, peak_gbps)
    with click.progressbar(length=iters, label="profiling", file=sys.stderr) as bar:
        layers = profile_graph(graph, batch, device, dtype, warmup, iters, progress=bar.update)
    _emit(render(graph, layers, peaks, fmt, batch, device, dtype), output, [spec])


@main.command(name="import")
@click.argument("target", metavar="MODULE:FACTORY")
@click.option("--input", "input_shape", metavar="CxHxW", required=True,
              help="Input shape per sample, e.g. 3x224x224.")
@click.option("--name", "spec_name", default=None, help="The spec's name (default: the factory's).")
@_output_opt
@_friendly
def import_command(target, input_shape, spec_name, output):
    """Trace MODULE:FACTORY (a function returning an nn.Module, e.g.
    torchvision.models:resnet18) with torch.fx and write its spec. Imports that module."""
    _need_torch("import")
    from cnnspec.frontend.spec import parse_input_shape
    from cnnspec.torch.importer import import_model, load_factory

    shape = parse_input_shape(input_shape)
    if not all(isinstance(d, int) for d in shape):
        raise UsageError("import needs a concrete --input, e.g. 3x224x224")
    model = load_factory(target)
    name = spec_name or target.rpartition(":")[2].rpartition(".")[2]
    imported = import_model(model, shape, name)
    text = imported.text
    from cnnspec.api import analyze as run
    from cnnspec.frontend.spec import parse_spec

    run(parse_spec(text, file=f"<import {target}>"))  # what we write must load and analyse
    module = sys.modules.get(target.partition(":")[0])
    _emit(text, output, [getattr(module, "__file__", None)])
    if imported.note():  # never silently: also in the spec's header comment
        click.echo(f"note: {imported.note()}", err=True)


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="BEFORE [AFTER]",
                type=click.Path(dir_okay=False))
@click.option("--rev", metavar="REV|REV1..REV2",
              help="Compare the one SPEC given at git revision REV with the file on disk, or at REV1 "
                   "with REV2.")
@_input_opt
@_batch_opt
@_dtype_opt
@_set_opt
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Also list the layers that did not change.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (like git diff --exit-code).")
@_output_opt
@_friendly
def diff(specs, rev, input_shape, batch, dtype, overrides, fmt, show_all, exit_code, output):
    """Per-layer changes between two versions of a spec: BEFORE vs AFTER, or with --rev one
    SPEC as committed vs on disk (or at two revisions). Nodes are matched by name; --set,
    --input, --batch and --dtype apply to both sides. Never imports torch."""
    from cnnspec.frontend.spec import parse_overrides
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
    _emit(renderers[fmt](result, show_all), output, specs)
    if exit_code and result.differs:
        sys.exit(1)


@main.command()
@_output_opt
@_friendly
def schema(output):
    """Print the JSON Schema of the spec format."""
    from cnnspec.reports.schema import spec_schema

    _emit(json.dumps(spec_schema(), indent=2) + "\n", output)


from cnnspec.cli.check import check  # noqa: E402  (the command lives in its own module)

main.add_command(check)

