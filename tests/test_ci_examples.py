"""The CI examples: the GitHub Actions workflow and the pyproject.toml with a [tool.cnnspec]
table parse, and what they run or set is accepted by cnnspec."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from cnnspec.cli_check import check
from cnnspec.lint.config import PROJECT_KEYS, project_settings

from .conftest import ROOT

EXAMPLES = ROOT / "examples"


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text())


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load((EXAMPLES / "github-actions" / "cnnspec.yml").read_text())


def _runs(workflow) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def _commands(workflow, sub: str) -> list[list[str]]:
    """Each `cnnspec SUB ...` command line in the workflow's run scripts (shell quoting removed)."""
    found = []
    for script in _runs(workflow):
        for line in script.splitlines():
            words = shlex.split(line.split("#")[0].replace(">>", " >> ").strip() or "true")
            if words[:2] == ["cnnspec", sub]:
                found.append(words[2:words.index(">>")] if ">>" in words else words[2:])
    return found


def test_the_workflow_parses(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    assert {"lint", "sarif", "diff"} <= set(workflow["jobs"])
    for job in workflow["jobs"].values():
        assert job["runs-on"] and job["steps"]
        assert any(step.get("uses", "").startswith("actions/checkout@") for step in job["steps"])


def test_the_workflow_installs_cnnspec_without_torch(workflow):
    installs = [line for script in _runs(workflow) for line in script.splitlines() if "pip install" in line]
    assert installs and all("torch" not in line.split("#")[0] for line in installs)


def test_the_workflow_annotates_and_uploads_sarif(workflow):
    commands = _commands(workflow, "check")
    assert ["specs/", "--format", "github"] in commands
    sarif = next(c for c in commands if "sarif" in c)
    output = sarif[sarif.index("-o") + 1]
    for args in commands:  # every option is one cnnspec check knows
        check.make_context("check", list(args))
    uploads = [step for step in workflow["jobs"]["sarif"]["steps"]
               if step.get("uses") == "github/codeql-action/upload-sarif@v3"]
    assert len(uploads) == 1 and uploads[0]["with"]["sarif_file"] == output
    assert workflow["jobs"]["sarif"]["permissions"]["security-events"] == "write"


def test_the_workflow_posts_a_markdown_diff(workflow):
    (diff,) = _commands(workflow, "diff")
    assert "--rev" in diff and diff[diff.index("--format") + 1] == "markdown"
    checkout = workflow["jobs"]["diff"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # --rev needs the base branch's history


def test_the_example_pyproject_sets_every_key():
    path = EXAMPLES / "pyproject.toml"
    table = _toml(path)["tool"]["cnnspec"]
    assert {k.replace("-", "_") for k in table} == set(PROJECT_KEYS)
    settings = project_settings(path)  # raises on any key or value it does not accept
    assert settings.paths == [str(EXAMPLES / "specs")]
    assert settings.max_params == 25_000_000
    assert settings.max_macs == 4_000_000_000
    assert settings.max_memory == 2 * 2**30
    assert settings.batch == 8 and settings.dtype == "float16" and settings.fail_on == "warning"
