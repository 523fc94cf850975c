"""A layer type with its own torch module is one class: defined here, outside cnnspec, and
registered for the length of a test, it is analysed, built, emitted, verified and imported
back with no other change to cnnspec.

``test_scale`` multiplies each channel by a learnable scale (``out = x * gamma.view(1, -1,
1, 1)``, C parameters), as ConvNeXt's layer scale does; ``torch.nn`` has no module for it.
(cnnspec's own ``layer_scale`` is such a layer; this one is defined by the test.)"""

from __future__ import annotations

import pytest
import torch

import cnnspec
from cnnspec.emit.emitter import emit, usable_class_name
from cnnspec.layers.base import Attr, Layer, OwnModule, TorchCall, float_kind, spatial
from cnnspec.layers.registry import lookup, register, unregister
from cnnspec.torch.importer import import_model, to_spec
from cnnspec.torch.verify import verify

from .test_emit import load_source
from .test_emit_properties import ruff_clean

SPEC = """
name: scaled
input: [3, 12, 12]
vars: {s: 0.5}
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1, name: conv}
  - test_scale: {init: s, name: scale}
  - relu: {name: act}
  - residual:
      name: block
      layers:
        - conv2d: {out: 8, kernel: 3, padding: 1, name: conv}
        - test_scale: {name: scale}
  - global_avgpool: {name: pool}
  - flatten: {name: flat}
  - linear: {out: 4, name: head}
"""
#: conv 3·8·9 + 8, scale 8, block conv 8·8·9 + 8, block scale 8, head 8·4 + 4
PARAMS = 224 + 8 + 584 + 8 + 36


@pytest.fixture
def scale_layer():
    """The layer type, registered while the test runs (after cnnspec, its builder, emitter
    and importer have been imported: they must find it in the registry when they run)."""

    class ScaleByChannel(Layer):
        """x times a learnable scale per channel (``gamma``, C values)."""

        type_name = "test_scale"
        elementwise = True
        ops_per_element = 1
        attrs = (Attr("init", float_kind(), default=1.0, shapeless=True,
                      doc="the scales' initial value"),)
        torch_module = OwnModule("TestScale", '''\
class TestScale(nn.Module):
    """x times a learnable scale per channel."""

    def __init__(self, channels: int, init: float = 1.0):
        super().__init__()
        self.init = init
        self.gamma = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1)
''')

        def output_shape(self, inputs):
            (shape,) = inputs
            spatial(shape, self.type_name)
            return shape

        def params(self, inputs):
            return inputs[0][0]

        def torch_call(self, inputs):
            kwargs = {} if self.init == 1.0 else {"init": self.init}
            return TorchCall("TestScale", (inputs[0][0],), kwargs, arg_names=("channels",))

    register(ScaleByChannel)
    try:
        yield ScaleByChannel
    finally:
        unregister(ScaleByChannel)
    assert lookup("test_scale") is None


def _randomized(model: torch.nn.Module) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return model.eval()


def test_it_is_analysed(scale_layer):
    result = cnnspec.analyze(cnnspec.parse_spec(SPEC))
    scale = result.facts["scale"]
    assert scale.output == (8, 12, 12) and scale.params == 8
    assert result.facts["block.scale"].params == 8
    assert result.totals()["params"] == PARAMS
    with pytest.raises(cnnspec.SpecError, match="test_scale needs a"):
        cnnspec.analyze(cnnspec.parse_spec(
            "input: [3, 4, 4]\nlayers: [flatten, {test_scale: {}}]\n"))


def test_it_is_built_with_its_own_module(scale_layer):
    model = cnnspec.to_torch(cnnspec.parse_spec(SPEC))
    assert sum(p.numel() for p in model.parameters()) == PARAMS
    scale = model.get_submodule("scale")
    assert type(scale).__name__ == "TestScale"
    assert torch.equal(scale.gamma, torch.full((8,), 0.5))  # init: s, s = 0.5
    assert torch.equal(model.get_submodule("block.scale").gamma, torch.ones(8))
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():  # the layer's forward runs: the scales change the output
        before = model(x)
        scale.gamma.mul_(3.0)
        assert not torch.allclose(model(x), before)


def test_it_is_emitted_as_the_model_the_builder_builds(scale_layer):
    graph = cnnspec.parse_spec(SPEC)
    source = emit(graph)
    assert scale_layer.torch_module.source in source  # the layer's own class, pasted once
    assert source.count("class TestScale(nn.Module):") == 1
    assert "def __init__(self, s: float = 0.5)" in source  # a shapeless setting's variable
    ruff_clean(source)
    emitted = load_source(source).Scaled().eval()
    built = _randomized(cnnspec.to_torch(graph))
    assert list(emitted.state_dict()) == list(built.state_dict())
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(emitted(x), built(x))
    # its name is the generated file's own while the layer type is registered
    assert not usable_class_name("TestScale")
    with pytest.raises(cnnspec.UsageError):
        emit(graph, class_name="TestScale")


def test_it_verifies(scale_layer, monkeypatch):
    report = verify(cnnspec.parse_spec(SPEC))
    assert report.mismatches == 0
    checks = {c.what: c for c in next(n for n in report.nodes if n.name == "scale").checks}
    assert checks["params"].measured == 8 and checks["params"].ok
    assert checks["shape"].measured == (1, 8, 12, 12) and checks["shape"].ok
    monkeypatch.setattr(scale_layer, "params", lambda self, inputs: 0)  # a wrong prediction
    assert verify(cnnspec.parse_spec(SPEC), receptive_field=False).mismatches > 0


@pytest.mark.parametrize("source", ["built", "emitted"])
def test_it_is_imported_back(scale_layer, source):
    graph = cnnspec.parse_spec(SPEC)
    model = cnnspec.to_torch(graph) if source == "built" else load_source(emit(graph)).Scaled()
    imported = import_model(model, graph.input_shape, "scaled")
    assert imported.dropped == []
    again = cnnspec.parse_spec(imported.text)
    types = {n.name: n.type_name for n in again.nodes}
    assert types["scale"] == types["block.scale"] == "test_scale"
    assert again.node("scale").layer.init == 0.5 and again.node("block.scale").layer.init == 1.0
    original, back = cnnspec.analyze(graph), cnnspec.analyze(again)
    # layer by layer the same shapes and parameters (the names and types may differ: the emitted
    # file writes the residual sum in its block's forward, so the importer names it after the
    # group it runs between, add; global_avgpool is read back as adaptive_avgpool2d)
    assert [(original.facts[n.name].output, original.facts[n.name].params) for n in graph.nodes] == \
        [(back.facts[n.name].output, back.facts[n.name].params) for n in again.nodes]
    assert back.totals()["params"] == PARAMS
    rebuilt = cnnspec.to_torch(again).eval()
    rebuilt.load_state_dict(_randomized(model).state_dict(), strict=True)
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    assert to_spec(rebuilt, graph.input_shape, "scaled") == imported.text


def test_unregistered_it_is_unknown_everywhere(scale_layer):
    cnnspec.parse_spec("input: [3, 4, 4]\nlayers: [{test_scale: {}}]\n")  # known while registered
    unregister(scale_layer)
    try:
        _unknown_everywhere()
    finally:
        register(scale_layer)


def _unknown_everywhere():
    assert lookup("test_scale") is None
    with pytest.raises(cnnspec.SpecError):
        cnnspec.parse_spec("input: [3, 4, 4]\nlayers: [{test_scale: {}}]\n")
    assert usable_class_name("TestScale")
