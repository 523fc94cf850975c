"""The CI examples: the GitHub Actions workflow and the pyproject.toml with a [tool.cnnspec]
table parse, what they run or set is accepted by cnnspec, and every `run:` step of the workflow
works as written when run, job by job, in a scratch git copy of this checkout."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cnnspec.cli.check import check
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


# --- the workflow's run steps, run ---------------------------------------------------------------

# What the ${{ ... }} expressions of the workflow stand for in the runs below: a pull request
# number 7 against main.
CONTEXT = {"github.base_ref": "main", "github.event.pull_request.number": "7",
           "github.token": "test-token", "github.event_name": "pull_request"}

DEMO = """\
name: demo
input: [3, 32, 32]
normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
lint: {ignore: [rf-coverage]}
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false, name: conv}
  - batchnorm2d
  - relu
  - global_avgpool
  - flatten
  - linear: {out: 10, name: fc}
"""


def _expand(text: str) -> str:
    def value(match):
        expression = match.group(1).strip()
        assert expression in CONTEXT, f"the workflow uses ${{{{ {expression} }}}}, unknown to the test"
        return CONTEXT[expression]
    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def _git(*args, cwd: Path, env: dict) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """A scratch git copy of the checkout as a pull request's checkout would have it (main at
    origin/main with specs/demo.yaml; the branch changes that spec), and an environment with
    this checkout's cnnspec on PATH and a stand-in `gh` that records its arguments."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("workflow")
    work = base / "repo"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist"))
    bin_dir = base / "bin"
    bin_dir.mkdir()
    (bin_dir / "cnnspec").write_text(f"#!{sys.executable}\nimport sys\n"
                                     f"sys.path.insert(0, {str(ROOT)!r})\n"
                                     "from cnnspec.cli import main\nsys.exit(main())\n")
    (bin_dir / "gh").write_text(f'#!/bin/sh\necho "$GH_TOKEN $*" >> "{base}/gh-calls"\n')
    (bin_dir / "pip").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pip "$@"\n')
    for name in ("cnnspec", "gh", "pip"):
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_", "PYTEST_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
               GIT_CEILING_DIRECTORIES=str(base), PIP_DISABLE_PIP_VERSION_CHECK="1")
    (work / "specs" / "demo.yaml").write_text(DEMO)
    _git("init", "-q", "-b", "main", cwd=work, env=env)
    _git("add", "-A", cwd=work, env=env)
    _git("commit", "-qm", "base", cwd=work, env=env)
    _git("update-ref", "refs/remotes/origin/main", "HEAD", cwd=work, env=env)
    _git("checkout", "-qb", "change", cwd=work, env=env)
    (work / "specs" / "demo.yaml").write_text(DEMO.replace("out: 16", "out: 32"))
    _git("commit", "-qam", "demo: wider conv", cwd=work, env=env)

    def run(job: dict) -> list[tuple[dict, subprocess.CompletedProcess]]:
        """Each `run:` step of the job in order, as GitHub runs it on Linux (bash -e), with the
        step's env and GITHUB_STEP_SUMMARY. `pip install` steps run with --dry-run (with the
        installed setuptools, ignoring what is installed), so they check that what they name
        installs, without changing this environment; the dependencies are left out (the
        pre-commit test installs the checkout with them for real)."""
        results = []
        summary = base / "summary.md"
        summary.write_text("")
        for step in job["steps"]:
            if "run" not in step:
                continue
            script = _expand(step["run"])
            install = script.strip().startswith("pip install")
            if install:
                dry = "pip install --dry-run --ignore-installed --no-deps --no-build-isolation -q"
                script = script.replace("pip install", dry, 1)
            step_env = dict(env, GITHUB_STEP_SUMMARY=str(summary),
                            **{k: _expand(str(v)) for k, v in step.get("env", {}).items()})
            proc = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=step_env, text=True,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
            if install:
                assert proc.returncode == 0, f"{step}\n{proc.stdout}{proc.stderr}"
            elif not step.get("continue-on-error"):   # 1: findings (lint); 2 would be a broken run
                assert proc.returncode in (0, 1), f"{step}\n{proc.stdout}{proc.stderr}"
            results.append((step, proc))
        return results

    run.work, run.base = work, base
    return run


def test_every_install_is_from_the_checkout(workflow):
    installs = [line.split("#")[0].strip() for script in _runs(workflow) for line in script.splitlines()
                if "pip install" in line]
    assert installs and set(installs) == {"pip install ."}
    text = (EXAMPLES / "github-actions" / "cnnspec.yml").read_text()
    assert "OWNER" not in text and not re.search(r"@v\d+\.\d+\.\d+", text)


def test_the_lint_job_runs(workflow, runner):
    (install, install_proc), (lint, proc) = runner(workflow["jobs"]["lint"])
    assert install_proc.returncode == 0, install_proc.stderr
    # the shipped specs have findings by design: exit 1, every line an annotation
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(re.match(r"::(warning|error|notice) file=specs/[^,]+\.yaml,line=\d+,col=\d+,", line)
                         for line in lines), proc.stdout
    assert "specs/demo.yaml" not in proc.stdout   # the clean spec has no finding


def test_the_sarif_job_writes_the_file_it_uploads(workflow, runner):
    results = runner(workflow["jobs"]["sarif"])
    assert all(proc.returncode in (0, 1) for _, proc in results)
    uploads = [s for s in workflow["jobs"]["sarif"]["steps"] if "upload-sarif" in s.get("uses", "")]
    sarif = json.loads((runner.work / uploads[0]["with"]["sarif_file"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_the_diff_job_summarises_and_comments_the_changed_spec(workflow, runner):
    results = runner(workflow["jobs"]["diff"])
    assert [proc.returncode for _, proc in results] == [0, 0, 0], [p.stderr for _, p in results]
    diff = (runner.work / "cnnspec-diff.md").read_text()
    assert diff.startswith("### cnnspec diff: `demo`\n")
    assert "`specs/demo.yaml` at `origin/main`" in diff
    assert "| changed  | conv   | conv2d (out 16 -> 32) |" in diff
    assert "params +624 (+98.4%)" in diff   # conv 432 -> 864, its batch norm 32 -> 64, fc 170 -> 330
    assert diff.count("### cnnspec diff:") == 1      # only the modified spec
    assert (runner.base / "summary.md").read_text() == diff
    assert (runner.base / "gh-calls").read_text() == "test-token pr comment 7 --body-file cnnspec-diff.md\n"
