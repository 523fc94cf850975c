"""`cnnspec import` of the tensor views and splits that timm's and torchvision's CNN blocks use:
torch.split / chunk as slices, view / reshape, expand / expand_as, transpose as permute,
softmax, torch.stack, the channel shuffle folded into one layer, and a shared parameter-free
module between the stretches of a group. Every imported model is compared with the model it
came from (state_dict loaded strictly, outputs, params, MACs), every node with what PyTorch
measures on the built model, and receptive fields with gradients (``cnnspec verify``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import cnnspec
from cnnspec.emit.emitter import emit
from cnnspec.torch.importer import UnsupportedOperations, import_model
from cnnspec.torch.verify import verify

from .layer_checks import check_against_torch
from .test_differential import assert_every_node_matches
from .test_emit import load_source
from .test_import_trace import _imports_exactly, _kinds


def _checked(model: nn.Module, shape: tuple):
    """Import ``model`` exactly; every node of the spec matches PyTorch, the emitted source
    computes what the built model does, and ``cnnspec verify`` finds no mismatch (fields
    included)."""
    graph, imported = _imports_exactly(model.eval(), shape)
    assert_every_node_matches(graph)
    built = cnnspec.to_torch(graph).eval()
    emitted = load_source(emit(graph, class_name="Net")).Net().eval()
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(emitted(x), built(x))
    report = verify(graph)
    assert report.mismatches == 0, [(n.name, c.what, c.predicted, c.measured) for n in report.nodes
                                    for c in n.checks if c.ok is False]
    return graph, imported


def _attrs(graph, name: str) -> dict:
    return graph.node(name).layer.config()


class Splits(nn.Module):
    """torch.split by sizes and by one size, Tensor.split, torch.chunk and Tensor.chunk."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, padding=1)
        self.a = nn.Conv2d(5, 4, 3, padding=1)
        self.b = nn.Conv2d(7, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        p, q = torch.split(x, [5, 7], dim=1)
        r = x.split(8, 1)  # pieces of 8 and 4
        s, t = torch.chunk(x, 2, 1)
        u = x.chunk(3, dim=-3)
        return torch.cat([self.a(p), self.b(q), r[1], s * t, u[2]], 1)


def test_split_and_chunk_import_as_one_slice_per_piece():
    graph, _ = _checked(Splits(), (3, 8, 8))
    slices = [(n.name, n.layer.start, n.layer.stop) for n in graph.nodes if n.type_name == "slice"]
    assert slices == [("split", 0, 5), ("split_1", 5, 12), ("split_2", 8, 12), ("chunk", 0, 6),
                      ("chunk_1", 6, 12), ("chunk_2", 8, 12)]  # unread pieces are not kept


class SplitAlongHeight(nn.Module):
    def forward(self, x):
        top, bottom = x.split(4, dim=2)
        return top + bottom


def test_a_split_along_another_dim_is_reported():
    with pytest.raises(UnsupportedOperations) as info:
        import_model(SplitAlongHeight(), (3, 8, 8))
    (entry,) = info.value.unsupported
    assert (entry.what, entry.count) == ("Tensor.split", 1)
    assert "only splits of the channels (dim 1)" in entry.why


class Eca(nn.Module):
    """timm's EcaModule: a conv1d along the channels of the pooled map, viewed back and
    expanded over the map it gates."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x):
        x = self.stem(x)
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y)
        y = y.sigmoid().view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


def test_view_and_expand_as_import_as_reshape_and_expand():
    graph, _ = _checked(Eca(), (3, 10, 12))
    assert _kinds(graph) == [("stem", "conv2d"), ("mean", "mean"), ("view", "reshape"),
                             ("conv", "conv1d"), ("sigmoid", "sigmoid"), ("view_1", "reshape"),
                             ("expand_as", "expand"), ("mul", "mul")]
    assert _attrs(graph, "view") == {"shape": (1, -1)}  # a -1 stays -1
    assert _attrs(graph, "view_1") == {"shape": (-1, 1, 1)}
    assert _attrs(graph, "expand_as") == {"shape": (-1, 10, 12)}  # the sizes of x, folded


def test_a_conv1d_over_channels_keeps_both_spatial_fields():
    """The conv1d slides along the channels (dim 1 of the (1, C) view): the fields along H
    and W stay those of the pooled map, every unit seeing all of it, exact."""
    graph, _ = _imports_exactly(Eca().eval(), (3, 10, 12))
    facts = cnnspec.analyze(graph).facts
    for name in ("conv", "mul"):
        height, width = facts[name].rf
        assert (height.jump, width.jump, height.exact, width.exact) == (0, 0, True, True), name
        assert (height.reach, width.reach) == ((0, 9), (0, 11))


class Attention(nn.Module):
    """timm's split attention and selective kernel: stacked paths weighed by a softmax over
    the paths (a view of the channels, a transpose, F.softmax, torch.softmax, .softmax)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 5, padding=2)
        self.fc = nn.Conv2d(8, 16, 1)

    def forward(self, x):
        paths = torch.stack([self.a(x), self.b(x)], dim=1)
        gate = self.fc(paths.sum(1).mean((2, 3), keepdim=True))
        batch = gate.size(0)
        gate = gate.view(batch, 4, 2, -1).transpose(1, 2)
        gate = F.softmax(gate, dim=1).reshape(batch, -1)
        gate = torch.softmax(gate.reshape(batch, 2, 8, 1, 1), dim=1).softmax(-1)
        return (paths * gate).sum(dim=1)


def test_stack_transpose_and_softmax():
    graph, _ = _checked(Attention(), (3, 8, 8))
    kinds = [n.type_name for n in graph.nodes]
    assert kinds.count("stack") == 1 and kinds.count("softmax") == 3
    assert _attrs(graph, "stack") == {"dim": 1}
    assert _attrs(graph, "transpose") == {"dims": (0, 2, 1, 3)}
    assert [_attrs(graph, n)["dim"] for n in ("softmax", "softmax_1", "softmax_2")] == [1, 1, -1]
    assert cnnspec.analyze(graph).facts["stack"].output == (2, 8, 8, 8)


def channel_shuffle(x, groups: int):
    """torchvision.models.shufflenetv2.channel_shuffle, verbatim."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    x = x.view(batchsize, -1, height, width)
    return x


class Shuffle(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.head = nn.Conv2d(12, 4, 1)

    def forward(self, x):
        x = channel_shuffle(self.conv(x), self.groups)
        return self.head(x)


@pytest.mark.parametrize("groups", [2, 3])
def test_the_channel_shuffle_of_view_transpose_view_is_one_layer(groups):
    graph, imported = _checked(Shuffle(groups), (3, 6, 6))
    assert _kinds(graph) == [("conv", "conv2d"), ("channel_shuffle", "channel_shuffle"),
                             ("head", "conv2d")]
    assert _attrs(graph, "channel_shuffle") == {"groups": groups}
    assert f"channel_shuffle: {{groups: {groups}" in imported.text


class NotAShuffle(nn.Module):
    """A view, transpose and view that does not give the input's shape back."""

    def forward(self, x):
        b, c, h, w = x.size()
        return x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h * w)


def test_a_chain_that_is_not_a_shuffle_stays_three_layers():
    # not _checked: the reshape of the transposed view copies, which the peak memory figure
    # does not count (a reshape is taken for a view, as flatten is)
    graph, _ = _imports_exactly(NotAShuffle().eval(), (4, 3, 5))
    assert_every_node_matches(graph)
    assert [n.type_name for n in graph.nodes] == ["reshape", "permute", "reshape"]


class OldStyle(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x.view(x.size(0), -1).view(-1, 64))


def test_a_view_to_one_dim_is_a_flatten():
    graph, _ = _checked(OldStyle(), (1, 6, 6))
    assert _kinds(graph) == [("conv", "conv2d"), ("view", "flatten"), ("view_1", "reshape"),
                             ("fc", "linear")]
    assert _attrs(graph, "view_1") == {"shape": (64,)}  # the batch inferred: sizes folded


class BatchMerged(nn.Module):
    def forward(self, x):
        return x.view(2, -1)


def test_a_view_that_does_not_keep_the_batch_is_reported():
    with pytest.raises(UnsupportedOperations) as info:
        import_model(BatchMerged(), (4, 2, 2))
    assert "keeps the batch (dim 0)" in info.value.unsupported[0].why


class SharedRelu(nn.Module):
    """A ModuleList whose convs run with one shared ReLU module between them (Res2Net's
    blocks): the ReLU joins the list's group, which stays one stretch, keeping its keys."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()
        self.convs = nn.ModuleList(nn.Conv2d(4, 4, 3, padding=1) for _ in range(3))

    def forward(self, x):
        for conv in self.convs:
            x = self.relu(conv(x))
        return x


def test_a_shared_parameter_free_module_between_a_groups_calls_joins_it():
    graph, _ = _imports_exactly(SharedRelu(), (4, 6, 6))
    assert [n.name for n in graph.nodes if n.type_name == "conv2d"] == ["convs.0", "convs.1", "convs.2"]


@pytest.mark.parametrize("text, message", [
    ("  - reshape: {shape: [-1, -1]}\n", "more than one -1"),
    ("  - reshape: {shape: [0, 24]}\n", "has a size 0"),
    ("  - reshape: {shape: [5, -1]}\n", "divisible by 5, but a 6x2x2 sample has 24"),
    ("  - reshape: {shape: [6, 5]}\n", "holds 30 values, but a 6x2x2 sample has 24"),
    ("  - expand: {shape: [-1, 4]}\n", "names 2 sizes, but the input is a 6x2x2 sample"),
    ("  - expand: {shape: [-1, 4, 2]}\n", "dim 2 of the 6x2x2 sample has 2, not 4"),
    ("  - stack: {dim: 0, from: [input, input]}\n", "stack cannot put a new dim at 0"),
])
def test_mistakes_are_clear_errors(text, message):
    with pytest.raises(cnnspec.SpecError, match=message) as info:
        cnnspec.analyze(cnnspec.parse_spec("input: [6, 2, 2]\nlayers:\n" + text))
    assert info.value.pos.line == 3


def test_reshape_expand_and_stack_written_by_hand_match_pytorch():
    text = """input: [8, 4, 4]
layers:
  - mean: {dims: [2, 3], keepdim: true, name: pool}
  - reshape: {shape: [2, 4, 1, 1], name: split}
  - expand: {shape: [-1, -1, 4, 4], name: wide}
  - reshape: {shape: [-1, 4, 4], name: back}
  - stack: {dim: -1, from: [back, input]}
  - reshape: [8, 4, 8]
"""
    result = check_against_torch(text)
    assert result.facts["wide"].output == (2, 4, 4, 4)
    assert result.facts["5"].output == (8, 4, 8)
