"""A few torchvision models through the zoo benchmark's per-model check (benchmarks/zoo_check.py):
imported, params and MACs equal to the real module's (FlopCounterMode FLOPs / 2), its
state_dict loading strictly into the built and the emitted model, and both computing its
output. Skipped where torchvision is not installed (CI's default install); `-m zoo` selects it.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from .conftest import ROOT

if importlib.util.find_spec("torchvision") is None:  # looked up, not imported: no cost here
    pytest.skip("torchvision is not installed", allow_module_level=True)

pytestmark = pytest.mark.zoo

sys.path.insert(0, str(ROOT / "benchmarks"))
from zoo_check import check_model, passed  # noqa: E402
from zoo_report import reason  # noqa: E402

# small models that take every step of the benchmark (each a few seconds)
MODELS = ["alexnet", "resnet18", "mobilenet_v2", "squeezenet1_1", "densenet121"]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_through_the_zoo_check(name):
    row = check_model("torchvision", name, "cnn")
    assert passed(row), reason(row)
    assert row["params"] == row["params_ref"] and row["macs"] == row["macs_ref"]
    assert row["built_output"]["ok"] and row["emitted_output"]["ok"]


def test_a_failing_model_is_a_row_not_an_exception():
    row = check_model("torchvision", "no_such_model", "cnn")
    assert not passed(row)
    assert row["step"] == "create" and "no_such_model" in row["error"]
