"""Every kind of bad spec gets a clear error with file, line, column and key path — one test
per error class — and the CLI turns each into exit code 2 without a traceback."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

import cnnspec
from cnnspec import errors
from cnnspec.cli.main import main

from .conftest import SPECS

CASES = [
    # (id, spec text, error class, text in the message or hint, line, key path)
    ("yaml-syntax", "input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernel: 3\n  - relu\n",
     errors.SpecSyntaxError, "while parsing a flow mapping at line 3", 5, ""),
    ("python-tag", "input: [3, 8, 8]\nlayers:\n  - !!python/object/apply:os.system ['echo x']\n",
     errors.SpecSyntaxError, "is not supported in specs", 3, ""),
    ("duplicate-key", "input: [3, 8, 8]\ninput: [3, 8, 8]\nlayers: [relu]\n",
     errors.SpecStructureError, "duplicate key 'input'", 2, ""),
    ("not-a-mapping", "- relu\n", errors.SpecStructureError, "a spec is a mapping", 1, ""),
    ("no-layers", "input: [3, 8, 8]\n", errors.SpecStructureError, "has no 'layers'", 1, "layers"),
    ("unknown-top-key", "input: [3, 8, 8]\nlayer: [relu]\n", errors.UnknownNameError,
     "did you mean 'layers'", 2, "layer"),
    ("unknown-type", "input: [3, 8, 8]\nlayers:\n  - rleu\n", errors.UnknownNameError,
     "did you mean 'relu'", 3, "layers[0]"),
    ("unknown-setting", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernal: 3}\n",
     errors.UnknownNameError, "did you mean 'kernel'", 3, "layers[0].conv2d.kernal"),
    ("missing-setting", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8}\n",
     errors.SpecStructureError, "conv2d needs kernel", 3, "layers[0]"),
    ("bad-value", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: -8, kernel: 3}\n",
     errors.SpecStructureError, "must be at least 1", 3, "layers[0].conv2d.out"),
    ("non-integer", "input: [3, 8, 8]\nvars: {w: 5}\nlayers:\n  - conv2d: {out: w / 2, kernel: 3}\n",
     errors.SpecStructureError, "use // for whole-number division", 4, "layers[0].conv2d.out"),
    ("groups", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3, groups: 3}\n",
     errors.SpecStructureError, "divisible by groups", 3, "layers[0].conv2d.groups"),
    ("same-strided", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 2, padding: same}\n",
     errors.SpecStructureError, "'same' padding is only defined for stride 1", 3,
     "layers[0].conv2d.padding"),
    ("pool-padding", "input: [3, 8, 8]\nlayers:\n  - maxpool2d: {kernel: 2, padding: 2}\n",
     errors.SpecStructureError, "more than half", 3, "layers[0].maxpool2d.padding"),
    ("duplicate-name", "input: [3, 8, 8]\nlayers:\n  - relu: {name: a}\n  - relu: {name: a}\n",
     errors.SpecStructureError, "duplicate node name 'a'", 4, "layers[1].name"),
    ("bad-name", "input: [3, 8, 8]\nlayers:\n  - relu: {name: 'x.y'}\n",
     errors.SpecStructureError, "cannot be a node name", 3, "layers[0].name"),
    ("two-keys", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n    name: c\n",
     errors.SpecStructureError, "one key", 3, "layers[0]"),
    ("expr-syntax", "input: [3, 8, 8]\nvars: {w: 8}\nlayers:\n  - conv2d: {out: 'w * 2 +', kernel: 3}\n",
     errors.ExpressionError, "cannot parse expression", 4, "layers[0].conv2d.out"),
    ("expr-unknown-var", "input: [3, 8, 8]\nvars: {width: 8}\nlayers:\n  - conv2d: {out: widht, kernel: 3}\n",
     errors.ExpressionError, "did you mean 'width'", 4, "layers[0].conv2d.out"),
    ("expr-code", "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: '__import__(\"os\").getcwd()', kernel: 3}\n",
     errors.ExpressionError, "not a function expressions may call", 3, "layers[0].conv2d.out"),
    ("expr-attribute", "input: [3, 8, 8]\nvars: {w: 8}\nlayers:\n  - conv2d: {out: w.real, kernel: 3}\n",
     errors.ExpressionError, "Attribute is not allowed", 4, "layers[0].conv2d.out"),
    ("expr-division-by-zero", "input: [3, 8, 8]\nvars: {w: 0}\nlayers:\n  - linear: {out: 8 // w}\n",
     errors.ExpressionError, "division by zero", 4, "layers[0].linear.out"),
    ("expr-huge", "input: [3, 8, 8]\nlayers:\n  - linear: {out: '9 ** 9 ** 9'}\n",
     errors.ExpressionError, "too large", 3, "layers[0].linear.out"),
    ("var-cycle", "input: [3, 8, 8]\nvars: {a: b, b: a}\nlayers: [relu]\n",
     errors.ExpressionError, "cycle: a -> b -> a", 2, "vars.a"),
    ("bad-input", "input: [3, 0, 8]\nlayers: [relu]\n",
     errors.SpecStructureError, "positive integer", 1, "input[1]"),
    ("kernel-too-big", "input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n  - maxpool2d: 2\n"
     "  - conv2d: {out: 8, kernel: 16}\n",
     errors.ShapeError, "inputs of 34 and more are valid", 5, "layers[2]"),
    ("rank", "input: [3, 8, 8]\nlayers:\n  - flatten\n  - conv2d: {out: 8, kernel: 3}\n",
     errors.ShapeError, "2-D layers cannot follow flatten", 4, "layers[1]"),
    ("declared-channels", "input: [3, 8, 8]\nlayers:\n  - conv2d: {in: 1, out: 8, kernel: 3}\n",
     errors.ShapeError, "expects 1 input channels but receives 3", 3, "layers[0]"),
    ("nesting", "input: [3, 8, 8]\nlayers: " + "[{sequential: {layers: " * 70 + "[relu]" + "}}]" * 70 + "\n",
     errors.BudgetError, "nests more than", 2, ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_reports_class_position_and_path(case):
    _id, text, cls, snippet, line, path = case
    with pytest.raises(cls) as info:
        cnnspec.analyze(cnnspec.parse_spec(text, file="bad.yaml"))
    exc = info.value
    rendered = exc.render()
    assert snippet in rendered
    assert exc.pos.file == "bad.yaml"
    assert exc.pos.line == line
    if path:
        assert exc.pos.path == path
        assert f"[{path}]" in rendered
    assert rendered.startswith(f"bad.yaml:{line}:")


def test_alexnet_at_224_names_both_sides_and_the_sizes_that_work():
    """The issue's acceptance example, through the CLI."""
    result = CliRunner().invoke(main, ["analyze", str(SPECS / "alexnet.yaml"), "--input", "3x224x224"])
    assert result.exit_code == 2
    text = result.output
    assert "fc1 (linear) expects 9216 = 256x6x6 inputs but receives 6400 = 256x5x5" in text
    assert "at input 3x224x224" in text
    assert "inputs from 227 to 258 give 9216" in text
    assert "Traceback" not in text


def test_every_case_exits_2_through_the_cli(tmp_path):
    runner = CliRunner()
    for _id, text, *_ in CASES:
        spec = tmp_path / f"{_id}.yaml"
        spec.write_text(text)
        result = runner.invoke(main, ["analyze", str(spec)])
        assert result.exit_code == 2, _id
        assert result.output.startswith(f"{spec}:"), _id
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_missing_file_and_non_utf8(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read the spec" in result.output
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"input: [3, 8, 8]\nlayers: [\xff]\n")
    result = runner.invoke(main, ["analyze", str(binary)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output


def test_alias_bomb_is_refused_quickly():
    lines = ["input: [3, 8, 8]", "x-0: &x0 [relu, relu]"]
    for i in range(1, 40):
        lines.append(f"x-{i}: &x{i} [{{sequential: {{layers: *x{i - 1}}}}}, "
                     f"{{sequential: {{layers: *x{i - 1}}}}}]")
    lines.append("layers: *x39")
    start = time.perf_counter()
    with pytest.raises(errors.BudgetError, match="expands to 1,099,511,627,776 layers"):
        cnnspec.parse_spec("\n".join(lines))
    assert time.perf_counter() - start < 1.0


def test_bad_options():
    runner = CliRunner()
    alexnet = str(SPECS / "alexnet.yaml")
    for args, snippet in [
        (["--set", "clases=10"], "did you mean 'classes'"),
        (["--set", "classes"], "NAME=VALUE"),
        (["--input", "3x2a4x224"], "neither a number nor a name"),
        (["--input", "224x224"], "has 2 dims"),
    ]:
        result = runner.invoke(main, ["analyze", alexnet, *args])
        assert result.exit_code == 2, args
        assert snippet in result.output, (args, result.output)
