"""Graphs: residuals, branches, blocks, repeats and references — the shipped zoo against
published figures, and the graph-specific rules and errors."""

from __future__ import annotations

import json
import time

import pytest
import torch
from click.testing import CliRunner

import cnnspec
from cnnspec import errors
from cnnspec.cli.main import main

from .conftest import SPECS

# torchvision's published parameter counts and GFLOPS ("_ops", rounded to 0.1) for
# EfficientNet B1-B7 at their evaluation resolutions, reached from efficientnet_b0.yaml by --set.
EFFICIENTNETS = [
    # width, depth, resolution, params, GFLOPS
    (1.0, 1.1, 240, 7_794_184, 0.7),
    (1.1, 1.2, 288, 9_109_994, 1.1),
    (1.2, 1.4, 300, 12_233_232, 1.8),
    (1.4, 1.8, 380, 19_341_616, 4.4),
    (1.6, 2.2, 456, 30_389_784, 10.3),
    (1.8, 2.6, 528, 43_040_704, 19.1),
    (2.0, 3.1, 600, 66_347_960, 37.7),
]


@pytest.mark.parametrize("width, depth, resolution, params, gflops", EFFICIENTNETS)
def test_efficientnet_compound_scaling_by_set(width, depth, resolution, params, gflops):
    graph = cnnspec.load_spec(SPECS / "efficientnet_b0.yaml",
                              {"width": str(width), "depth": str(depth), "resolution": str(resolution)})
    totals = cnnspec.analyze(graph).totals()
    assert totals["params"] == params
    assert abs(totals["macs"] / 1e9 - gflops) <= 0.05 + 1e-9


def test_efficientnet_b7_builds_with_torchvisions_layout():
    graph = cnnspec.load_spec(SPECS / "efficientnet_b0.yaml",
                              {"width": "2.0", "depth": "3.1", "resolution": "64"})
    model = cnnspec.to_torch(graph)
    assert sum(p.numel() for p in model.parameters()) == 66_347_960
    keys = model.state_dict().keys()
    assert "features.6.12.block.2.fc1.weight" in keys  # stage 6 has ceil(4 x 3.1) = 13 blocks
    assert "features.8.0.weight" in keys and "classifier.1.weight" in keys


def test_transfer_learning_freezes_the_backbone():
    graph = cnnspec.load_spec(SPECS / "resnet18_transfer.yaml")
    totals = cnnspec.analyze(graph).totals()
    assert totals["trainable_params"] == 5_130
    assert totals["frozen_params"] == 11_689_512 - 513_000
    model = cnnspec.to_torch(graph)
    trainable = {k for k, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}


def _graph(text: str):
    return cnnspec.parse_spec(text, file="g.yaml")


def test_skip_keeps_its_tensor_alive_until_the_merge():
    """Peak memory by liveness: the input (4x8x8 floats = 1024 B) stays alive across the
    main path because the add reads it; hand-computed peak = 3 tensors of 1024 B."""
    graph = _graph("""
input: [4, 8, 8]
layers:
  - residual:
      shortcut: identity
      layers:
        - conv2d: {out: 4, kernel: 3, padding: 1, name: c1}
        - conv2d: {out: 4, kernel: 3, padding: 1, name: c2}
""")
    result = cnnspec.analyze(graph)
    assert result.peak_activation_bytes == 3 * 1024  # input + c1 + c2 while c2 runs
    chain = _graph("""
input: [4, 8, 8]
layers:
  - conv2d: {out: 4, kernel: 3, padding: 1}
  - conv2d: {out: 4, kernel: 3, padding: 1}
""")
    assert cnnspec.analyze(chain).peak_activation_bytes == 2 * 1024  # no skip: 2 alive


def test_merge_keeps_the_widest_field_and_reports_misalignment():
    graph = _graph("""
input: [1, 32, 32]
layers:
  - conv2d: {out: 2, kernel: 5, padding: 2, name: wide}
  - conv2d: {out: 2, kernel: 1, from: input, name: narrow}
  - add: {from: [wide, narrow], name: sum}
  - maxpool2d: {kernel: 2, from: input, name: pooled}
  - conv2d: {out: 2, kernel: 3, stride: 2, padding: 1, from: wide, name: strided}
  - concat: {from: [pooled, strided], name: cat}
""")
    result = cnnspec.analyze(graph)
    assert [r.size for r in result.facts["sum"].rf] == [5, 5]
    assert not [m for m in result.merge_alignment if m["node"] == "sum"]  # same jump and centre
    cat = [m for m in result.merge_alignment if m["node"] == "cat"]
    assert {m["axis"] for m in cat} == {"H", "W"}
    assert cat[0]["starts"] == [0.5, 0] and cat[0]["jumps"] == [2, 2]
    assert cat[0]["offset"] == 0.5
    assert [r.size for r in result.facts["cat"].rf] == [7, 7]


def test_blocks_see_in_channels_and_their_args_only():
    graph = _graph("""
input: [6, 8, 8]
vars: {base: 4}
blocks:
  widen:
    args: {factor: 2, width: in_channels * factor}
    layers:
      - conv2d: {out: width, kernel: 1, name: conv}
layers:
  - widen: {name: a}
  - widen: {factor: base, name: b}
""")
    result = cnnspec.analyze(graph)
    assert result.facts["a.conv"].output[0] == 12
    assert result.facts["b.conv"].output[0] == 48


def test_repeat_names_first_and_inline():
    graph = _graph("""
input: [3, 16, 16]
layers:
  - repeat: {name: stage, times: 3, names: "unit{n}", args: {s: 1}, first: {s: 2},
             layers: [conv2d: {out: 4, kernel: 3, padding: 1, stride: s}]}
  - repeat: {times: 2, names: "{i + 10}", layers: [relu]}
""")
    names = [n.name for n in graph.nodes]
    assert names == ["stage.unit1.0", "stage.unit2.0", "stage.unit3.0", "10.0", "11.0"]
    result = cnnspec.analyze(graph)
    assert result.facts["stage.unit1.0"].output == (4, 8, 8)
    assert result.facts["stage.unit3.0"].output == (4, 8, 8)


def test_unet_sizes_are_periodic():
    text = CliRunner().invoke(main, ["sizes", str(SPECS / "unet.yaml")]).output
    assert "H = 8 + 8k" in text
    result = CliRunner().invoke(main, ["sizes", str(SPECS / "unet.yaml"), "--format", "json"])
    data = json.loads(result.output)
    assert data["axes"][0]["valid"] == {"first": 8, "period": 8, "residues": [0]}
    result = CliRunner().invoke(main, ["analyze", str(SPECS / "unet.yaml"), "--input", "3x100x100"])
    assert result.exit_code == 2
    assert "concat along dim 1 needs equal height" in result.output
    assert "input 1 is 128x25x25, input 2 is 128x24x24" in result.output


def test_depth_collapses_blocks(tv_reference):
    runner = CliRunner()
    text = runner.invoke(main, ["analyze", str(SPECS / "resnet50.yaml"), "--depth", "1"]).output
    rows = [line for line in text.splitlines() if line.startswith("layer")]
    assert [r.split()[0] for r in rows] == ["layer1", "layer2", "layer3", "layer4"]
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    layer3 = sum(  # torchvision's layer3 parameters (not the batch-norm buffers)
        int(torch.tensor(shape).prod()) for key, shape in tv_reference["resnet50"]["state_dict"].items()
        if key.startswith("layer3.") and not key.endswith(buffers)
    )
    assert f"{layer3:,}" in rows[2]
    full = runner.invoke(main, ["analyze", str(SPECS / "resnet152.yaml"), "--depth", "0"]).output
    auto = runner.invoke(main, ["analyze", str(SPECS / "resnet152.yaml")]).output
    assert len(auto.splitlines()) < 80 < len(full.splitlines())


ERRORS = [
    ("unknown-reference", """
input: [3, 8, 8]
layers:
  - conv2d: {out: 4, kernel: 1, name: stem}
  - add: {from: [stme, -1]}
""", errors.UnknownNameError, "did you mean 'stem'", 5),
    ("forward-reference", """
input: [3, 8, 8]
layers:
  - add: {from: [-1, later]}
  - conv2d: {out: 3, kernel: 1, name: later}
""", errors.UnknownNameError, "cannot have cycles", 4),
    ("concat-spatial", """
input: [3, 9, 9]
layers:
  - conv2d: {out: 4, kernel: 3, stride: 2, name: down}
  - concat: {from: [input, down]}
""", errors.ShapeError, "input 1 is 3x9x9, input 2 is 4x4x4", 5),
    ("add-shapes", """
input: [3, 8, 8]
layers:
  - residual:
      shortcut: identity
      layers: [conv2d: {out: 5, kernel: 1}]
""", errors.ShapeError, "they differ in dim 1", 4),
    ("merge-needs-from", """
input: [3, 8, 8]
layers:
  - concat
""", errors.SpecStructureError, "name them with 'from'", 4),
    ("unknown-block-arg", """
input: [3, 8, 8]
blocks:
  b: {args: {width: 4}, layers: [conv2d: {out: width, kernel: 1}]}
layers:
  - b: {widht: 8}
""", errors.UnknownNameError, "did you mean 'width'", 6),
    ("recursive-block", """
input: [3, 8, 8]
blocks:
  b: {layers: [relu, b]}
layers:
  - b
""", errors.SpecStructureError, "contains itself", 4),
    ("bad-shortcut", """
input: [3, 8, 8]
layers:
  - residual: {layers: [relu], shortcut: identiy}
""", errors.SpecStructureError, "did you mean 'identity'", 4),
    ("expression-in-block", """
input: [3, 8, 8]
blocks:
  b: {args: {width: 4}, layers: [conv2d: {out: width * , kernel: 1}]}
layers:
  - b
""", errors.ExpressionError, "cannot parse expression", 4),
    ("block-name-taken", """
input: [3, 8, 8]
blocks:
  relu: {layers: [relu]}
layers: [relu]
""", errors.SpecStructureError, "already a layer type", 4),
    ("huge-repeat", """
input: [3, 8, 8]
layers:
  - repeat: {times: 100000000, layers: [relu, relu]}
""", errors.BudgetError, "expands to 200,000,000 layers", 4),
    ("huge-repeat-expression", """
input: [3, 8, 8]
vars: {n: 100000000}
layers:
  - repeat: {times: n, layers: [relu, relu]}
""", errors.BudgetError, "repeat of 100,000,000 x 2 layers exceeds", 5),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_graph_errors(case):
    _id, text, cls, snippet, line = case
    start = time.perf_counter()
    with pytest.raises(cls) as info:
        cnnspec.analyze(_graph(text))
    assert time.perf_counter() - start < 1.0
    assert snippet in info.value.render()
    assert info.value.pos.line == line, info.value.render()


def test_builder_runs_every_graph_construct():
    graph = _graph("""
input: [4, 16, 16]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1, name: stem}
  - squeeze_excitation: {reduction: 2, name: se}
  - branches:
      name: mix
      paths:
        - conv2d: {out: 4, kernel: 1, groups: 4}
        - [conv2d: {out: 8, kernel: 3, padding: 1, groups: in_channels}, channel_shuffle: 2]
  - drop_path: 0.1
  - upsample: {scale: 2, mode: bilinear}
  - conv_transpose2d: {out: 8, kernel: 2, stride: 2}
  - maxpool2d: 4
  - mul: {from: [-1, stem]}
""")
    result = cnnspec.analyze(graph, batch=2)
    model = cnnspec.to_torch(graph).eval()
    out = model(torch.randn(2, 4, 16, 16))
    assert tuple(out.shape) == (2, *result.totals()["output_shape"]) == (2, 8, 16, 16)


def test_block_instances_share_a_layer_only_when_their_settings_agree():
    """Items read again with the same values share one layer; a value inside a list setting
    (``kernel: [k, k]``) and a choice (``padding: same``) count."""
    import cnnspec

    graph = cnnspec.parse_spec(
        "input: [3, 16, 16]\nblocks:\n  unit:\n    args: {k: 3}\n    layers:\n"
        "      - conv2d: {out: 8, kernel: [k, k], padding: same}\n"
        "layers:\n  - unit: {k: 3}\n  - unit: {k: 5}\n  - unit: {k: 5}\n")
    first, second, third = (node.layer for node in graph.nodes)
    assert (first.kernel, second.kernel, third.kernel) == ((3, 3), (5, 5), (5, 5))
    assert second is third and first is not second
