"""`cnnspec profile`: per-layer times from torch.profiler, FLOPs from the analysis, and the
roofline bound from the given (or measured) peaks."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cnnspec
from cnnspec.cli.main import main

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


def profile_json(*args) -> dict:
    result = CliRunner().invoke(main, ["profile", *map(str, args), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def test_the_roofline_is_a_bound_for_every_layer():
    """Regression: with one DRAM-sized copy and one matrix product as the peaks, cache-resident
    layers ran at 145-386 % "of roofline". Now the ceilings are raised to any rate a layer
    reaches, so no layer exceeds 100 %, even against peaks given far too low."""
    data = profile_json(SPECS / "simple_cnn.yaml", "--iters", "2", "--warmup", "1",
                        "--peak-tflops", "1e-6", "--peak-gbps", "1e-6")
    assert data["schema_version"] == "1.1"
    assert data["initial_peaks"]["flops_per_s"] == 1e6  # as given, then raised by the layers
    assert set(data["raised_by"]) == {"compute", "bandwidth"}
    fastest = max(data["layers"], key=lambda layer: layer["flops_per_s"])
    assert data["raised_by"]["compute"] == fastest["name"]
    assert data["peak_flops_per_s"] == fastest["flops_per_s"]
    for layer in data["layers"]:
        if layer["efficiency"] is not None:
            assert 0 < layer["efficiency"] <= 1 + 1e-12, layer
            assert layer["bytes"] / layer["seconds"] <= layer["bandwidth_ceiling"] * (1 + 1e-12)
    result = CliRunner().invoke(main, ["profile", str(SPECS / "simple_cnn.yaml"), "--iters", "1",
                                       "--peak-tflops", "1e-6", "--peak-gbps", "1e-6"])
    assert "note: compute ceiling: " in result.output and "note: bandwidth ceiling: " in result.output


def test_views_move_and_compute_nothing():
    data = profile_json(SPECS / "simple_cnn.yaml", "--iters", "1", "--warmup", "0",
                        "--peak-tflops", "1", "--peak-gbps", "10")
    layers = {layer["name"]: layer for layer in data["layers"]}
    for name in ("classifier.0", "classifier.3"):  # flatten, dropout (the identity at inference)
        assert layers[name]["bytes"] == layers[name]["flops"] == 0
        assert layers[name]["efficiency"] is None and layers[name]["bound_by"] is None


def test_measured_ceilings_follow_the_working_set():
    data = profile_json(SPECS / "lenet5.yaml", "--iters", "2", "--warmup", "1")
    sizes = [size for size, _ in data["initial_peaks"]["bandwidth_by_working_set"]]
    assert sizes == [32 * 1024 * 4 ** i for i in range(7)]
    assert data["peaks_from"] == "measured" and data["peak_flops_per_s"] > 1e8
    for layer in data["layers"]:
        assert layer["efficiency"] is None or layer["efficiency"] <= 1 + 1e-12


def test_the_bandwidth_ceiling_never_grows_with_the_working_set():
    from cnnspec.torch.profile import Ceilings, LayerProfile

    ceilings = Ceilings(1e9, 10.0, "measured", [(1000, 50.0), (10_000, 80.0), (100_000, 10.0)])
    assert [ceilings.bytes_per_s(n) for n in (1, 1000, 5000, 10_000, 50_000, 10 ** 9)] == \
        [80.0, 80.0, 80.0, 80.0, 10.0, 10.0]
    fast = LayerProfile("a", "relu", 1.0, 0, 20_000)  # 20 kB at 20 kB/s: faster than the 10 B/s there
    ceilings.include([fast])
    assert ceilings.raised_by == {"bandwidth": "a"} and ceilings.bytes_per_s(20_000) == 20_000.0
    assert ceilings.bytes_per_s(5000) == 20_000.0  # a smaller working set is at least as fast
    assert ceilings.bound(fast) == (1.0, "memory")
    assert ceilings.bytes_per_s(10 ** 6) == 10.0  # a larger working set: still the memory's
    given = Ceilings(1e9, 5.0, "given")
    assert given.bytes_per_s(1) == given.bytes_per_s(10 ** 9) == 5.0


def test_the_profilers_own_start_and_stop_lines_are_not_printed():
    """torch's profiler (Kineto) writes 'USDT: ... profiler_start' and '... profiler_stop' to
    file descriptor 2; the command's standard error holds only what cnnspec says."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", "from cnnspec.cli import main; main()",
                          "profile", str(SPECS / "lenet5.yaml"),
                          "--iters", "1", "--warmup", "0", "--peak-tflops", "1", "--peak-gbps", "10"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "USDT" not in run.stderr and "profiler_st" not in run.stderr, run.stderr
    assert "profiling" not in run.stderr  # no progress bar (nor its label) on a pipe
    assert "lenet5: batch 1" in run.stdout
