"""`cnnspec check`: configuration, suppression comments, budgets, output formats and exit codes.

The rules' own findings are tested against fixtures in test_lint_rules.py; here the machinery
around them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnnspec.cli.main import main
from cnnspec.errors import SpecStructureError, UnknownNameError, UsageError
from cnnspec.frontend.spec import parse_spec
from cnnspec.lint import LintSettings, check_file, check_graph, suppressions
from cnnspec.lint.config import ConfigError, parse_quantity, settings_from_mapping
from cnnspec.lint.registry import all_rules

SPECS = Path(__file__).resolve().parents[1] / "specs"

# A small net with exactly one finding: conv0's bias is cancelled by the batch norm after it.
BIASED = """\
name: biased
input: [3, 32, 32]
normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
layers:
  - conv2d: {out: 32, kernel: 3, padding: 1}{comment}
  - batchnorm2d
  - relu
  - conv2d: {out: 32, kernel: 3, padding: 1, stride: 2, bias: false}
  - batchnorm2d
  - relu
  - conv2d: {out: 64, kernel: 3, padding: 1, stride: 2, bias: false}
  - batchnorm2d
  - relu
  - conv2d: {out: 64, kernel: 3, padding: 1, stride: 2, bias: false}
  - conv2d: {out: 64, kernel: 3, padding: 1, bias: false}
  - global_avgpool
  - flatten
  - linear: 10
"""


def biased(comment: str = "") -> str:
    return BIASED.replace("{comment}", comment)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(*args, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["check", *map(str, args)])
    with runner.isolated_filesystem(temp_dir=cwd):
        import os

        os.chdir(cwd)
        return runner.invoke(main, ["check", *map(str, args)])


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]


# ------------------------------------------------------------------------------------------ units


@pytest.mark.parametrize("text, value", [
    ("25M", 25_000_000), ("4G", 4_000_000_000), ("2GiB", 2 * 1024**3), ("1.5e9", 1_500_000_000),
    ("500k", 500_000), ("100MB", 100_000_000), ("4 GMACs", 4_000_000_000), (1000, 1000), ("7", 7),
    ("3Ki", 3072), ("1.5T", 1_500_000_000_000),
])
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["25X", "M", "-3", "", "1e", True, "2 GiBs"])
def test_bad_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


# ---------------------------------------------------------------------------------------- settings


def test_settings_are_validated_with_suggestions():
    with pytest.raises(ConfigError, match="unknown lint setting 'ignor'") as info:
        settings_from_mapping({"ignor": ["CNN101"]})
    assert "ignore" in info.value.hint
    with pytest.raises(ConfigError, match="no rule matches 'fc-param'") as info:
        settings_from_mapping({"select": ["fc-param"]})
    assert "fc-params" in info.value.hint
    with pytest.raises(ConfigError, match="severity must be one of"):
        settings_from_mapping({"severity": {"CNN101": "fatal"}})
    with pytest.raises(ConfigError, match="no rule has a threshold 'fc_shar'"):
        settings_from_mapping({"thresholds": {"fc_shar": 0.3}})
    with pytest.raises(ConfigError, match="whole number"):
        settings_from_mapping({"thresholds": {"max_stride": 2.5}})
    settings = settings_from_mapping({"fail-on": "error", "max-params": "1M", "select": "CNN1"})
    assert (settings.fail_on, settings.max_params, settings.select) == ("error", 1_000_000, ["CNN1"])


def test_every_rule_has_a_unique_code_name_and_known_severity():
    rules = all_rules()
    assert len({r.code for r in rules}) == len({r.name for r in rules}) == len(rules) >= 17
    assert all(re.fullmatch(r"CNN\d{3}", r.code) and r.severity in ("info", "warning", "error")
               for r in rules)


def test_select_ignore_and_severity_by_code_prefix_and_name():
    graph = parse_spec(biased(), "biased.yaml")
    assert codes(check_graph(graph)) == ["CNN110"]
    assert codes(check_graph(graph, LintSettings(ignore=["bias-before-norm"]))) == []
    assert codes(check_graph(graph, LintSettings(select=["CNN9"]))) == []
    assert codes(check_graph(graph, LintSettings(select=["CNN11"]))) == ["CNN110"]
    (diag,) = check_graph(graph, LintSettings(severity={"CNN1": "info"})).diagnostics
    assert diag.severity == "info"
    # the exact code wins over a prefix, whatever the order
    (diag,) = check_graph(graph, LintSettings(severity={"CNN110": "error", "CNN1": "info"})).diagnostics
    assert diag.severity == "error"


def test_spec_lint_section_and_its_errors():
    text = biased() + "lint:\n  ignore: [CNN110]\n"
    assert codes(check_graph(parse_spec(text))) == []
    text = biased() + "lint:\n  severity: {bias-before-norm: error}\n  fail_on: error\n"
    report = check_graph(parse_spec(text))
    assert [d.severity for d in report.diagnostics] == ["error"] and report.failed("error")
    with pytest.raises(UnknownNameError) as info:
        check_graph(parse_spec(biased() + "lint:\n  ignored: [CNN110]\n", "net.yaml"))
    err = info.value
    assert (err.pos.line, err.pos.path) == (20, "lint.ignored") and "ignore" in err.hint
    with pytest.raises(SpecStructureError) as info:
        check_graph(parse_spec(biased() + "lint:\n  thresholds: {fc_share: high}\n", "net.yaml"))
    assert info.value.pos.line == 20 and "fc_share" in info.value.message
    with pytest.raises(SpecStructureError, match="lint must be a mapping"):
        check_graph(parse_spec(biased() + "lint: [CNN110]\n"))


def test_a_lint_section_is_read_only_by_check():
    """A spec naming a rule this version does not know still analyses, builds and diffs."""
    from cnnspec import analyze

    graph = parse_spec(biased() + "lint:\n  ignore: [CNN199]\n", "net.yaml")
    assert analyze(graph).totals()["params"] > 0
    with pytest.raises(SpecStructureError, match="no rule matches .CNN199."):
        check_graph(graph)


def test_normalize_is_validated():
    base = biased()
    with pytest.raises(SpecStructureError, match="2 values for 3 input channels") as info:
        parse_spec(base.replace("std: [0.25, 0.25, 0.25]", "std: [0.25, 0.25]"), "n.yaml")
    assert info.value.pos.line == 3
    with pytest.raises(SpecStructureError, match="std must be positive"):
        parse_spec(base.replace("std: [0.25, 0.25, 0.25]", "std: 0"))
    with pytest.raises(SpecStructureError, match="needs std"):
        parse_spec(base.replace(", std: [0.25, 0.25, 0.25]", ""))
    assert parse_spec(base.replace("std: [0.25, 0.25, 0.25]", "std: 0.25")).normalize == {
        "mean": (0.5, 0.5, 0.5), "std": (0.25,)}


def test_budgets_at_batch_and_dtype():
    graph = parse_spec(biased())
    from cnnspec import analyze

    totals = analyze(graph, batch=4, dtype="float16").totals()
    memory = totals["param_bytes"] + totals["peak_activation_bytes"]
    exact = LintSettings(max_params=totals["params"], max_macs=totals["macs"], max_memory=memory,
                         batch=4, dtype="float16")
    assert codes(check_graph(graph, exact)) == ["CNN110"]  # at the budget is within it
    over = LintSettings(max_params=totals["params"] - 1, max_macs=totals["macs"] - 1,
                        max_memory=memory - 1, batch=4, dtype="float16")
    report = check_graph(graph, over)
    assert codes(report) == ["CNN901", "CNN902", "CNN903", "CNN110"]  # spec-level ones first (line 2)
    budget = {d.code: d for d in report.diagnostics}
    assert budget["CNN901"].data == {"value": totals["params"], "budget": totals["params"] - 1, "excess": 1}
    assert budget["CNN903"].data["value"] == memory and budget["CNN903"].severity == "error"
    assert "at batch 4 exceed" in budget["CNN902"].message
    assert "at batch 4, float16" in budget["CNN903"].message


def test_a_symbolic_input_is_refused():
    graph = parse_spec(biased(), input_shape="3xHxW")
    with pytest.raises(UsageError, match="concrete input"):
        check_graph(graph)


# ------------------------------------------------------------------------------------ suppression


@pytest.mark.parametrize("comment, suppressed", [
    ("  # cnnspec: ignore[CNN110]", True),
    ("  # cnnspec: ignore[bias-before-norm]", True),
    ("  # cnnspec: ignore[CNN1]", True),
    ("  # cnnspec: ignore", True),
    ("  # noqa: CNN110", True),
    ("  # noqa", True),
    ("  # cnnspec: ignore[CNN101]", False),
    ("  # noqa: CNN101, CNN104", False),
    ("  # a note", False),
])
def test_suppression_comments(tmp_path, comment, suppressed):
    spec = write(tmp_path / "net.yaml", biased(comment))
    report = check_file(spec, use_project=False)
    assert (codes(report) == []) is suppressed
    assert report.suppressed == int(suppressed)


def test_a_suppression_on_another_line_does_not_apply(tmp_path):
    text = biased().replace("  - relu\n", "  - relu  # cnnspec: ignore\n", 1)
    assert codes(check_file(write(tmp_path / "net.yaml", text), use_project=False)) == ["CNN110"]


def test_suppressions_parser():
    text = "a: 1  # cnnspec: ignore[CNN101, fc-params]\nb: 2 # NOQA:CNN102\nc: 3\nd: 4 # cnnspec:ignore\n"
    assert suppressions(text) == {1: {"CNN101", "fc-params"}, 2: {"CNN102"}, 4: None}


# ---------------------------------------------------------------------------------- configuration


def test_pyproject_settings_and_precedence(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.cnnspec]\nignore = ["CNN114"]\nfail-on = "error"\n'
                                       'paths = ["models"]\n[tool.cnnspec.severity]\nCNN110 = "info"\n')
    vgg = (SPECS / "vgg16.yaml").read_text().replace("normalize:", "x-normalize:")
    spec = write(tmp_path / "models" / "deep" / "vgg.yaml", vgg)
    report = check_file(spec)
    assert "CNN114" not in codes(report) and "CNN101" in codes(report)
    assert not report.failed(report.settings.fail_on)  # warnings do not fail at fail-on error
    assert "CNN114" in codes(check_file(spec, use_project=False))
    # the command line overrides the project: select replaces, ignore adds up
    report = check_file(spec, LintSettings(select=["CNN114", "CNN101"], ignore=["CNN101"]))
    assert codes(report) == []
    # no path arguments: the project's paths
    result = run(cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "vgg.yaml" in result.output and "CNN101" in result.output and "CNN114" not in result.output
    result = run("--fail-on", "warning", cwd=tmp_path)
    assert result.exit_code == 1
    result = run("--isolated", "models", cwd=tmp_path)
    assert result.exit_code == 1 and "CNN114" in result.output


def test_a_bad_pyproject_is_a_usage_error(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.cnnspec]\nignores = ["CNN114"]\n')
    spec = write(tmp_path / "net.yaml", biased())
    result = run(spec)
    assert result.exit_code == 2 and "ignores" in result.output and "ignore" in result.output
    assert "Traceback" not in result.output
    write(tmp_path / "pyproject.toml", "[tool.cnnspec\n")
    result = run(spec)
    assert result.exit_code == 2 and "TOML" in result.output


def test_config_option_points_at_a_pyproject(tmp_path):
    config = write(tmp_path / "conf" / "pyproject.toml", '[tool.cnnspec]\nignore = ["CNN110"]\n')
    spec = write(tmp_path / "net.yaml", biased())
    assert run(spec).exit_code == 1
    result = run(spec, "--config", config)
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------------ CLI and exit codes


def test_exit_codes():
    assert run(SPECS / "resnet18.yaml").exit_code == 0
    result = run(SPECS / "vgg16.yaml")
    assert result.exit_code == 1
    assert re.search(r"vgg16\.yaml:\d+:\d+: CNN101 fully-connected layers hold 89\.4% of the parameters",
                     result.output)
    assert "fix: global average pooling" in result.output
    assert run(SPECS / "vgg16.yaml", "--fail-on", "error").exit_code == 0
    assert run(SPECS / "vgg16.yaml", "--ignore", "CNN101,CNN104", "--ignore", "CNN108").exit_code == 0
    tiny = run(SPECS / "tinyvgg_cnn_explainer.yaml", "--select", "CNN113")
    assert tiny.exit_code == 0 and "CNN113 [info]" in tiny.output
    assert run(SPECS / "tinyvgg_cnn_explainer.yaml", "--select", "CNN113", "--fail-on", "info").exit_code == 1
    result = run(SPECS / "resnet50.yaml", "--max-params", "25M")
    assert result.exit_code == 1 and "CNN901 [error]" in result.output and "25,557,032" in result.output
    assert run(SPECS / "resnet50.yaml", "--max-params", "26M", "--max-macs", "4.1G").exit_code == 0


def test_usage_and_spec_errors_exit_2(tmp_path):
    for args in (["--max-params", "lots"], ["--select", "CNN999"], ["--fail-on", "fatal"], []):
        result = run(SPECS / "resnet18.yaml", *args) if args else run(cwd=tmp_path)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    broken = write(tmp_path / "broken.yaml", "input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernal: 3}\n")
    result = run(broken, SPECS / "vgg16.yaml")
    assert result.exit_code == 2
    assert "broken.yaml:3:" in result.output and "kernel" in result.output  # the did-you-mean
    assert "vgg16.yaml" in result.output and "CNN101" in result.output    # the others still checked
    assert run(tmp_path / "missing.yaml").exit_code == 2


def test_directories_are_searched(tmp_path):
    write(tmp_path / "a" / "one.yaml", biased())
    write(tmp_path / "a" / "b" / "two.yml", biased())
    write(tmp_path / "a" / "notes.txt", "not a spec")
    result = run(tmp_path / "a", "--isolated")
    assert result.exit_code == 1
    assert result.output.count("CNN110") == 2 and "in 2 of 2 specs" in result.output


def test_json_output(tmp_path):
    out = tmp_path / "report.json"
    result = run(SPECS / "vgg16.yaml", SPECS / "resnet18.yaml", "--format", "json", "-o", out)
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == "1.1" and doc["tool"]["name"] == "cnnspec"
    assert doc["summary"]["findings"] == len(doc["specs"][0]["diagnostics"]) and doc["summary"]["specs"] == 2
    fc = next(d for d in doc["specs"][0]["diagnostics"] if d["code"] == "CNN101")
    assert fc["node"] == "classifier.0" and fc["severity"] == "warning" and fc["name"] == "fc-params"
    assert fc["data"]["fc_params"] == 123_642_856 and fc["data"]["params"] == 138_357_544
    assert fc["data"]["gap_saving"] == (25088 - 512) * 4096
    assert doc["specs"][1]["diagnostics"] == []


def test_sarif_output_is_sarif_2_1_0(tmp_path):
    broken = write(tmp_path / "broken.yaml", "input: [3, 32, 32]\nlayers: []\n")
    result = run(SPECS / "vgg16.yaml", SPECS / "alexnet.yaml", broken, "--format", "sarif")
    assert result.exit_code == 2
    log = json.loads(result.output)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "cnnspec"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == [r.code for r in all_rules()]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in (
            "note", "warning", "error")
    assert run_["results"]
    for res in run_["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("note", "warning", "error") and res["message"]["text"]
        (loc,) = res["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith(".yaml")
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    (invocation,) = run_["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "layers" in note["message"]["text"]


def test_github_annotations(tmp_path):
    result = run(SPECS / "vgg16.yaml", SPECS / "tinyvgg_cnn_explainer.yaml", "--format", "github")
    lines = result.output.splitlines()
    assert result.exit_code == 1 and lines
    pattern = re.compile(r"^::(warning|notice|error) file=[^,]+,line=\d+,col=\d+,title=CNN\d{3} [a-z-]+::.+$")
    assert all(pattern.match(line) for line in lines), lines
    fc = next(line for line in lines if "CNN101" in line and "vgg16" in line)
    assert "89.4%25 of the parameters" in fc and "%0Afix: " in fc  # % and newlines escaped
    assert any(line.startswith("::notice ") for line in lines)  # info findings become notices


def test_check_never_imports_torch():
    code = ("import sys\nfrom cnnspec.cli import main\n"
            "try:\n    main(['check', 'specs', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')")
    out = subprocess.run([sys.executable, "-c", code], cwd=SPECS.parent, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("NO TORCH")


def test_help_lists_the_options():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    for option in ("--select", "--ignore", "--max-params", "--max-macs", "--max-memory", "--format",
                   "--fail-on", "--config", "-o"):
        assert option in result.output


def test_merge_offset_lets_a_half_pixel_through():
    spec = Path(__file__).parent / "lint_fixtures" / "CNN112_misaligned-merge.yaml"
    assert "CNN112" in codes(check_file(spec, use_project=False))
    # a 2x2 pool beside a 3x3 stride-2 conv: centres 0.5 input pixels apart at jump 2, a quarter unit
    relaxed = LintSettings(thresholds={"merge_offset": 0.25})
    assert "CNN112" not in codes(check_file(spec, relaxed, use_project=False))
    strict = LintSettings(thresholds={"merge_offset": 0.24})
    assert "CNN112" in codes(check_file(spec, strict, use_project=False))


@pytest.mark.parametrize("what, text, value", [
    ("max_macs", "8GFLOPs", 4_000_000_000), ("max_macs", "4 GMACs", 4_000_000_000),
    ("max_memory", "2GiB", 2 * 1024**3), ("max_params", "25M", 25_000_000),
])
def test_unit_words_fit_the_budget(what, text, value):
    assert parse_quantity(text, what) == value


@pytest.mark.parametrize("what, text", [("max_params", "5MB"), ("max_params", "1GMACs"),
                                        ("max_memory", "4GFLOPs"), ("max_macs", "2GiB")])
def test_unit_words_that_do_not_fit_are_refused(what, text):
    with pytest.raises(ValueError, match="does not take"):
        parse_quantity(text, what)


def test_a_yaml_file_that_is_not_a_spec_says_so(tmp_path):
    workflow = write(tmp_path / "ci.yml", "name: CI\non: [push]\njobs: {}\n")
    result = run(workflow, "--isolated")
    assert result.exit_code == 2 and "not a cnnspec spec" in result.output and "true" in result.output


DILATED = """\
input: [8, 32, 32]
normalize: {{mean: [0.5], std: [0.5]}}
lint: {{ignore: [CNN108]}}
layers:
  - conv2d: {{out: 16, kernel: {k}, stride: {s}, dilation: {d}, padding: {p}, bias: false}}
  - batchnorm2d
"""


@pytest.mark.parametrize("k, s, d, unread", [
    (3, 2, 2, 0.75),        # taps on even pixels only: 1 - (1/2)^2
    (2, 2, 2, 0.75),
    (3, 2, 3, None),        # taps at 0, 3, 6: residues 0, 1 mod 2, every pixel read
    (3, 3, 2, None),        # residues 0, 2, 1 mod 3
    (2, 4, 2, 0.75),        # residues 0, 2 of 4 per axis: 1 - (2/4)^2
])
def test_skipped_pixels_counts_the_taps_of_dilated_windows(k, s, d, unread):
    graph = parse_spec(DILATED.format(k=k, s=s, d=d, p=d * (k - 1) // 2))
    found = [x for x in check_graph(graph).diagnostics if x.code == "CNN105"]
    if unread is None:
        assert found == []
    else:
        (diag,) = found
        assert diag.data["unread_share"] == pytest.approx(unread) and diag.data["dilation"] == [d, d]


def test_spatial_collapse_counts_real_taps_of_a_dilated_window():
    text = ("input: [64, 14, 14]\nnormalize: {mean: [0.5], std: [0.5]}\nlint: {ignore: [CNN108]}\n"
            "layers: [conv2d: {out: 64, kernel: 3, padding: 12, dilation: 12, bias: false}, batchnorm2d]\n")
    (diag,) = check_graph(parse_spec(text)).diagnostics
    # taps at offsets 0, 12, 24: at most two of them fit in 14 pixels per axis
    assert diag.code == "CNN107" and "at most 4 of its 9 taps" in diag.message


def test_fc_params_spares_a_lone_classifier_over_pooled_features():
    from cnnspec.frontend.spec import load_spec

    narrow = load_spec(SPECS / "mobilenet_v2.yaml", {"width": "0.35"})  # the classifier is 76% of it
    assert "CNN101" not in codes(check_graph(narrow))
    hidden = ("input: [3, 32, 32]\nnormalize: {mean: 0.5, std: 0.25}\nlayers:\n"
              "  - conv2d: {out: 64, kernel: 3, padding: 1}\n  - global_avgpool\n  - flatten\n"
              "  - linear: {out: 4096, name: fc1}\n  - relu\n  - linear: {out: 10, name: fc2}\n")
    (diag,) = [d for d in check_graph(parse_spec(hidden)).diagnostics if d.code == "CNN101"]
    assert diag.node == "fc1" and "fewer or narrower" in diag.fix
    assert diag.data["fc_params"] == 64 * 4096 + 4096 + 4096 * 10 + 10


def test_thresholds_must_be_finite_and_paths_belong_to_the_project():
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="non-negative number"):
            settings_from_mapping({"thresholds": {"fc_share": bad}})
    with pytest.raises(ConfigError, match="paths is a project setting") as info:
        settings_from_mapping({"paths": ["specs"]})
    assert "pyproject.toml" in info.value.hint


def test_an_upsample_to_nothing_is_a_spec_error_not_a_crash(tmp_path):
    spec = write(tmp_path / "up.yaml", "input: [3, 1, 7]\nnormalize: {mean: 0.5, std: 0.5}\n"
                                       "layers:\n  - upsample: {scale: 0.5}\n")
    result = run(spec, "--isolated")
    assert result.exit_code == 2 and "leaves no output from a size of 1" in result.output
    assert "Traceback" not in result.output


def test_findings_repeated_by_block_instances_are_folded_into_one(tmp_path):
    text = """\
input: [3, 64, 64]
normalize: {mean: 0.5, std: 0.25}
lint: {select: [CNN110]}
blocks:
  unit:
    args: {out: 8}
    layers:
      - conv2d: {out: out, kernel: 3, padding: 1}
      - batchnorm2d
layers:
  - repeat: {times: 4, block: unit, args: {out: 16}}
"""
    report = check_file(write(tmp_path / "net.yaml", text), use_project=False)
    (diag,) = report.diagnostics
    assert diag.line == 8 and diag.node == "0.0.0"
    assert diag.data["instances"] == ["0.0.0", "0.1.0", "0.2.0", "0.3.0"]
    assert diag.message.endswith("(and 3 more instances of this line: 0.1.0, 0.2.0, 0.3.0)")


def test_rf_coverage_setting_accepts_a_partial_field():
    vgg = SPECS / "vgg16.yaml"
    (diag,) = [d for d in check_file(vgg, use_project=False).diagnostics if d.code == "CNN108"]
    assert diag.data["covered"] == pytest.approx((212 / 224) ** 2)  # 89.6% of the area
    relaxed = LintSettings(thresholds={"rf_coverage": 0.85})
    assert "CNN108" not in codes(check_file(vgg, relaxed, use_project=False))
    strict = LintSettings(thresholds={"rf_coverage": 0.9})
    assert "CNN108" in codes(check_file(vgg, strict, use_project=False))


def test_set_over_many_specs_applies_where_the_variable_exists(tmp_path):
    with_var = biased().replace("name: biased\n", "name: biased\nvars: {classes: 10}\n").replace(
        "linear: 10", "linear: classes")
    write(tmp_path / "a.yaml", with_var)
    write(tmp_path / "b.yaml", biased())  # no vars at all
    result = run(tmp_path, "--isolated", "--set", "classes=100", "--format", "json")
    assert result.exit_code == 1, result.output  # both checked: CNN110 in each, no spec error
    doc = json.loads(result.output)
    assert [s["error"] for s in doc["specs"]] == [None, None]
    assert run(tmp_path, "--isolated", "--set", "clases=100").exit_code == 2  # used by no spec
    single = run(tmp_path / "b.yaml", "--isolated", "--set", "classes=100")  # one spec: strict
    assert single.exit_code == 2 and "no variable 'classes'" in single.output
