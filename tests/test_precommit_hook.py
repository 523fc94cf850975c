"""The pre-commit hook manifest (.pre-commit-hooks.yaml) and the example config that uses it:
valid YAML with the keys pre-commit expects, and run for real by pre-commit in throw-away
repositories (``pre-commit try-repo`` with this checkout, which builds the hook's environment
with pip, and the example's ``repo: local`` hook)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from cnnspec.cli.check import check

from .conftest import ROOT
from .sample_specs import CLEAN, FAT

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


def test_the_example_config_is_a_local_hook_narrowed_to_specs(hook):
    """examples/pre-commit-config.yaml works as it is: a `repo: local` hook running the installed
    cnnspec, with the manifest's entry; no repository URL or tag that does not exist."""
    text = (ROOT / "examples" / "pre-commit-config.yaml").read_text()
    config = yaml.safe_load(text)
    (repo,) = config["repos"]
    assert repo["repo"] == "local" and "rev" not in repo
    (used,) = repo["hooks"]
    assert used["id"] == hook["id"] and used["entry"] == hook["entry"]
    assert used["language"] == "system"
    assert REQUIRED <= set(used) <= KNOWN
    assert re.search(used["files"], "specs/resnet18.yaml")
    assert re.search(used["files"], "specs/sub/net.yml")
    assert not re.search(used["files"], ".github/workflows/cnnspec.yml")
    assert not re.search(used["files"], "docker-compose.yaml")
    # the example's args are options of cnnspec check
    check.make_context("check", [*used["args"], "specs/resnet18.yaml"])
    for path in (ROOT / ".pre-commit-hooks.yaml", ROOT / "examples" / "pre-commit-config.yaml",
                 ROOT / "docs" / "check.md"):
        assert "OWNER" not in path.read_text() and not re.search(r"rev: v\d", path.read_text()), path


# --- pre-commit, for real --------------------------------------------------------------------

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "cnnspec tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
                "GIT_COMMITTER_NAME": "cnnspec tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid"}


def _git(*args, cwd: Path, env=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict:
    """The environment pre-commit runs in: no PYTHONPATH (the hook must use the cnnspec that
    pre-commit installed), its own PRE_COMMIT_HOME, a git identity, no global git config."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (it is in the test extras)")
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("GIT_", "PRE_COMMIT", "PYTEST_"))}
    env.update(GIT_IDENTITY, PRE_COMMIT_HOME=str(home), GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CONFIG_NOSYSTEM="1", PIP_NO_COMPILE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, environment) -> Path:
    """This checkout, for `pre-commit try-repo`: as it is when it is a git work tree whose new
    files (if any) are outside what the hook installs; else a snapshot of it committed to a
    throw-away repository (an unpacked archive, or new files under cnnspec/ not yet added). try-repo
    itself takes uncommitted changes to tracked files along."""
    try:
        untracked = _git("ls-files", "--others", "--exclude-standard", "--", "cnnspec", "pyproject.toml",
                         ".pre-commit-hooks.yaml", cwd=ROOT, env=environment)
        if not untracked.strip():
            return ROOT
    except (subprocess.CalledProcessError, OSError):
        pass
    snapshot = tmp_path_factory.mktemp("cnnspec-snapshot") / "cnnspec"
    shutil.copytree(ROOT, snapshot, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist"))
    _git("init", "-q", cwd=snapshot, env=environment)
    _git("add", "-A", cwd=snapshot, env=environment)
    _git("commit", "-qm", "snapshot", cwd=snapshot, env=environment)
    return snapshot


def _project(path: Path, env: dict, specs: dict[str, str]) -> Path:
    """A git repository with the given specs under specs/ (added, so --all-files sees them) and
    a workflow file that is not a spec."""
    path.mkdir()
    _git("init", "-q", cwd=path, env=env)
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "ci.yml").write_text("name: CI\non: [push]\njobs: {}\n")
    add_specs(path, env, specs)
    return path


def add_specs(path: Path, env: dict, specs: dict[str, str]) -> None:
    (path / "specs").mkdir(exist_ok=True)
    for name, text in specs.items():
        (path / "specs" / name).write_text(text)
    _git("add", "-A", cwd=path, env=env)


def _pre_commit(*args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, text=True,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
    out = proc.stdout + proc.stderr
    if proc.returncode == 3 and "Installing environment" in out and "An unexpected error" in out:
        pytest.skip("pre-commit could not create the hook's environment here:\n" + out[-2000:])
    return proc


def test_try_repo_passes_on_a_clean_spec_and_fails_on_a_finding(tmp_path, environment, hook_repo):
    """`pre-commit try-repo <this checkout> cnnspec-check --all-files`, as docs/check.md says:
    pre-commit installs cnnspec from the checkout into the hook's environment and runs it."""
    project = _project(tmp_path / "project", environment, {"good.yaml": CLEAN})
    proc = _pre_commit("try-repo", str(hook_repo), "cnnspec-check", "--all-files", cwd=project,
                       env=environment)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert re.search(r"^cnnspec check\.+Passed$", out, re.M), out

    add_specs(project, environment, {"bad.yaml": FAT})
    proc = _pre_commit("try-repo", str(hook_repo), "cnnspec-check", "--all-files", cwd=project,
                       env=environment)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert re.search(r"^cnnspec check\.+Failed$", out, re.M), out
    assert "- exit code: 1" in out
    assert "specs/bad.yaml:10:5: CNN101 fully-connected layers hold" in out
    assert "specs/good.yaml:" not in out and "ci.yml" not in out   # the workflow was passed over


def test_the_example_config_works_as_it_is(tmp_path, environment):
    """examples/pre-commit-config.yaml copied verbatim as .pre-commit-config.yaml: the local hook
    runs the cnnspec on PATH (here: this checkout's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "cnnspec"
    shim.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                    "from cnnspec.cli import main\nsys.exit(main())\n")
    shim.chmod(0o755)
    env = dict(environment, PATH=f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}")
    project = _project(tmp_path / "project", env, {"good.yaml": CLEAN})
    shutil.copy(ROOT / "examples" / "pre-commit-config.yaml", project / ".pre-commit-config.yaml")
    _git("add", ".pre-commit-config.yaml", cwd=project, env=env)
    proc = _pre_commit("run", "cnnspec-check", "--all-files", cwd=project, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    add_specs(project, env, {"bad.yaml": FAT})
    proc = _pre_commit("run", "cnnspec-check", "--all-files", cwd=project, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "specs/bad.yaml:10:5: CNN101 fully-connected layers hold" in out
