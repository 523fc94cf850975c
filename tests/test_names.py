"""Names in a spec: full matches only (no trailing newline), and no node name that PyTorch's
module machinery already uses."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import cnnspec
from cnnspec.errors import SpecStructureError
from cnnspec.frontend import scope
from cnnspec.frontend.spec import parse_overrides
from cnnspec.torch.builder import GraphModule
from cnnspec.util import names


def spec(name: str, kind: str = "conv2d: {out: 4, kernel: 3, name: %s}") -> str:
    return "input: [3, 8, 8]\nlayers:\n  - " + kind % json.dumps(name) + "\n"


def test_the_attribute_list_covers_this_torch():
    """Every attribute torch's containers and cnnspec's GraphModule have is refused as a node
    name (the list in names.py is written out so analyze never imports torch)."""
    graph = cnnspec.parse_spec("input: [3, 8, 8]\nlayers: [relu]\n")
    holders = [nn.Module(), nn.Sequential(), nn.ModuleDict(), cnnspec.to_torch(graph)]
    attributes = {a for holder in holders for a in dir(holder)}
    assert all(names.taken_by_torch(a) for a in attributes), \
        sorted(a for a in attributes if not names.taken_by_torch(a))
    assert isinstance(holders[-1], GraphModule)


@pytest.mark.parametrize("text", ["stem\n", "stem\r\n", "\nstem", "st em", "stem.", "é", "",
                                  "-a", "a-", "a--b", "a.b", "a/b"])
def test_names_must_match_in_full(text):
    with pytest.raises(cnnspec.SpecError):
        cnnspec.parse_spec(spec(text))
    assert not names.is_identifier(text)
    assert not names.is_node_name(text)


def test_every_identifier_check_is_a_full_match():
    for what in ("vars: {%s: 3}\ninput: [3, 8, 8]\nlayers: [relu]\n",
                 "input: [3, 8, 8]\nblocks: {%s: {layers: [relu]}}\nlayers: [relu]\n"):
        with pytest.raises(cnnspec.SpecError):
            cnnspec.parse_spec(what % json.dumps("w\n"))
    with pytest.raises(cnnspec.UsageError):
        parse_overrides(["w\nx=3"])
    from cnnspec.util import dims

    assert not dims.is_symbol_name("H\n")


@pytest.mark.parametrize("name", ["forward", "training", "__init__", "__class__", "__foo__", "to", "pop",
                                  "keys", "nodes", "_modules", "state_dict"])
def test_names_torch_has_taken_are_refused_with_position_and_hint(name):
    with pytest.raises(SpecStructureError) as info:
        cnnspec.parse_spec(spec(name))
    error = info.value
    assert error.pos.line == 3 and error.pos.path == "layers[0].name"
    assert f"'{name}'" in error.message and "rename it" in error.hint


def test_group_names_are_checked_too():
    text = "input: [3, 8, 8]\nlayers:\n  - sequential: {name: features, layers: [relu: {name: eval}]}\n"
    with pytest.raises(SpecStructureError, match="'features.eval'"):
        cnnspec.parse_spec(text)
    text = "input: [3, 8, 8]\nlayers:\n  - sequential: {name: forward, layers: [relu]}\n"
    with pytest.raises(SpecStructureError, match="'forward'"):
        cnnspec.parse_spec(text)


@pytest.mark.parametrize("name", ["None", "class", "__x", "_x", "self", "x", "nn", "torch", "0",
                                  "block1-0", "2a", "s-1-x"])
def test_other_names_keep_their_state_dict_keys(name):
    """Keywords, private names and the emitter's own names are fine as module names: the
    builder and the emitted file keep them as the keys."""
    graph = cnnspec.parse_spec(spec(name))
    assert list(cnnspec.to_torch(graph).state_dict()) == [f"{name}.weight", f"{name}.bias"]


def test_the_builder_refuses_a_name_this_torch_has_taken(monkeypatch):
    """A future torch may add a Module attribute the list does not have yet: the builder
    refuses it with the node's position instead of a KeyError traceback."""
    monkeypatch.setattr(scope, "taken_by_torch", lambda name: False)
    graph = cnnspec.parse_spec(spec("forward"))
    with pytest.raises(SpecStructureError, match="'forward' is an attribute of GraphModule") as info:
        cnnspec.to_torch(graph)
    assert info.value.pos.line == 3
    graph = cnnspec.parse_spec(spec("pop", "sequential: {name: s, layers: [relu: {name: %s}]}"))
    with pytest.raises(SpecStructureError, match="'pop' is an attribute of Sequential"):
        cnnspec.to_torch(graph)
    assert torch.nn.Sequential().pop  # (the attribute that would have been shadowed)


def test_module_path_names_build_emit_and_load():
    """A name such as torchvision RegNet's ``block1-0`` (no Python identifier) is a module
    name in the built model and in the emitted file alike, so state_dicts load both ways."""
    from cnnspec.emit.emitter import emit

    from .test_emit import load_source

    text = ("input: [3, 8, 8]\nlayers:\n  - sequential:\n      name: block1\n      layers:\n"
            "        - conv2d: {out: 4, kernel: 3, name: block1-0}\n        - relu: {name: a-b}\n"
            "        - conv2d: {out: 4, kernel: 1, name: 2x, from: block1-0}\n")
    graph = cnnspec.parse_spec(text)
    built = cnnspec.to_torch(graph)
    assert list(built.state_dict()) == ["block1.block1-0.weight", "block1.block1-0.bias",
                                        "block1.2x.weight", "block1.2x.bias"]
    emitted = load_source(emit(graph, class_name="Net")).Net()
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(emitted(x), built(x))
