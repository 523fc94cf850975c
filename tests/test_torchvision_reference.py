"""The torchvision-mirroring specs against torchvision's own measured figures
(tests/data/torchvision/<model>.json, measured with torchvision 0.29.1 at each entry's input)."""

from __future__ import annotations

import pytest

import cnnspec

from .conftest import SPECS, TV_MIRRORS


@pytest.mark.parametrize("spec, model", TV_MIRRORS.items())
def test_params_and_macs_equal_torchvision(spec, model, tv_reference):
    ref = tv_reference[model]
    totals = cnnspec.analyze(cnnspec.load_spec(SPECS / f"{spec}.yaml")).totals()
    assert totals["params"] == ref["params"]
    assert totals["macs"] == ref["macs"]
    assert [1, *totals["output_shape"]] == ref["output"]


@pytest.mark.parametrize("spec, model", TV_MIRRORS.items())
def test_state_dict_keys_and_shapes_equal_torchvision(spec, model, tv_reference):
    built = cnnspec.to_torch(cnnspec.load_spec(SPECS / f"{spec}.yaml"))
    ours = {key: list(value.shape) for key, value in built.state_dict().items()}
    assert ours == tv_reference[model]["state_dict"]


@pytest.mark.parametrize("spec, model", TV_MIRRORS.items())
def test_per_layer_shapes_equal_torchvision(spec, model, tv_reference):
    """Every torchvision module call whose name is one of our nodes has our node's output
    shape (torchvision reuses some parameter-free modules, e.g. ResNet's relu, and calls
    flatten and merges as functions: those have no counterpart by name)."""
    graph = cnnspec.load_spec(SPECS / f"{spec}.yaml")
    result = cnnspec.analyze(graph)
    ours = {node.name: [1, *result.facts[node.name].output] for node in graph.nodes}
    first_call = {}
    for name, _type, shape in tv_reference[model]["leaf_outputs"]:
        first_call.setdefault(name, shape)
    matched = {name: shape for name, shape in first_call.items() if name in ours}
    assert {name: ours[name] for name in matched} == matched
    # a bare layer is no module (ConvNeXt's layer_scale): its parameter's key and shape are
    # compared with the state_dict's above
    with_params = {n.name for n in graph.nodes if result.facts[n.name].params
                   and n.layer.bare_parameter(result.facts[n.name].inputs) is None}
    assert with_params <= set(matched)  # every module with weights was compared


TRAINING_ONLY = {"dropout": "Dropout", "drop_path": "StochasticDepth"}


@pytest.mark.parametrize("spec, model", TV_MIRRORS.items())
def test_training_only_layers_are_the_ones_torchvision_calls(spec, model, tv_reference):
    """Dropout and stochastic depth change nothing in eval mode, so the output tests cannot
    see them: the spec must have one exactly where torchvision's forward calls one (its
    MBConv builds a StochasticDepth in every block but calls it only on the residual ones)."""
    graph = cnnspec.load_spec(SPECS / f"{spec}.yaml")
    ours = {(n.name, TRAINING_ONLY[n.layer.type_name]) for n in graph.nodes
            if n.layer.type_name in TRAINING_ONLY}
    called = {(name, kind) for name, kind, _ in tv_reference[model]["leaf_outputs"]
              if kind in TRAINING_ONLY.values()}
    assert ours == called
