"""cnnspec.emit.code and render: the generated file is structure until one renderer writes it.
Names refuse what is not an identifier, constants compare by their literal, bind() fills the
placeholders of a class on the structure, and the emitter's sources hold no marker characters
and fill no text with regexes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cnnspec.emit import code
from cnnspec.emit.render import expr, render, statement

EMIT = Path(__file__).resolve().parent.parent / "cnnspec" / "emit"


@pytest.mark.parametrize("bad", ["x; import os", "None", "class", "a.b", "1x", "", "é"])
def test_names_refuse_what_is_not_an_identifier(bad):
    for make in (code.Name, lambda t: code.Attribute(code.SELF, t), lambda t: code.Keyword(t, code.Const(1)),
                 code.Param, lambda t: code.ClassDef(t, (), ())):
        with pytest.raises(ValueError):
            make(bad)


def test_constants_compare_by_their_literal():
    assert code.Const(True) != code.Const(1) and code.Const(1.0) != code.Const(1)
    assert code.Const(2) == code.Const(2) and hash(code.Const("a")) == hash(code.Const("a"))
    assert code.Const(0) != code.Name("x")
    assert expr(code.Const('say "hi"')) == "'say \"hi\"'" and expr(code.Const("same")) == '"same"'


def test_bind_fills_slots_child_references_and_defaulted_keywords():
    conv = code.Call(code.nn("Conv2d"), (code.Slot(0), code.Slot(1)),
                     (code.Keyword("kernel_size", code.Slot(2)),
                      code.Defaulted("stride", code.Slot(3), code.Const(1)),
                      code.Defaulted("padding", code.Tuple((code.Slot(2), code.Slot(2))), code.Const(0))))
    init = (code.Assign(code.Attribute(code.SELF, "conv"), conv),
            code.Assign(code.Attribute(code.SELF, "block"), code.ChildRef(0)))
    planes = code.Name("planes")
    slots = [code.Name("in_channels"), planes, code.Const(3), code.Const(1)]
    children = [code.Call(code.Name("Basic"), (code.BinOp(planes, "*", code.Const(4)),))]
    bound = code.bind(init, slots, children)
    text = [line for s in bound for line in statement(s, "")]
    assert text == ["self.conv = nn.Conv2d(in_channels, planes, kernel_size=3, padding=(3, 3))",
                    "self.block = Basic(planes * 4)"]
    slots[3] = code.Name("stride")
    assert "stride=stride" in expr(code.bind(conv, slots, children))
    with pytest.raises(TypeError):
        expr(conv)  # unbound: a slot has no text


def test_render_writes_a_module_ruff_format_would_leave_alone():
    items = tuple(code.Call(code.nn("Conv2d"), (code.Const(64), code.Const(64))) for _ in range(2))
    super_init = code.Attribute(code.Call(code.Name("super")), "__init__")
    params = (code.Param("self"), code.Param("n", code.Name("int"), code.Const(3)))
    body = (code.ExprStmt(code.Call(super_init, items, trailing=True)),)
    init = code.FunctionDef("__init__", params, code.Const(None), body)
    module = code.Module(code.Docstring(("Net: a test.",)),
                         ((code.ImportFrom("__future__", "annotations"),), (code.ImportFrom("torch", "nn"),)),
                         (code.ClassDef("Net", (code.nn("Sequential"),), (code.Docstring(("Net.",)), init)),))
    source = render(module)
    ast.parse(source)
    assert source == '''"""Net: a test."""

from __future__ import annotations

from torch import nn


class Net(nn.Sequential):
    """Net."""

    def __init__(self, n: int = 3) -> None:
        super().__init__(
            nn.Conv2d(64, 64),
            nn.Conv2d(64, 64),
        )
'''


def test_the_emitter_fills_no_text_with_markers():
    for path in EMIT.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"\\x0[0-3]|[\x00-\x03]", text), path


def test_a_one_element_tuple_keeps_its_comma():
    assert expr(code.Tuple((code.Const(3),))) == "(3,)"
    assert expr(code.Tuple((code.Const(3), code.Const(4)))) == "(3, 4)"
