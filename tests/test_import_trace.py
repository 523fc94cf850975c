"""`cnnspec import` traces by running the model once: shape-dependent Python is fixed at the
input, modules read by their base class unless they override forward, functional layers over a
module's own tensors keep that module's state_dict keys, groups left and re-entered, in-place
ops and no-op views, and every unsupported operation listed at once."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from click.testing import CliRunner
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import cnnspec
from cnnspec.cli.main import main
from cnnspec.torch.importer import Unsupported, UnsupportedOperations, import_model


def _imports_exactly(model: nn.Module, shape: tuple):
    """Import ``model``; the spec's model strict-loads its state_dict and computes the same,
    with the params it counts and the MACs FlopCounterMode measures."""
    imported = import_model(model, shape, "m")
    graph = cnnspec.parse_spec(imported.text)
    built = cnnspec.to_torch(graph).eval()
    dropped = {key for d in imported.dropped for key in d.keys}
    built.load_state_dict({k: v for k, v in model.state_dict().items() if k not in dropped}, strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x))
        with FlopCounterMode(display=False) as counter:
            model(x[:1])
    totals = cnnspec.analyze(graph).totals()
    lost = sum(d.params for d in imported.dropped)
    assert totals["params"] == sum(p.numel() for p in model.parameters()) - lost
    assert totals["macs"] == counter.get_total_flops() // 2
    return graph, imported


def _kinds(graph) -> list:
    return [(n.name, n.type_name) for n in graph.nodes]


class ShapeDependent(nn.Module):
    """Reads shapes, asserts on them and branches on a size (like timm's dynamic padding)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        n, c, h, w = x.size()
        assert x.ndim == 4 and c == 3, "needs RGB"
        x = self.conv(x)
        if x.shape[-1] > 8:  # only large inputs are pooled
            x = self.down(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def test_shape_reads_and_shape_dependent_code_are_fixed_at_the_input():
    graph, imported = _imports_exactly(ShapeDependent().eval(), (3, 16, 16))
    assert _kinds(graph) == [("conv", "conv2d"), ("down", "conv2d"),
                             ("adaptive_avg_pool2d", "adaptive_avgpool2d"), ("flatten", "flatten"),
                             ("head", "linear")]
    assert imported.text.startswith("# Imported by cnnspec from a PyTorch module by running it once at "
                                    "input 1x3x16x16: code that\n# reads sizes ran at those sizes")
    small, imported = _imports_exactly(ShapeDependent().eval(), (3, 8, 8))
    assert "down" not in [n.name for n in small.nodes]
    assert [d.name for d in imported.dropped] == ["down"]  # not called at that input: reported


class BatchNormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d: a BatchNorm2d whose forward is a functional batch norm, then a
    drop and an activation of its own."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-3)
        self.drop = nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        assert x.ndim == 4
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         self.training, self.momentum, self.eps)
        return self.act(self.drop(x))


class PlainSubclass(nn.BatchNorm2d):
    """Only a new name: read as batchnorm2d by its base class."""


class ConvSubclass(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tag = "mine"


class WithSubclasses(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ConvSubclass(3, 8, 3, padding=1, bias=False)
        self.bn1 = BatchNormAct(8)
        self.bn2 = PlainSubclass(8)

    def forward(self, x):
        return self.bn2(self.bn1(self.conv(x)))


def _randomised(model: nn.Module) -> nn.Module:
    """Running statistics that are not 0 and 1, so that they matter."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
            module.bias.data.uniform_(-1, 1)
    return model.eval()


def test_a_subclass_is_read_by_its_base_unless_it_overrides_forward():
    graph, _ = _imports_exactly(_randomised(WithSubclasses()), (3, 8, 8))
    assert _kinds(graph) == [("conv", "conv2d"), ("bn1", "batchnorm2d"), ("bn1_drop", "identity"),
                             ("bn1_act", "relu"), ("bn2", "batchnorm2d")]
    assert graph.nodes[1].layer.eps == 1e-3  # read from the call's arguments


class FunctionalConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3) * 0.1)
        self.bias = nn.Parameter(torch.randn(cout))
        self.stride = stride

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, 1)


class FunctionalNorm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(channels) + 0.5)
        self.bias = nn.Parameter(torch.randn(channels))
        self.register_buffer("running_mean", torch.randn(channels))
        self.register_buffer("running_var", torch.rand(channels) + 0.5)
        self.register_buffer("num_batches_tracked", torch.tensor(0))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.1, 1e-3)


class FunctionalHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(5, 16))
        self.bias = nn.Parameter(torch.randn(5))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Functional(nn.Module):
    """Layers written as functions over a module's own tensors."""

    def __init__(self):
        super().__init__()
        self.stem = FunctionalConv(3, 16, 2)
        self.block = nn.Sequential(OrderedDict(norm=FunctionalNorm(16)))
        self.head = FunctionalHead()

    def forward(self, x):
        x = F.relu(self.block(self.stem(x)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_functional_layers_over_a_modules_own_tensors_take_its_name():
    graph, _ = _imports_exactly(Functional().eval(), (3, 12, 12))
    assert _kinds(graph) == [("stem", "conv2d"), ("block.norm", "batchnorm2d"), ("relu", "relu"),
                             ("adaptive_avg_pool2d", "adaptive_avgpool2d"), ("flatten", "flatten"),
                             ("head", "linear")]
    stem = graph.nodes[0].layer
    assert (stem.out, stem.kernel, stem.stride, stem.padding, stem.in_) == (16, (3, 3), (2, 2), (1, 1), 3)


class ComputedWeight(FunctionalConv):
    def forward(self, x):
        return F.conv2d(x, self.weight * 2, self.bias, 1, 1)


class ExtraTensor(FunctionalConv):
    def __init__(self):
        super().__init__(3, 4, 1)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, 1, 1)


def test_functional_layers_whose_tensors_are_not_a_modules_own_are_unsupported():
    for model, why in ((ComputedWeight(3, 4, 1), "its weights are not the tensors of one module"),
                       (ExtraTensor(), "holds weight, bias, scale, a conv2d has weight, bias")):
        with pytest.raises(UnsupportedOperations) as caught:
            import_model(model, (3, 8, 8))
        (entry,) = caught.value.unsupported
        assert (entry.what, entry.where, entry.count) == ("torch.nn.functional.conv2d", "", 1)
        assert why in entry.why


class SharedActivation(nn.Module):
    """HRNet's fuse: a ModuleList whose layers run between calls of one shared activation,
    so the group ``fuse`` is left and re-entered; and a parameter-free container called
    twice with a layer between (that group cannot be one stretch)."""

    def __init__(self):
        super().__init__()
        self.branches = nn.ModuleList([nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(3, 8, 1)])
        self.fuse = nn.ModuleList([nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1)])
        self.act = nn.ReLU()
        self.gate = nn.Sequential(nn.Hardswish(), nn.ReLU6())
        self.mix = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        a, b = self.branches[0](x), self.branches[1](x)
        ya = self.act(self.fuse[0](a) + b)
        yb = self.act(self.fuse[1](b) + a)
        return self.gate(self.mix(self.gate(torch.cat([ya, yb], 1))))


def test_a_shared_module_and_a_group_left_and_reentered():
    graph, imported = _imports_exactly(SharedActivation().eval(), (3, 8, 8))
    assert [n.name for n in graph.nodes] == [
        "branches.0", "branches.1", "fuse.0", "fuse.1", "add", "act", "add_1", "act_1", "cat",
        "gate.0", "gate.1", "mix", "gate_1.0", "gate_1.1"]
    assert imported.text.count("name: fuse\n") == 1


class IncreDown(nn.Module):
    """timm's HRNet head: ``y = incre[i + 1](x) + down[i](y)``, two ModuleLists whose calls
    interleave through the sums."""

    def __init__(self):
        super().__init__()
        self.incre = nn.ModuleList([nn.Conv2d(3, 4, 1) for _ in range(3)])
        self.down = nn.ModuleList([nn.Conv2d(4, 4, 1) for _ in range(2)])

    def forward(self, x):
        y = self.incre[0](x)
        for i, down in enumerate(self.down):
            y = self.incre[i + 1](x) + down(y)
        return y


def test_an_operation_between_the_stretches_of_a_group_joins_it():
    graph, _ = _imports_exactly(IncreDown().eval(), (3, 4, 4))
    assert [n.name for n in graph.nodes] == ["incre.0", "incre.1", "incre.2", "down.0", "down.add",
                                             "down.1", "add"]


class Bottleneck(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.act2 = nn.ReLU()
        self.downsample = nn.Sequential(nn.Conv2d(4, 4, 1))

    def forward(self, x):
        return self.act2(self.conv1(x)) + self.downsample(x)


class SameNames(nn.Module):
    """The block's shortcut reads the stem's ``act2`` while the block has an ``act2`` of its
    own (timm's HRNet): the name ``act2`` would find the block's."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.act2 = nn.ReLU()
        self.block = Bottleneck()

    def forward(self, x):
        return self.block(self.act2(self.conv(x)))


def test_a_reference_that_a_name_would_not_reach_is_an_index():
    _, imported = _imports_exactly(SameNames().eval(), (3, 4, 4))
    assert "          name: downsample\n          from: -3\n" in imported.text


class SharedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_a_module_with_weights_called_twice_is_unsupported():
    with pytest.raises(UnsupportedOperations) as caught:
        import_model(SharedWeights(), (3, 8, 8))
    assert caught.value.unsupported == [
        Unsupported("Conv2d", "conv", 2, "called more than once: cnnspec layers do not share weights")]


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.gate = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        y += x  # Tensor.add_: the tensor's values are the sum's from here on
        y.relu_()
        z = y.contiguous().clone().detach().to(torch.float32)  # the same values: no layers
        z.mul_(torch.sigmoid(self.gate(z)))
        return z.add_(y)


def test_in_place_ops_update_the_tensor_and_no_op_views_are_their_input():
    graph, _ = _imports_exactly(InPlace().eval(), (4, 6, 6))
    assert _kinds(graph) == [("conv", "conv2d"), ("add", "add"), ("relu", "relu"), ("gate", "conv2d"),
                             ("sigmoid", "sigmoid"), ("mul", "mul"), ("add_1", "add")]
    assert [n.inputs for n in graph.nodes][-2:] == [("relu", "sigmoid"), ("mul", "relu")]


class ManyUnsupported(nn.Module):
    """Operations cnnspec has no layer for, in several places, some called more than once."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Padded(), Padded()])
        self.norm = nn.InstanceNorm2d(3)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x.cumsum(2)


class Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        for _ in range(2):
            x = torch.roll(x, 1, 3)
        return self.conv(x)


def make_many_unsupported():
    return ManyUnsupported()


def test_every_unsupported_operation_is_listed_with_where_and_how_often(tmp_path, monkeypatch):
    with pytest.raises(UnsupportedOperations) as caught:
        import_model(ManyUnsupported(), (3, 4, 4))
    assert caught.value.unsupported == [
        Unsupported("torch.roll", "blocks.0", 2),
        Unsupported("torch.roll", "blocks.1", 2),
        Unsupported("InstanceNorm2d", "norm", 1), Unsupported("Tensor.cumsum", "", 1)]
    (tmp_path / "bad.py").write_text("from tests.test_import_trace import make_many_unsupported\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent.parent))
    result = CliRunner().invoke(main, ["import", "bad:make_many_unsupported", "--input", "3x4x4"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:4] == [
        "error: cnnspec has no layer for 3 operations of the model (6 calls, traced at input 1x3x4x4):",
        "  torch.roll (4 calls) at blocks.0 (2 calls), blocks.1 (2 calls)",
        "  InstanceNorm2d (1 call) at norm",
        "  Tensor.cumsum (1 call) at the model"]


def test_operations_nothing_reads_are_not_layers_nor_unsupported():
    class Dead(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            unused = F.pad(x, (1, 1)).mean()  # computed, never used
            del unused
            return self.conv(x)

    graph, _ = _imports_exactly(Dead().eval(), (3, 4, 4))
    assert _kinds(graph) == [("conv", "conv2d")]


def test_module_paths_that_are_not_identifiers_are_written_quoted():
    """(torchvision's RegNet names its blocks ``block1-0``.)"""
    model = nn.Sequential(OrderedDict([("block1-0", nn.Conv2d(3, 4, 3)), ("block1-1", nn.ReLU())]))
    text = import_model(model, (3, 6, 6)).text
    assert '- conv2d: {out: 4, kernel: 3, in: 3, name: "block1-0"}' in text
    assert '- relu: {name: "block1-1"}' in text


def test_a_spec_with_such_names_loads_and_keeps_the_state_dict_keys():
    model = nn.Sequential(OrderedDict([("block1-0", nn.Conv2d(3, 4, 3)), ("block1-1", nn.ReLU())])).eval()
    _imports_exactly(model, (3, 6, 6))


def test_a_model_that_fails_at_the_input_says_so():
    with pytest.raises(cnnspec.errors.UsageError, match=r"the model fails at input 1x3x4x4: RuntimeError"):
        import_model(nn.Sequential(nn.Conv2d(3, 4, 1), nn.Linear(5, 2)), (3, 4, 4))


class FunctionalPools(nn.Module):
    """Inception's blocks pool with F.max_pool2d / F.avg_pool2d in forward."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        x = F.max_pool2d(self.conv(x), kernel_size=3, stride=2, ceil_mode=True)
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def test_functional_pooling_imports_as_the_pooling_layers():
    graph, _ = _imports_exactly(FunctionalPools(), (3, 16, 16))
    kinds = [n.type_name for n in graph.nodes]
    assert kinds == ["conv2d", "maxpool2d", "avgpool2d"]
    assert graph.nodes[1].layer.ceil_mode and not graph.nodes[2].layer.count_include_pad


class ChannelSlices(nn.Module):
    """GhostNet's ``out[:, :self.out_chs, :, :]`` and DPN's ``x[:, :k]`` / ``x[:, k:]``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Conv2d(5, 4, 1)

    def forward(self, x):
        x = self.conv(x)
        a, b = x[:, :5, :, :], x[:, 5:]
        return torch.cat([self.head(a), b[..., :, :]], dim=1)


def test_channel_slices_import_as_slice_layers():
    graph, _ = _imports_exactly(ChannelSlices(), (3, 6, 6))
    pieces = [(n.layer.start, n.layer.stop) for n in graph.nodes if n.type_name == "slice"]
    assert sorted(pieces) == [(0, 3), (0, 5), (5, 8)]  # b[..., :, :] is all of b: a view


def test_other_indexing_is_listed_as_unsupported():
    class Rows(nn.Module):
        def forward(self, x):
            return x[:, :, 1:]

    with pytest.raises(UnsupportedOperations, match="Tensor.__getitem__"):
        import_model(Rows(), (3, 4, 4))
