"""The pytest plugin (``pytest --cnnspec``), run in pytester's throw-away projects.

The plugin is loaded through its ``pytest11`` entry point, as in a user's project."""

from __future__ import annotations

import pytest

# PyYAML is imported before pytester's first in-process run, which would otherwise drop it from
# sys.modules afterwards: re-imported, its Python classes no longer match those its C extension
# (loaded once per process) builds, and every later run of this module reads no spec.
import yaml  # noqa: F401

from .conftest import SPECS
from .sample_specs import CLEAN, FAT

pytest_plugins = ["pytester"]

A_TEST = "def test_something():\n    assert True\n"


@pytest.fixture
def project(pytester):
    """specs/clean.yaml, specs/fat.yaml and tests/test_a.py; tests are in testpaths."""
    pytester.makefile(".yaml", **{"specs/clean": CLEAN, "specs/fat": FAT})
    pytester.makepyfile(**{"tests/test_a": A_TEST})
    return pytester


def pyproject(pytester, cnnspec: str = 'paths = ["specs"]', pytest_ini: str = 'testpaths = ["tests"]'):
    pytester.makepyprojecttoml(f"[tool.pytest.ini_options]\n{pytest_ini}\n\n[tool.cnnspec]\n{cnnspec}\n")


def test_a_clean_spec_passes_and_a_failing_one_shows_its_findings(project):
    pyproject(project)
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*cnnspec check specs/fat.yaml*",           # the failure's title: the spec
        "specs/fat.yaml:10:5: CNN101 fully-connected layers hold *",
        "  fix: global average pooling before it*",
        "FAILED specs/fat.yaml::cnnspec - *",
    ])
    assert "clean.yaml:" not in result.stdout.str()


def test_a_shipped_spec_with_warnings_fails_with_each_finding(pytester):
    """specs/vgg16.yaml: every finding ``cnnspec check`` reports is in the failure text."""
    from cnnspec.lint import check_file

    pytester.makefile(".yaml", **{"specs/vgg16": (SPECS / "vgg16.yaml").read_text()})
    pytester.makefile(".yaml", **{"specs/resnet18": (SPECS / "resnet18.yaml").read_text()})
    result = pytester.runpytest("--cnnspec", "--cnnspec-path", "specs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    expected = check_file(SPECS / "vgg16.yaml", use_project=False).diagnostics
    assert "CNN101" in {d.code for d in expected}
    out = result.stdout.str()
    for d in expected:
        assert f"specs/vgg16.yaml:{d.line}:{d.column}: {d.code}" in out


def test_items_are_named_by_the_spec_and_point_at_it(project):
    pyproject(project)
    items, _ = project.inline_genitems("--cnnspec")
    specs = {item.nodeid: item for item in items if item.nodeid.startswith("specs/")}
    assert sorted(specs) == ["specs/clean.yaml::cnnspec", "specs/fat.yaml::cnnspec"]
    path, line, domain = specs["specs/fat.yaml::cnnspec"].reportinfo()
    assert path == project.path / "specs" / "fat.yaml"
    assert line is None
    assert domain == "cnnspec check specs/fat.yaml"


def test_budget_options(project):
    pyproject(project)
    result = project.runpytest("--cnnspec", "--cnnspec-max-params", "1k", "--cnnspec-max-macs", "1M",
                               "--cnnspec-max-memory", "1GiB", "-p", "no:cacheprovider", "-k", "clean")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["specs/clean.yaml:*: CNN901 [[]error[]] the parameters * exceed the "
                                 "budget of 1 k (1,000)*",
                                 "specs/clean.yaml:*: CNN902 [[]error[]] the MACs *"])
    assert "CNN903" not in result.stdout.str()  # 1 GiB is plenty


def test_a_bad_budget_is_a_usage_error(project):
    pyproject(project)
    result = project.runpytest("--cnnspec", "--cnnspec-max-params", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cnnspec-max-params: cannot read max-params 'lots'*"])


def test_budgets_from_pyproject(project):
    pyproject(project, 'paths = ["specs"]\nmax_params = "1k"')
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-k", "clean")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["specs/clean.yaml:*: CNN901 *"])


def test_fail_on_from_pyproject(project):
    """fail_on = "error": warnings are reported with -rP but do not fail."""
    pyproject(project, 'paths = ["specs"]\nfail_on = "error"')
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-rP")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*Captured cnnspec call*", "specs/fat.yaml:10:5: CNN101 *"])


def test_paths_from_the_ini_option(project):
    project.makeini("[pytest]\ntestpaths = tests\ncnnspec_paths =\n    specs/clean.yaml\n")
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["specs/clean.yaml::cnnspec PASSED*"])


def test_paths_from_the_ini_option_in_pyproject_beat_tool_cnnspec(project):
    pyproject(project, 'paths = ["specs"]', 'testpaths = ["tests"]\ncnnspec_paths = ["specs/clean.yaml"]')
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_command_line_beats_the_ini_option(project):
    project.makeini("[pytest]\ntestpaths = tests\ncnnspec_paths = specs/clean.yaml\n")
    result = project.runpytest("--cnnspec", "--cnnspec-path", "specs/fat.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED specs/fat.yaml::cnnspec*"])


def test_paths_from_tool_cnnspec_in_pyproject(project):
    pyproject(project)
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-v")
    result.stdout.fnmatch_lines(["*cnnspec: checking specs under *specs (from [[]tool.cnnspec[]] paths in *",
                                 "tests/test_a.py::test_something PASSED*"])
    result.assert_outcomes(passed=2, failed=1)


def test_without_configuration_specs_in_the_rootdir_are_checked(project):
    """No --cnnspec-path, ini option or [tool.cnnspec]: specs/ under the rootdir, besides the
    tests pytest finds on its own."""
    project.makeini("[pytest]\ntestpaths = tests\n")
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["cnnspec: checking specs under specs (from the default, specs/ in the "
                                 "rootdir)",
                                 "tests/test_a.py::test_something PASSED*",
                                 "specs/clean.yaml::cnnspec PASSED*",
                                 "specs/fat.yaml::cnnspec FAILED*",
                                 "specs/fat.yaml:10:5: CNN101 *"])
    assert "PytestConfigWarning" not in result.stdout.str()


def test_without_configuration_or_ini_file_specs_in_the_current_directory_are_checked(project):
    """Not even an ini file: the rootdir is the current directory, whose specs/ is checked and
    whose tests are run as pytest's walk finds them."""
    result = project.runpytest("--cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)


def test_without_configuration_the_paths_given_are_checked(project):
    """Positional arguments name the specs when nothing is configured, wherever they are."""
    project.makefile(".yaml", **{"models/net": CLEAN, "models/big": FAT})
    result = project.runpytest("--cnnspec", "models/net.yaml", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["cnnspec: checking specs under models/net.yaml (from the command line)",
                                 "models/net.yaml::cnnspec PASSED*"])
    result = project.runpytest("--cnnspec", "models", "specs/clean.yaml", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED models/big.yaml::cnnspec*"])
    result = project.runpytest("--cnnspec", "models/big.yaml::cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result = project.runpytest("--cnnspec", "tests", "-p", "no:cacheprovider")   # no YAML there
    result.assert_outcomes(passed=1)


def test_configured_paths_are_not_replaced_by_the_arguments(project):
    """With [tool.cnnspec] paths, a positional YAML file outside them is not a spec: pytest
    finds nothing to collect in it."""
    project.makefile(".yaml", **{"models/net": CLEAN})
    pyproject(project)
    result = project.runpytest("--cnnspec", "models/net.yaml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: not found: *models/net.yaml"])


def test_no_paths_and_no_specs_directory_is_a_warning_and_nothing_is_checked(pytester):
    pytester.makepyfile(**{"tests/test_a": A_TEST})
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    result = pytester.runpytest("--cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PytestConfigWarning: pytest --cnnspec: no spec paths configured and no "
                                 "specs/ directory in the rootdir*"])


def test_collecting_the_spec_directory_directly(project):
    pyproject(project)
    result = project.runpytest("--cnnspec", "specs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)       # positional arguments select: no tests/
    result = project.runpytest("--cnnspec", "specs/clean.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result = project.runpytest("--cnnspec", "specs/fat.yaml::cnnspec", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result = project.runpytest("--cnnspec", "tests", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_from_inside_the_spec_directory(project):
    pyproject(project)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project.path / "specs")
        result = project.runpytest("--cnnspec", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["fat.yaml:10:5: CNN101 *"])


def test_no_spec_is_collected_twice(project):
    """Spec paths nested in each other and inside the walked directory; only .yaml/.yml under
    them are specs (other YAML is left alone)."""
    project.makefile(".yml", **{"specs/sub/other": CLEAN})
    project.makefile(".yaml", **{"config/settings": "a: 1\n"})
    pyproject(project, 'paths = ["specs", "specs/sub", "specs/clean.yaml"]', "")
    items, _ = project.inline_genitems("--cnnspec")
    ids = [item.nodeid for item in items]
    assert sorted(ids) == ["specs/clean.yaml::cnnspec", "specs/fat.yaml::cnnspec",
                           "specs/sub/other.yml::cnnspec", "tests/test_a.py::test_something"]


def test_a_yaml_file_that_is_not_a_spec_fails_with_the_error(project):
    project.makefile(".yaml", **{"specs/workflow": "name: CI\njobs: {}\n"})
    pyproject(project)
    result = project.runpytest("--cnnspec", "specs/workflow.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["specs/workflow.yaml:1:1: error: this is not a cnnspec spec: *",
                                 "  hint: *"])


def test_without_the_flag_the_plugin_does_nothing(project):
    """No spec items, no report header, and neither the lint package nor torch imported.
    (Importing the plugin imports the cnnspec package, whose __init__ imports nothing more.)"""
    pyproject(project)
    project.makepyfile(**{"tests/test_b": (
        "import sys\n\n"
        "def test_nothing_imported():\n"
        "    assert 'cnnspec.lint' not in sys.modules\n"
        "    assert 'torch' not in sys.modules\n")})
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    assert "specs/" not in result.stdout.str()
    assert "cnnspec: checking" not in result.stdout.str()
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "specs")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
