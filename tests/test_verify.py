"""`cnnspec verify`: zero mismatches on every shipped spec, and a wrong prediction is caught."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import cnnspec
from cnnspec.cli.main import main
from cnnspec.layers.conv import Conv2d
from cnnspec.torch.verify import verify

from .conftest import SPEC_FILES, SPEC_IDS, SPECS


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_every_shipped_spec_verifies(path):
    report = verify(cnnspec.load_spec(path))
    problems = [(n.name, c.what, c.predicted, c.measured) for n in report.nodes for c in n.checks
                if c.ok is False]
    assert report.mismatches == 0, problems[:5]
    checked = {c.what for n in report.nodes for c in n.checks}
    assert {"shape", "params", "flops", "activation_bytes"} <= checked
    if report.rf_input is not None:
        fields = [c for n in report.nodes for c in n.checks if c.what == "receptive_field"]
        assert fields and any(c.ok for c in fields)  # fields were really measured and judged
    assert {c.what for c in report.totals} >= {"params", "flops", "peak_activation_bytes"}


def test_a_wrong_prediction_is_a_mismatch_and_exit_1(monkeypatch):
    monkeypatch.setattr(Conv2d, "macs", lambda self, inputs, output: 1)
    result = CliRunner().invoke(main, ["verify", str(SPECS / "lenet5.yaml"), "--no-rf"])
    assert result.exit_code == 1
    assert "MISMATCH 2 != 235,200" in result.output  # c1: predicted 2 FLOPs, measured 235,200


def test_json_and_meta_device():
    runner = CliRunner()
    result = runner.invoke(main, ["verify", str(SPECS / "vgg16.yaml"), "--device", "meta",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["mismatches"] == 0 and data["device"] == "meta"
    assert {c["what"] for c in data["totals"]} == {"params", "trainable_params", "flops"}


def test_verify_at_another_input_and_batch():
    result = CliRunner().invoke(main, ["verify", str(SPECS / "resnet18.yaml"), "--input", "3x64x80",
                                       "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert "input 3x64x80, batch 3" in result.output
    assert "every number matches" in result.output


def test_dilated_max_pooling_field_is_measured_exactly():
    graph = cnnspec.parse_spec("""
input: [1, 40, 40]
layers:
  - conv2d: {out: 2, kernel: 3}
  - maxpool2d: {kernel: 3, stride: 2, dilation: 2}
  - conv2d: {out: 2, kernel: 3}
""")
    report = verify(graph)
    fields = [c for n in report.nodes for c in n.checks if c.what == "receptive_field"]
    assert report.mismatches == 0 and all(c.ok for c in fields) and len(fields) == 3
