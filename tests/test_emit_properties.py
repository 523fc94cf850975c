"""`cnnspec build` on random and hostile specs: whatever the spec, the emitted file compiles,
imports, passes ``ruff check`` and ``ruff format --check`` with the project's settings, and
builds the model ``to_torch`` builds (same state_dict keys and shapes, same outputs for the
same weights); or the spec is refused with a clean, positioned error.

* random blocks and repeats with pair-valued ``kernel``, ``stride``, ``padding`` and
  ``dilation`` (a pair inside a block class was once written ``padding=(0, 1)|0``);
* hostile names everywhere a spec puts a name: keywords, ``None``/``True``/``False``, builtins,
  the names the emitted file uses itself (``nn``, ``torch``, ``OrderedDict``, ``self``, ``x``),
  nn.Module attributes (``forward``, ``training``), dunders and ``__private`` names.
"""

from __future__ import annotations

import json
import keyword
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import cnnspec
from cnnspec.emit.emitter import camel, emit

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much]

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def load_source(source: str):
    module = types.ModuleType("emitted")
    exec(compile(source, "<emitted>", "exec"), module.__dict__)  # our own generated code
    return module


def ruff_clean(source: str) -> None:
    """``ruff check`` and ``ruff format --check`` with pyproject.toml's [tool.ruff]."""
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(PYPROJECT), "--quiet",
                           "--stdin-filename", "model.py", "-"], input=source, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr + source
    formatted = subprocess.run([sys.executable, "-m", "ruff", "format", "--config", str(PYPROJECT),
                                "--stdin-filename", "model.py", "-"], input=source, capture_output=True,
                               text=True)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == source, "ruff format would change the file:\n" + source


def randomize(model: torch.nn.Module) -> None:
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for tensor in model.parameters():
            tensor.copy_(torch.randn(tensor.shape, generator=generator))
        for name, tensor in model.named_buffers():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith("running_mean"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator))


def assert_same_model(graph, source: str, class_name: str) -> None:
    module = load_source(source)
    emitted = getattr(module, class_name)().eval()
    built = cnnspec.to_torch(graph).eval()
    randomize(built)
    assert [(k, tuple(v.shape)) for k, v in emitted.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in built.state_dict().items()], source
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, *graph.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(emitted(x), built(x), rtol=0, atol=0)
    assert {k for k, p in emitted.named_parameters() if not p.requires_grad} == \
        {k for k, p in built.named_parameters() if not p.requires_grad}


# --------------------------------------------------------------------------- pair settings


def pair_or_one(draw, values):
    """One value or a [height, width] pair (mostly pairs: they are what broke)."""
    if draw(st.integers(0, 3)):
        return [draw(st.sampled_from(values)), draw(st.sampled_from(values))]
    return draw(st.sampled_from(values))


@st.composite
def block_layer(draw):
    kind = draw(st.sampled_from(["conv2d", "conv2d", "conv2d", "maxpool2d", "avgpool2d",
                                 "conv_transpose2d", "batchnorm2d", "relu"]))
    if kind in ("batchnorm2d", "relu"):
        return {kind: {}}
    if kind == "conv2d":
        kernel = pair_or_one(draw, [1, 3, "k"])
        body = {"out": draw(st.sampled_from(["c", "c * 2", 4])), "kernel": kernel}
        kernels = kernel if isinstance(kernel, list) else [kernel, kernel]
        if draw(st.booleans()):
            body["stride"] = pair_or_one(draw, [1, 2, "s"])
        if draw(st.integers(0, 3)) == 0 and "stride" not in body:
            body["padding"] = "same"
        elif draw(st.booleans()):
            body["padding"] = [("k // 2" if k == "k" else k // 2) for k in kernels]
        if draw(st.booleans()):
            body["dilation"] = pair_or_one(draw, [1, 2])
        if draw(st.booleans()):
            body["bias"] = False
        return {kind: body}
    if kind in ("maxpool2d", "avgpool2d"):
        kernel = pair_or_one(draw, [1, 2, 3])
        kernels = kernel if isinstance(kernel, list) else [kernel, kernel]
        body = {"kernel": kernel, "stride": pair_or_one(draw, [1, 2])}
        if draw(st.booleans()):
            body["padding"] = [k // 2 for k in kernels]
        return {kind: body}
    kernel = pair_or_one(draw, [1, 2, 3])
    kernels = kernel if isinstance(kernel, list) else [kernel, kernel]
    body = {"out": draw(st.sampled_from(["c", 3])), "kernel": kernel, "stride": pair_or_one(draw, [1, 2])}
    if draw(st.booleans()):
        body["padding"] = [draw(st.integers(0, k - 1)) for k in kernels]
    return {kind: body}


@st.composite
def pair_specs(draw) -> str:
    layers = draw(st.lists(block_layer(), min_size=1, max_size=3))
    residual = draw(st.booleans())
    if residual:  # a residual block: a class with a forward, pair settings inside it
        layers = [{"residual": {"layers": layers, "shortcut": "auto"}}]
    blocks = {"b": {"args": {"c": 4, "k": 3, "s": 1}, "layers": layers}}
    uses = []
    for _ in range(draw(st.integers(1, 3))):
        args = {key: draw(st.sampled_from(values)) for key, values in
                (("c", [2, 4, 6]), ("k", [1, 3, 5]), ("s", [1, 2])) if draw(st.booleans())}
        uses.append({"b": args})
    if draw(st.booleans()):
        uses.append({"repeat": {"times": draw(st.integers(1, 3)), "block": "b",
                                "args": {"k": "2 * i + 1", "c": "2 + i"}, "first": {"s": 2}}})
    if draw(st.booleans()):
        uses.append({"repeat": {"name": "rep", "times": 2,
                                "layers": [{"conv2d": {"out": "in_channels", "kernel": [1, 3],
                                                       "padding": [0, "i + 1"], "dilation": [1, "i + 1"]}}]}})
    spec = {"name": "pairs", "input": [3, draw(st.integers(10, 18)), draw(st.integers(10, 18))],
            "blocks": blocks, "layers": uses}
    return json.dumps(spec)  # JSON is YAML


@settings(deadline=None, derandomize=True, max_examples=120, suppress_health_check=SLOW_OK)
@given(pair_specs())
def test_pair_settings_in_blocks_and_repeats_build_the_same_model(text):
    try:
        graph = cnnspec.parse_spec(text)
        cnnspec.analyze(graph)
    except cnnspec.SpecError:
        event("refused (shapes)")
        assume(False)
    event("built")
    source = emit(graph)
    assert_same_model(graph, source, camel(graph.name, "Model"))


@settings(deadline=None, derandomize=True, max_examples=25, suppress_health_check=SLOW_OK)
@given(pair_specs())
def test_random_emitted_files_are_ruff_clean(text):
    try:
        graph = cnnspec.parse_spec(text)
        cnnspec.analyze(graph)
    except cnnspec.SpecError:
        assume(False)
    ruff_clean(emit(graph))


# --------------------------------------------------------------------------- hostile names

HOSTILE = sorted({
    *keyword.kwlist, "None", "True", "False", "match", "case", "type", "_",
    "list", "print", "Exception", "super", "int", "float", "bool", "getattr", "object", "__debug__",
    "nn", "torch", "OrderedDict", "StochasticDepth", "self", "x", "out", "y", "z", "t0", "name",
    "annotations", "Model", "B", "Block", "NoneBlock", "Inception",
    "forward", "training", "__init__", "__class__", "__dict__", "_modules", "_parameters", "to",
    "pop", "keys", "nodes", "spec_name", "eval", "append",
    "__x", "__private", "_x", "in_channels", "i", "n", "input", "stem",
})
names = st.one_of(st.sampled_from(HOSTILE),
                  st.from_regex(r"\A_{0,2}[A-Za-z][A-Za-z0-9_]{0,8}\Z", fullmatch=True))


@st.composite
def hostile_specs(draw) -> tuple[str, str | None]:
    n = [draw(names) for _ in range(11)]
    spec_name, block, block2, arg, var, node1, node2, group, node3 = n[:9]
    spec = {
        "name": spec_name,
        "input": [3, 8, 8],
        "vars": {var: 4, "classes": 3},
        "blocks": {
            block: {"args": {arg: 4}, "layers": [
                {"conv2d": {"out": arg, "kernel": [1, 3], "padding": [0, 1], "name": node1}},
                {"relu": {"name": node2}}]},
            block2: {"args": {arg: 2}, "layers": [
                {"residual": {"layers": [{"conv2d": {"out": "in_channels", "kernel": 3, "padding": 1,
                                                     "name": node3}}]}}]},
        },
        "layers": [
            {block: {arg: var, "name": group}},
            {block: {arg: 6}},
            {"sequential": {"name": n[9], "layers": [{block2: {}}], "trainable": False}},
            "flatten",
            {"linear": {"out": "classes", "name": n[10]}},
        ],
    }
    class_name = draw(st.one_of(st.none(), names))
    return json.dumps(spec), class_name


@settings(deadline=None, derandomize=True, max_examples=300, suppress_health_check=SLOW_OK)
@given(hostile_specs())
def test_hostile_names_are_refused_or_build_the_same_model(case):
    text, class_name = case
    try:
        graph = cnnspec.parse_spec(text)
        cnnspec.analyze(graph)
    except cnnspec.SpecError as exc:
        event("refused")
        rendered = exc.render()
        assert "\n" not in rendered.split("\n  hint: ")[0]  # one line, then the hint
        return
    try:
        source = emit(graph, class_name)
    except cnnspec.UsageError as exc:
        event("class name refused")
        assert class_name is not None and class_name in exc.message
        return
    event("built")
    compile(source, "<emitted>", "exec")
    assert_same_model(graph, source, class_name or camel(graph.name, "Model"))


@pytest.mark.parametrize("class_name", ["nn", "torch", "OrderedDict", "StochasticDepth", "None", "True",
                                        "class", "super", "list", "__init__", "__x", "x y", "ok\n"])
def test_class_names_that_would_shadow_or_break_the_file_are_refused(class_name):
    graph = cnnspec.parse_spec("input: [3, 8, 8]\nlayers: [relu]\n")
    with pytest.raises(cnnspec.UsageError) as info:
        emit(graph, class_name)
    assert "--class-name" in info.value.message and "\n" not in info.value.message


def test_hostile_class_names_from_the_spec_are_made_safe():
    for name, expected in (("none", "NoneModel"), ("true", "TrueModel"), ("ordered_dict", "OrderedDictModel"),
                           ("nn", "Nn"), ("list", "List"), ("exception", "ExceptionModel"),
                           ("3d", "Model3d"), ("é", "Model")):
        graph = cnnspec.parse_spec(f"name: {json.dumps(name)}\ninput: [3, 8, 8]\nlayers: [relu]\n")
        source = emit(graph)
        assert f"class {expected}(nn.Sequential):" in source
        getattr(load_source(source), expected)()


def test_a_parameter_never_hides_the_class_it_calls():
    """A block argument or a variable named like a generated class (``B``) must not become a
    parameter of the class that calls ``B(...)``."""
    graph = cnnspec.parse_spec("""
name: net
input: [3, 8, 8]
vars: {B: 3}
blocks:
  b:
    args: {c: 4}
    layers: [conv2d: {out: c, kernel: 1}]
  outer:
    args: {B: 4}
    layers: [b: {c: B}, b: {c: 5}]
layers:
  - outer: {B: 4}
  - outer: {B: 6}
  - flatten
  - linear: {out: B}
""")
    source = emit(graph)
    assert "B: int" not in source
    assert_same_model(graph, source, "Net")


def test_private_names_keep_their_state_dict_keys():
    """``self.__x = …`` inside a class is stored as ``_Cls__x``; such names go through
    add_module so the key stays ``__x``."""
    graph = cnnspec.parse_spec("""
input: [3, 8, 8]
blocks:
  b:
    layers:
      - residual: {layers: [conv2d: {out: in_channels, kernel: 3, padding: 1, name: __w}]}
layers: [b: {name: __g}, b: {}]
""")
    source = emit(graph)
    assert "self.__" not in source
    assert_same_model(graph, source, camel(graph.name, "Model"))
