"""The layers of timm's CNNs: scalar_mul (NF nets' ``x * beta``). Each is checked built,
emitted and verified against PyTorch (``check_against_torch``), and imported from a small
transcription of the timm module's computation (torch only, so CI runs it) and, where timm is
installed, from the real timm module."""

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
