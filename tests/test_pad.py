"""``pad``: constant padding (nn.ConstantPad*d, F.pad), as timm's TensorFlow-ported models
pad before a convolution. Compared with PyTorch running the built model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnspec
from cnnspec.torch.importer import import_model
from cnnspec.torch.verify import verify

from .test_differential import assert_every_node_matches

SPEC = """
input: [3, 9, 9]
layers:
  - pad: {padding: [0, 1, 0, 1], name: pad}
  - conv2d: {out: 4, kernel: 3, stride: 2, name: conv}
  - pad: {padding: [1, 2], value: 0.5}
  - relu
"""


def test_shapes_counts_and_memory_match_pytorch():
    result, model, _ = assert_every_node_matches(cnnspec.parse_spec(SPEC), 2)
    assert result.facts["pad"].output == (3, 10, 10) and result.facts["2"].output == (4, 4, 7)
    x = torch.randn(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(model.get_submodule("pad")(x), F.pad(x, (0, 1, 0, 1)))


def test_verify_agrees():
    assert verify(cnnspec.parse_spec(SPEC)).mismatches == 0


class TfSame(nn.Module):
    """timm's Conv2dSame: F.pad by the 'same' amounts, then an unpadded strided conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, [0, 1, 0, 1], value=0))


def test_functional_and_module_padding_import():
    for model in (TfSame(), nn.Sequential(nn.ZeroPad2d((1, 0, 2, 0)), nn.Conv2d(3, 4, 3))):
        model = model.eval()
        graph = cnnspec.parse_spec(import_model(model, (3, 8, 8)).text)
        assert graph.nodes[0].type_name == "pad"
        built = cnnspec.to_torch(graph).eval()
        built.load_state_dict(model.state_dict(), strict=True)
        x = torch.randn(2, 3, 8, 8)
        with torch.no_grad():
            assert torch.equal(built(x), model(x))


@pytest.mark.parametrize("text, message", [
    ("pad: [1]", "padding is a list of 2, 4 or 6"),
    ("pad: [1, -1]", "integers >= 0"),
    ("pad: [1, 1, 1, 1, 1, 1]", "pad pads 3 spatial dims, the input 3x4x4 has 2"),
])
def test_mistakes(text, message):
    with pytest.raises(cnnspec.SpecError, match=message):
        cnnspec.analyze(cnnspec.parse_spec(f"input: [3, 4, 4]\nlayers:\n  - {text}\n"))
