"""The torchvision-mirroring specs against torchvision's own measured figures
(tests/data/torchvision_reference.json, measured with torchvision 0.29.1 at 1x3x224x224)."""

from __future__ import annotations

import pytest

import cnnspec

from .conftest import SPECS

MIRRORS = {"alexnet_torchvision": "alexnet", "vgg16": "vgg16"}


@pytest.mark.parametrize("spec, model", MIRRORS.items())
def test_params_and_macs_equal_torchvision(spec, model, tv_reference):
    ref = tv_reference[model]
    totals = cnnspec.analyze(cnnspec.load_spec(SPECS / f"{spec}.yaml")).totals()
    assert totals["params"] == ref["params"]
    assert totals["macs"] == ref["macs"]
    assert [1, *totals["output_shape"]] == ref["output"]


@pytest.mark.parametrize("spec, model", MIRRORS.items())
def test_state_dict_keys_and_shapes_equal_torchvision(spec, model, tv_reference):
    built = cnnspec.to_torch(cnnspec.load_spec(SPECS / f"{spec}.yaml"))
    ours = {key: list(value.shape) for key, value in built.state_dict().items()}
    assert ours == tv_reference[model]["state_dict"]


@pytest.mark.parametrize("spec, model", MIRRORS.items())
def test_per_layer_shapes_equal_torchvision(spec, model, tv_reference):
    graph = cnnspec.load_spec(SPECS / f"{spec}.yaml")
    result = cnnspec.analyze(graph)
    ref = tv_reference[model]["leaf_outputs"]
    ours = [
        [node.name, [1, *result.facts[node.name].output]]
        for node in graph.nodes
        if node.name != "flatten"  # torchvision flattens with torch.flatten, not a module
    ]
    assert ours == [[name, shape] for name, _type, shape in ref]
