"""`cnnspec import`: a traced module becomes a spec; spec -> module -> spec -> module keeps the
analysis (names, shapes, params, MACs) for every shipped spec."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import cnnspec
from cnnspec.cli.main import main
from cnnspec.torch.importer import to_spec

from .conftest import SPEC_FILES, SPEC_IDS


def _same_analysis(a, b) -> None:
    assert [n.name for n in a.graph.nodes] == [n.name for n in b.graph.nodes]
    for node in a.graph.nodes:
        fa, fb = a.facts[node.name], b.facts[node.name]
        assert (fa.output, fa.params, fa.buffers, fa.macs) == (fb.output, fb.params, fb.buffers, fb.macs)
        if fa.params:  # frozen weights stay frozen (a layer without weights has nothing to freeze)
            assert fa.trainable == fb.trainable, node.name
    assert a.totals() == b.totals()


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_round_trip(path):
    graph = cnnspec.load_spec(path)
    text = to_spec(cnnspec.to_torch(graph), graph.input_shape, graph.name)
    again = cnnspec.parse_spec(text)
    _same_analysis(cnnspec.analyze(graph), cnnspec.analyze(again))
    back = to_spec(cnnspec.to_torch(again), again.input_shape, again.name)
    assert back == text  # the second round changes nothing


class Custom(nn.Module):
    """A hand-written model with functional operations between its modules."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.branch = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = self.branch(x) + x
        z = torch.cat([y, x], dim=1)
        z = nn.functional.adaptive_avg_pool2d(z, 1)
        return self.head(torch.flatten(z, 1))


def make_custom():
    return Custom()


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.InstanceNorm2d(4)

    def forward(self, x):
        return self.norm(x)


def test_import_a_hand_written_model(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(
        "from tests.test_import import Custom, Unsupported\n\ndef build():\n    return Custom()\n\n"
        "def bad():\n    return Unsupported()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(SPEC_FILES[0].parent.parent))
    out = tmp_path / "custom.yaml"
    result = CliRunner().invoke(main, ["import", "mymodels:build", "--input", "3x16x16", "-o", str(out)])
    assert result.exit_code == 0, result.output
    graph = cnnspec.load_spec(out)
    model = Custom()
    assert cnnspec.analyze(graph).totals()["params"] == sum(p.numel() for p in model.parameters())
    built = cnnspec.to_torch(graph).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model.eval()(x))
    result = CliRunner().invoke(main, ["import", "mymodels:bad", "--input", "3x4x4"])
    assert result.exit_code == 1  # the model's fault, not the command's: every op is listed
    assert "cnnspec has no layer for 1 operation of the model (1 call, traced at input 1x3x4x4):\n" \
        "  InstanceNorm2d (1 call) at norm\n" in result.output
    result = CliRunner().invoke(main, ["import", "nowhere:thing", "--input", "3x4x4"])
    assert result.exit_code == 2 and "cannot import 'nowhere'" in result.output


class SingleCat(nn.Module):
    """DenseNet's first dense layer concatenates a list of one tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv(torch.cat([x], 1))


def test_a_concat_of_one_tensor_is_an_identity():
    text = to_spec(SingleCat(), (3, 8, 8), "single_cat")
    graph = cnnspec.parse_spec(text)
    assert [n.type_name for n in graph.nodes] == ["identity", "conv2d"]
    assert cnnspec.analyze(graph).totals()["params"] == 8 * 3 * 9


def test_every_layer_read_back_from_torch_is_registered_once():
    from cnnspec.torch.importer import READERS

    assert READERS["Conv2d"].type_name == "conv2d" and READERS["StochasticDepth"].type_name == "drop_path"
    assert READERS["AdaptiveAvgPool2d"].type_name == "adaptive_avgpool2d"  # not global_avgpool
    from cnnspec.layers.registry import own_modules

    timm = {"LayerScale2d", "StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame"}
    for name, cls in READERS.items():  # torch.nn's, the layers' own, or timm's
        assert hasattr(nn, name) or name in own_modules() or name in timm, name
        assert name in cls.imported_from


class WithAux(nn.Module):
    """GoogLeNet-like: an auxiliary head called only while training, a submodule its container
    never calls, tensors nothing reads, and a second name for a module that is called."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Conv2d(8, 8, 1)
            self.spare = nn.Conv2d(8, 8, 3)
            self.gain = nn.Parameter(torch.ones(8))

        def forward(self, x):
            return self.used(x)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = self.Block()
        self.aux = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Flatten(), nn.Linear(4 * 64, 10))
        self.unused_bn = nn.BatchNorm2d(8)
        self.scale = nn.Parameter(torch.ones(1))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
        self.alias = self.stem  # the same module under a second name: not lost

    def forward(self, x):
        x = self.block(self.stem(x))
        if self.training:
            return self.aux(x)
        return self.head(x)


def test_modules_never_called_are_reported_not_lost():
    from cnnspec.torch.importer import import_model

    model = WithAux()
    imported = import_model(model, (3, 8, 8), "with_aux")
    assert sorted((d.name, d.type, d.params) for d in imported.dropped) == [
        ("aux", "Sequential", 4 * 8 + 4 + 256 * 10 + 10), ("block.gain", "tensor", 8),
        ("block.spare", "Conv2d", 8 * 8 * 9 + 8), ("scale", "tensor", 1), ("unused_bn", "BatchNorm2d", 16)]
    graph = cnnspec.parse_spec(imported.text)
    built = set(cnnspec.to_torch(graph).state_dict())
    missing = set(model.state_dict()) - built - {"alias.weight", "alias.bias"}
    assert missing == {k for d in imported.dropped for k in d.keys}  # every lost key is named
    assert sum(len(d.keys) for d in imported.dropped) == len(missing) == 13
    lost = sum(p.numel() for p in model.parameters()) - cnnspec.analyze(graph).totals()["params"]
    assert sum(d.params for d in imported.dropped) == lost == 3215
    header = [ln for ln in imported.text.splitlines() if ln.startswith("#")]
    text = " ".join(ln.lstrip("# ") for ln in header)
    assert "aux (Sequential, 2,606 params)" in text and "unused_bn (BatchNorm2d, 16 params)" in text
    assert "3,215 of 3,601 params and 13 of 21 state_dict keys" in text
    assert import_model(cnnspec.to_torch(graph), (3, 8, 8)).dropped == []  # a full model: nothing


def test_import_prints_what_is_not_in_the_spec(tmp_path, monkeypatch):
    (tmp_path / "auxmodels.py").write_text("from tests.test_import import WithAux\n\n\n"
                                          "def build():\n    return WithAux()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(SPEC_FILES[0].parent.parent))
    result = CliRunner().invoke(main, ["import", "auxmodels:build", "--input", "3x8x8",
                                        "-o", "aux.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("note: not in the spec: 3 modules the traced forward never calls")
    assert "aux (Sequential, 2,606 params)" in result.stderr
    assert "# Not in the spec: 3 modules" in (tmp_path / "aux.yaml").read_text()
