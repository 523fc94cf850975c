"""analyze, sizes, schema, diff and draw never import torch (a CI lint job must not need it), and a
concrete input never imports sympy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import SPECS

PROBE = """
import sys
from cnnspec.cli.main import main
try:
    main({args!r}, standalone_mode=False)
except SystemExit:
    pass
print("MODULES", "torch" in sys.modules, "sympy" in sys.modules)
"""


def modules_after(args: list[str]) -> tuple[bool, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                         text=True, check=True, cwd=SPECS.parent).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("MODULES"))
    _, torch_loaded, sympy_loaded = line.split()
    return torch_loaded == "True", sympy_loaded == "True"


@pytest.mark.parametrize("args", [
    ["analyze", "specs/vgg16.yaml"],
    ["analyze", "specs/convnet.yaml", "--format", "json"],
    ["analyze", "specs/alexnet.yaml", "--input", "3x224x224"],  # the error path too
    ["sizes", "specs/alexnet.yaml", "--near", "224"],
    ["schema"],
    ["rules"],
    ["rule", "CNN101"],
    ["diff", "specs/resnet18.yaml", "specs/resnet34.yaml"],
    ["diff", "specs/simple_cnn.yaml", "specs/convnet.yaml", "--format", "json"],
    ["diff", "specs/alexnet.yaml", "specs/alexnet_torchvision.yaml", "--format", "markdown"],
    ["draw", "specs/resnet18.yaml", "--color-by", "macs"],
    ["draw", "specs/googlenet.yaml", "--format", "mermaid"],
])
def test_no_torch_no_sympy_for_concrete_inputs(args):
    assert modules_after(args) == (False, False)


def test_symbolic_input_imports_sympy_but_not_torch():
    assert modules_after(["analyze", "specs/vgg16.yaml", "--input", "3xHxW"]) == (False, True)


# --------------------------------------------------------------------------- torch missing

RUN_CLI = "from cnnspec.cli import main; main()"


def without_torch(tmp_path, args: list[str], cwd=SPECS.parent) -> subprocess.CompletedProcess:
    """The CLI where ``import torch`` fails, as when it is not installed: a ``torch.py`` that
    raises ImportError comes first on the path."""
    blocker = tmp_path / "blocker"
    blocker.mkdir(exist_ok=True)
    (blocker / "torch.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(SPECS.parent)])}
    return subprocess.run([sys.executable, "-c", RUN_CLI, *args], capture_output=True, text=True,
                          cwd=cwd, env=env)


@pytest.mark.parametrize("args", [
    ["verify", "specs/lenet5.yaml"],
    ["verify", "specs/lenet5.yaml", "--device", "cuda"],
    ["verify", "specs/lenet5.yaml", "--device", "meta", "--format", "json"],
    ["profile", "specs/lenet5.yaml"],
    ["profile", "specs/lenet5.yaml", "--device", "cuda:0"],
    ["import", "torchvision.models:resnet18", "--input", "3x224x224"],
])
def test_torch_commands_without_torch_exit_2_with_how_to_install_it(tmp_path, args):
    done = without_torch(tmp_path, args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cnnspec {args[0]} needs PyTorch" in done.stderr
    assert "pip install torch" in done.stderr


def test_the_other_commands_work_without_torch(tmp_path):
    for args in (["analyze", "specs/lenet5.yaml"], ["build", "specs/lenet5.yaml"],
                 ["check", "specs/lenet5.yaml", "--isolated"], ["sizes", "specs/lenet5.yaml"],
                 ["draw", "specs/lenet5.yaml", "--format", "mermaid"]):
        done = without_torch(tmp_path, args)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, (args, done.stderr)


def test_verify_on_meta_never_builds_the_model_on_the_cpu(tmp_path):
    """6 GB of weights (a 30,000 x 50,000 linear layer): on meta they are never allocated."""
    spec = tmp_path / "huge.yaml"
    spec.write_text("name: huge\ninput: [3, 100, 100]\nlayers:\n  - flatten\n  - linear: {out: 50000}\n")
    # the process's own peak (VmHWM starts afresh at exec; ru_maxrss would carry pytest's over)
    probe = ("import re, sys\nfrom cnnspec.cli import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
             "status = open('/proc/self/status').read()\n"
             "print('PEAK_MB', int(re.search(r'VmHWM:\\s*(\\d+)', status).group(1)) // 1024, code)\n")
    done = subprocess.run([sys.executable, "-c", probe, "verify", str(spec), "--device", "meta"],
                          capture_output=True, text=True, cwd=SPECS.parent, timeout=300)
    assert "every number matches" in done.stdout, done.stderr
    _, peak, code = next(ln for ln in done.stdout.splitlines() if ln.startswith("PEAK_MB")).split()
    assert code == "0" and int(peak) < 1500, peak  # torch itself takes ~300 MB; the weights 6,000
