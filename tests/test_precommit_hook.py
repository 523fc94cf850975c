"""The pre-commit hook manifest (.pre-commit-hooks.yaml) and the example config that uses it:
valid YAML with the keys pre-commit expects. pre-commit itself is not run (no network)."""

from __future__ import annotations

import re

import click
import pytest
import yaml
from click.testing import CliRunner

from cnnspec.cli_check import check

from .conftest import ROOT

# pre-commit's manifest schema (pre-commit/clientlib.py, MANIFEST_HOOK_DICT).
REQUIRED = {"id", "name", "entry", "language"}
KNOWN = REQUIRED | {"alias", "files", "exclude", "types", "types_or", "exclude_types",
                    "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames",
                    "description", "language_version", "log_file", "minimum_pre_commit_version",
                    "require_serial", "stages", "verbose"}


@pytest.fixture(scope="module")
def hook() -> dict:
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(manifest, list) and len(manifest) == 1
    return manifest[0]


def test_the_manifest_has_the_keys_pre_commit_expects(hook):
    assert REQUIRED <= set(hook) <= KNOWN
    assert hook["id"] == "cnnspec-check"
    assert hook["entry"] == "cnnspec check --skip-non-specs"
    assert hook["language"] == "python"
    assert hook["files"] == r"\.(yaml|yml)$"
    assert hook["pass_filenames"] is True


def test_the_entry_is_the_console_script_and_its_command():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cnnspec"] == "cnnspec.cli:main"
    assert isinstance(check, click.Command) and check.name == "check"


@pytest.mark.parametrize(("path", "matched"), [
    ("specs/vgg16.yaml", True), ("models/net.yml", True), ("setup.py", False),
    ("specs/vgg16.yaml.bak", False), ("README.md", False)])
def test_the_files_pattern(hook, path, matched):
    assert bool(re.search(hook["files"], path)) is matched


def test_a_yaml_file_that_is_not_a_spec_fails_the_check_unless_skipped(tmp_path):
    """pre-commit passes every staged YAML file (its own config, workflows) to the hook, whose
    entry therefore passes over documents that are not specs; a plain check reports them."""
    workflow = tmp_path / "ci.yml"
    workflow.write_text("name: CI\non: [push]\njobs: {}\n")
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 8, 8]\nnormalize: {mean: 0.5, std: 0.5}\nlint: {ignore: [CNN108]}\nlayers:\n"
                    "  - conv2d: {out: 8, kernel: 3, padding: 1, bias: false}\n  - batchnorm2d\n")
    result = CliRunner().invoke(check, [str(workflow), "--isolated"])
    assert result.exit_code == 2
    assert "error: this is not a cnnspec spec" in result.output
    result = CliRunner().invoke(check, ["--skip-non-specs", str(workflow), str(spec), "--isolated"])
    assert result.exit_code == 0, result.output
    assert "1 YAML file skipped: not a spec." in result.output
    broken = tmp_path / "broken.yaml"  # a spec with an error is still an error
    broken.write_text("input: [3, 8, 8]\nlayers: []\n")
    assert CliRunner().invoke(check, ["--skip-non-specs", str(broken), "--isolated"]).exit_code == 2


def test_the_example_config_uses_the_hook_narrowed_to_specs(hook):
    config = yaml.safe_load((ROOT / "examples" / "pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert {"repo", "rev", "hooks"} <= set(repo)
    (used,) = repo["hooks"]
    assert used["id"] == hook["id"]
    assert set(used) <= KNOWN
    assert re.search(used["files"], "specs/resnet18.yaml")
    assert re.search(used["files"], "specs/sub/net.yml")
    assert not re.search(used["files"], ".github/workflows/cnnspec.yml")
    assert not re.search(used["files"], "docker-compose.yaml")
    # the example's args are options of cnnspec check
    check.make_context("check", [*used["args"], "specs/resnet18.yaml"])
