"""Graphs with several outputs (a spec's ``outputs:``): analysis, JSON, reports, build, emit,
verify and import, each against what PyTorch computes; and the errors a user can make."""

from __future__ import annotations

import json
import types
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.nn import functional

import cnnspec
from cnnspec import errors
from cnnspec.emit.emitter import emit
from cnnspec.reports.json_report import analysis_to_dict
from cnnspec.reports.table_report import render_table
from cnnspec.torch.builder import to_torch
from cnnspec.torch.importer import import_model
from cnnspec.torch.verify import verify

HEADS = """\
name: heads
input: [3, 32, 32]
layers:
  - sequential:
      name: backbone
      layers:
        - conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}
        - relu
  - sequential:
      name: classifier
      layers:
        - conv2d: {out: 4, kernel: 1}
        - upsample: {size: 32, mode: bilinear}
  - conv2d: {out: 16, kernel: 1, from: backbone, name: aux}
"""
DICT = HEADS + "outputs: {out: classifier, aux: aux}\n"
TUPLE = HEADS + "outputs: [aux, classifier]\n"


def _emitted(graph):
    module = types.ModuleType("emitted_outputs")
    exec(compile(emit(graph, "Heads"), "<emitted>", "exec"), module.__dict__)
    return module.Heads()


def test_outputs_resolve_groups_and_nodes():
    graph = cnnspec.parse_spec(DICT)
    assert graph.outputs == {"out": "classifier.1", "aux": "aux"}
    assert graph.output == "classifier.1" and not graph.outputs_list
    listed = cnnspec.parse_spec(TUPLE)
    assert listed.outputs == {"aux": "aux", "classifier": "classifier.1"} and listed.outputs_list
    single = cnnspec.parse_spec(HEADS)
    assert single.outputs == {} and single.output_nodes() == ["aux"]


def test_analysis_json_and_table_give_every_output():
    result = cnnspec.analyze(cnnspec.parse_spec(DICT))
    totals = analysis_to_dict(result)["totals"]
    assert totals["outputs"] == {"out": {"node": "classifier.1", "shape": [1, 4, 32, 32]},
                                 "aux": {"node": "aux", "shape": [1, 16, 16, 16]}}
    assert totals["output_shape"] == [1, 4, 32, 32]
    table = render_table(result)
    assert "output out        1x4x32x32 (classifier.1)" in table
    assert "output aux        1x16x16x16 (aux)" in table
    single = analysis_to_dict(cnnspec.analyze(cnnspec.parse_spec(HEADS)))["totals"]
    assert "outputs" not in single and single["output_shape"] == [1, 16, 16, 16]


def test_outputs_stay_live_in_the_peak():
    """The classifier's 16 kB output is live while aux runs, so the peak, at aux, counts it;
    the single-output spec frees it at once (nothing reads it)."""
    named = cnnspec.analyze(cnnspec.parse_spec(DICT))
    single = cnnspec.analyze(cnnspec.parse_spec(HEADS))
    assert (named.peak_node, single.peak_node) == ("aux", "classifier.1")
    assert named.peak_activation_bytes == 8192 + 16384 + 16384  # backbone, classifier, aux
    assert single.peak_activation_bytes == 8192 + 4096 + 16384
    report = verify(cnnspec.parse_spec(DICT))  # the measured peak of live storage agrees
    assert report.mismatches == 0
    checks = {c.what: c for c in report.totals}
    assert checks["peak_activation_bytes"].measured == named.peak_activation_bytes
    assert checks["output out shape"].measured == (1, 4, 32, 32)
    assert checks["output aux shape"].measured == (1, 16, 16, 16)


@pytest.mark.parametrize("text", [DICT, TUPLE])
def test_built_and_emitted_models_return_the_outputs(text):
    graph = cnnspec.parse_spec(text)
    built = to_torch(graph).eval()
    emitted = _emitted(graph).eval()
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours, theirs = built(x), emitted(x)
        features = built.backbone(x)
        out = functional.interpolate(built.classifier[0](features), size=32, mode="bilinear")
        aux = built.aux(features)
    if graph.outputs_list:
        assert isinstance(ours, tuple) and isinstance(theirs, tuple)
        expected = (aux, out)
    else:
        assert list(ours) == list(theirs) == ["out", "aux"]
        expected = {"out": out, "aux": aux}
        ours, theirs = tuple(ours.values()), tuple(theirs.values())
        expected = tuple(expected.values())
    for mine, emitted_value, want in zip(ours, theirs, expected):
        assert torch.equal(mine, emitted_value) and torch.allclose(mine, want)


class _Segmenter(nn.Module):
    """A torchvision-like segmentation model: an OrderedDict of two interpolated heads."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.Conv2d(8, 4, 1))
        self.aux_classifier = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        size = x.shape[-2:]
        features = self.backbone(x)
        result = OrderedDict()
        result["out"] = functional.interpolate(self.classifier(features), size=size, mode="bilinear",
                                               align_corners=False)
        result["aux"] = functional.interpolate(self.aux_classifier(features), size=size,
                                               mode="bilinear", align_corners=False)
        return result


class _Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y = self.conv(x)
        return y, self.fc(y.mean((2, 3)))


@pytest.mark.parametrize("cls, line", [(_Segmenter, "outputs: {out: interpolate, aux: interpolate_1}"),
                                       (_Pair, "outputs: [conv, fc]")])
def test_import_names_the_outputs(cls, line):
    model = cls().eval()
    text = import_model(model, (3, 16, 16), "m").text
    assert line in text.splitlines()
    graph = cnnspec.parse_spec(text)
    params = sum(p.numel() for p in model.parameters())
    assert cnnspec.analyze(graph).totals()["params"] == params
    x = torch.randn(1, 3, 16, 16)
    for copy in (to_torch(graph), _emitted(graph)):
        copy.eval().load_state_dict(model.state_dict(), strict=True)
        with torch.no_grad():
            ours, ref = copy(x), model(x)
        assert type(ours) is (dict if isinstance(ref, dict) else tuple)
        mine = ours.values() if isinstance(ours, dict) else ours
        want = ref.values() if isinstance(ref, dict) else ref
        if isinstance(ref, dict):
            assert list(ours) == list(ref)
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(mine, want, strict=True))


class _Returns(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.how = how

    def forward(self, x):
        y = self.conv(x)
        returns = {"input": (x, y), "twice": (y, y), "key": {"not a name": y}, "nested": {"a": {"b": y}}}
        return returns[self.how]


@pytest.mark.parametrize("how, message", [
    ("input", "the model returns its input as '0'"),
    ("twice", "the model returns the same tensor twice"),
    ("key", "the model returns a dict with key 'not a name', which cannot name an output"),
    ("nested", "the model must return one tensor, or a dict or tuple of tensors"),
])
def test_import_errors(how, message):
    with pytest.raises(errors.UsageError) as info:
        import_model(_Returns(how), (3, 8, 8))
    assert info.value.message.startswith(message)


@pytest.mark.parametrize("outputs, path, message", [
    ("{out: classifier, aux: nope}", "outputs.aux", "outputs: aux: no node or group is named 'nope'"),
    ("{out: classifier, aux: classifier.1}", "outputs.aux",
     "outputs: aux and out are the same node (classifier.1)"),
    ("[aux, aux]", "outputs[1]", "outputs: aux is listed twice"),
    ("{out: input}", "outputs.out", "outputs: out is the network's input"),
    ("{1x: aux}", "outputs.1x", "outputs: '1x' cannot be an output name"),
    ("{out: [aux]}", "outputs.out", "outputs: out: ['aux'] is not a node name"),
    ("aux", "outputs", "outputs must map output names to nodes, or list nodes"),
    ("[]", "outputs", "outputs names no node"),
])
def test_output_errors_name_the_key(outputs, path, message):
    with pytest.raises(errors.SpecError) as info:
        cnnspec.parse_spec(HEADS + f"outputs: {outputs}\n", "heads.yaml")
    assert info.value.pos.path == path and info.value.pos.line == 15
    assert info.value.message == message and info.value.hint


def test_an_output_naming_a_split_group_lists_its_pieces():
    text = ("input: [4, 8, 8]\nlayers:\n  - chunk: {chunks: 2, name: halves}\n"
            "  - relu: {from: halves.0}\noutputs: {a: halves}\n")
    with pytest.raises(errors.SpecError) as info:
        cnnspec.parse_spec(text)
    assert "which has 2 outputs" in info.value.message and "halves.0" in info.value.hint
    ok = cnnspec.parse_spec(text.replace("{a: halves}", "{a: halves.1, b: 1}"))
    assert ok.outputs == {"a": "halves.1", "b": "1"}


def test_schema_takes_outputs():
    jsonschema = pytest.importorskip("jsonschema")
    from cnnspec.frontend.source import load_yaml
    from cnnspec.reports.schema import spec_schema

    validator = jsonschema.Draft202012Validator(spec_schema())
    for text in (DICT, TUPLE):
        assert not list(validator.iter_errors(json.loads(json.dumps(load_yaml(text)))))
    bad = json.loads(json.dumps(load_yaml(HEADS + "outputs: {1x: aux}\n")))
    assert list(validator.iter_errors(bad))


def test_diff_reports_a_change_of_the_outputs():
    from cnnspec.solvers.diff import diff_analyses

    named, listed, single = (cnnspec.analyze(cnnspec.parse_spec(t)) for t in (DICT, TUPLE, HEADS))
    change = diff_analyses(named, listed)
    assert change.differs and change.spec_changes == [
        "outputs: out (classifier.1) 1x4x32x32, aux (aux) 1x16x16x16 -> "
        "aux (aux) 1x16x16x16, classifier (classifier.1) 1x4x32x32"]
    assert not diff_analyses(single, cnnspec.analyze(cnnspec.parse_spec(HEADS))).spec_changes
