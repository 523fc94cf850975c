"""The block language for real networks: ``if:`` for optional parts, ``group`` (items that add
no naming level), a layer type as an argument (``act: hardswish`` then ``- act``), list
arguments (``kernel: [1, 7]``, read as ``kernel[0]``) and conditions in expressions."""

from __future__ import annotations

import pytest
import torch

import cnnspec
from cnnspec.frontend import expr

from .test_differential import assert_every_node_matches

SPEC = """
name: blocks_demo
input: [16, 8, 8]
vars: {use_se: true}
blocks:
  unit:
    args: {t: 1, kernel: [1, 3], act: relu, se: false}
    layers:
      - group:
          if: t != 1
          layers:
            - conv2d: {out: "16 * t", kernel: 1}
            - act
      - conv2d: {out: in_channels, kernel: kernel, groups: in_channels,
                 padding: ["kernel[0] // 2", "kernel[1] // 2"]}
      - squeeze_excitation: {squeeze: 4, if: se}
      - act
      - conv2d: {out: 16, kernel: 1}
layers:
  - unit: {t: 2, kernel: [3, 1], act: hardswish, se: use_se, name: u1}
  - unit: {name: u2}
"""


def _nodes(graph):
    return {n.name: n.type_name for n in graph.nodes}


def test_optional_parts_take_no_index_and_groups_no_naming_level():
    graph = cnnspec.parse_spec(SPEC)
    nodes = _nodes(graph)
    # u1: the group's two items are 0 and 1, the depthwise conv 2, the SE 3 (torchvision's
    # list.append order); u2 leaves the group and the SE out and counts on from 0
    assert [k for k in nodes if k.startswith("u1.") and k.count(".") == 1] == \
        ["u1.0", "u1.1", "u1.2", "u1.4", "u1.5"]
    assert nodes["u1.1"] == "hardswish" and nodes["u1.4"] == "hardswish"
    assert "u1.3.fc1" in nodes
    assert [k for k in nodes if k.startswith("u2.")] == ["u2.0", "u2.1", "u2.2"]
    assert nodes["u2.1"] == "relu"
    assert graph.node("u1.2").layer.kernel == (3, 1) and graph.node("u1.2").layer.padding == (1, 0)
    assert graph.node("u2.0").layer.kernel == (1, 3) and graph.node("u2.0").layer.padding == (0, 1)


def test_the_figures_match_pytorch():
    _, model, _ = assert_every_node_matches(cnnspec.parse_spec(SPEC), 2)
    assert isinstance(model.get_submodule("u1.1"), torch.nn.Hardswish)


@pytest.mark.parametrize("text, value", [
    ("stride == 1 and c != 4", True), ("1 < c <= 3", True), ("not (c > 2)", False),
    ("2 if stride == 1 else 1", 2), ("k[1] // 2", 3), ("k[-1] + k[0]", 8),
    ("c > 9 or stride == 1", True),
])
def test_conditions_in_expressions(text, value):
    assert expr.evaluate(text, {"stride": 1, "c": 3, "k": (1, 7)}) == value


@pytest.mark.parametrize("text, message", [
    ("c and 1", "a condition must be true or false"), ("k[2]", "not one of the list's 2"),
    ("c[0]", "only a list argument can be indexed"), ("k < 1", "only numbers can be compared"),
])
def test_condition_mistakes(text, message):
    with pytest.raises(expr.ExprError, match=message):
        expr.evaluate(text, {"c": 3, "k": (1, 7)})


def _error(text):
    with pytest.raises(cnnspec.SpecError) as info:
        cnnspec.parse_spec(text)
    return info.value


def test_if_must_be_a_condition():
    error = _error("input: [3, 4, 4]\nlayers:\n  - relu: {if: 3}\n")
    assert "if must be true or false, got 3" in error.message and error.pos.line == 3
    assert "layers[0].if" in error.pos.path


def test_group_mistakes_name_the_setting():
    error = _error("input: [3, 4, 4]\nlayers:\n  - group: {layers: [relu], name: g}\n")
    assert "group has no setting 'name'" in error.message and error.pos.line == 3
    error = _error("input: [3, 4, 4]\nlayers:\n  - group: [relu]\n")
    assert "group takes a mapping with 'layers'" in error.message


def test_a_whole_list_may_be_left_out_but_the_network_keeps_an_input():
    graph = cnnspec.parse_spec("input: [3, 4, 4]\nvars: {deep: false}\nlayers:\n"
                               "  - group: {if: deep, layers: [relu]}\n  - sigmoid\n")
    assert _nodes(graph) == {"0": "sigmoid"}


def test_a_type_argument_that_names_nothing_is_an_unknown_type():
    text = ("input: [3, 4, 4]\nblocks:\n  b:\n    args: {act: relu}\n    layers: [act]\n"
            "layers:\n  - b: {act: not_a_layer}\n")
    error = _error(text)
    assert "not_a_layer" in error.message
