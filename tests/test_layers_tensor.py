"""permute, mean, sum, linear over the last dim of any rank, and layer_scale: every number
against PyTorch, emitted code, verify, import of the torch modules and operations, and the
receptive fields across a permute."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cnnspec
from cnnspec.torch.verify import verify

from .layer_checks import check_against_torch, import_back


@pytest.mark.parametrize("body, shape", [
    ("permute: [0, 2, 3, 1]", (4, 5, 3)),
    ("permute: {dims: [0, -1, 1, 2]}", (5, 3, 4)),
    ("mean: [2, 3]", (3,)),
    ("mean: {dims: [2, 3], keepdim: true}", (3, 1, 1)),
    ("mean: 1", (4, 5)),
    ("mean: {dims: -1}", (3, 4)),
    ("sum: {dims: [1, 3]}", (4,)),
    ("sum: {dim: [2], keepdim: true}", (3, 1, 5)),
])
def test_tensor_ops_match_pytorch(body, shape):
    result = check_against_torch(f"name: ops\ninput: [3, 4, 5]\nlayers:\n  - {body}\n  - relu\n")
    assert result.facts["0"].output == shape


def test_a_permute_is_a_view():
    result = cnnspec.analyze(cnnspec.parse_spec(
        "input: [3, 4, 5]\nlayers: [{permute: [0, 2, 3, 1]}, {linear: 6}]\n"))
    totals = result.totals()
    # the permute shares the input's storage: the peak is input + linear output
    assert totals["peak_activation_bytes"] == (60 + 4 * 5 * 6) * 4


def test_linear_over_the_last_dim_of_any_rank():
    text = ("name: lin\ninput: [3, 4, 5]\nlayers:\n  - permute: [0, 2, 3, 1]\n"
            "  - linear: {out: 7, name: fc}\n  - linear: {out: 2, bias: false, name: fc2}\n"
            "  - permute: [0, 3, 1, 2]\n")
    result = check_against_torch(text, batch=1)
    fc, fc2 = result.facts["fc"], result.facts["fc2"]
    assert fc.output == (4, 5, 7) and fc.params == 3 * 7 + 7
    assert fc.macs == 4 * 5 * 3 * 7 and fc.elementwise_ops == 4 * 5 * 7  # bias adds
    assert fc2.macs == 4 * 5 * 7 * 2 and fc2.elementwise_ops == 0
    assert all(r.size == 1 for r in fc2.rf)  # over the channels-last features: no positions
    on_width = cnnspec.analyze(cnnspec.parse_spec("input: [3, 4, 5]\nlayers: [{linear: 6}]\n"))
    height, width = on_width.facts["0"].rf  # on a (C, H, W) map it mixes the width
    assert height.size == 1 and (width.size, width.jump) == (5, 0)


@pytest.mark.parametrize("body, message", [
    ("permute: [0, 2, 1]", r"permute dims \[0, 2, 1\] name 3 dims, but the input is 4-D"),
    ("permute: [1, 0, 2, 3]", "permute must keep the batch first"),
    ("permute: [0, 1, 1, 2]", r"names a dim twice"),
    ("permute: [0, 1, 2, 4]", "permute dims 4 is out of range for the 4-D tensor"),
    ("mean: [0, 1]", "mean must not reduce the batch dimension"),
    ("mean: [1, 2, 3]", "mean over every dim of a 3x4x5 sample leaves no dim"),
    ("sum: 5", "sum reduce 5 is out of range"),
    ("mean", "mean needs dims"),
    ("layer_scale: {dim: 0}", "layer_scale dim 0 is not a channel dim"),
    ("layer_scale: {param: forward}", "'forward' is an attribute of the module"),
    ("layer_scale: {param: 2x}", "expected a parameter name"),
])
def test_wrong_settings_are_spec_errors(body, message):
    with pytest.raises(cnnspec.SpecError, match=message) as caught:
        cnnspec.analyze(cnnspec.parse_spec(f"input: [3, 4, 5]\nlayers:\n  - {body}\n", "bad.yaml"))
    assert caught.value.pos is not None and caught.value.pos.line == 3


def test_fields_follow_the_positions_across_permutes():
    """A channels-last round trip keeps the field of the conv before it, exactly; verify
    measures the same."""
    round_trip = ("name: rt\ninput: [2, 12, 12]\nlayers:\n  - conv2d: {out: 4, kernel: 3, stride: 2}\n"
                  "  - permute: [0, 2, 3, 1]\n  - layernorm\n  - linear: 4\n"
                  "  - mean: {dims: 3, keepdim: true}\n"
                  "  - permute: [0, 3, 1, 2]\n  - conv2d: {out: 4, kernel: 3}\n")
    plain = ("name: rt\ninput: [2, 12, 12]\nlayers:\n  - conv2d: {out: 4, kernel: 3, stride: 2}\n"
             "  - conv2d: {out: 4, kernel: 3}\n")
    fields = cnnspec.analyze(cnnspec.parse_spec(round_trip)).facts
    assert fields["6"].rf == cnnspec.analyze(cnnspec.parse_spec(plain)).facts["1"].rf
    assert fields["6"].rf[0].size == 7 and all(r.exact for r in fields["6"].rf)
    report = verify(cnnspec.parse_spec(round_trip))
    assert report.mismatches == 0
    judged = [c for n in report.nodes for c in n.checks if c.what == "receptive_field"]
    assert judged and all(c.ok for c in judged)


def test_a_permute_swapping_height_and_width_makes_fields_approximate():
    swap = ("input: [2, 16, 12]\nlayers:\n  - conv2d: {out: 4, kernel: [3, 1], stride: [2, 1]}\n"
            "  - permute: [0, 1, 3, 2]\n  - conv2d: {out: 4, kernel: [5, 1]}\n")
    facts = cnnspec.analyze(cnnspec.parse_spec(swap)).facts
    assert all(r.exact for r in facts["0"].rf)
    assert not facts["2"].rf[0].exact and "swaps two dims" in facts["2"].rf[0].reason
    assert verify(cnnspec.parse_spec(swap)).mismatches == 0  # reported, not judged


class TorchvisionPermute(nn.Module):
    """torchvision.ops.misc.Permute."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


TorchvisionPermute.__name__ = "Permute"


class Operations(nn.Module):
    """The spellings of permute, mean and sum that models use."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.to_last = TorchvisionPermute([0, 2, 3, 1])
        self.fc = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        x = self.to_last(self.conv(x))       # (N, H, W, 8)
        x = self.fc(x).permute(0, 3, 1, 2)   # x.permute(*dims)
        x = torch.permute(x, (0, 2, 3, 1))   # torch.permute(x, dims)
        x = x.permute([0, 3, 1, 2])          # x.permute(list)
        se = x.mean([2, 3], keepdim=True)    # squeeze-excitation
        x = x * se
        x = torch.sum(x, dim=1)              # (N, H, W)
        x = x.sum(-1, True)                  # (N, H, 1)
        x = torch.mean(x, 2)                 # (N, H)
        return self.fc2(torch.cat([x, x], 1))


def test_operations_import_as_the_layer_types():
    graph = import_back(Operations(), (3, 4, 4))
    types = [n.type_name for n in graph.nodes]
    assert types == ["conv2d", "permute", "linear", "permute", "permute", "permute", "mean", "mul",
                     "sum", "sum", "mean", "concat", "linear"]
    layers = [n.layer for n in graph.nodes]
    assert [tuple(layers[i].dims) for i in (1, 3, 4, 5)] == [
        (0, 2, 3, 1), (0, 3, 1, 2), (0, 2, 3, 1), (0, 3, 1, 2)]
    assert (tuple(layers[6].dims), layers[6].keepdim) == ((2, 3), True)
    assert [(tuple(layers[i].dims), layers[i].keepdim) for i in (8, 9, 10)] == [
        ((1,), False), ((-1,), True), ((2,), False)]


@pytest.mark.parametrize("operation, message", [
    (lambda x: x.mean(), "over every dim"),
    (lambda x: torch.sum(x, 1, dtype=torch.float64), "with a dtype"),
])
def test_reductions_torch_cannot_express_are_refused(operation, message):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return operation(self.conv(x))

    from cnnspec.torch.importer import import_model

    with pytest.raises(cnnspec.UsageError, match=message):
        import_model(Model(), (3, 4, 4))
