"""analyze, sizes, schema and diff never import torch (a CI lint job must not need it), and a
concrete input never imports sympy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import SPECS

PROBE = """
import sys
from cnnspec.cli import main
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
    ["diff", "specs/resnet18.yaml", "specs/resnet34.yaml"],
    ["diff", "specs/simple_cnn.yaml", "specs/convnet.yaml", "--format", "json"],
    ["diff", "specs/alexnet.yaml", "specs/alexnet_torchvision.yaml", "--format", "markdown"],
])
def test_no_torch_no_sympy_for_concrete_inputs(args):
    assert modules_after(args) == (False, False)


def test_symbolic_input_imports_sympy_but_not_torch():
    assert modules_after(["analyze", "specs/vgg16.yaml", "--input", "3xHxW"]) == (False, True)
