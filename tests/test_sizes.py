"""`cnnspec sizes`: its claims are checked by brute force over every size in a range."""

from __future__ import annotations

import pytest

import cnnspec
from cnnspec.api import shapes_only
from cnnspec.solvers import sizes

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
    c, height, width = graph.input_shape
    index = 0 if axis.axis == "H" else 1
    for n in sizes_to_try:
        shape = (c, n, width) if axis.axis == "H" else (c, height, n)
        try:
            result = shapes_only(graph, shape, strict=False)
        except cnnspec.ShapeError:
            result = None
        assert (result is not None) == axis.is_valid(n), (axis.axis, n)
        if result is None:
            continue
        exact = not any(
            (sizes.dropped_pixels(node, result.facts[node.name].inputs) or [0, 0])[index]
            for node in graph.nodes
        )
        assert exact == axis.is_exact(n), (axis.axis, n)
        if declared:
            assert (not result.mismatches) == axis.satisfies(n), (axis.axis, n)


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_claims_hold_for_every_size(path):
    graph = cnnspec.load_spec(path)
    _, height, width = graph.input_shape
    for axis in sizes.solve(graph):
        check_claims(graph, axis, range(1, 3 * max(height, width) + 40))


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
