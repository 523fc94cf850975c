"""``cnnspec check``: the pitfall linter and budget gate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cnnspec.cli.common import DTYPE_CHOICE, error_boundary, output_opt, set_opt, write_output
from cnnspec.cli.terminal import colour, painter
from cnnspec.errors import UsageError

FORMATS = ("text", "json", "sarif", "github")


def _csv(values) -> list[str] | None:
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return items or None


@click.command()
@click.argument("specs", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="RULES",
              help="Rules to run: codes, prefixes or names, comma-separated (default: all).")
@click.option("--ignore", multiple=True, metavar="RULES", help="Rules not to run (comma-separated).")
@click.option("--max-params", metavar="N", help="Budget: at most N parameters, e.g. 25M.")
@click.option("--max-macs", metavar="N", help="Budget: at most N MACs (per batch), e.g. 4G.")
@click.option("--max-memory", metavar="BYTES",
              help="Budget: parameter + peak activation bytes at the batch and dtype, e.g. 2GiB.")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Batch for the budgets [default: 1].")
@click.option("--dtype", type=DTYPE_CHOICE, default=None,
              help="Element type for the memory budget [default: float32].")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="Check at this input shape instead of the spec's.")
@set_opt
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default=None,
              help="Least severity that makes the exit status 1 [default: warning].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="A pyproject.toml to read [tool.cnnspec] from (default: the nearest one above each spec).")
@click.option("--isolated", is_flag=True, help="Ignore every pyproject.toml.")
@click.option("--no-fix", is_flag=True, help="Text: leave out the fix lines.")
@click.option("--skip-non-specs", is_flag=True,
              help="Pass over YAML files that are not specs (no 'input' and no 'layers'), as the "
                   "pre-commit hook does.")
@output_opt
@error_boundary
def check(*, specs, select, ignore, max_params, max_macs,  # noqa: PLR0913  (click passes one argument per option)
          max_memory, batch, dtype, input_shape, overrides, fail_on, fmt, config, isolated, no_fix,
          skip_non_specs, output):
    """Lint SPECS (files or directories) for CNN design pitfalls and check budgets.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a spec or the
    command line is in error. The rules: cnnspec rules; one explained: cnnspec rule CODE
    (docs/rules.md). Never imports torch."""
    from cnnspec.api import parse_overrides
    from cnnspec.lint.runner import check_paths, default_paths, exit_status, files_read

    command_line = _command_line(select, ignore, max_params=max_params, max_macs=max_macs,
                                 max_memory=max_memory, batch=batch, dtype=dtype, fail_on=fail_on)
    config_path = Path(config) if config else None
    paths = list(specs) or default_paths(config_path, isolated)
    if not paths:
        raise UsageError("no specs given", hint="name spec files or directories, or set paths in "
                         "[tool.cnnspec] of pyproject.toml")
    files, reports = check_paths(paths, command_line, overrides=parse_overrides(overrides),
                                 input_shape=input_shape, config=config_path, isolated=isolated,
                                 skip_non_specs=skip_non_specs)
    level = command_line.fail_on or "warning"  # the run's default; each spec may set its own
    text = _render(fmt, reports, level, not no_fix, painter(output))
    write_output(text, output, files_read(files, config_path, isolated), colour=colour(output))
    status = exit_status(reports, level)
    if status:
        sys.exit(status)


def _command_line(select, ignore, **options):
    """The lint settings the options give (those given), read as pyproject.toml's are; an
    error names the option."""
    from cnnspec.lint.config import ConfigError, settings_from_mapping

    raw = {"select": _csv(select), "ignore": _csv(ignore), **options}
    try:
        return settings_from_mapping({k: v for k, v in raw.items() if v is not None})
    except ConfigError as exc:
        option = "--" + exc.key.replace("_", "-")
        raise UsageError(f"{option}: {exc.message}", hint=exc.hint) from None


def _render(fmt: str, reports, level: str, show_fixes: bool, paint) -> str:
    from cnnspec.lint.output import render_github, render_json, render_text
    from cnnspec.lint.sarif import render_sarif

    renderers = {"text": lambda: render_text(reports, level, show_fixes, paint),
                 "json": lambda: render_json(reports, level),
                 "sarif": lambda: render_sarif(reports, level),
                 "github": lambda: render_github(reports, level)}
    return renderers[fmt]()
