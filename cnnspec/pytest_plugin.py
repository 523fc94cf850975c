"""``pytest --cnnspec``: every spec file becomes a test that runs ``cnnspec check`` on it.

Registered through the ``pytest11`` entry point, so installing cnnspec is enough. Without
``--cnnspec`` the plugin only adds its options: it registers no collection hook and imports
nothing of cnnspec's (this module imports only pytest and the standard library; the lint
package is imported when ``--cnnspec`` is given).

Where the specs are, first found wins:

1. ``--cnnspec-path PATH`` (repeatable), relative to the current directory;
2. the ini option ``cnnspec_paths`` (a line list), relative to the ini file's directory;
3. ``paths`` in ``[tool.cnnspec]`` of the rootdir's pyproject.toml, relative to that file;
4. with none of these configured: the paths given as pytest's positional arguments (``pytest
   --cnnspec models/net.yaml``), and without positional arguments ``specs/`` in the rootdir.
   Only when that does not exist either does a warning say how to configure the paths.

Collection: a ``pytest_collect_file`` hook turns each ``.yaml`` / ``.yml`` file *under the
spec paths* into one item (``specs/vgg16.yaml::cnnspec``), and other YAML files are left
alone. pytest's positional arguments select what is collected, as always: ``pytest --cnnspec
specs/`` or ``pytest --cnnspec specs/vgg16.yaml`` check just those. With no positional
arguments (pytest walks ``testpaths`` or the current directory), the spec paths that walk
would not reach are appended to pytest's arguments, so ``pytest --cnnspec`` in a project whose
tests live in ``tests/`` checks ``specs/`` as well. Because every spec is reached by pytest's
own walk and made an item by one hook, no spec is collected twice (a spec path inside
another, or inside ``testpaths``, is not appended again), and ``-k``, node ids, ``--lf`` and
``--deselect`` work as for any test.

An item fails when the spec has an error or a finding reaches ``fail_on`` (the project's
setting, else ``warning``); the failure text is the findings in ``cnnspec check``'s text
format. Budgets: ``--cnnspec-max-params``, ``--cnnspec-max-macs``, ``--cnnspec-max-memory``
(units as in ``cnnspec check``: 25M, 4G, 2GiB) override the project's and the spec's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_BUDGET_OPTIONS = (("max_params", "N", "at most N parameters, e.g. 25M"),
                   ("max_macs", "N", "at most N MACs (per batch), e.g. 4G"),
                   ("max_memory", "BYTES", "at most BYTES of parameters + peak activations, e.g. 2GiB"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnnspec", "CNN architecture specs (cnnspec check)")
    group.addoption("--cnnspec", action="store_true", default=False,
                    help="Check every cnnspec spec under the spec paths (one test per spec).")
    group.addoption("--cnnspec-path", action="append", default=[], metavar="PATH", dest="cnnspec_path",
                    help="A spec file or directory to check (repeatable; replaces the ini option "
                         "cnnspec_paths and [tool.cnnspec] paths).")
    for key, metavar, text in _BUDGET_OPTIONS:
        group.addoption("--cnnspec-" + key.replace("_", "-"), metavar=metavar, default=None,
                        dest="cnnspec_" + key, help=f"Budget for --cnnspec: {text}.")
    parser.addini("cnnspec_paths", type="linelist", default=[],
                  help="Spec files or directories for pytest --cnnspec (relative to the ini file).")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("cnnspec", False):
        return
    paths, source = _spec_paths(config)
    plugin = CnnspecPlugin(config, paths, source, _budgets(config))
    config.pluginmanager.register(plugin, "cnnspec-checker")
    if not paths:
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            "pytest --cnnspec: no spec paths configured and no specs/ directory in the rootdir "
            f"{config.rootpath}, so no spec is checked. Give spec files or directories as arguments "
            "or with --cnnspec-path PATH, set cnnspec_paths in the pytest ini options, or paths in "
            "[tool.cnnspec] of pyproject.toml."), stacklevel=2)
        return
    missing = [p for p in paths if not p.exists()] if source != "the command line" else []
    for path in missing:
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"pytest --cnnspec: spec path {path} (from {source}) does not exist"), stacklevel=2)
    plugin.extend_args()


def _spec_paths(config: pytest.Config) -> tuple[list[Path], str]:
    """The configured spec paths, absolute, and where they came from."""
    given = config.getoption("cnnspec_path")
    if given:
        base = Path(config.invocation_params.dir)
        return [(base / p).resolve() for p in given], "--cnnspec-path"
    ini = config.getini("cnnspec_paths")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return [(base / p).resolve() for p in ini], "the ini option cnnspec_paths"
    pyproject = Path(config.rootpath) / "pyproject.toml"
    if pyproject.is_file():
        from cnnspec.errors import CnnspecError
        from cnnspec.lint.config import find_pyproject, project_settings

        try:
            if find_pyproject(pyproject.parent) == pyproject:  # it has a [tool.cnnspec] table
                settings = project_settings(pyproject)
                if settings.paths:
                    return [Path(p).resolve() for p in settings.paths], f"[tool.cnnspec] paths in {pyproject}"
        except CnnspecError as exc:
            raise pytest.UsageError(f"pytest --cnnspec: {exc.render()}") from None
    given = _positional_paths(config)
    if given:
        return given, "the command line"
    default = Path(config.rootpath) / "specs"
    if default.is_dir():
        return [default.resolve()], "the default, specs/ in the rootdir"
    return [], "nowhere"


def _positional_paths(config: pytest.Config) -> list[Path]:
    """The files and directories named by pytest's positional arguments (node ids without their
    ``::`` part), absolute; none when pytest took its arguments from testpaths or the current
    directory, or cannot say (pytest < 7.2)."""
    source = getattr(config, "args_source", None)
    if source is None or source.name != "ARGS":
        return []
    base = Path(config.invocation_params.dir)
    return [(base / str(arg).split("::")[0]).resolve() for arg in config.args]


def _budgets(config: pytest.Config):
    """The --cnnspec-max-* options as the command line's lint settings (None if none given)."""
    raw = {key: config.getoption("cnnspec_" + key) for key, _, _ in _BUDGET_OPTIONS}
    raw = {k: v for k, v in raw.items() if v is not None}
    if not raw:
        return None
    from cnnspec.lint.config import ConfigError, settings_from_mapping

    try:
        return settings_from_mapping(raw)
    except ConfigError as exc:
        raise pytest.UsageError(f"--cnnspec-{exc.key.replace('_', '-')}: {exc.message}") from None


def _shown(path: Path) -> Path:
    """The path relative to the current directory when it is below it (as ``cnnspec check``
    prints what it is given), else absolute."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _under(path: Path, roots) -> bool:
    return any(path == root or root in path.parents for root in roots)


class CnnspecPlugin:
    """The hooks active under ``--cnnspec`` (registered by :func:`pytest_configure`)."""

    def __init__(self, config: pytest.Config, paths: list[Path], source: str, command_line):
        self.config = config
        self.paths = paths
        self.source = source
        self.command_line = command_line

    def extend_args(self) -> None:
        """Without positional arguments, make pytest's walk reach the spec paths too."""
        config = self.config
        base = Path(config.invocation_params.dir)
        source = getattr(config, "args_source", None)  # pytest >= 7.2
        if source is not None and source.name == "ARGS":
            return
        if source is None and any(not str(a).startswith("-") for a in config.invocation_params.args):
            return  # older pytest: positional arguments given (or an option's value; be safe)
        covered = [(base / a).resolve() for a in config.args]
        for path in sorted(p for p in self.paths if p.exists()):
            if not _under(path, covered):
                config.args.append(str(path))
                covered.append(path)

    def pytest_report_header(self, config: pytest.Config) -> str:
        root = Path(config.rootpath)
        shown = ", ".join(str(p.relative_to(root)) if root in p.parents else str(p) for p in self.paths)
        return f"cnnspec: checking specs under {shown or 'no path'} (from {self.source})"

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector):
        if file_path.suffix in (".yaml", ".yml") and _under(file_path.resolve(), self.paths):
            return SpecFile.from_parent(parent, path=file_path)
        return None


class SpecFile(pytest.File):
    """A spec file: one item, ``<path>::cnnspec``."""

    def collect(self):
        yield SpecItem.from_parent(self, name="cnnspec")


class CnnspecCheckFailed(Exception):
    """The spec has findings at or above fail_on, or an error; args[0] is the report text."""


class SpecItem(pytest.Item):
    """Runs ``cnnspec check`` on one spec file."""

    def runtest(self) -> None:
        from cnnspec.errors import CnnspecError
        from cnnspec.lint import check_file
        from cnnspec.lint.output import render_text

        plugin = self.config.pluginmanager.get_plugin("cnnspec-checker")
        try:
            report = check_file(_shown(self.path), plugin.command_line)
        except CnnspecError as exc:  # e.g. a bad [tool.cnnspec] table above the spec
            raise CnnspecCheckFailed(exc.render()) from None
        fail_on = report.fail_level()
        text = render_text([report], fail_on)
        if report.error is not None or report.failed(fail_on):
            raise CnnspecCheckFailed(text)
        if report.diagnostics or report.suppressed:
            self.add_report_section("call", "cnnspec", text)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CnnspecCheckFailed):
            return str(excinfo.value.args[0]).rstrip("\n")
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"cnnspec check {self.nodeid.split('::')[0]}"
