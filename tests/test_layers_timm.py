"""The layers of timm's CNNs: scalar_mul (NF nets' ``x * beta``), std_conv2d (StdConv2d,
ScaledStdConv2d and their Same variants), blur_pool2d (BlurPool2d), grn (GlobalResponseNorm)
and scalar_affine (HGNetV2's LearnableAffineBlock). Each is checked built, emitted and
verified against PyTorch (``check_against_torch``), and imported from a small transcription
of the timm module's computation (torch only, so CI runs it) and, where timm is installed,
from the real timm module."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cnnspec

from .layer_checks import check_against_torch, import_back


def test_scalar_mul_matches_pytorch():
    result = check_against_torch("name: sm\ninput: [4, 5, 5]\nlayers:\n  - conv2d: {out: 3, kernel: 3}\n"
                                 "  - scalar_mul: 0.2\n  - relu\n")
    node = result.facts["1"]
    assert (node.params, node.macs, node.elementwise_ops) == (0, 0, 2 * 3 * 3 * 3)  # batch 2


class NormFreeBlock(nn.Module):
    """The arithmetic of timm's NormFreeBlock (timm/models/nfnet.py): the input scaled by
    ``beta``, the residual by ``alpha``; a product by 1 and a sum with 0 as MobileOne's."""

    def __init__(self, alpha=0.2, beta=1.0 / 0.9):
        super().__init__()
        self.alpha, self.beta = alpha, beta
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        out = torch.relu(x) * self.beta
        out = 0 + self.conv(out)
        out = 1 * out
        out.mul_(self.alpha)
        return torch.mul(2, out) + x


def test_scalar_products_import():
    graph = import_back(NormFreeBlock(), (4, 6, 6))
    kinds = [n.type_name for n in graph.nodes]
    assert kinds == ["relu", "scalar_mul", "conv2d", "identity", "identity", "scalar_mul", "scalar_mul",
                     "add"]
    factors = [n.layer.factor for n in graph.nodes if n.type_name == "scalar_mul"]
    assert factors == [1.0 / 0.9, 0.2, 2.0]


def test_scalar_mul_own_module_imports_back():
    graph = cnnspec.parse_spec("input: [3, 4, 4]\nlayers:\n  - scalar_mul: -1.5\n")
    again = import_back(cnnspec.to_torch(graph), (3, 4, 4))
    assert [(n.type_name, n.layer.factor) for n in again.nodes] == [("scalar_mul", -1.5)]


@pytest.mark.parametrize("expr", ["x + 2.0", "x * x.new_tensor(2.0)"])
def test_other_scalar_operations_are_reported(expr):
    class Model(nn.Module):
        def forward(self, x):
            return eval(expr, {"x": x})

    from cnnspec.torch.importer import UnsupportedOperations, import_model
    with pytest.raises(UnsupportedOperations):
        import_model(Model(), (2, 3, 3))



# -- std_conv2d -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, params", [
    ("{out: 6, kernel: 3, padding: 1, bias: false}", 6 * 4 * 9),
    ("{out: 6, kernel: 3, stride: 2, scaled: true, gamma: 1.5, eps: 1.0e-8}", 6 * 4 * 9 + 6 + 6),
    ("{out: 6, kernel: 3, stride: 2, tf_same: true, scaled: true}", 6 * 4 * 9 + 6 + 6),
    ("{out: 6, kernel: [4, 3], stride: 2, tf_same: true, groups: 2, bias: false}", 6 * 2 * 12),
])
def test_std_conv_matches_pytorch(body, params):
    result = check_against_torch(f"name: ws\ninput: [4, 9, 8]\nlayers:\n  - std_conv2d: {body}\n"
                                 "  - relu\n")
    assert result.facts["0"].params == params


def test_tf_same_output_and_padding():
    graph = cnnspec.parse_spec("input: [3, 9, 8]\nlayers:\n"
                               "  - std_conv2d: {out: 2, kernel: 3, stride: 2, tf_same: true}\n")
    result = cnnspec.analyze(graph)
    assert result.totals()["output_shape"] == (2, 5, 4)  # ⌈9/2⌉, ⌈8/2⌉
    # 9 rows: (5 - 1)·2 + 3 - 9 = 2, one before; 8 columns: 3 - 1 = 1 after, none before
    assert [w.padding for w in graph.nodes[0].layer.receptive_field([(3, 9, 8)])] == [1, 0]


def test_std_conv_settings_are_checked():
    from cnnspec.errors import SpecError
    for body, word in (("{out: 2, kernel: 3, padding: 1, tf_same: true}", "tf_same"),
                       ("{out: 2, kernel: 3, gamma: 2.0}", "scaled")):
        with pytest.raises(SpecError, match=word):
            cnnspec.parse_spec(f"input: [3, 8, 8]\nlayers:\n  - std_conv2d: {body}\n")


class ScaledStdConv2d(nn.Conv2d):
    """timm.layers.ScaledStdConv2d's computation (timm 1.0), the padding timm's default."""

    def __init__(self, cin, cout, k, stride=1, bias=True, gamma=1.0, eps=1e-6):
        super().__init__(cin, cout, k, stride=stride, padding=((stride - 1) + (k - 1)) // 2,
                         bias=bias)
        self.scale = gamma * self.weight[0].numel() ** -0.5
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        weight = nn.functional.batch_norm(
            self.weight.reshape(1, self.out_channels, -1), None, None,
            weight=(self.gain * self.scale).view(-1), training=True, momentum=0., eps=self.eps,
        ).reshape_as(self.weight)
        return nn.functional.conv2d(x, weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)


def test_scaled_std_conv_transcription_imports():
    model = nn.Sequential(ScaledStdConv2d(4, 8, 3, stride=2, gamma=1.7139, eps=1e-8), nn.ReLU())
    graph = import_back(model, (4, 9, 9))
    layer = graph.nodes[0].layer
    assert (graph.nodes[0].type_name, layer.scaled, layer.gamma, layer.eps) == (
        "std_conv2d", True, 1.7139, 1e-8)
    assert cnnspec.analyze(graph).totals()["params"] == sum(p.numel() for p in model.parameters())


def test_std_conv_own_module_imports_back():
    text = ("input: [4, 9, 9]\nlayers:\n"
            "  - std_conv2d: {out: 8, kernel: 3, stride: 2, tf_same: true, scaled: true}\n")
    again = import_back(cnnspec.to_torch(cnnspec.parse_spec(text)), (4, 9, 9))
    layer = again.nodes[0].layer
    assert (layer.tf_same, layer.scaled, layer.stride) == (True, True, (2, 2))


@pytest.mark.parametrize("make", [
    lambda L: L.StdConv2d(4, 8, 3),
    lambda L: L.StdConv2dSame(4, 8, 4, stride=2),
    lambda L: L.ScaledStdConv2d(4, 8, 3, stride=2, gamma=1.7139, eps=1e-5),
    lambda L: L.ScaledStdConv2dSame(4, 8, 3, stride=2, bias=False),
])
def test_timm_std_convs_import(make):
    layers = pytest.importorskip("timm.layers")
    from torch.utils.flop_counter import FlopCounterMode
    model = nn.Sequential(make(layers))
    graph = import_back(model, (4, 9, 10))
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 4, 9, 10))
    totals = cnnspec.analyze(graph).totals()
    assert totals["macs"] * 2 == counter.get_total_flops()
    assert totals["params"] == sum(p.numel() for p in model.parameters())


# -- blur_pool2d ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, shape", [
    ("blur_pool2d", (6, 5, 4)),
    ("blur_pool2d: {filt_size: 5, pad_mode: constant}", (6, 5, 4)),
    ("blur_pool2d: {filt_size: 4, stride: 1, pad_mode: replicate}", (6, 8, 7)),  # padding 1
])
def test_blur_pool_matches_pytorch(body, shape):
    result = check_against_torch(f"name: blur\ninput: [6, 9, 8]\nlayers:\n  - {body}\n"
                                 "  - conv2d: {out: 2, kernel: 1}\n")
    node = result.facts["0"]
    assert tuple(node.output)[-3:] == shape and node.params == 0
    assert node.buffers == 6 * int(body.partition("filt_size: ")[2][:1] or 3) ** 2


def test_blur_pool_reflect_needs_room():
    from cnnspec.errors import ShapeError
    with pytest.raises(ShapeError, match="reflect padding of 1 needs more than 1 rows"):
        cnnspec.parse_spec("input: [2, 1, 1]\nlayers:\n  - blur_pool2d\n")


class BlurPool2d(nn.Module):
    """timm.layers.BlurPool2d's computation (timm 1.0)."""

    def __init__(self, channels, filt_size=3, stride=2, pad_mode="reflect"):
        super().__init__()
        from math import comb
        self.channels, self.filt_size, self.stride, self.pad_mode = channels, filt_size, stride, pad_mode
        self.padding = [((stride - 1) + (filt_size - 1)) // 2] * 4
        coeffs = torch.tensor([comb(filt_size - 1, k) for k in range(filt_size)],
                              dtype=torch.float32) / (2 ** (filt_size - 1))
        blur = (coeffs[:, None] * coeffs[None, :])[None, None, :, :].repeat(channels, 1, 1, 1)
        self.register_buffer("filt", blur, persistent=False)

    def forward(self, x):
        x = nn.functional.pad(x, self.padding, mode=self.pad_mode)
        return nn.functional.conv2d(x, self.filt, stride=self.stride, groups=self.channels)


def _blur_block(blur):
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), blur, nn.Conv2d(8, 4, 1))


def test_blur_pool_transcription_imports():
    model = _blur_block(BlurPool2d(8, filt_size=5))
    graph = import_back(model, (3, 10, 10))
    assert [n.type_name for n in graph.nodes] == ["conv2d", "relu", "blur_pool2d", "conv2d"]
    assert graph.nodes[2].layer.filt_size == 5
    assert "filt" not in cnnspec.to_torch(graph).state_dict()


def test_timm_blur_pool_imports():
    layers = pytest.importorskip("timm.layers")
    from torch.utils.flop_counter import FlopCounterMode
    for blur in (layers.BlurPool2d(8), layers.BlurPool2d(8, filt_size=4, stride=1, pad_mode="constant")):
        model = _blur_block(blur)
        graph = import_back(model, (3, 10, 10))
        with FlopCounterMode(display=False) as counter:
            model(torch.randn(1, 3, 10, 10))
        totals = cnnspec.analyze(graph).totals()
        assert totals["macs"] * 2 == counter.get_total_flops()
        assert totals["buffers"] == sum(b.numel() for b in model.buffers())
        assert list(model.state_dict()) == list(cnnspec.to_torch(graph).state_dict())


# -- grn ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, permuted", [
    ("grn", True), ("grn: {channels_last: false, eps: 1.0e-5}", False)])
def test_grn_matches_pytorch(body, permuted):
    layers = ["permute: [0, 2, 3, 1]", body, "permute: [0, 3, 1, 2]"] if permuted else [body]
    text = "name: grn\ninput: [6, 5, 4]\nlayers:\n" + "".join(f"  - {item}\n" for item in layers)
    result = check_against_torch(text + "  - conv2d: {out: 2, kernel: 1}\n")
    node = result.facts["1" if permuted else "0"]
    assert (node.params, node.macs, node.elementwise_ops) == (12, 0, 2 * 6 * 6 * 5 * 4)


def test_grn_needs_a_map():
    from cnnspec.errors import ShapeError
    with pytest.raises(ShapeError, match=r"grn needs a \(height, width, channels\) input"):
        cnnspec.parse_spec("input: [6, 5, 4]\nlayers:\n  - flatten\n  - grn\n")


class GlobalResponseNorm(nn.Module):
    """timm.layers.grn.GlobalResponseNorm's computation (timm 1.0)."""

    def __init__(self, dim, eps=1e-6, channels_last=True):
        super().__init__()
        self.eps = eps
        self.spatial_dim, self.channel_dim, self.wb_shape = (
            ((1, 2), -1, (1, 1, 1, -1)) if channels_last else ((2, 3), 1, (1, -1, 1, 1)))
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        x_g = x.norm(p=2, dim=self.spatial_dim, keepdim=True)
        x_n = x_g / (x_g.mean(dim=self.channel_dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(self.wb_shape), self.weight.view(self.wb_shape), x * x_n)


def _grn_block(grn):
    from .test_layers_tensor import TorchvisionPermute
    return nn.Sequential(nn.Conv2d(3, 8, 3), TorchvisionPermute([0, 2, 3, 1]), nn.Linear(8, 16),
                         grn, nn.Linear(16, 8), TorchvisionPermute([0, 3, 1, 2]))


def test_grn_transcription_imports():
    graph = import_back(_grn_block(GlobalResponseNorm(16, eps=1e-5)), (3, 7, 6))
    node = next(n for n in graph.nodes if n.type_name == "grn")
    assert (node.layer.in_, node.layer.eps, node.layer.channels_last) == (16, 1e-5, True)


def test_timm_grn_imports():
    grn = pytest.importorskip("timm.layers.grn")
    from torch.utils.flop_counter import FlopCounterMode
    model = _grn_block(grn.GlobalResponseNorm(16))
    graph = import_back(model, (3, 7, 6))
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 7, 6))
    totals = cnnspec.analyze(graph).totals()
    assert totals["macs"] * 2 == counter.get_total_flops()
    assert totals["params"] == sum(p.numel() for p in model.parameters())


# -- scalar_affine --------------------------------------------------------------------------

def test_scalar_affine_matches_pytorch():
    result = check_against_torch("name: lab\ninput: [4, 5, 5]\nlayers:\n  - conv2d: {out: 3, kernel: 3}\n"
                                 "  - relu\n  - scalar_affine: {scale_init: 0.5, bias_init: 0.1}\n")
    node = result.facts["2"]
    assert (node.params, node.macs, node.elementwise_ops) == (2, 0, 2 * 2 * 3 * 3 * 3)
    model = cnnspec.to_torch(cnnspec.parse_spec("input: [3, 2, 2]\nlayers:\n"
                                                "  - scalar_affine: {scale_init: 0.5}\n"))
    assert {k: v.tolist() for k, v in model.state_dict().items()} == {"0.scale": [0.5], "0.bias": [0.0]}


class LearnableAffineBlock(nn.Module):
    """timm.models.hgnet.LearnableAffineBlock's computation (timm 1.0)."""

    def __init__(self, scale_value=1.0, bias_value=0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([scale_value]))
        self.bias = nn.Parameter(torch.tensor([bias_value]))

    def forward(self, x):
        return self.scale * x + self.bias


def test_scalar_affine_transcription_imports():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), LearnableAffineBlock())
    graph = import_back(model, (3, 6, 6))
    assert [n.type_name for n in graph.nodes] == ["conv2d", "relu", "scalar_affine"]
    assert cnnspec.analyze(graph).totals()["params"] == sum(p.numel() for p in model.parameters())


def test_scalar_affine_own_module_imports_back():
    graph = cnnspec.parse_spec("input: [3, 4, 4]\nlayers:\n  - scalar_affine: {bias_init: -1.0}\n")
    again = import_back(cnnspec.to_torch(graph), (3, 4, 4))
    assert [(n.type_name, n.layer.scale_init, n.layer.bias_init) for n in again.nodes] == [
        ("scalar_affine", 1.0, -1.0)]


def test_timm_learnable_affine_imports():
    hgnet = pytest.importorskip("timm.models.hgnet")
    model = nn.Sequential(nn.Conv2d(3, 4, 3), hgnet.LearnableAffineBlock())
    graph = import_back(model, (3, 6, 6))
    assert graph.nodes[1].type_name == "scalar_affine"
