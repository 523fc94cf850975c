"""cnnspec diff: per-layer changes between two versions of a spec (library and CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from cnnspec import analyze, load_spec
from cnnspec.cli.main import main
from cnnspec.errors import UsageError
from cnnspec.reports.diff_report import render_markdown, render_table
from cnnspec.solvers.diff import diff_analyses, diff_files, percent, same, split_revisions
from cnnspec.version import SCHEMA_VERSION

from .conftest import SPECS

R18, R34 = str(SPECS / "resnet18.yaml"), str(SPECS / "resnet34.yaml")

TINY = """\
name: tiny
input: [1, 8, 8]
vars: {width: 4}
layers:
  - conv2d: {out: width, kernel: 3, name: conv}
  - relu: {name: act}
  - flatten: {name: flat}
  - linear: {out: 2, name: fc}
"""
TINY_K5 = TINY.replace("kernel: 3", "kernel: 5")


def invoke(*args, cwd=None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["diff", *map(str, args)])
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, ["diff", *map(str, args)])
    finally:
        os.chdir(old)


def ok(*args, code=0, cwd=None) -> str:
    result = invoke(*args, cwd=cwd)
    assert result.exit_code == code, result.output
    return result.output


def error(*args, cwd=None) -> str:
    result = invoke(*args, cwd=cwd)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


@pytest.fixture
def pair(tmp_path):
    def write(before: str, after: str) -> tuple[str, str]:
        (tmp_path / "before.yaml").write_text(before)
        (tmp_path / "after.yaml").write_text(after)
        return str(tmp_path / "before.yaml"), str(tmp_path / "after.yaml")

    return write


def rows_by_name(data: dict) -> dict:
    return {row["name"]: row for row in data["rows"]}


# --- ResNet-18 -> ResNet-34 -----------------------------------------------------------------


def test_resnet18_to_34_adds_the_extra_blocks_and_the_params_delta_is_exact():
    d = diff_files(R18, R34)
    before, after = analyze(load_spec(R18)), analyze(load_spec(R34))
    assert before.totals()["params"] == 11_689_512 and after.totals()["params"] == 21_797_672
    assert d.totals()["params"] == (11_689_512, 21_797_672)
    data = json.loads(ok(R18, R34, "--format", "json"))
    assert data["totals"]["params"]["delta"] == 21_797_672 - 11_689_512 == 10_108_160
    assert data["totals"]["macs"]["delta"] == 3_663_761_408 - 1_814_073_344
    assert data["totals"]["nodes"] == {"before": 69, "after": 125, "delta": 56,
                                       "delta_pct": pytest.approx(56 / 69 * 100, abs=1e-6)}
    added = {row.name for row in d.rows if row.status == "added"}
    assert added == {n.name for n in after.graph.nodes} - {n.name for n in before.graph.nodes}
    assert len(added) == 56 and d.count("removed") == 0
    assert {"layer1.2.conv1", "layer2.3.relu_out", "layer3.5.add", "layer4.2.bn2"} <= added
    # the rows' deltas add up to the totals' delta (unchanged rows contribute 0)
    assert sum(row["delta"]["params"]["delta"] for row in data["rows"]) == 10_108_160
    assert sum(row["delta"]["macs"]["delta"] for row in data["rows"]) == 3_663_761_408 - 1_814_073_344
    # the blocks after an insertion see further, nothing else about them changed
    changed = [row for row in d.rows if row.status == "changed"]
    assert changed and all(row.changes == ("receptive_field",) for row in changed)
    assert data["totals"]["receptive_field"]["before"]["size"] == [627, 627]
    assert data["totals"]["receptive_field"]["after"]["size"] == [1091, 1091]


def test_reverse_direction_removes_and_keeps_removed_rows_in_place():
    d = diff_files(R34, R18)
    assert d.count("removed") == 56 and d.count("added") == 0
    names = [row.name for row in d.rows]
    assert names.index("layer1.1.relu_out") < names.index("layer1.2.conv1") < names.index("layer2.0.conv1")
    assert d.totals()["params"] == (21_797_672, 11_689_512)


def test_table_and_summary_line_for_resnet():
    text = ok(R18, R34)
    assert text.startswith("before: resnet18 (")
    assert "51 changed (receptive field only), 56 added, 0 removed; params +10,108,160 (+86.5%)" in text
    assert "MACs +1.85 GMACs (+102.0%)" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("added") and " layer1.2.conv1 " in ln)
    assert "1x64x56x56" in line and "36,864" in line
    assert "unchanged" not in text and " conv1 " not in text  # the stem is unchanged
    totals = next(ln for ln in text.splitlines() if ln.startswith("params "))
    assert totals.split() == ["params", "11,689,512", "21,797,672", "+10,108,160", "(+86.5%)"]


# --- one conv's kernel changed, by hand ---------------------------------------------------------


def test_kernel_change_row_by_hand(pair):
    """8x8 input, conv 3x3 -> 5x5 with 4 filters: output 4x6x6 -> 4x4x4, params 4*9+4 = 40 ->
    4*25+4 = 104, MACs 4*36*9 = 1296 -> 4*16*25 = 1600, RF 3 -> 5, bytes 144*4 = 576 -> 256.
    fc reads 144 -> 64 features: params 290 -> 130, MACs 288 -> 128."""
    before, after = pair(TINY, TINY_K5)
    data = json.loads(ok(before, after, "--format", "json"))
    rows = rows_by_name(data)
    conv = rows["conv"]
    assert conv["status"] == "changed"
    assert conv["changes"] == ["output_shape", "params", "macs", "receptive_field", "activation_bytes",
                               "settings"]
    assert conv["settings"] == {"kernel": {"before": [3, 3], "after": [5, 5]}}
    assert conv["before"]["output_shape"] == [1, 4, 6, 6] and conv["after"]["output_shape"] == [1, 4, 4, 4]
    assert (conv["before"]["params"], conv["after"]["params"]) == (40, 104)
    assert (conv["before"]["macs"], conv["after"]["macs"]) == (1296, 1600)
    assert conv["before"]["receptive_field"]["size"] == [3, 3]
    assert conv["after"]["receptive_field"]["size"] == [5, 5]
    assert (conv["before"]["activation_bytes"], conv["after"]["activation_bytes"]) == (576, 256)
    assert conv["delta"]["params"] == {"delta": 64, "delta_pct": 160.0}
    assert conv["delta"]["macs"]["delta"] == 304
    assert conv["delta"]["activation_bytes"]["delta"] == -320
    fc = rows["fc"]
    assert fc["changes"] == ["params", "macs"]  # the same 1x2 output, the whole input seen
    assert (fc["before"]["params"], fc["after"]["params"]) == (290, 130)
    assert (fc["before"]["macs"], fc["after"]["macs"]) == (288, 128)
    assert rows["act"]["changes"] == ["output_shape", "receptive_field", "activation_bytes"]
    t = data["totals"]
    assert (t["params"]["before"], t["params"]["after"], t["params"]["delta"]) == (330, 234, -96)
    assert (t["macs"]["before"], t["macs"]["after"]) == (1584, 1728)
    assert (t["flops"]["before"], t["flops"]["after"]) == (3168, 3456)
    # peak: the conv output and the relu output live together, 576 + 576 -> 256 + 256
    assert (t["peak_activation_bytes"]["before"], t["peak_activation_bytes"]["after"]) == (1152, 512)
    assert (t["param_bytes"]["before"], t["param_bytes"]["after"]) == (1320, 936)
    assert t["output_shape"] == {"before": [1, 2], "after": [1, 2], "same": True}
    text = ok(before, after)
    line = next(ln for ln in text.splitlines() if ln.startswith("changed   conv "))
    assert "1x4x6x6 -> 1x4x4x4" in line and "40 -> 104 (+64, +160.0%)" in line
    assert "3 -> 5" in line and "576 B -> 256 B" in line
    assert "4 changed, 0 added, 0 removed; params -96 (-29.1%)" in text


def test_added_and_removed_nodes_in_order(pair):
    after = TINY.replace("  - relu: {name: act}\n", "  - batchnorm2d: {name: bn}\n  - relu: {name: act2}\n")
    before, after = pair(TINY, after)
    d = diff_files(before, after)
    assert [(row.name, row.status) for row in d.rows] == [
        ("conv", "unchanged"), ("act", "removed"), ("bn", "added"), ("act2", "added"),
        ("flat", "unchanged"), ("fc", "unchanged")]
    assert d.rows[2].after.params == 8 and d.rows[2].before is None  # 4 channels: weight + bias
    data = json.loads(ok(before, after, "--format", "json"))
    assert [row["name"] for row in data["rows"]] == ["act", "bn", "act2"]
    assert rows_by_name(data)["act"]["after"] is None
    assert rows_by_name(data)["act"]["delta"]["activation_bytes"]["delta"] == -576
    assert data["summary"] == {"changed": 0, "added": 2, "removed": 1, "unchanged": 3}
    text = ok(before, after)
    assert "0 changed, 2 added, 1 removed; params +8 (+2.4%)" in text


def test_type_change_and_freezing_are_changes(pair):
    after = TINY.replace("relu: {name: act}", "gelu: {name: act}").replace(
        "linear: {out: 2, name: fc}", "linear: {out: 2, name: fc, trainable: false}")
    d = diff_files(*pair(TINY, after))
    rows = {row.name: row for row in d.rows}
    assert rows["act"].changes == ("type",)
    assert rows["fc"].changes == ("trainable",)
    assert d.totals()["trainable_params"] == (330, 40)
    text = render_table(d)
    assert "relu -> gelu" in text and "(trainable -> frozen)" in text


# --- no changes, --all and exit codes --------------------------------------------------------


def test_identical_specs_no_changes_and_exit_codes(pair):
    before, after = pair(TINY, "# a comment changes nothing\n" + TINY)
    text = ok(before, after)
    assert "no changes: both sides analyse identically (4 nodes, 330 params" in text
    assert "status" not in text  # no table
    ok(before, after, "--exit-code", code=0)
    assert not diff_files(before, after).differs
    before, after = pair(TINY, TINY_K5)
    ok(before, after, code=0)
    ok(before, after, "--exit-code", code=1)


def test_all_lists_unchanged_rows(pair):
    before, after = pair(TINY, TINY.replace("out: 2", "out: 3"))
    text = ok(before, after)
    assert "changed   fc " in text and " conv " not in text
    text = ok(before, after, "--all")
    assert [ln.split()[0] for ln in text.splitlines() if " conv " in ln] == ["unchanged"]
    data = json.loads(ok(before, after, "--format", "json", "--all"))
    assert [row["status"] for row in data["rows"]] == ["unchanged", "unchanged", "unchanged", "changed"]
    assert rows_by_name(data)["conv"]["delta"]["params"] == {"delta": 0, "delta_pct": 0.0}
    data = json.loads(ok(before, after, "--format", "json"))
    assert [row["name"] for row in data["rows"]] == ["fc"]


# --- formats ------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def test_json_layout_and_numbers_are_numbers():
    data = json.loads(ok(R18, R34, "--format", "json"))
    assert data["schema_version"] == SCHEMA_VERSION == "1.1"
    assert data["before"] == {"file": R18, "revision": None, "commit": None, "name": "resnet18"}
    assert data["after"]["name"] == "resnet34" and data["after"]["file"] == R34
    assert data["differs"] is True and data["batch"] == 1 and data["dtype"] == "float32"
    for row in data["rows"]:
        for side in ("before", "after"):
            facts = row[side]
            if facts is None:
                continue
            assert all(_is_number(facts[k]) for k in ("params", "macs", "activation_bytes"))
            assert all(_is_number(d) for d in facts["output_shape"])
            assert all(_is_number(v) for key in ("size", "jump", "start")
                       for v in facts["receptive_field"][key])
        assert all(_is_number(row["delta"][k]["delta"]) for k in ("params", "macs", "activation_bytes"))
    for key in ("params", "trainable_params", "macs", "flops", "peak_activation_bytes", "param_bytes",
                "nodes"):
        entry = data["totals"][key]
        assert all(_is_number(entry[k]) for k in ("before", "after", "delta", "delta_pct")), key
    assert data["totals"]["output_shape"] == {"before": [1, 1000], "after": [1, 1000], "same": True}
    assert data["totals"]["input"] == {"before": [3, 224, 224], "after": [3, 224, 224], "same": True}
    assert data["totals"]["peak_activation_bytes"]["delta"] == 0


def test_symbolic_input_gives_formulas_as_text():
    data = json.loads(ok(R18, R34, "--format", "json", "--input", "3xHxW"))
    assert data["totals"]["params"]["delta"] == 10_108_160  # params do not depend on H, W
    macs = data["totals"]["macs"]
    assert isinstance(macs["before"], str) and "H" in macs["before"] and "W" in macs["delta"]
    assert macs["delta_pct"] is None
    row = rows_by_name(data)["layer1.2.conv1"]
    assert row["after"]["output_shape"][:2] == [1, 64] and isinstance(row["after"]["output_shape"][2], str)
    text = ok(R18, R34, "--input", "3xHxW")
    assert "input 3xHxW" in text and "MACs\n  before: " in text
    assert "params +10,108,160 (+86.5%)" in text
    markdown = ok(R18, R34, "--input", "3xHxW", "--format", "markdown")
    assert "- **MACs**: `" in markdown


def test_markdown_is_a_github_table(pair):
    text = ok(R18, R34, "--format", "markdown")
    lines = text.splitlines()
    assert lines[0] == "### cnnspec diff: `resnet18` → `resnet34`"
    assert "**51 changed (receptive field only), 56 added, 0 removed; params +10,108,160 (+86.5%)" in text
    header = next(ln for ln in lines if ln.startswith("| status"))
    assert lines[lines.index(header) + 1].startswith("|---")
    assert header.count("|") == 9
    assert "<details><summary>107 layers</summary>" in text  # long tables are folded
    assert next(ln for ln in lines if ln.startswith("| params ")).split("|")[2].strip() == "11,689,512"
    small = ok(*pair(TINY, TINY_K5), "--format", "markdown")
    assert "layers</summary>" not in small and "| changed  | conv " in small
    same_text = ok(R18, R18, "--format", "markdown")
    assert "**no changes" in same_text and "| status" not in same_text


def test_output_file(tmp_path):
    out = tmp_path / "d.md"
    assert ok(R18, R34, "--format", "markdown", "-o", out) == ""
    assert out.read_text().startswith("### cnnspec diff")


# --- options applying to both sides ----------------------------------------------------------


def test_input_batch_dtype_apply_to_both(pair):
    before, after = pair(TINY, TINY_K5)
    data = json.loads(ok(before, after, "--format", "json", "--batch", "2", "--dtype", "float16",
                         "--input", "1x10x10"))
    conv = rows_by_name(data)["conv"]
    # 10x10: 4x8x8 -> 4x6x6 outputs, 2 samples of 2 bytes
    assert conv["before"]["output_shape"] == [2, 4, 8, 8] and conv["after"]["output_shape"] == [2, 4, 6, 6]
    assert conv["before"]["activation_bytes"] == 2 * 2 * 256
    assert conv["before"]["macs"] == 2 * 256 * 9
    assert data["totals"]["param_bytes"]["after"] == 2 * data["totals"]["params"]["after"]
    assert data["batch"] == 2 and data["dtype"] == "float16"


def test_set_applies_to_each_side_that_has_the_variable(pair):
    before, after = pair(TINY, TINY)
    data = json.loads(ok(before, after, "--format", "json", "--set", "width=8", "--all"))
    assert rows_by_name(data)["conv"]["before"]["params"] == 8 * 9 + 8
    assert data["differs"] is False and data["notes"] == []
    no_vars = TINY.replace("vars: {width: 4}\n", "").replace("out: width", "out: 4")
    before, after = pair(no_vars, TINY)
    data = json.loads(ok(before, after, "--format", "json", "--set", "width=8"))
    conv = rows_by_name(data)["conv"]
    assert (conv["before"]["params"], conv["after"]["params"]) == (40, 80)
    assert data["notes"] == ["--set width applies to the after spec only; the other has no variable 'width'"]
    assert "note: --set width applies to the after spec only" in ok(before, after, "--set", "width=8")
    text = error(before, after, "--set", "widht=8")
    assert "--set widht: neither spec has a variable 'widht'" in text and "did you mean 'width'" in text


# --- errors --------------------------------------------------------------------------------


def test_argument_errors(tmp_path, pair):
    before, after = pair(TINY, TINY)
    assert "--rev takes one spec file, got 2" in error(before, after, "--rev", "HEAD")
    assert "diff takes two spec files (BEFORE AFTER), got 1" in error(before)
    assert "got 3" in error(before, after, after)
    assert "cannot read the spec" in error(before, tmp_path / "missing.yaml")
    assert "cannot read --set" in error(before, after, "--set", "width")


def test_a_broken_side_is_a_spec_error_naming_its_file(pair):
    before, after = pair(TINY, TINY.replace("out: 2", "out: 0"))
    text = error(before, after)
    assert text.startswith(f"{after}:8:")


def test_library_helpers():
    assert same((1, 2), (1, 2)) and not same((1, 2), (1, 2, 3)) and same(None, None)
    assert not same(None, (3, 3)) and same(5, 5) and not same("relu", "gelu")
    assert percent(0, 5) is None and percent(4, 5) == 25.0 and percent(None, 5) is None
    assert split_revisions("HEAD~2") == ("HEAD~2", None)
    assert split_revisions("a..b") == ("a", "b") and split_revisions("v1..") == ("v1", "HEAD")
    for bad in ("-p", "--output=x", "", "a b", "HEAD:x", "a...b", "..-x"):
        with pytest.raises(UsageError):
            split_revisions(bad)
    before = analyze(load_spec(R18))
    d = diff_analyses(before, before)
    assert not d.differs and all(row.status == "unchanged" for row in d.rows)
    assert "no changes" in render_markdown(d)


# --- git revisions -------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-c", "user.name=cnnspec test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """A repository with models/tiny.yaml committed twice (3x3, then 5x5 kernel)."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    git(root, "init", "-q")
    spec = root / "models" / "tiny.yaml"
    spec.write_text(TINY)
    git(root, "add", "models/tiny.yaml")
    git(root, "commit", "-q", "-m", "tiny, 3x3")
    spec.write_text(TINY_K5)
    git(root, "commit", "-q", "-am", "tiny, 5x5")
    return root


@needs_git
def test_rev_against_the_working_tree(repo):
    spec = repo / "models" / "tiny.yaml"
    assert "no changes" in ok(spec, "--rev", "HEAD", "--exit-code")
    spec.write_text(TINY_K5.replace("out: 2", "out: 3"))
    data = json.loads(ok(spec, "--rev", "HEAD", "--format", "json", "--exit-code", code=1))
    head = git(repo, "rev-parse", "HEAD").strip()
    assert data["before"] == {"file": str(spec), "revision": "HEAD", "commit": head, "name": "tiny"}
    assert data["after"] == {"file": str(spec), "revision": None, "commit": None, "name": "tiny"}
    assert [row["name"] for row in data["rows"]] == ["fc"]
    # run from the spec's folder with a relative path, and from elsewhere in the repository
    assert "changed   fc " in ok("tiny.yaml", "--rev", "HEAD~1", cwd=repo / "models")
    text = ok("models/tiny.yaml", "--rev", "HEAD~1", cwd=repo)
    assert "before: tiny (models/tiny.yaml at HEAD~1, commit " in text
    assert "changed   conv " in text


@needs_git
def test_rev_range(repo):
    data = json.loads(ok(repo / "models" / "tiny.yaml", "--rev", "HEAD~1..HEAD", "--format", "json"))
    assert data["before"]["revision"] == "HEAD~1" and data["after"]["revision"] == "HEAD"
    conv = rows_by_name(data)["conv"]
    assert (conv["before"]["params"], conv["after"]["params"]) == (40, 104)
    data = json.loads(ok(repo / "models" / "tiny.yaml", "--rev", "HEAD..HEAD~1", "--format", "json"))
    assert rows_by_name(data)["conv"]["delta"]["params"]["delta"] == -64
    # HEAD~1.. is HEAD~1..HEAD, as in git
    assert json.loads(ok(repo / "models" / "tiny.yaml", "--rev", "HEAD~1..", "--format", "json"))[
        "after"]["revision"] == "HEAD"


@needs_git
def test_rev_errors(repo, tmp_path, monkeypatch):
    spec = repo / "models" / "tiny.yaml"
    text = error(spec, "--rev", "no-such-branch")
    assert "error: unknown revision 'no-such-branch'" in text
    assert "is not a revision" in error(spec, "--rev", "--output=/tmp/x")
    assert "is not a revision" in error(spec, "--rev", "HEAD..-x")
    other = repo / "models" / "new.yaml"
    other.write_text(TINY)
    assert "models/new.yaml does not exist at revision HEAD" in error(other, "--rev", "HEAD")
    assert "does not exist at revision HEAD~1" in error(other, "--rev", "HEAD~1..HEAD")
    # a spec error in the committed text names the file at that revision
    spec.write_text(TINY.replace("out: 2", "out: 0"))
    git(repo, "commit", "-q", "-am", "broken")
    spec.write_text(TINY)
    assert error(spec, "--rev", "HEAD").startswith(f"{spec}@HEAD:8:")
    # outside any repository
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tiny.yaml").write_text(TINY)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert "not in a git repository" in error(outside / "tiny.yaml", "--rev", "HEAD")


def test_rev_without_git(tmp_path, monkeypatch):
    import cnnspec.solvers.diff

    monkeypatch.setattr(cnnspec.solvers.diff.shutil, "which", lambda name: None)
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert "--rev needs git, which is not installed" in error(tmp_path / "tiny.yaml", "--rev", "HEAD")


def test_receptive_field_per_axis(pair):
    conv_only = "input: [1, 8, 8]\nlayers:\n  - conv2d: {out: 2, kernel: 3, name: conv}\n"
    d = diff_files(*pair(conv_only, conv_only.replace("kernel: 3", "kernel: [5, 3]")))
    assert d.totals()["receptive_field"] == ((3, 3), (5, 3))
    text = render_table(d)
    assert next(ln for ln in text.splitlines() if ln.startswith("receptive field")).split() == [
        "receptive", "field", "3", "5x3", "+2", "x", "±0"]
    assert "1x2x6x6 -> 1x2x4x6" in text


def test_settings_and_normalisation_changes_are_differences(tmp_path):
    """A change that moves no number (dropout p, batch-norm eps, the input normalisation) is
    still a change: --exit-code must see it."""
    before = ("input: [3, 32, 32]\nnormalize: {mean: 0.5, std: 0.25}\nlayers:\n"
              "  - conv2d: {out: 8, kernel: 3, padding: 1, name: conv}\n  - batchnorm2d: {name: bn}\n"
              "  - relu\n  - global_avgpool\n  - flatten\n  - dropout: {p: 0.5, name: drop}\n"
              "  - linear: {out: 10, name: fc}\n")
    after = (before.replace("p: 0.5", "p: 0.1").replace("{name: bn}", "{name: bn, eps: 0.001}")
             .replace("std: 0.25", "std: 0.3"))
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(before)
    b.write_text(after)
    result = CliRunner().invoke(main, ["diff", str(a), str(b), "--exit-code"])
    assert result.exit_code == 1, result.output
    assert "dropout (p 0.5 -> 0.1)" in result.output and "batchnorm2d (eps 1e-05 -> 0.001)" in result.output
    assert "changed: input normalisation: mean [0.5], std [0.25] -> mean [0.5], std [0.3]" in result.output
    doc = json.loads(CliRunner().invoke(main, ["diff", str(a), str(b), "--format", "json"]).output)
    rows = {r["name"]: r for r in doc["rows"]}
    assert rows["drop"]["changes"] == ["settings"]
    assert rows["drop"]["settings"] == {"p": {"before": 0.5, "after": 0.1}}
    assert rows["bn"]["settings"] == {"eps": {"before": 1e-05, "after": 0.001}}
    assert doc["spec_changes"] and "input normalisation" in doc["spec_changes"][0]
    b.write_text(before)
    assert CliRunner().invoke(main, ["diff", str(a), str(b), "--exit-code"]).exit_code == 0


def test_the_library_diff_gives_a_shape_error_its_size_hint():
    from cnnspec.errors import ShapeError

    alexnet = str(SPECS / "alexnet.yaml")
    with pytest.raises(ShapeError) as info:
        diff_files(alexnet, alexnet, input_shape="3x66x66")
    assert info.value.hint == "inputs of 67 and more are valid"
