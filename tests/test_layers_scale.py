"""layer_scale: every number against PyTorch, emitted and verified; torchvision's ConvNeXt
block mirrored (its own ``layer_scale`` parameter of shape (C, 1, 1): a bare layer scale),
built, emitted and imported; timm's LayerScale and LayerScale2d, and timm's ConvNeXt block
``gamma`` (a (C,) parameter viewed as (1, C, 1, 1)), imported."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

import cnnspec
from cnnspec.emit.emitter import emit
from cnnspec.errors import CnnspecError
from cnnspec.torch.importer import UnsupportedOperations, import_model

from .layer_checks import check_against_torch, import_back, randomized
from .test_emit import load_source
from .test_layers_tensor import TorchvisionPermute


@pytest.mark.parametrize("body, key, key_shape, init", [
    ("layer_scale", "0.gamma", (6,), 1e-6),
    ("layer_scale: {init: 0.25, param: weight}", "0.weight", (6,), 0.25),
    ("layer_scale: {param: layer_scale, broadcast: true}", "0.layer_scale", (6, 1, 1), 1e-6),
    ("layer_scale: {bare: true, broadcast: true}", "0", (6, 1, 1), 1e-6),
    ("layer_scale: {bare: true, init: 0.5}", "0", (6,), 0.5),
])
def test_channels_first_matches_pytorch(body, key, key_shape, init):
    result = check_against_torch(f"name: ls\ninput: [6, 3, 4]\nlayers:\n  - {body}\n"
                                 "  - conv2d: {out: 2, kernel: 3}\n", batch=1)
    scale = result.facts["0"]
    assert scale.params == 6 and scale.elementwise_ops == 6 * 12 and scale.macs == 0
    model = cnnspec.to_torch(cnnspec.parse_spec(f"input: [6, 3, 4]\nlayers:\n  - {body}\n"))
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {key: key_shape}
    assert torch.equal(model.state_dict()[key], torch.full(key_shape, init))


def test_channels_last_matches_pytorch():
    result = check_against_torch("name: last\ninput: [6, 3, 4]\nlayers:\n  - permute: [0, 2, 3, 1]\n"
                                 "  - layer_scale: {dim: -1, init: 2.0}\n  - permute: [0, 3, 1, 2]\n")
    assert result.facts["1"].params == 6


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock (torchvision 0.29), stochastic depth left out (the
    identity at inference)."""

    def __init__(self, dim, layer_scale=1e-6):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            TorchvisionPermute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            TorchvisionPermute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)

    def forward(self, input):
        return self.layer_scale * self.block(input) + input


MIRROR = """
name: cnblock
input: [96, 14, 14]
layers:
  - residual:
      name: blk
      layers:
        - sequential:
            name: block
            layers:
              - conv2d: {out: 96, kernel: 7, padding: 3, groups: 96}
              - permute: [0, 2, 3, 1]
              - layernorm: {eps: 1.0e-6}
              - linear: 384
              - gelu
              - linear: 96
              - permute: [0, 3, 1, 2]
        - layer_scale: {name: layer_scale, bare: true, broadcast: true}
"""


def test_torchvision_convnext_block_is_mirrored():
    """The same state_dict, key for key (the block's own ``layer_scale`` of (96, 1, 1) is the
    bare node's parameter, held by the group ``blk``), loaded strictly into the built and
    the emitted model, and with it the same output."""
    reference = randomized(CNBlock(96))
    graph = cnnspec.parse_spec(MIRROR)
    built = cnnspec.to_torch(graph).eval()
    source = emit(graph)
    emitted = load_source(source).Cnblock().eval()
    assert "self.layer_scale = nn.Parameter(torch.full((96, 1, 1), 1e-06))" in source
    assert "out = self.layer_scale * out" in source
    state = {f"blk.{k}": v for k, v in reference.state_dict().items()}
    x = torch.randn(2, 96, 14, 14)
    for model in (built, emitted):
        assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in state.items()}
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            assert torch.equal(model(x), reference(x))
    result = cnnspec.analyze(graph)
    assert result.facts["blk.layer_scale"].params == 96
    assert result.totals()["params"] == sum(p.numel() for p in reference.parameters())


def test_torchvision_convnext_block_imports_as_a_bare_layer_scale():
    """``self.layer_scale * self.block(input)`` is a bare layer_scale named ``layer_scale``;
    the model built from the imported spec loads the block's state_dict strictly."""
    graph = import_back(CNBlock(96), (96, 14, 14))
    scale = graph.node("layer_scale").layer
    assert (scale.bare, scale.broadcast, scale.dim, scale.init) == (True, True, 1, 1e-6)
    assert graph.node("layer_scale").inputs == ("block.6",)


@pytest.mark.parametrize("spec", ["built", "emitted"])
def test_bare_layer_scale_round_trip(spec):
    """A spec with bare scales, built or emitted, imports back with the same nodes, keys and
    numbers (the builder runs the scale from its own forward: the parameter is a group's)."""
    graph = cnnspec.parse_spec(MIRROR.replace("broadcast: true}", "broadcast: true, init: 0.25}"))
    model = cnnspec.to_torch(graph) if spec == "built" else load_source(emit(graph)).Cnblock()
    again = cnnspec.parse_spec(import_model(model.eval(), (96, 14, 14)).text)  # init read back: 0.25
    assert again.node("blk.layer_scale").layer.config() == graph.node("blk.layer_scale").layer.config()
    assert cnnspec.analyze(again).totals() == cnnspec.analyze(graph).totals()
    import_back(model, (96, 14, 14))  # and with other weights, the same state_dict and outputs


class TimmConvNeXtBlock(nn.Module):
    """timm.models.convnext.ConvNeXtBlock's scale (timm 1.0): ``gamma`` of shape (C,), viewed
    as (1, C, 1, 1); channels-last, ``x * self.gamma`` (``ls_last``)."""

    def __init__(self, dim, last=False):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))
        self.last = last

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        if self.last:
            x = x.permute(0, 2, 3, 1) * self.gamma
            return x.permute(0, 3, 1, 2) + shortcut
        return x.mul(self.gamma.reshape(1, -1, 1, 1)) + shortcut


@pytest.mark.parametrize("last, dim", [(False, 1), (True, -1)])
def test_timm_convnext_gamma_imports_as_a_bare_layer_scale(last, dim):
    graph = import_back(TimmConvNeXtBlock(8, last), (8, 5, 5))
    scale = graph.node("gamma").layer
    assert (scale.bare, scale.broadcast, scale.dim) == (True, False, dim)
    check_against_torch(graph_text := import_model(TimmConvNeXtBlock(8, last), (8, 5, 5)).text)
    assert "layer_scale: {bare: true" in graph_text


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x):
        return self.scale * (self.scale * x)


def test_a_parameter_read_twice_is_refused():
    with pytest.raises(UnsupportedOperations, match="parameter .*read more than once.* at scale "):
        import_model(Shared(), (4, 3, 3))


def test_frozen_bare_layer_scale():
    graph = cnnspec.parse_spec(MIRROR.replace("broadcast: true}", "broadcast: true, trainable: false}"))
    built = cnnspec.to_torch(graph)
    emitted = load_source(emit(graph)).Cnblock()
    for model in (built, emitted):
        frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
        assert frozen == {"blk.layer_scale"}
    assert cnnspec.analyze(graph).totals()["trainable_params"] == sum(
        p.numel() for p in built.parameters() if p.requires_grad)


def test_bare_layer_scale_names_no_param():
    with pytest.raises(CnnspecError, match="leave param out"):
        cnnspec.parse_spec("input: [4, 2, 2]\nlayers:\n  - layer_scale: {bare: true, param: w}\n")


class LayerScale(nn.Module):
    """timm.layers.LayerScale (channels-last)."""

    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.init_values, self.inplace = init_values, inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma


class LayerScale2d(LayerScale):
    """timm.layers.LayerScale2d (channels-first)."""

    def forward(self, x):
        gamma = self.gamma.view(1, -1, 1, 1)
        return x.mul_(gamma) if self.inplace else x * gamma


def test_timm_layer_scales_import():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), LayerScale2d(8), TorchvisionPermute([0, 2, 3, 1]),
                          LayerScale(8, init_values=0.1), TorchvisionPermute([0, 3, 1, 2]))
    graph = import_back(model, (3, 4, 4))
    assert [n.type_name for n in graph.nodes] == ["conv2d", "layer_scale", "permute", "layer_scale",
                                                  "permute"]
    first, second = graph.nodes[1].layer, graph.nodes[3].layer
    assert (first.dim, first.init, first.param) == (1, 1e-5, "gamma")
    assert (second.dim, second.init) == (-1, 0.1)


def test_own_module_imports_back():
    own = MIRROR.replace("name: layer_scale, bare: true", "name: scale, param: layer_scale")
    graph = cnnspec.parse_spec(own)
    again = import_back(cnnspec.to_torch(graph), (96, 14, 14))
    scale = next(n.layer for n in again.nodes if n.type_name == "layer_scale")
    assert (scale.param, scale.broadcast, scale.dim) == ("layer_scale", True, 1)


def test_bare_layer_scale_in_a_group_its_parent_runs_piece_by_piece():
    """Built, the group holds the parameter; emitted, such a group is an nn.ModuleDict, which
    holds no parameter: a clear error."""
    text = ("name: pieces\ninput: [4, 3, 3]\nlayers:\n  - sequential:\n      name: g\n      layers:\n"
            "        - layer_scale: {bare: true, name: s}\n        - relu: {name: r}\n"
            "  - add: {from: [g.s, g.r]}\n")
    graph = cnnspec.parse_spec(text)
    assert list(cnnspec.to_torch(graph).state_dict()) == ["g.s"]
    with pytest.raises(CnnspecError, match="cannot write g.s: its group g is run piece by piece"):
        emit(graph)


class NFNetBlock(nn.Module):
    """timm.models.nfnet.NormFreeBlock's end (timm 1.0): ``out.mul_(self.skipinit_gain)``, a 0-d
    parameter the block holds, then the shortcut added."""

    def __init__(self, dim, gain=0.0):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.skipinit_gain = nn.Parameter(torch.tensor(gain))

    def forward(self, x):
        out = self.conv(x)
        out.mul_(self.skipinit_gain)
        return out + x


SCALAR = """
name: nfblock
input: [8, 5, 5]
layers:
  - residual:
      name: blk
      layers:
        - conv2d: {out: 8, kernel: 3, padding: 1, name: conv}
        - layer_scale: {name: skipinit_gain, bare: true, scalar: true, init: 0.0}
"""


def test_scalar_bare_layer_scale_is_mirrored():
    """One 0-d parameter (key shape []), built and emitted, loads NFNet's block strictly and
    computes what it computes; one parameter, one multiply per element."""
    reference = randomized(NFNetBlock(8))
    graph = cnnspec.parse_spec(SCALAR)
    source = emit(graph)
    assert "self.skipinit_gain = nn.Parameter(torch.full((), 0.0))" in source
    emitted = load_source(source).Nfblock().eval()
    state = {f"blk.{k}": v for k, v in reference.state_dict().items()}
    x = torch.randn(2, 8, 5, 5)
    for model in (cnnspec.to_torch(graph).eval(), emitted):
        assert model.state_dict()["blk.skipinit_gain"].shape == torch.Size([])
        assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in state.items()}
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            assert torch.equal(model(x), reference(x))
    facts = cnnspec.analyze(graph).facts["blk.skipinit_gain"]
    assert (facts.params, facts.elementwise_ops, facts.macs) == (1, 8 * 25, 0)
    assert cnnspec.analyze(graph).totals()["params"] == sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize("gain", [0.0, 0.25])
def test_nfnet_skipinit_gain_imports_as_a_scalar_layer_scale(gain):
    """The in-place ``mul_`` by a 0-d parameter is a bare scalar layer_scale named by its key."""
    text = import_model(NFNetBlock(8, gain), (8, 5, 5)).text
    scale = cnnspec.parse_spec(text).node("skipinit_gain").layer
    assert (scale.bare, scale.scalar, scale.init) == (True, True, gain)
    check_against_torch(text)
    assert import_back(NFNetBlock(8, gain), (8, 5, 5)).node("skipinit_gain").layer.scalar


def test_scalar_layer_scale_as_a_module():
    """Not bare: cnnspec's own LayerScale holding a 0-d parameter, every number against
    PyTorch, imported back."""
    text = "name: sc\ninput: [6, 3, 4]\nlayers:\n  - layer_scale: {scalar: true, init: 0.5}\n"
    assert check_against_torch(text).facts["0"].params == 1
    model = cnnspec.to_torch(cnnspec.parse_spec(text))
    assert model.state_dict()["0.gamma"].shape == torch.Size([])
    assert import_back(model, (6, 3, 4)).nodes[0].layer.scalar


def test_scalar_layer_scale_does_not_broadcast():
    with pytest.raises(CnnspecError, match="leave broadcast out"):
        cnnspec.parse_spec("input: [4, 2, 2]\nlayers:\n  - layer_scale: {scalar: true, broadcast: true}\n")
