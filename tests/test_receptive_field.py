"""Receptive fields: hand-derived values, and the field measured in PyTorch from gradients.

The measurement: all weights 1 and biases 0, no activation (linear network), max pooling
replaced by average pooling of the same window (so every path carries a positive weight);
the input pixels with a non-zero gradient of one output unit form its receptive field."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cnnspec

from .conftest import SPECS


def test_hand_derived_values():
    alexnet = cnnspec.analyze(cnnspec.load_spec(SPECS / "alexnet.yaml"))
    rf = alexnet.facts["feature_extraction.10"].rf  # conv5
    assert [(r.size, r.jump, r.start) for r in rf] == [(163, 16, 17)] * 2
    vgg = cnnspec.analyze(cnnspec.load_spec(SPECS / "vgg16.yaml"))
    assert [r.size for r in vgg.facts["features.28"].rf] == [196, 196]  # last conv
    assert [r.size for r in vgg.facts["features.30"].rf] == [212, 212]  # last pool
    lenet = cnnspec.analyze(cnnspec.load_spec(SPECS / "lenet5.yaml"))
    assert [r.size for r in lenet.facts["c3"].rf] == [14, 14]  # 5 + 1 + 4*2
    # after flatten -> linear every output sees the union of all units
    assert [r.size for r in lenet.facts["c5"].rf] == [32, 32]


def _linearised(model):
    for name, module in model.nodes():
        if isinstance(module, nn.MaxPool2d):
            if module.dilation not in (1, (1, 1)):
                pytest.skip("dilated max pooling has no average-pooling twin")
            model.replace_node(name, nn.AvgPool2d(module.kernel_size, module.stride,
                                                  module.padding, module.ceil_mode))
        elif isinstance(module, (nn.ReLU, nn.BatchNorm2d)):
            model.replace_node(name, nn.Identity())
    for p in model.parameters():
        nn.init.constant_(p, 1.0) if p.dim() > 1 else nn.init.zeros_(p)
    return model


def measured_field(graph, node_name: str, unit: tuple[int, int]):
    """Per axis (first, last) input pixel with a non-zero gradient of output ``unit``."""
    model = _linearised(cnnspec.to_torch(graph)).double()
    captured = {}
    dict(model.nodes())[node_name].register_forward_hook(
        lambda m, a, out: captured.__setitem__("out", out))
    x = torch.zeros(1, *graph.input_shape, dtype=torch.double, requires_grad=True)
    model(x)
    out = captured["out"]
    out[0, :, unit[0], unit[1]].sum().backward()
    touched = x.grad[0].abs().sum(0).nonzero()
    return [(int(touched[:, a].min()), int(touched[:, a].max())) for a in (0, 1)]


def predicted_field(result, node_name, unit):
    """(first, last) pixel of the field of ``unit``, from size, jump and start."""
    spans = []
    for rf, i in zip(result.facts[node_name].rf, unit):
        centre = rf.start + i * rf.jump
        spans.append((centre - (rf.size - 1) / 2, centre + (rf.size - 1) / 2))
    return spans


def _check(text: str):
    graph = cnnspec.parse_spec(text)
    result = cnnspec.analyze(graph)
    for node in graph.nodes:
        out = result.facts[node.name].output
        if len(out) != 3:
            continue
        unit = (out[1] // 2, out[2] // 2)
        predicted = predicted_field(result, node.name, unit)
        if any(lo < 0 or hi > n - 1 for (lo, hi), n in zip(predicted, graph.input_shape[1:])):
            continue  # the field reaches into the padding: the gradient cannot show it
        assert measured_field(graph, node.name, unit) == predicted, node.name


def test_tutorial_chains_match_gradients():
    _check("""
input: [1, 64, 64]
layers:
  - conv2d: {out: 2, kernel: 5, stride: 2, padding: 2}
  - relu
  - maxpool2d: {kernel: 3, stride: 2, padding: 1}
  - conv2d: {out: 2, kernel: 3, dilation: 2, padding: 2}
  - avgpool2d: {kernel: 2}
  - conv2d: {out: 2, kernel: [3, 1], stride: [1, 2]}
""")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(
    st.tuples(st.sampled_from(["conv2d", "maxpool2d", "avgpool2d"]), st.integers(1, 4),
              st.integers(1, 3), st.integers(1, 2)),
    min_size=1, max_size=4))
def test_random_chains_match_gradients(layers):
    lines = ["input: [1, 72, 72]", "layers:"]
    for kind, kernel, stride, dilation in layers:
        if kind == "conv2d":
            lines.append(f"  - conv2d: {{out: 1, kernel: {kernel}, stride: {stride}, "
                         f"dilation: {dilation}, padding: {kernel // 2}}}")
        else:
            lines.append(f"  - {kind}: {{kernel: {kernel}, stride: {stride}, padding: {kernel // 2}}}")
    try:
        cnnspec.analyze(cnnspec.parse_spec("\n".join(lines)))
    except cnnspec.SpecError:
        return  # the chain shrank the map to nothing; sizes are tested elsewhere
    _check("\n".join(lines))
