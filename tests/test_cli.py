"""The command line through click's CliRunner: every format, every option, golden tables."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnnspec.cli.main import main

from .conftest import SPECS

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_SPECS = ["alexnet", "vgg16", "convnet", "lenet5"]


def run(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_table_matches_golden_file(name):
    """Regenerate with CNNSPEC_UPDATE_GOLDEN=1 after an intended change, and review the diff."""
    text = run("analyze", f"specs/{name}.yaml")
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("CNNSPEC_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(SPECS.parent)


def test_table_totals_in_human_units():
    text = run("analyze", "specs/alexnet_torchvision.yaml")
    assert "61,100,840 (61.1 M)" in text
    assert "714,188,480 (0.714 GMACs)" in text
    assert "1,428,376,960 (1.43 GFLOPs)" in text


def test_json_has_the_documented_fields():
    data = json.loads(run("analyze", "specs/alexnet.yaml", "--format", "json"))
    for key in ("schema_version", "input", "batch", "dtype", "conventions", "layers", "totals"):
        assert key in data
    layer = data["layers"][0]
    for key in ("name", "type", "output_shape", "params", "macs", "flops", "activation_bytes",
                "receptive_field"):
        assert key in layer
    assert set(layer["receptive_field"]) == {"size", "jump", "start", "exact", "reason"}
    for key in ("params", "trainable_params", "frozen_params", "buffers", "macs", "flops",
                "param_bytes", "activation_bytes", "peak_activation_bytes"):
        assert key in data["totals"]
    assert data["totals"]["params"] == 42_319_432
    assert data["totals"]["macs"] == 1_115_202_080
    conv5 = next(la for la in data["layers"] if la["name"] == "feature_extraction.10")
    assert conv5["receptive_field"] == {"size": [163, 163], "jump": [16, 16], "start": [17, 17],
                                        "exact": True, "reason": None}


def test_batch_dtype_and_set():
    data = json.loads(run("analyze", "specs/simple_cnn.yaml", "--format", "json", "--batch", "8",
                          "--dtype", "float16", "--set", "num_classes=7"))
    assert data["batch"] == 8 and data["dtype"] == "float16"
    assert data["layers"][-1]["output_shape"] == [8, 7]
    assert data["totals"]["param_bytes"] == 2 * data["totals"]["params"]
    assert data["vars"] == {"num_classes": 7}


def test_set_accepts_expressions_of_other_vars():
    data = json.loads(run("analyze", "specs/deep_cnn.yaml", "--format", "json",
                          "--set", "hidden_channels=output_size * 3"))
    assert data["vars"]["hidden_channels"] == 30
    assert data["layers"][0]["output_shape"][1] == 30


def test_markdown_and_csv():
    md = run("analyze", "specs/lenet5.yaml", "--format", "markdown")
    assert md.startswith("### lenet5")
    assert "| c1     | conv2d    | 1x6x28x28      |      156 |" in md
    rows = list(csv.DictReader(io.StringIO(run("analyze", "specs/lenet5.yaml", "--format", "csv"))))
    assert rows[0]["name"] == "c1" and rows[0]["params"] == "156"
    assert rows[0]["output_shape"] == "1x6x28x28" and rows[0]["rf_size"] == "5x5"


def test_output_file(tmp_path):
    out = tmp_path / "a.json"
    assert run("analyze", "specs/lenet5.yaml", "--format", "json", "-o", out) == ""
    assert json.loads(out.read_text())["totals"]["params"] == 61_706


def test_symbolic_input_gives_formulas():
    text = run("analyze", "specs/alexnet.yaml", "--input", "3xHxW")
    assert "floor((H - 11)/4) + 1" in text
    assert "receives" in text  # fc1's declared 9216 holds only for some sizes: stated as a note


def test_sizes_command_states_the_alexnet_facts():
    text = run("sizes", "specs/alexnet.yaml", "--near", "224")
    assert "H >= 67" in text and "W >= 67" in text
    assert "H = 67 + 32k" in text
    assert "227 <= H <= 258" in text
    assert "exact 195 or 227" in text
    data = json.loads(run("sizes", "specs/alexnet.yaml", "--format", "json", "--near", "224"))
    h = data["axes"][0]
    assert h["min_valid"] == 67 and h["exact"] == {"first": 67, "period": 32, "residues": [0]}
    assert h["declared"] == [{"node": "fc1", "type": "linear", "declared": 9216, "min": 227, "max": 258}]
    assert h["near"]["exact_and_declared"] == [227]


def test_schema_command_prints_json_schema():
    schema = json.loads(run("schema"))
    assert schema["$schema"].endswith("2020-12/schema")
    assert "conv2d" in schema["$defs"]


@pytest.mark.parametrize("command", [[], ["analyze"], ["sizes"], ["schema"], ["draw"]])
def test_help_everywhere(command):
    assert "Usage:" in run(*command, "--help")


def test_version():
    assert "cnnspec" in run("--version")
