"""cnnspec.emit.pyformat lays statements out as ``ruff format`` does: ruff, run with the project's
settings, leaves its output unchanged, for random nested calls, tuples and lists with and
without magic trailing commas."""

from __future__ import annotations

import keyword
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cnnspec.emit.pyformat import _has_magic_comma, layout, reflow

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

names = st.from_regex(r"\A[a-z][a-z0-9_]{0,24}\Z", fullmatch=True).filter(lambda n: not keyword.iskeyword(n))
atoms = st.one_of(names, st.integers(0, 10 ** 6).map(str), names.map(lambda n: f'"{n}"'),
                  st.tuples(st.integers(0, 9), st.integers(0, 9)).map(lambda t: f"({t[0]}, {t[1]})"))


def calls(children):
    keywords = st.lists(st.tuples(names, children), max_size=3, unique_by=lambda kv: kv[0]).map(
        lambda pairs: [f"{k}={v}" for k, v in pairs])
    return st.tuples(st.sampled_from(["nn.Conv2d", "nn.Sequential", "OrderedDict", "Block", "torch.cat",
                                      "getattr(self, \"0\")", "self.layer"]),
                     st.lists(children, max_size=4), keywords, st.booleans()).map(
        lambda t: f"{t[0]}({', '.join(t[1] + t[2])}{',' if t[3] and t[1] + t[2] else ''})")


def containers(children):
    return st.tuples(st.sampled_from("[("), st.lists(children, min_size=2, max_size=5), st.booleans()).map(
        lambda t: t[0] + ", ".join(t[1]) + ("," if t[2] else "") + {"[": "]", "(": ")"}[t[0]])


expressions = st.recursive(atoms, lambda inner: st.one_of(calls(inner), containers(inner)), max_leaves=25)
statements = st.tuples(st.sampled_from(["self.{} = ", "{} = ", ""]), names, expressions).map(
    lambda t: t[0].format(t[1]) + t[2])


def ruff_format(source: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ruff", "format", "--config", str(PYPROJECT),
                           "--stdin-filename", "x.py", "-"], input=source, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + source
    return done.stdout


def wrap(lines: list[str]) -> str:
    return "class Model:\n    def __init__(self) -> None:\n" + "".join(f"        {ln}\n" for ln in lines)


@settings(deadline=None, derandomize=True, max_examples=60)
@given(st.lists(statements, min_size=1, max_size=25))
def test_ruff_format_leaves_the_layout_unchanged(lines):
    source = reflow(wrap(lines))
    assert ruff_format(source) == source


def test_one_item_tuples_are_not_magic_commas():
    assert not _has_magic_comma("(x.shape[0],) + (1,) * (x.dim() - 1)")
    assert _has_magic_comma("f(a,)") and _has_magic_comma("[1, 2,]") and _has_magic_comma('f("a",)')
    assert not _has_magic_comma('out = getattr(self, "0")(x)')  # a string is not a comma


def test_layout_splits_at_the_last_bracket():
    args = "in_channels, out_channels, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False"
    assert layout(f"self.convolution = nn.Conv2d({args})", "        ") == [
        "        self.convolution = nn.Conv2d(", f"            {args}", "        )"]
    assert layout("x = f(a, b,)", "") == ["x = f(", "    a,", "    b,", ")"]
