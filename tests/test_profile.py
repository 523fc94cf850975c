"""`cnnspec profile`: per-layer times from torch.profiler, FLOPs from the analysis, and the
roofline bound from the given (or measured) peaks."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cnnspec
from cnnspec.cli import main

from .conftest import SPECS


def test_profile_json_with_given_peaks():
    result = CliRunner().invoke(main, ["profile", str(SPECS / "lenet5.yaml"), "--iters", "2",
                                       "--warmup", "1", "--peak-tflops", "1", "--peak-gbps", "10",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    analysis = cnnspec.analyze(cnnspec.load_spec(SPECS / "lenet5.yaml"))
    assert data["peaks_from"] == "given" and data["peak_flops_per_s"] == 1e12
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert set(layers) == {node.name for node in analysis.graph.nodes}
    c1 = layers["c1"]
    facts = analysis.facts["c1"]
    assert c1["flops"] == facts.flops + facts.elementwise_ops
    assert c1["bytes"] == (1 * 32 * 32 + 6 * 28 * 28 + 156) * 4  # input + output + params
    assert c1["bound_seconds"] == max(c1["flops"] / 1e12, c1["bytes"] / 1e10)
    assert c1["bound_by"] == "memory"
    assert all(layer["seconds"] > 0 for layer in data["layers"])


def test_profile_table_measures_peaks_without_flags():
    result = CliRunner().invoke(main, ["profile", str(SPECS / "simple_cnn.yaml"), "--iters", "1"])
    assert result.exit_code == 0, result.output
    assert "(measured)" in result.output and "of roofline" in result.output
