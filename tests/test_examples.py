"""The examples run and print what they promise."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_compare_resolutions_example():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "compare_resolutions.py"),
         str(ROOT / "specs" / "vgg16.yaml"), "224", "448"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("vgg16: 224x224 vs 448x448")
    assert "138 M" in out  # params do not depend on the resolution (adaptive pooling)
    assert "15.5 GMACs" in out and "x3.98" in out  # conv MACs grow 4x, the classifier's do not
    assert "(1000,) -> (1000,)" in out


def test_example_reports_errors_cleanly():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "compare_resolutions.py"),
         str(ROOT / "specs" / "alexnet.yaml"), "227", "224"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "fc1 (linear) expects 9216" in proc.stderr
