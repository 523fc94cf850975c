"""A check run over many specs, as ``cnnspec check`` makes one: the spec files under the paths
given, each checked with the project's settings and the command line's, the files the run
read, and its exit status."""

from __future__ import annotations

from pathlib import Path

from cnnspec.errors import UsageError
from cnnspec.lint import CheckReport, LintSettings, check_file, project_for

__all__ = ["SPEC_SUFFIXES", "check_paths", "default_paths", "exit_status", "files_read", "spec_files"]

SPEC_SUFFIXES = (".yaml", ".yml")


def spec_files(paths) -> list[Path]:
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


def default_paths(config: Path | None, isolated: bool) -> list:
    """Where to look when no spec is named: the ``paths`` of the [tool.cnnspec] table that
    applies in the current directory (none with ``isolated``)."""
    project = project_for(Path.cwd() / "pyproject.toml", config) if not isolated else None
    return project.paths if project is not None else []


def check_paths(paths, command_line: LintSettings | None, *, overrides: dict, input_shape,
                config: Path | None, isolated: bool,
                skip_non_specs: bool) -> tuple[list[Path], list[CheckReport]]:
    """The spec files under ``paths`` (each once) and their reports. Over many specs the
    ``overrides`` (--set) apply to those that have the variable, and each must be used by
    one of them."""
    files = list(dict.fromkeys(spec_files(paths)))  # each file once
    many = len(files) > 1  # --set applies to the specs that have the variable
    reports = [check_file(path, command_line, overrides or None, input_shape, config, not isolated,
                          skip_non_specs=skip_non_specs, lenient_overrides=many)
               for path in files]
    if not reports:
        raise UsageError("no spec files found", hint="spec files end in .yaml or .yml")
    unused = set(overrides) - set().union(*(r.overrides_used for r in reports))
    if many and unused and not all(r.error for r in reports):
        raise UsageError(f"--set {', '.join(sorted(unused))}: no spec checked has such a variable")
    return files, reports


def files_read(files, config: Path | None, isolated: bool) -> list:
    """The files a run over ``files`` may have read: the specs, ``config``, and without it any
    pyproject.toml a spec may have been read with (none with ``isolated``)."""
    inputs = [*files, config]
    if not isolated and config is None:
        folders = {folder for f in files for folder in (f.resolve().parent, *f.resolve().parents)}
        inputs += [p for p in (folder / "pyproject.toml" for folder in folders) if p.is_file()]
    return inputs


def exit_status(reports: list[CheckReport], fail_on: str) -> int:
    """2 when a spec could not be checked, 1 when a finding reaches its spec's fail_on (else
    the run's ``fail_on``), 0 otherwise."""
    if any(r.error is not None for r in reports):
        return 2
    if any(r.failed(r.fail_level(fail_on)) for r in reports):
        return 1
    return 0
