"""Colour and progress on a terminal only (cnnspec/cli/terminal.py), shell completion, and
``--depth`` for verify and profile: piped output stays what it was, byte for byte."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cnnspec.cli import terminal
from cnnspec.cli.main import main
from cnnspec.layers.conv import Conv2d
from cnnspec.torch.profile_table import block_row
from cnnspec.torch.verify_report import Check, NodeReport, _group_cell

from .conftest import ROOT, SPECS

FIXTURE = "tests/lint_fixtures/CNN106_aggressive-downsampling.yaml"
ESC = "\x1b["


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)


def _as_terminal(monkeypatch):
    """click's test of a terminal says yes for standard output."""
    monkeypatch.setattr(click.utils, "should_strip_ansi", lambda stream=None, color=None: False)


# --------------------------------------------------------------------------- the decision


@pytest.mark.parametrize(("env", "terminal_", "expected"), [
    ({}, False, False),
    ({}, True, True),
    ({"NO_COLOR": "1"}, True, False),
    ({"NO_COLOR": ""}, True, True),  # present but empty: not set (no-color.org)
    ({"FORCE_COLOR": "1"}, False, True),
    ({"FORCE_COLOR": "0"}, False, True),  # any value that is not empty (force-color.org)
    ({"FORCE_COLOR": ""}, False, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
    ({"TERM": "dumb"}, True, False),
    ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),
])
def test_colour_follows_no_color_force_color_and_the_terminal(monkeypatch, env, terminal_, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if terminal_:
        _as_terminal(monkeypatch)
    assert terminal.colour() is expected
    assert terminal.colour("out.txt") is False  # never into -o FILE
    assert (terminal.painter() is terminal.plain) is not expected


# --------------------------------------------------------------------------- check


def test_check_piped_has_no_colour_and_is_unchanged():
    result = CliRunner().invoke(main, ["check", FIXTURE])
    assert ESC not in result.output
    assert result.stdout.startswith(f"{FIXTURE}:7:5: CNN106 [info] stem (conv2d) downsamples")


def test_check_on_a_terminal_colours_severities_and_unstyles_to_the_piped_text():
    plain = CliRunner().invoke(main, ["check", FIXTURE, "specs/vgg16.yaml"])
    coloured = CliRunner().invoke(main, ["check", FIXTURE, "specs/vgg16.yaml"], color=True)
    assert coloured.exit_code == plain.exit_code == 1
    assert click.unstyle(coloured.stdout) == plain.stdout
    assert click.style("CNN106 [info]", fg="cyan", bold=True) in coloured.stdout
    assert click.style("CNN101", fg="yellow", bold=True) in coloured.stdout
    assert click.style(f"{FIXTURE}:7:5:", bold=True) in coloured.stdout
    assert f"  {click.style('fix:', fg='green')} " in coloured.stdout


def test_check_spec_error_and_clean_summary_coloured(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3, groups: 2}\n")
    coloured = CliRunner().invoke(main, ["check", str(bad)], color=True)
    assert click.style("error", fg="red", bold=True) in coloured.stdout
    clean = CliRunner().invoke(main, ["check", "tests/lint_fixtures/clean.yaml"], color=True)
    assert clean.stdout == click.style("All checks passed (1 spec).", fg="green") + "\n"


def test_no_color_wins_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(main, ["check", FIXTURE])
    assert CliRunner().invoke(main, ["check", FIXTURE], color=True).stdout == plain.stdout


def test_force_color_into_a_pipe_and_never_into_a_file(tmp_path):
    env = {**os.environ, "FORCE_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    out = tmp_path / "report.txt"
    run = subprocess.run([sys.executable, "-m", "cnnspec", "check", FIXTURE], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert ESC in run.stdout and click.unstyle(run.stdout).startswith(f"{FIXTURE}:7:5: CNN106")
    subprocess.run([sys.executable, "-m", "cnnspec", "check", FIXTURE, "-o", str(out)], cwd=ROOT, env=env)
    assert ESC not in out.read_text() and out.read_text().startswith(f"{FIXTURE}:7:5: CNN106")


# --------------------------------------------------------------------------- verify


def test_verify_mismatches_coloured_on_a_terminal_only(monkeypatch):
    monkeypatch.setattr(Conv2d, "macs", lambda self, inputs, output: 1)
    args = ["verify", str(SPECS / "lenet5.yaml"), "--no-rf"]
    plain = CliRunner().invoke(main, args)
    coloured = CliRunner().invoke(main, args, color=True)
    assert plain.exit_code == coloured.exit_code == 1
    assert ESC not in plain.stdout and plain.stderr == ""
    assert click.unstyle(coloured.stdout) == plain.stdout
    assert click.style("MISMATCH 2 != 235,200", fg="red", bold=True) in coloured.stdout
    last = coloured.stdout.splitlines()[-1]
    assert last == click.style(click.unstyle(last), fg="red", bold=True)
    assert coloured.stdout.startswith(click.style("lenet5: predicted vs measured", bold=True)[:-4])


def test_verify_all_ok_is_green_on_a_terminal():
    result = CliRunner().invoke(main, ["verify", str(SPECS / "lenet5.yaml"), "--device", "meta"],
                                color=True)
    assert result.exit_code == 0
    assert result.stdout.endswith(click.style("every number matches", fg="green") + "\n")
    assert f"  {click.style('ok', fg='green')}\n" in result.stdout


# --------------------------------------------------------------------------- --depth


def _first_column(text: str, after: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) + 2
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split()[0])
    return rows


def test_verify_depth_collapses_as_analyze_does():
    args = [str(SPECS / "resnet18.yaml"), "--depth", "1"]
    analyzed = CliRunner().invoke(main, ["analyze", *args])
    verified = CliRunner().invoke(main, ["verify", *args, "--device", "meta"])
    assert verified.exit_code == 0, verified.output
    names = _first_column(verified.stdout, "name ")
    assert names == _first_column(analyzed.stdout, "name ")
    assert names[4:8] == ["layer1", "layer2", "layer3", "layer4"]
    layer1 = next(line for line in verified.stdout.splitlines() if line.startswith("layer1 "))
    # the block's parameters and FLOPs are its layers' sums (2 x 73,984; 2 x 462,422,016)
    assert "14 layers" in layer1 and "147,968" in layer1 and "924,844,032" in layer1
    every = CliRunner().invoke(main, ["verify", str(SPECS / "resnet18.yaml"), "--device", "meta"])
    assert CliRunner().invoke(main, ["verify", str(SPECS / "resnet18.yaml"), "--device", "meta",
                                     "--depth", "0"]).stdout == every.stdout
    assert len(every.stdout.splitlines()) > len(verified.stdout.splitlines()) + 40
    # the totals and the verdict do not depend on the view
    assert every.stdout.splitlines()[-6:] == verified.stdout.splitlines()[-6:]


def test_verify_depth_shows_a_mismatch_inside_a_block(monkeypatch):
    monkeypatch.setattr(Conv2d, "macs", lambda self, inputs, output: 1)
    args = ["verify", str(SPECS / "resnet18.yaml"), "--device", "meta"]
    every = CliRunner().invoke(main, args)
    collapsed = CliRunner().invoke(main, [*args, "--depth", "1"])
    assert collapsed.exit_code == every.exit_code == 1
    layer1 = next(line for line in collapsed.stdout.splitlines() if line.startswith("layer1 "))
    # four 3x3 convs, 64->64 at 56x56: predicted 2 x 4, measured 4 x 2 x 36,864 x 3,136
    assert f"MISMATCH 8 != {4 * 2 * 36_864 * 3_136:,}" in layer1
    assert collapsed.stdout.splitlines()[-1] == every.stdout.splitlines()[-1]


def test_a_collapsed_cell_sums_or_names_the_node_that_failed():
    a = NodeReport("b.0", "conv2d", [Check("params", 10, 10, True), Check("shape", (1, 4), (1, 4), True)])
    b = NodeReport("b.1", "relu", [Check("params", 5, 6, False), Check("shape", (1, 4), (1, 5), False)])
    c = NodeReport("b.2", "relu", [Check("params", 0, 0, True), Check("shape", (1, 4), (1, 4), True)])
    assert _group_cell([a, b, c], "params") == "MISMATCH 15 != 16"
    assert _group_cell([a, c], "params") == "10"
    assert _group_cell([a, b, c], "shape") == "MISMATCH 1x4 != 1x5 at b.1"
    assert _group_cell([a, c], "shape") == "1x4"
    assert _group_cell([a, c], "receptive_field") == "-"
    assert _group_cell([a, NodeReport("x", "t", [Check("params", 1, 1, None)])], "params") == "~11"


def test_a_profile_block_row_adds_up_its_layers():
    def row(name, seconds, flops, moved, bound, by):
        return {"name": name, "type": "t", "seconds": seconds, "flops": flops, "bytes": moved,
                "flops_per_s": 0.0, "intensity": 0.0, "bound_seconds": bound, "bound_by": by,
                "efficiency": None}

    rows = [row("s.0", 2.0, 100, 10, 0.5, "compute"), row("s.1", 1.0, 0, 40, 0.25, "memory"),
            row("s.2", 1.0, 0, 0, 0.0, None)]
    block = block_row("s", rows)
    assert block == {"name": "s", "type": "3 layers", "seconds": 4.0, "flops": 100, "bytes": 50,
                     "flops_per_s": 25.0, "intensity": 2.0, "bound_seconds": 0.75,
                     "bound_by": "compute", "efficiency": 0.75 / 4.0}
    assert block_row("x", rows[:1])["name"] == "x"


def test_profile_depth_collapses_blocks():
    args = ["profile", str(SPECS / "resnet18.yaml"), "--input", "3x32x32", "--iters", "1",
            "--warmup", "0", "--peak-tflops", "1", "--peak-gbps", "10"]
    result = CliRunner().invoke(main, [*args, "--depth", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no bar on a standard error that is not a terminal
    names = _first_column(result.stdout, "name ")
    assert names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                     "avgpool", "flatten", "fc"]
    assert "14 layers" in next(line for line in result.stdout.splitlines() if line.startswith("layer1 "))


# --------------------------------------------------------------------------- progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_nothing_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with terminal.Progress("working") as progress:
        progress(0, 2, "one")
        progress(2, 2, "")
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", _Tty())
    with terminal.Progress("working") as progress:
        progress(0, 2, "one")
        progress(1, 2, "two")
    drawn = sys.stderr.getvalue()
    assert "working" in drawn and "two" in drawn and "50%" in drawn


def test_progress_waits_for_its_delay(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Tty())
    with terminal.Progress("slow", delay=3600) as progress:
        progress(0, 2, "one")
        progress(1, 2, "two")
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize(("args", "label"), [
    (["verify", str(SPECS / "lenet5.yaml"), "--no-rf"], "verifying"),
    (["sizes", str(SPECS / "lenet5.yaml")], None),  # sizes draws only after half a second
    (["import", "torchvision_free_module:missing", "--input", "3x8x8"], "importing"),
])
def test_commands_open_a_bar_when_standard_error_is_a_terminal(monkeypatch, args, label):
    """CliRunner's standard error is no terminal, so click's bar prints its label alone: the
    mark that a bar was opened. Without the terminal, nothing at all."""
    plain = CliRunner().invoke(main, args)
    assert label is None or label not in plain.stderr
    monkeypatch.setattr(terminal, "stderr_is_tty", lambda: True)
    drawn = CliRunner().invoke(main, args)
    if label is not None:
        assert drawn.stderr.startswith(label)
    assert drawn.stdout == plain.stdout


# --------------------------------------------------------------------------- completion


def _cli(env: dict) -> subprocess.CompletedProcess:
    script = "import sys; sys.argv[0] = 'cnnspec'; from cnnspec.cli import main; main(prog_name='cnnspec')"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_bash_completion_script_and_completions():
    script = _cli({"_CNNSPEC_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_cnnspec_completion()" in script.stdout
    words = _cli({"_CNNSPEC_COMPLETE": "bash_complete", "COMP_WORDS": "cnnspec ru", "COMP_CWORD": "1"})
    assert words.stdout.split() == ["plain,rule", "plain,rules"]
    options = _cli({"_CNNSPEC_COMPLETE": "bash_complete", "COMP_WORDS": "cnnspec verify x --de",
                    "COMP_CWORD": "3"})
    assert sorted(options.stdout.split()) == ["plain,--depth", "plain,--device"]
