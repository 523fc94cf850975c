"""Layer norm (channels-last and channels-first), group norm and batch norm 1-D/3-D: every
number against PyTorch, emitted code, verify, import of the torch modules, input errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

import cnnspec
from cnnspec.layers import LAYERS, LayerInputError

from .layer_checks import check_against_torch, import_back

CONVNEXT_BLOCK = """
name: cnblock
input: [3, 16, 16]
layers:
  - conv2d: {out: 8, kernel: 4, stride: 4, name: stem}
  - layernorm2d: {eps: 1.0e-6, name: stem_norm}
  - residual:
      name: block
      layers:
        - conv2d: {out: 8, kernel: 3, padding: 1, groups: 8, name: dw}
        - permute: [0, 2, 3, 1]
        - layernorm: {eps: 1.0e-6, name: norm}
        - linear: {out: 32, name: fc1}
        - gelu
        - linear: {out: 8, name: fc2}
        - permute: [0, 3, 1, 2]
        - layer_scale: {name: ls, init: 0.5}
  - groupnorm: {groups: 4, name: gn}
  - global_avgpool
  - flatten
  - batchnorm1d: {name: bn}
  - linear: {out: 3, name: head}
"""


def test_convnext_style_block_matches_pytorch():
    check_against_torch(CONVNEXT_BLOCK)
    facts = cnnspec.analyze(cnnspec.parse_spec(CONVNEXT_BLOCK)).facts  # batch 1
    assert facts["block.1"].output == (4, 4, 8)  # channels-last
    assert facts["block.norm"].params == 16  # weight and bias over the last dim, 8 each
    assert facts["block.fc1"].output == (4, 4, 32)
    assert facts["block.fc1"].macs == 4 * 4 * 8 * 32
    assert facts["stem_norm"].params == facts["gn"].params == 16
    assert facts["bn"].buffers == 17
    # element-wise work: 5 per element to normalise, 2 for scale and shift
    assert facts["stem_norm"].elementwise_ops == facts["block.norm"].elementwise_ops == 7 * 128
    assert facts["gn"].elementwise_ops == 7 * 128
    # the channels-last norm and linears mix no positions: the field is the depthwise conv's
    rf = facts["block.fc2"].rf
    assert rf == facts["block.dw"].rf and all(r.exact for r in rf)
    assert rf[0].size == 4 + 2 * 4  # stem 4, then 3 taps at jump 4
    # group norm's statistics cover the whole map: every unit sees the whole input
    assert all(r.jump == 0 and r.size >= 16 for r in facts["gn"].rf)


@pytest.mark.parametrize("body, params, ops", [
    ("layernorm2d: {elementwise_affine: false}", 0, 5),
    ("layernorm2d: {bias: false}", 6, 6),
    ("layernorm: {normalized_shape: [4, 5]}", 40, 7),   # over (H, W): mixes the positions
    ("layernorm: {normalized_shape: [6, 4, 5], eps: 0.001}", 240, 7),
    ("layernorm: {bias: false}", 5, 6),                  # over the width
    ("groupnorm: {groups: 3, affine: false, eps: 0.01}", 0, 5),
    ("groupnorm: 6", 12, 7),
    ("groupnorm: {groups: 2, in: 6}", 12, 7),
])
def test_norm_settings_match_pytorch(body, params, ops):
    result = check_against_torch(f"name: norms\ninput: [6, 4, 5]\nlayers:\n  - {body}\n"
                                 "  - conv2d: {out: 2, kernel: 3}\n", batch=1)
    norm = result.facts["0"]
    assert norm.params == params and norm.elementwise_ops == ops * 120


def test_layernorm_over_positions_has_a_global_field():
    result = cnnspec.analyze(cnnspec.parse_spec(
        "input: [2, 6, 6]\nlayers: [{layernorm: {normalized_shape: [6, 6]}}]\n"))
    assert all(r.jump == 0 and r.size == 6 for r in result.facts["0"].rf)
    width_only = cnnspec.analyze(cnnspec.parse_spec("input: [2, 6, 6]\nlayers: [layernorm]\n"))
    height, width = width_only.facts["0"].rf
    assert height.size == 1 and (width.size, width.jump) == (6, 0)


@pytest.mark.parametrize("head, body", [
    ("", "batchnorm1d"),
    ("  - flatten: {start_dim: 2}\n", "batchnorm1d: {eps: 0.001, momentum: 0.2}"),  # (C, L)
    ("  - flatten: {start_dim: 2}\n", "batchnorm1d: {affine: false, track_running_stats: false}"),
    ("", "groupnorm: 3"),
    ("  - flatten: {start_dim: 2}\n", "groupnorm: {groups: 2}"),
    ("  - flatten: {start_dim: 2}\n", "layernorm"),
])
def test_other_ranks_match_pytorch(head, body):
    shape = "[6]" if not head else "[6, 2, 5]"
    check_against_torch(f"name: ranks\ninput: {shape}\nlayers:\n{head}  - {body}\n  - relu\n")


@pytest.mark.parametrize("settings", [{}, {"affine": False, "eps": 1e-3},
                                      {"track_running_stats": False, "momentum": 0.3}])
def test_batchnorm3d_matches_pytorch(settings):
    """A spec's input has no 4-D form yet, so the layer's rules are checked on the module
    its torch_call names, at a (C, D, H, W) sample."""
    layer = LAYERS["batchnorm3d"](**settings)
    shape = (4, 3, 5, 6)
    call = layer.torch_call([shape])
    module = getattr(nn, call.cls)(*call.args, **call.kwargs).eval()
    assert isinstance(module, nn.BatchNorm3d)
    out = module(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == layer.output_shape([shape])
    assert layer.params([shape]) == sum(p.numel() for p in module.parameters())
    assert layer.buffers([shape]) == sum(b.numel() for b in module.buffers())
    assert LAYERS["batchnorm3d"].from_torch(module) == {"in": 4, **settings}
    with pytest.raises(LayerInputError, match=r"needs a \(channels, depth, height, width\)") as caught:
        layer.output_shape([(4, 5, 6)])
    assert caught.value.hint == "use batchnorm2d for a 3-D sample"


@pytest.mark.parametrize("shape, body, message", [
    ("[6, 4, 4]", "layernorm: {normalized_shape: 5}", r"normalized_shape \[5\] must be the last dims"),
    ("[6, 4, 4]", "layernorm: {normalized_shape: [6, 4, 4, 4]}", "must be the last dims"),
    ("[6]", "layernorm2d", r"layernorm2d needs a \(channels, height, width\) input"),
    ("[6, 4, 4]", "layernorm2d: {in: 5}", "5"),
    ("[6, 4, 4]", "groupnorm: 4", "channels divisible by groups=4"),
    ("[6, 4, 4]", "groupnorm: {groups: 3, in: 5}", "5"),
    ("[6, 4, 4]", "batchnorm1d", r"batchnorm1d needs a \(features,\) or \(channels, length\) input"),
    ("[6, 4, 4]", "batchnorm3d", "batchnorm3d needs a .channels, depth, height, width. input"),
    ("[6]", "batchnorm2d", r"needs a \(channels, height, width\) input, got 1-D"),
    ("[6, 4, 4]", "groupnorm", "groupnorm needs groups"),
])
def test_wrong_inputs_are_spec_errors(shape, body, message):
    with pytest.raises(cnnspec.SpecError, match=message) as caught:
        cnnspec.analyze(cnnspec.parse_spec(f"input: {shape}\nlayers:\n  - {body}\n", "bad.yaml"))
    assert caught.value.pos is not None and caught.value.pos.line == 3


class TorchvisionLayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d, as torchvision 0.29 writes it."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class TimmLayerNorm2d(nn.LayerNorm):
    """timm.layers.LayerNorm2d's constructor (num_channels, eps=1e-6, affine)."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


TorchvisionLayerNorm2d.__name__ = TimmLayerNorm2d.__name__ = "LayerNorm2d"


class Norms(nn.Module):
    def __init__(self, norm2d):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm2d = norm2d
        self.gn = nn.GroupNorm(2, 8, eps=1e-3)
        self.gn_plain = nn.GroupNorm(8, 8, affine=False)
        self.ln = nn.LayerNorm(8, eps=1e-6)
        self.ln_nobias = nn.LayerNorm(8, bias=False)
        self.ln_hw = nn.LayerNorm([6, 6], elementwise_affine=False)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        x = self.gn_plain(self.gn(self.norm2d(self.conv(x))))
        x = self.ln_hw(x).permute(0, 2, 3, 1)
        x = self.ln_nobias(self.ln(x))
        return self.bn(x.mean([1, 2]))


@pytest.mark.parametrize("norm2d", [
    TorchvisionLayerNorm2d(8, eps=1e-6), TimmLayerNorm2d(8), TimmLayerNorm2d(8, affine=False),
], ids=["torchvision", "timm", "timm-plain"])
def test_torch_norms_import_as_the_layer_types(norm2d):
    graph = import_back(Norms(norm2d), (3, 6, 6))
    types = {n.name: n.type_name for n in graph.nodes}
    assert [types[k] for k in ("norm2d", "gn", "gn_plain", "ln", "ln_nobias", "ln_hw", "bn")] == [
        "layernorm2d", "groupnorm", "groupnorm", "layernorm", "layernorm", "layernorm", "batchnorm1d"]
    layers = {n.name: n.layer for n in graph.nodes}
    assert layers["norm2d"].eps == 1e-6 and layers["norm2d"].elementwise_affine == norm2d.elementwise_affine
    assert (layers["gn"].groups, layers["gn"].eps, layers["gn_plain"].affine) == (2, 1e-3, False)
    assert layers["ln_nobias"].bias is False and layers["ln_hw"].normalized_shape == (6, 6)


def test_own_layernorm2d_is_torchvisions():
    """The built module is an nn.LayerNorm over C with weight and bias, computing what
    torchvision's LayerNorm2d computes."""
    model = cnnspec.to_torch(cnnspec.parse_spec("input: [5, 3, 4]\nlayers: [{layernorm2d: {eps: 1.0e-6}}]\n"))
    own = model.get_submodule("0")
    assert isinstance(own, nn.LayerNorm) and type(own).__name__ == "LayerNorm2d"
    assert list(own.state_dict()) == ["weight", "bias"]
    reference = TorchvisionLayerNorm2d(5, eps=1e-6)
    reference.load_state_dict(own.state_dict(), strict=True)
    x = torch.randn(2, 5, 3, 4)
    with torch.no_grad():
        assert torch.equal(own(x), reference(x))
