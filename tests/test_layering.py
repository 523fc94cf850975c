"""The package's layering: import-linter's contract (pyproject) holds, every subpackage is in
it, and no modules import each other, counting imports inside functions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import import_cycles  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _contract() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_lint_imports_keeps_the_contract():
    command = shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    run = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 kept, 0 broken" in run.stdout


def test_every_subpackage_and_top_module_is_in_a_layer():
    """A new package outside the contract would escape it."""
    layered = set(_contract())
    package = ROOT / "cnnspec"
    found = {f"cnnspec.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
    found |= {f"cnnspec.{p.stem}" for p in package.glob("*.py")
              if p.stem not in ("__init__", "__main__")}
    assert found - layered == set(), "add these to [tool.importlinter] in pyproject.toml"
    assert layered - found == set(), "the contract names packages that do not exist"


def test_no_import_cycles():
    assert import_cycles.cycles(import_cycles.graph(ROOT / "cnnspec")) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n    import torch\n")
    (package / "c.py").write_text("import sympy\nfrom pkg import a\n")
    assert import_cycles.cycles(import_cycles.graph(package)) == [["pkg.a", "pkg.b"]]


MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50


def _modules():
    return sorted((ROOT / "cnnspec").rglob("*.py"))


def test_modules_stay_small():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"split these modules (at most {MAX_MODULE_LINES} lines)"


def test_functions_stay_small():
    import ast

    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"split these functions (at most {MAX_FUNCTION_LINES} lines)"


def test_ruff_passes_on_the_repository():
    """ruff (pyproject's settings, complexity and size limits included) on everything we
    write: the package, tests, benchmarks, tools and examples."""
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "cnnspec", "tests",
                          "benchmarks", "tools", "examples"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def _resolves(ref: str) -> bool:
    import importlib

    parts = ref.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_docstrings_name_modules_and_objects_that_exist():
    """A reference such as :mod:`cnnspec.reports.schema` or ``cnnspec.ir.infer.SizeQuestion``
    in a docstring or comment must still point somewhere after code moves."""
    import re

    pattern = re.compile(r"(?::\w+:`~?|``)(cnnspec(?:\.\w+)+)(?:`|``)")
    stale = sorted({(str(p.relative_to(ROOT)), m.group(1)) for p in _modules()
                    for m in pattern.finditer(p.read_text(encoding="utf-8"))
                    if not _resolves(m.group(1))})
    assert stale == []
