"""1-D and 3-D networks: (C, L) inputs (time series, spectrogram frames) and (C, D, H, W) ones
(video clips, volumes). Every number against PyTorch: per node shape, params, FLOPs and
activation bytes; the emitted source runs and strict-loads; verify passes; the receptive
field of every unit against gradients of an independent functional model; import from
torch.nn modules and F.interpolate; interpolation sizes as torch computes them."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnspec
from cnnspec.emit.emitter import camel, emit
from cnnspec.errors import SpecError
from cnnspec.lint import check_graph
from cnnspec.reports.json_report import analysis_to_dict
from cnnspec.torch.importer import import_model
from cnnspec.torch.verify import verify

from .test_differential import assert_every_node_matches
from .test_emit import load_source

NET_1D = """\
name: audio_1d
input: [2, 64]
layers:
  - conv1d: {out: 8, kernel: 5, padding: 2}
  - relu
  - maxpool1d: 2
  - conv1d: {out: 16, kernel: 3, stride: 2, dilation: 2, groups: 2, bias: false}
  - avgpool1d: {kernel: 3, stride: 2, padding: 1, count_include_pad: false}
  - conv_transpose1d: {out: 8, kernel: 4, stride: 2, padding: 1}
  - upsample: {scale: 1.5, mode: linear}
  - conv1d: {out: 8, kernel: 4, padding: same}
  - maxpool1d: {kernel: 3, stride: 2, ceil_mode: true, dilation: 2}
  - adaptive_maxpool1d: 3
  - global_avgpool
  - flatten
  - linear: {out: 4}
"""

NET_3D = """\
name: video_3d
input: [3, 8, 20, 20]
layers:
  - conv3d: {out: 8, kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3], bias: false}
  - relu
  - maxpool3d: {kernel: 3, stride: 2, padding: 1}
  - conv3d: {out: 8, kernel: 3, padding: same, groups: 4}
  - avgpool3d: {kernel: [1, 2, 2], divisor_override: 3}
  - conv_transpose3d: {out: 4, kernel: [1, 3, 3], stride: [1, 2, 2], output_padding: [0, 1, 1]}
  - upsample: {size: [6, 12, 12], mode: trilinear, align_corners: true}
  - upsample: {scale: [1, 0.5, 0.5]}
  - adaptive_avgpool3d: [2, null, 3]
  - global_maxpool
  - flatten
  - linear: {out: 5}
"""

NETS = {"1d": NET_1D, "3d": NET_3D}


@pytest.mark.parametrize("kind", NETS)
def test_every_node_matches_pytorch(kind):
    assert_every_node_matches(cnnspec.parse_spec(NETS[kind]), batch=2)


@pytest.mark.parametrize("kind", NETS)
def test_the_emitted_source_runs_and_strict_loads(kind):
    graph = cnnspec.parse_spec(NETS[kind])
    module = load_source(emit(graph), kind)
    emitted = getattr(module, camel(graph.name))().eval()
    built = cnnspec.to_torch(graph).eval()
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, *graph.input_shape)
    with torch.no_grad():
        assert torch.equal(emitted(x), built(x))


@pytest.mark.parametrize("kind", NETS)
def test_verify_passes_and_judges_the_receptive_fields(kind):
    graph = cnnspec.parse_spec(NETS[kind])
    report = verify(graph)
    assert report.mismatches == 0
    judged = [c for n in report.nodes for c in n.checks if c.what == "receptive_field" and c.ok]
    assert len(judged) >= 4  # the exact fields up to the first resampling are judged, and pass


# --------------------------------------------------------------------------- receptive fields
# An independent oracle: the network as plain functional calls with positive weights (max
# pooling as average pooling), so a unit depends on an input position exactly when the
# position's gradient is non-zero.

def _conv(x, rank, out, kernel, stride=1, padding=0, dilation=1):
    kernel = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    w = torch.ones(out, x.shape[1], *kernel, dtype=x.dtype)
    return getattr(F, f"conv{rank}d")(x, w, torch.ones(out, dtype=x.dtype), stride, padding, dilation)


def _pool(x, rank, kernel, stride=None, padding=0, ceil_mode=False):
    return getattr(F, f"avg_pool{rank}d")(x, kernel, stride, padding, ceil_mode)


ORACLE = {  # spec layer -> (functional op, settings) for the programs below
    "conv": _conv, "pool": _pool,
}

PROGRAMS = {
    "1d": ((2, 40), [
        ("conv", {"out": 3, "kernel": 5, "padding": 2}),
        ("pool", {"kernel": 2}),
        ("conv", {"out": 3, "kernel": 3, "stride": 2, "dilation": 2, "padding": 3}),
        ("pool", {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("conv", {"out": 2, "kernel": 2, "stride": 1}),
    ]),
    "3d": ((2, 6, 22, 12), [
        ("conv", {"out": 3, "kernel": [3, 5, 3], "stride": [1, 2, 2], "padding": [1, 2, 1]}),
        ("pool", {"kernel": [1, 3, 2], "stride": [1, 2, 2], "padding": [0, 1, 1]}),
        ("conv", {"out": 2, "kernel": [2, 3, 3], "dilation": [1, 2, 1], "padding": [1, 0, 1]}),
        ("pool", {"kernel": 2, "ceil_mode": True}),
    ]),
}


def _spec(shape, program) -> str:
    lines = ["name: oracle", f"input: {list(shape)}", "layers:"]
    rank = len(shape) - 1
    for kind, settings in program:
        name = f"conv{rank}d" if kind == "conv" else f"avgpool{rank}d"
        lines.append(f"  - {name}: {settings}".replace("True", "true").replace("'", ""))
    return "\n".join(lines) + "\n"


def _measured_boxes(shape, program, upto: int) -> dict:
    """{unit index: per axis (first, last) input position it depends on, or None}."""
    rank = len(shape) - 1
    x = torch.ones(1, *shape, dtype=torch.float64)
    out = x
    for kind, settings in program[:upto + 1]:
        out = ORACLE[kind](out, rank, **settings)
    boxes = {}
    for unit in itertools.product(*(range(n) for n in out.shape[2:])):
        x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
        y = x
        for kind, settings in program[:upto + 1]:
            y = ORACLE[kind](y, rank, **settings)
        y[(0, slice(None), *unit)].sum().backward()
        touched = x.grad[0].abs().sum(0).nonzero()
        boxes[unit] = None if len(touched) == 0 else tuple(
            (int(touched[:, a].min()), int(touched[:, a].max())) for a in range(rank))
    return boxes


def _predicted_box(rf, unit):
    """docs/conventions.md: unit i's interval cut to the positions the node depends on."""
    box = []
    for axis, i in zip(rf, unit):
        centre = axis.start + i * axis.jump
        half = Fraction(axis.size - 1, 2)
        first, last = axis.reach  # the positions the node depends on at all, as predicted
        low, high = max(math.ceil(centre - half), first), min(math.floor(centre + half), last)
        if low > high:
            return None
        box.append((low, high))
    return tuple(box)


@pytest.mark.parametrize("kind", PROGRAMS)
def test_every_units_field_matches_gradients(kind):
    shape, program = PROGRAMS[kind]
    result = cnnspec.analyze(cnnspec.parse_spec(_spec(shape, program)))
    for index, node in enumerate(result.graph.nodes):
        rf = result.facts[node.name].rf
        assert len(rf) == len(shape) - 1  # one field per spatial axis
        if not all(a.exact for a in rf):
            continue
        for unit, box in _measured_boxes(shape, program, index).items():
            assert _predicted_box(rf, unit) == box, (node.name, unit)
    assert all(a.exact for a in result.facts[result.graph.nodes[-1].name].rf)


def test_the_json_report_lists_one_value_per_axis():
    layers = analysis_to_dict(cnnspec.analyze(cnnspec.parse_spec(NET_3D)))["layers"]
    assert layers[0]["receptive_field"] == {"size": [3, 7, 7], "jump": [1, 2, 2],
                                            "start": [0, 0, 0], "exact": True, "reason": None}
    layers = analysis_to_dict(cnnspec.analyze(cnnspec.parse_spec(NET_1D)))["layers"]
    assert layers[0]["receptive_field"]["size"] == [5]


# --------------------------------------------------------------------------- interpolation

@pytest.mark.parametrize("mode, rank", [("nearest", 1), ("linear", 1), ("nearest", 2),
                                        ("bilinear", 2), ("bicubic", 2), ("nearest", 3),
                                        ("trilinear", 3)])
@pytest.mark.parametrize("scale", [0.5, 0.7, 1.3, 1.5, 2, 2.37, 3])
def test_interpolation_sizes_are_torchs(mode, rank, scale):
    sizes = (5, 7, 9)[:rank]
    x = torch.zeros(1, 2, *sizes)
    aligned = ", align_corners: false" if mode != "nearest" else ""
    for settings in (f"scale: {scale}", f"size: {[n + 3 for n in sizes]}"):
        text = (f"name: up\ninput: {[2, *sizes]}\nlayers:\n"
                f"  - upsample: {{{settings}, mode: {mode}{aligned}}}\n")
        graph = cnnspec.parse_spec(text)
        node = graph.nodes[0]
        facts = cnnspec.analyze(graph).facts[node.name]
        kwargs = {"size": [n + 3 for n in sizes]} if "size" in settings else {"scale_factor": float(scale)}
        expected = F.interpolate(x, mode=mode, **kwargs,
                                 **({"align_corners": False} if aligned else {}))
        assert (1, *facts.output) == tuple(expected.shape)
        model = cnnspec.to_torch(graph)
        assert torch.equal(model(x), expected)


def test_an_interpolation_mode_of_another_rank_is_refused():
    with pytest.raises(SpecError, match="bilinear interpolation needs 2 spatial axes"):
        cnnspec.parse_spec("name: up\ninput: [2, 16]\nlayers:\n  - upsample: {scale: 2, mode: bilinear}\n")
    with pytest.raises(SpecError, match="needs a .channels, depth, height, width. input"):
        cnnspec.parse_spec("name: c\ninput: [2, 16, 16]\nlayers:\n  - conv3d: {out: 2, kernel: 3}\n")
    with pytest.raises(SpecError, match=r"expected \[depth, height, width\]"):
        cnnspec.parse_spec("name: c\ninput: [2, 4, 16, 16]\nlayers:\n  - conv3d: {out: 2, kernel: [3, 3]}\n")


# --------------------------------------------------------------------------- import

class Segmenter(nn.Module):
    """A head that resizes its output to a fixed size with F.interpolate."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), size=(16, 16), mode="bilinear", align_corners=False)


class Video(nn.Module):
    """r3d_18's layer kinds (BatchNorm3d aside) and a functional resize."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv3d(3, 8, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False)
        self.pool = nn.MaxPool3d(3, 2, 1)
        self.conv = nn.Conv3d(8, 8, 3, padding=1, groups=2)
        self.avg = nn.AvgPool3d((1, 2, 2))
        self.up = nn.Upsample(scale_factor=(1.0, 2.0, 2.0), mode="trilinear")
        self.gap = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.up(self.avg(self.conv(self.pool(self.stem(x)))))
        x = F.interpolate(x, scale_factor=0.5)
        return self.fc(torch.flatten(self.gap(x), 1))


AUDIO = nn.Sequential(nn.Conv1d(2, 8, 5, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
                      nn.ConvTranspose1d(8, 4, 4, stride=2), nn.AvgPool1d(3, 2, 1),
                      nn.AdaptiveMaxPool1d(5), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2))


@pytest.mark.parametrize("model, shape", [(AUDIO, (2, 50)), (Video(), (3, 8, 24, 24)),
                                          (Segmenter(), (3, 31, 31))],
                         ids=["audio", "video", "segmenter"])
def test_import_reads_the_1d_3d_layers_and_interpolate(model, shape):
    graph = cnnspec.parse_spec(import_model(model, shape, "imported").text)
    result = cnnspec.analyze(graph)
    built = cnnspec.to_torch(graph).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.allclose(built(x), model.eval()(x))
    assert (2, *result.totals()["output_shape"]) == tuple(model(x).shape)
    assert result.totals()["params"] == sum(p.numel() for p in model.parameters())


def test_interpolate_to_a_size_computed_from_a_shape_imports_at_the_traced_input():
    """torchvision's segmentation heads: F.interpolate(x, size=input.shape[-2:]). The import
    runs the model, so the size is the traced input's, as the spec's header says."""
    class FromShape(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

        def forward(self, x):
            return F.interpolate(self.conv(x), size=x.shape[-2:], mode="bilinear")

    text = import_model(FromShape(), (3, 8, 8)).text
    graph = cnnspec.parse_spec(text)
    assert cnnspec.analyze(graph).totals()["output_shape"] == (4, 8, 8)
    built = cnnspec.to_torch(graph).eval()
    model = FromShape().eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(built(x), model(x))


# --------------------------------------------------------------------------- lint

def test_the_rules_read_1d_and_3d_maps():
    shrink = ("name: s\ninput: [3, 16, 64, 64]\nnormalize: {mean: [0, 0, 0], std: [1, 1, 1]}\nlayers:\n"
              "  - conv3d: {out: 8, kernel: 3}\n  - conv3d: {out: 8, kernel: 3}\n"
              "  - maxpool3d: {kernel: 1, stride: 2}\n  - global_avgpool\n")
    codes = {d.code: d for d in check_graph(cnnspec.parse_spec(shrink)).diagnostics}
    assert "shrink the map from 16x64x64 to 12x60x60" in codes["CNN103"].message
    assert codes["CNN105"].data["unread_share"] == 1 - 1 / 8
    assert codes["CNN108"].data["rf"] == [5, 5, 5]  # two 3x3x3 convs; a 1-wide pool adds nothing
    for text in NETS.values():  # every rule runs on both nets
        check_graph(cnnspec.parse_spec(text))
