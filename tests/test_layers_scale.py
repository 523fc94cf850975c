"""layer_scale: every number against PyTorch, emitted and verified; torchvision's ConvNeXt
block mirrored (its ``layer_scale`` parameter of shape (C, 1, 1)); timm's LayerScale and
LayerScale2d imported."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

import cnnspec

from .layer_checks import check_against_torch, import_back, randomized
from .test_layers_tensor import TorchvisionPermute


@pytest.mark.parametrize("body, key, key_shape, init", [
    ("layer_scale", "0.gamma", (6,), 1e-6),
    ("layer_scale: {init: 0.25, param: weight}", "0.weight", (6,), 0.25),
    ("layer_scale: {param: layer_scale, broadcast: true}", "0.layer_scale", (6, 1, 1), 1e-6),
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
        - layer_scale: {name: scale, param: layer_scale, broadcast: true}
"""


def test_torchvision_convnext_block_is_mirrored():
    """The same parameters with the same shapes (torchvision's ``layer_scale`` (96, 1, 1) is
    the block's own parameter; the spec's is the parameter ``layer_scale`` of the node
    ``scale``), and with them the same output."""
    reference = randomized(CNBlock(96))
    model = cnnspec.to_torch(cnnspec.parse_spec(MIRROR)).eval()
    ours = {k.removeprefix("blk."): v.shape for k, v in model.state_dict().items()}
    theirs = {k: v.shape for k, v in reference.state_dict().items()}
    assert ours.pop("scale.layer_scale") == theirs.pop("layer_scale") == (96, 1, 1)
    assert ours == theirs
    state = {f"blk.{k}": v for k, v in reference.state_dict().items() if k != "layer_scale"}
    state["blk.scale.layer_scale"] = reference.layer_scale.detach()
    model.load_state_dict(state, strict=True)
    x = torch.randn(2, 96, 14, 14)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))
    result = cnnspec.analyze(cnnspec.parse_spec(MIRROR))
    assert result.totals()["params"] == sum(p.numel() for p in reference.parameters())


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
    graph = cnnspec.parse_spec(MIRROR)
    again = import_back(cnnspec.to_torch(graph), (96, 14, 14))
    scale = next(n.layer for n in again.nodes if n.type_name == "layer_scale")
    assert (scale.param, scale.broadcast, scale.dim) == ("layer_scale", True, 1)
