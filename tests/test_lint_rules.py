"""The lint rules, one fixture pair each (tests/lint_fixtures): a failing spec whose findings
match CNNxxx_<name>.expected.json, and a fixed twin without that rule's finding. The figures in
the expected files are recomputed here by hand (HAND), so the tests check the rules'
arithmetic rather than a snapshot of it. Then the shipped specs, the exemptions the rules
document, and docs/rules.md against the registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnnspec.api import analyze
from cnnspec.cli.check import check
from cnnspec.frontend.spec import load_spec
from cnnspec.lint import check_file
from cnnspec.lint.registry import all_rules

from .conftest import ROOT, SPECS

FIXTURES = Path(__file__).resolve().parent / "lint_fixtures"
RULES_DOC = ROOT / "docs" / "rules.md"

FAILING = sorted(p for p in FIXTURES.glob("CNN*.yaml") if not p.stem.endswith("_fixed"))
FIXED = sorted(FIXTURES.glob("CNN*_fixed.yaml"))
HEAD = ("code", "line", "column", "node", "severity")


def code_of(path: Path) -> str:
    return path.name.split("_", 1)[0]


def diagnostics(path: Path, code: str | None = None) -> list:
    report = check_file(path, use_project=False)
    assert report.error is None, f"{path.name}: {report.error}"
    return [d for d in report.diagnostics if code is None or d.code == code]


def same(actual, expected) -> bool:
    """Equal, with floats compared to 1e-12 and tuples equal to lists."""
    if isinstance(expected, float) or isinstance(actual, float):
        return actual == pytest.approx(expected, rel=1e-12, abs=1e-15)
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(same(a, e) for a, e in zip(actual, expected)))
    return actual == expected


# ------------------------------------------------------------------ the figures, by hand

def _conv(cin, cout, k=3):
    return cin * cout * k * k


def _bn(channels):
    return 2 * channels  # weight and bias; running statistics are buffers


def _macs(h, w, cin, cout, k=3):
    return h * w * cin * cout * k * k


# CNN101: six bias-free 3x3 convs with batch norm, then fc1 (3,136 -> 128) and fc2 (128 -> 10).
_convs_101 = (_conv(1, 32) + _conv(32, 32) + _conv(32, 64) + 3 * _conv(64, 64)
              + _bn(32) * 2 + _bn(64) * 4)                           # 139,168
_fc_101 = (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10)                 # 401,536 + 1,290
# CNN113: the clean network at width 20 (20, 40, 80 channels), MACs at 32x32, 16x16 and 8x8.
_macs_113 = [_macs(32, 32, 3, 20), _macs(32, 32, 20, 20), _macs(16, 16, 20, 40),
             _macs(16, 16, 40, 40), _macs(8, 8, 40, 80), _macs(8, 8, 80, 80), 80 * 10]
# CNN901-903: clean.yaml (32, 32, 64, 64, 128, 128 channels, a 128 -> 10 head).
_params_clean = (_conv(3, 32) + _conv(32, 32) + _conv(32, 64) + _conv(64, 64) + _conv(64, 128)
                 + _conv(128, 128) + 2 * _bn(32) + 2 * _bn(64) + 2 * _bn(128) + 128 * 10 + 10)
_macs_clean = (_macs(32, 32, 3, 32) + _macs(32, 32, 32, 32) + _macs(16, 16, 32, 64)
               + _macs(16, 16, 64, 64) + _macs(8, 8, 64, 128) + _macs(8, 8, 128, 128) + 128 * 10)
# peak at batch 32, float32: the first conv's 32x32x32 output and its batch norm's output
_memory_clean = 4 * _params_clean + 32 * 2 * (32 * 32 * 32 * 4)

HAND = {
    "CNN101_fc-params": [{
        "params": _convs_101 + _fc_101,                               # 541,994
        "fc_params": _fc_101,                                         # 402,826
        "share": _fc_101 / (_convs_101 + _fc_101),                    # 0.743
        "flattened_map": [64, 28 // 4, 28 // 4],                      # two 2x2 pools
        "gap_saving": (64 * 7 * 7 - 64) * 128,                        # 393,216
    }],
    "CNN102_large-kernel": [{
        "weights": 5 * 5 * 64 * 64,                                   # 102,400
        "stacked_weights": 2 * 3 * 3 * 64 * 64,                       # 73,728
        "saving": 1 - 18 / 25,                                        # 28% fewer (VGG's argument)
        "macs_saved": 32 * 32 * (5 * 5 - 2 * 3 * 3) * 64 * 64,        # at the 32x32 output
        "stack": [[64, 64], [64, 64]],
    }],
    "CNN103_unpadded-shrink": [{
        "before": [32, 32], "after": [32 - 2 - 2, 32 - 2 - 2],
        "lost_share": 1 - (28 * 28) / (32 * 32),                      # 0.234
    }],
    "CNN104_no-normalization": [{"convs": 6, "limit": 5, "first": "conv1", "last": "conv6"}],
    "CNN105_skipped-pixels": [{
        "kernel": [1, 1], "stride": [2, 2],
        "unread_share": 1 - (1 / 2) * (1 / 2),                        # every other row and column
    }],
    "CNN106_aggressive-downsampling": [{"stride": [4, 4], "factor": 4 * 4}],
    "CNN107_spatial-collapse": [{"map": [32 // 2 ** 4] * 2, "kernel": [3, 3], "layers": ["conv5"]}],
    "CNN108_rf-coverage": [{"rf": [1 + 2 + 2] * 2, "target": [32, 32], "declared": False}],
    "CNN109_dropped-border": [{
        "input": [28 // 4, 28 // 4],
        "dropped": [(7 - 2) % 2] * 2,                                 # 3 windows of 2 read 6 of 7
    }],
    "CNN110_bias-before-norm": [{"wasted_params": 32, "norm": "bn1"}],
    "CNN111_even-kernel-same": [{"skew": [(4 - 1) % 2] * 2}],         # 1 before, 2 after
    "CNN112_misaligned-merge": [{
        "jumps": [2, 2],
        # centre of the first unit: 3x3/pad 1 -> 0 + (1 - 1); 2x2/pad 0 -> 0 + (0.5 - 0)
        "starts": [0, 0.5], "offset": 0.5,
    }],
    "CNN113_channel-alignment": [
        {"in": 3, "out": 20, "macs_share": _macs_113[0] / sum(_macs_113)},   # input side exempt
        {"in": 20, "out": 20, "macs_share": _macs_113[1] / sum(_macs_113)},
        {"in": 20, "out": 40, "macs_share": _macs_113[2] / sum(_macs_113)},  # 40 is a multiple
    ],
    "CNN114_no-input-normalization": [{"channels": 3}],
    "CNN901_params-budget": [{"value": _params_clean, "budget": 250_000,
                              "excess": _params_clean - 250_000}],
    "CNN902_macs-budget": [{"value": _macs_clean, "budget": 30_000_000,
                            "excess": _macs_clean - 30_000_000}],
    "CNN903_memory-budget": [{"value": _memory_clean, "budget": 8_000_000,
                              "excess": _memory_clean - 8_000_000}],
}


def test_hand_figures_are_the_ones_quoted_in_the_fixtures():
    assert _params_clean == 288_746 and _macs_clean == 38_634_752 and _memory_clean == 9_543_592
    assert round(HAND["CNN101_fc-params"][0]["share"], 3) == 0.743


# ------------------------------------------------------------------ fixture pairs


@pytest.mark.parametrize("spec", FAILING, ids=[p.stem for p in FAILING])
def test_failing_fixture_gives_the_expected_findings(spec):
    code = code_of(spec)
    expected = json.loads(spec.with_name(spec.stem + ".expected.json").read_text())
    actual = diagnostics(spec, code)
    assert expected, f"{spec.name}: the expected file lists no finding"
    assert [{k: getattr(d, k) for k in HEAD} for d in actual] == [{k: e[k] for k in HEAD} for e in expected]
    for diag, wanted in zip(actual, expected):
        for key, value in wanted["data"].items():
            assert same(diag.data[key], value), f"{diag.code} data[{key!r}]: {diag.data[key]!r} != {value!r}"


@pytest.mark.parametrize("spec", FAILING, ids=[p.stem for p in FAILING])
def test_failing_fixture_figures_by_hand(spec):
    """The numbers in the expected file, and the rule's, are the ones worked out by hand."""
    hand = HAND[spec.stem]
    expected = json.loads(spec.with_name(spec.stem + ".expected.json").read_text())
    actual = diagnostics(spec, code_of(spec))
    assert len(hand) == len(expected) == len(actual)
    for numbers, wanted, diag in zip(hand, expected, actual):
        for key, value in numbers.items():
            in_file = wanted["data"][key]
            assert same(in_file, value), f"expected file, {key}: {in_file!r} != {value!r}"
            assert same(diag.data[key], value), f"rule, {key}: {diag.data[key]!r} != {value!r}"


@pytest.mark.parametrize("spec", FAILING, ids=[p.stem for p in FAILING])
def test_failing_fixture_is_minimal(spec):
    """Each failing fixture shows its own rule and nothing else (the docs quote it whole)."""
    assert {d.code for d in diagnostics(spec)} == {code_of(spec)}


@pytest.mark.parametrize("spec", FIXED, ids=[p.stem for p in FIXED])
def test_fixed_twin_has_no_finding_of_its_rule(spec):
    assert diagnostics(spec, code_of(spec)) == []


@pytest.mark.parametrize("spec", FIXED, ids=[p.stem for p in FIXED])
def test_fixed_twin_passes(spec):
    assert diagnostics(spec) == []


def test_clean_spec_has_no_finding_at_all():
    report = check_file(FIXTURES / "clean.yaml", use_project=False)
    assert report.error is None and report.diagnostics == [] and report.suppressed == 0


def test_every_rule_has_a_fixture_pair_and_a_doc_section():
    doc = RULES_DOC.read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (CNN\d+ [a-z-]+)$", doc, re.MULTILINE))
    rules = all_rules()
    for rule in rules:
        stem = f"{rule.code}_{rule.name}"
        for name in (f"{stem}.yaml", f"{stem}_fixed.yaml", f"{stem}.expected.json"):
            assert (FIXTURES / name).is_file(), f"{rule.code}: no tests/lint_fixtures/{name}"
        assert f"{rule.code} {rule.name}" in headings, f"docs/rules.md has no '## {rule.code} {rule.name}'"
        # the anchor SARIF links to is the heading's GitHub anchor
        assert rule.doc_anchor == f"{rule.code} {rule.name}".lower().replace(" ", "-")
    # and no fixture or section for a rule that does not exist
    codes = {r.code for r in rules}
    assert {code_of(p) for p in FAILING + FIXED} <= codes
    assert {h.split()[0] for h in headings} == codes


@pytest.mark.parametrize("spec", FAILING, ids=[p.stem for p in FAILING])
def test_doc_quotes_the_real_message(spec):
    doc = RULES_DOC.read_text(encoding="utf-8")
    for diag in diagnostics(spec, code_of(spec)):
        assert diag.message in doc, f"docs/rules.md does not quote {diag.code}'s message: {diag.message}"
        assert f"  fix: {diag.fix}" in doc, f"docs/rules.md does not quote {diag.code}'s fix: {diag.fix}"


# ------------------------------------------------------------------ the shipped specs


def _shipped(name: str) -> list:
    return diagnostics(SPECS / f"{name}.yaml")


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "alexnet_torchvision"])
def test_fc_heavy_shipped_specs_get_fc_params(name):
    assert "CNN101" in {d.code for d in _shipped(name)}


def test_vgg16_fc_share():
    (fc,) = [d for d in _shipped("vgg16") if d.code == "CNN101"]
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    conv_params = sum(_conv(a, b) + b for a, b in convs)
    fc_params = (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert fc.data["params"] == conv_params + fc_params == 138_357_544
    assert fc.data["fc_params"] == fc_params
    assert round(fc.data["share"], 3) == 0.894
    assert fc.data["gap_saving"] == (25_088 - 512) * 4096
    assert "89.4% of the parameters" in fc.message


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                  "resnet18_transfer"])
def test_resnets_have_no_warning(name):
    assert [d for d in _shipped(name) if d.severity != "info"] == []


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s", "mobilenet_v2",
                                  "mobilenet_v3_large", "regnet_y_400mf", "densenet121", "googlenet"])
def test_gap_networks_have_no_fc_params(name):
    assert "CNN101" not in {d.code for d in _shipped(name)}


# ------------------------------------------------------------------ exemptions and settings

NORMALIZE = "normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}\n"


def _spec(tmp_path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_suppression_applies_to_the_finding_line_only(tmp_path):
    lines = (FIXTURES / "CNN101_fc-params.yaml").read_text().splitlines()
    line = json.loads((FIXTURES / "CNN101_fc-params.expected.json").read_text())[0]["line"]
    on_line = lines.copy()
    on_line[line - 1] += "  # cnnspec: ignore[CNN101]"
    report = check_file(_spec(tmp_path, "\n".join(on_line) + "\n", "on.yaml"), use_project=False)
    assert [d.code for d in report.diagnostics] == [] and report.suppressed == 1
    above = lines.copy()
    above[line - 2] += "  # noqa: CNN101"
    report = check_file(_spec(tmp_path, "\n".join(above) + "\n", "above.yaml"), use_project=False)
    assert [d.code for d in report.diagnostics] == ["CNN101"] and report.suppressed == 0


def test_spec_threshold_changes_the_verdict(tmp_path):
    text = (FIXTURES / "CNN101_fc-params.yaml").read_text()
    relaxed = text.replace("layers:\n", "lint: {thresholds: {fc_share: 0.75}}\nlayers:\n", 1)
    assert diagnostics(_spec(tmp_path, relaxed)) == []          # 74.3% < 75%
    text = (FIXTURES / "CNN108_rf-coverage.yaml").read_text()
    small = text.replace("layers:\n", "lint: {thresholds: {object_size: 5}}\nlayers:\n", 1)
    assert diagnostics(_spec(tmp_path, small)) == []            # a 5x5 field sees 5x5 objects
    larger = text.replace("layers:\n", "lint: {thresholds: {object_size: [6, 4]}}\nlayers:\n", 1)
    (diag,) = diagnostics(_spec(tmp_path, larger))
    assert diag.data["target"] == [6, 4] and diag.data["declared"] is True


def test_rf_coverage_ignores_the_squeeze_excitation_gate():
    """The SE gate sees the whole image (the analysis' field at its product is the union, 36
    wide), but the features it scales see 5x5: the rule reports the 5x5."""
    graph = load_spec(FIXTURES / "CNN108_rf-coverage.yaml")
    analysis = analyze(graph, None, 1, "float32")
    assert analysis.facts["se.scale"].rf[0].size == 5 + (32 - 1) >= 32
    (diag,) = diagnostics(FIXTURES / "CNN108_rf-coverage.yaml")
    assert diag.data["rf"] == [5, 5] and diag.node == "conv2"


def test_large_kernel_exempts_depthwise_strided_and_narrowing_convs(tmp_path):
    text = ("input: [3, 32, 32]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 64, kernel: 3, padding: 1, bias: false}\n"
            "  - conv2d: {out: 64, kernel: 7, padding: 3, groups: 64, bias: false}   # depthwise\n"
            "  - conv2d: {out: 64, kernel: 5, stride: 2, padding: 2, bias: false}    # strided\n"
            "  - conv2d: {out: 128, kernel: 5, padding: 2, bias: false}              # 64 -> 128\n")
    # 64 -> 128 at 5x5: 204,800 weights; 3x3 stack 64->128, 128->128 = 221,184: no saving
    assert diagnostics(_spec(tmp_path, text), "CNN102") == []


def test_skipped_pixels_and_dropped_border_exempt_a_shortcut_beside_a_full_path(tmp_path):
    """ResNet's 1x1 stride-2 projection reads a quarter of the pixels, but the 3x3 stride-2
    conv beside it reads them all."""
    text = ("input: [3, 32, 32]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 32, kernel: 3, padding: 1, bias: false}\n"
            "  - residual:\n"
            "      name: block\n"
            "      layers:\n"
            "        - conv2d: {out: 64, kernel: 3, stride: 2, padding: 1, bias: false}\n"
            "        - batchnorm2d\n")
    path = _spec(tmp_path, text)
    graph = load_spec(path)
    assert graph.node("block.downsample.0").layer.stride == (2, 2)
    assert diagnostics(path, "CNN105") == [] and diagnostics(path, "CNN109") == []


def test_stride_above_kernel_is_reported_once(tmp_path):
    """A 1x1 stride-2 conv on 32 rows leaves row 31 unread, but so is every other odd row:
    CNN105 reports it, CNN109 does not repeat it."""
    assert diagnostics(FIXTURES / "CNN105_skipped-pixels.yaml", "CNN109") == []
    text = ("input: [3, 33, 32]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 32, kernel: [3, 1], stride: [2, 2], padding: [0, 0], bias: false}\n")
    # H: 3-tall windows at stride 2 over 33 rows read all of them; W: 1-wide windows at
    # stride 2 skip every other column (CNN105), the last one included
    codes = sorted(d.code for d in diagnostics(_spec(tmp_path, text)) if d.code in ("CNN105", "CNN109"))
    assert codes == ["CNN105"]


def test_dropped_border_counts_real_rows_not_padding(tmp_path):
    # 3x3, stride 2, padding 1 over 32: the last window starts at padded row 30 and covers
    # 30..32, padded row 33 (the padding) is unread: nothing real dropped. Over 31 with
    # padding 0: windows at 0, 2, ..., 28 cover rows 0..30: nothing dropped. Over 32 with
    # padding 0: row 31 is dropped.
    for size, padding, dropped in ((32, 1, 0), (31, 0, 0), (32, 0, 1)):
        text = (f"input: [3, {size}, {size}]\n" + NORMALIZE + "layers:\n"
                f"  - conv2d: {{out: 32, kernel: 3, stride: 2, padding: {padding}, bias: false}}\n")
        found = diagnostics(_spec(tmp_path, text), "CNN109")
        assert [d.data["dropped"] for d in found] == ([[dropped, dropped]] if dropped else [])


def test_aggressive_downsampling_exempts_a_global_pool_written_as_a_window(tmp_path):
    text = ("input: [3, 28, 28]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 32, kernel: 3, padding: 1, bias: false}\n"
            "  - maxpool2d: 2\n"
            "  - maxpool2d: {kernel: 2, name: pooled}\n"
            "  - avgpool2d: 7                                   # 7x7 -> 1x1: a global pool\n"
            "  - avgpool2d: {kernel: 3, stride: 3, from: pooled, name: coarse}   # 7x7 -> 2x2\n")
    found = diagnostics(_spec(tmp_path, text), "CNN106")
    assert [d.node for d in found] == ["coarse"] and found[0].data["factor"] == 9


def test_fc_params_needs_a_convolutional_network(tmp_path):
    text = "input: [784]\nlayers:\n  - linear: {out: 128}\n  - relu\n  - linear: {out: 10}\n"
    assert diagnostics(_spec(tmp_path, text), "CNN101") == []


def test_bias_before_norm_only_when_every_reader_is_a_norm(tmp_path):
    text = ("input: [3, 16, 16]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 16, kernel: 3, padding: 1, name: conv}\n"
            "  - batchnorm2d: {name: bn}\n"
            "  - add: {from: [conv, bn]}\n")
    assert diagnostics(_spec(tmp_path, text), "CNN110") == []   # the add reads the bias too


def test_groups_not_dividing_the_channels_is_a_spec_error(tmp_path):
    text = ("input: [3, 32, 32]\n" + NORMALIZE + "layers:\n"
            "  - conv2d: {out: 30, kernel: 3, padding: 1}\n"
            "  - conv2d: {out: 32, kernel: 3, padding: 1, groups: 4}\n")
    path = _spec(tmp_path, text)
    report = check_file(path, use_project=False)
    assert report.diagnostics == [] and "not divisible by groups=4" in report.error.message
    result = CliRunner().invoke(check, ["--isolated", str(path)])
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize(("spec", "status"), [
    ("clean.yaml", 0),
    ("CNN106_aggressive-downsampling.yaml", 0),   # info: below the default fail_on
    ("CNN101_fc-params.yaml", 1),
    ("CNN901_params-budget.yaml", 1),
])
def test_exit_status(spec, status):
    result = CliRunner().invoke(check, ["--isolated", str(FIXTURES / spec)])
    assert result.exit_code == status, result.output
