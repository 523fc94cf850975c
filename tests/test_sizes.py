"""`cnnspec sizes`: its claims are checked by brute force over every size in a range."""

from __future__ import annotations

import pytest

import cnnspec
from cnnspec.api import shapes_only
from cnnspec.solvers import size_axes, sizes

from .conftest import SPEC_FILES, SPEC_IDS, SPECS


def test_alexnet_facts():
    graph = cnnspec.load_spec(SPECS / "alexnet.yaml")
    h, w = sizes.solve(graph)
    for axis in (h, w):
        assert axis.min_valid == 67
        assert axis.period == 32 and axis.exact_residues == [0]
        (fc1,) = axis.constraints
        assert (fc1.node, fc1.declared, fc1.low, fc1.high) == ("fc1", 9216, 227, 258)
    assert sizes.nearest(h, 224, h.is_exact) == [195, 227]


def check_claims(graph, axis, sizes_to_try, declared: bool = True) -> None:
    """The solver's claims about ``axis`` (valid, exact, and when ``declared`` the declared sizes
    met) against a shape analysis at every size in ``sizes_to_try``."""
    reference = graph.input_shape
    (index,) = size_axes.dims(reference, axis.axis)
    for n in sizes_to_try:
        shape = size_axes.shape_for(reference, axis.axis, n)
        try:
            result = shapes_only(graph, shape, strict=False)
        except cnnspec.ShapeError:
            result = None
        assert (result is not None) == axis.is_valid(n), (axis.axis, n)
        if result is None:
            continue
        exact = not any(
            (sizes.dropped_pixels(node, result.facts[node.name].inputs) or [0] * 3)[index]
            for node in graph.nodes
        )
        assert exact == axis.is_exact(n), (axis.axis, n)
        if declared:
            assert (not result.mismatches) == axis.satisfies(n), (axis.axis, n)


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_claims_hold_for_every_size(path):
    graph = cnnspec.load_spec(path)
    largest = max(graph.input_shape[1:])  # (C, L), (C, H, W) or (C, D, H, W)
    for axis in sizes.solve(graph):
        check_claims(graph, axis, range(1, 3 * largest + 40))


def test_exactness_is_per_axis_and_the_period_counts_every_stride():
    graph = cnnspec.load_spec(SPECS / "alexnet_torchvision.yaml")
    h, w = sizes.solve(graph)  # at 224x224: exact heights exist although 224 is not one
    assert h.min_valid == 63 and h.period == 32 and h.exact_residues == [0]
    small = cnnspec.load_spec(SPECS / "alexnet.yaml", input_shape=(3, 67, 67))
    h, _ = sizes.solve(small)
    assert h.period == 32 and not h.is_exact(83)


def test_ceil_mode_drops_nothing():
    graph = cnnspec.parse_spec(
        "input: [1, 12, 12]\nlayers:\n  - maxpool2d: {kernel: 3, stride: 2, ceil_mode: true}\n")
    result = shapes_only(graph, (1, 12, 12))
    node = graph.nodes[0]
    assert result.facts[node.name].output == (1, 6, 6)
    assert sizes.dropped_pixels(node, result.facts[node.name].inputs) == [0, 0]


def test_dropped_pixels_matches_pytorch_arithmetic():
    graph = cnnspec.parse_spec("input: [1, 10, 10]\nlayers:\n  - conv2d: {out: 1, kernel: 3, stride: 2}\n")
    result = shapes_only(graph, (1, 10, 10))
    node = graph.nodes[0]
    # 10 pixels, 3-wide windows at stride 2 start at 0, 2, 4, 6: pixel 9 is never read
    assert sizes.dropped_pixels(node, result.facts[node.name].inputs) == [1, 1]


ONE_D = """\
name: m5_like
input: [1, 8000]
layers:
  - conv1d: {out: 8, kernel: 80, stride: 16}
  - relu: {}
  - maxpool1d: {kernel: 4}
  - conv1d: {out: 8, kernel: 3}
  - maxpool1d: {kernel: 4}
  - flatten: {}
  - linear: {in: 240, out: 5}
"""

THREE_D = """\
name: video
input: [3, 8, 40, 36]
layers:
  - conv3d: {out: 4, kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3]}
  - maxpool3d: {kernel: [2, 3, 3], stride: 2}
  - flatten: {}
  - linear: {in: 1152, out: 2}
"""


def test_one_dimensional_inputs_have_one_axis_checked_against_pytorch():
    import torch
    from torch import nn

    graph = cnnspec.parse_spec(ONE_D)
    (length,) = sizes.solve(graph)
    assert (length.axis, length.fixed) == ("L", {})
    # conv 80/16, pool 4, conv 3, pool 4: the first size is 80 + 16 * (4 * (3 - 1 + 4) - 1)
    assert length.min_valid == 80 + 16 * 23 and length.period == 16 * 4 * 4
    (fc,) = length.constraints
    assert (fc.low, fc.high) == (7872, 8127)  # 30 positions after the second pool
    check_claims(graph, length, range(1, 1200))
    convs = nn.Sequential(nn.Conv1d(1, 8, 80, 16), nn.ReLU(), nn.MaxPool1d(4), nn.Conv1d(8, 8, 3),
                          nn.MaxPool1d(4))
    for n in range(400, 1000, 7):  # the sizes PyTorch takes are the ones called valid
        try:
            convs(torch.zeros(1, 1, n))
            runs = True
        except RuntimeError:
            runs = False
        assert runs == length.is_valid(n), n


def test_three_dimensional_inputs_vary_depth_height_and_width():
    graph = cnnspec.parse_spec(THREE_D)
    depth, height, width = sizes.solve(graph)
    assert [a.axis for a in (depth, height, width)] == ["D", "H", "W"]
    assert height.fixed == {"D": 8, "W": 36}
    for axis in (depth, height, width):
        check_claims(graph, axis, range(1, 90))


def test_a_declared_size_hint_names_the_axes_held_in_three_dimensions():
    with pytest.raises(cnnspec.ShapeError) as caught:
        cnnspec.analyze(cnnspec.parse_spec(THREE_D.replace("[3, 8, 40, 36]", "[3, 8, 44, 36]")))
    # no depth gives 1152 at this height (4 x depth x 10 x 8), nor any cube; heights 37-40
    # give the 9 rows the declared size needs
    assert caught.value.hint == "heights (at depth 8, width 36) from 37 to 40 give 1152"
