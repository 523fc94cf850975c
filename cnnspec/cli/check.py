"""``cnnspec check``: the pitfall linter and budget gate (registered on the main CLI group)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

FORMATS = ("text", "json", "sarif", "github")
SPEC_SUFFIXES = (".yaml", ".yml")


def _csv(values) -> list[str] | None:
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return items or None


def _spec_files(paths) -> list[Path]:
    """Files as given; directories searched for *.yaml / *.yml, sorted. A path that does not
    exist is kept (checking it reports the error, and the other specs are still checked)."""
    files = []
    here = Path.cwd()
    for raw in paths:
        path = Path(raw)
        if path.is_absolute() and path.is_relative_to(here):
            path = path.relative_to(here)  # messages name files as the user would
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            files.extend(found)
        else:
            files.append(path)
    return files


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
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default=None,
              help="Element type for the memory budget [default: float32].")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="Check at this input shape instead of the spec's.")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable).")
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
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
def check(specs, select, ignore, max_params, max_macs, max_memory, batch, dtype, input_shape, overrides,
          fail_on, fmt, config, isolated, no_fix, skip_non_specs, output):
    """Lint SPECS (files or directories) for CNN design pitfalls and check budgets.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a spec or the
    command line is in error. Rules and their settings: docs/rules.md. Never imports torch."""
    from cnnspec.cli.main import _emit, _friendly

    @_friendly
    def run():
        from cnnspec.errors import UsageError
        from cnnspec.frontend.spec import parse_overrides
        from cnnspec.lint import check_file, project_for
        from cnnspec.lint.config import ConfigError, settings_from_mapping
        from cnnspec.lint.output import render_github, render_json, render_text
        from cnnspec.lint.sarif import render_sarif

        raw = {"select": _csv(select), "ignore": _csv(ignore), "max_params": max_params,
               "max_macs": max_macs, "max_memory": max_memory, "batch": batch, "dtype": dtype,
               "fail_on": fail_on}
        try:
            command_line = settings_from_mapping({k: v for k, v in raw.items() if v is not None})
        except ConfigError as exc:
            option = "--" + exc.key.replace("_", "-")
            raise UsageError(f"{option}: {exc.message}", hint=exc.hint) from None
        config_path = Path(config) if config else None
        paths = list(specs)
        if not paths:
            project = project_for(Path.cwd() / "pyproject.toml", config_path) if not isolated else None
            paths = project.paths if project is not None else []
            if not paths:
                raise UsageError("no specs given", hint="name spec files or directories, or set paths in "
                                 "[tool.cnnspec] of pyproject.toml")
        settings = parse_overrides(overrides)
        files = list(dict.fromkeys(_spec_files(paths)))  # each file once
        many = len(files) > 1  # --set applies to the specs that have the variable
        reports = [check_file(path, command_line, settings or None, input_shape, config_path,
                              not isolated, skip_non_specs, lenient_overrides=many)
                   for path in files]
        if not reports:
            raise UsageError("no spec files found", hint="spec files end in .yaml or .yml")
        unused = set(settings) - set().union(*(r.overrides_used for r in reports))
        if many and unused and not all(r.error for r in reports):
            raise UsageError(f"--set {', '.join(sorted(unused))}: no spec checked has such a variable")
        level = command_line.fail_on or "warning"  # the run's default; each spec may set its own
        renderers = {"text": lambda: render_text(reports, level, not no_fix),
                     "json": lambda: render_json(reports, level),
                     "sarif": lambda: render_sarif(reports, level),
                     "github": lambda: render_github(reports, level)}
        inputs = [*files, config_path]
        if not isolated and config_path is None:  # any pyproject.toml a spec may have been read with
            folders = {folder for f in files for folder in (f.resolve().parent, *f.resolve().parents)}
            inputs += [p for p in (folder / "pyproject.toml" for folder in folders) if p.is_file()]
        _emit(renderers[fmt](), output, inputs)
        if any(r.error is not None for r in reports):
            sys.exit(2)
        if any(r.failed((r.settings and r.settings.fail_on) or level) for r in reports):
            sys.exit(1)

    run()
