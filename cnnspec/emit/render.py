"""The one place the generated file becomes text: :func:`render` writes a
:class:`~cnnspec.emit.code.Module` out as ruff format lays it out.

Each expression is written on one line, each statement too (``self.layer1 =
nn.Sequential(Basic(64), Basic(64),)``), and :func:`cnnspec.emit.pyformat.layout` splits the
statement by black's rules where it is too long or has a magic trailing comma. Docstrings
are wrapped by :func:`cnnspec.emit.literals.docstring`; a layer type's own module is pasted
and laid out by :func:`cnnspec.emit.pyformat.reflow`. Blank lines: one between the members
of a class, two between top-level blocks, as ruff format wants them.
"""

from __future__ import annotations

from cnnspec.emit import code
from cnnspec.emit.literals import docstring, literal
from cnnspec.emit.pyformat import INDENT, layout, reflow


def render(module: code.Module) -> str:
    """The module as source text."""
    lines = docstring(list(module.docstring.paragraphs), "").rstrip("\n").split("\n")
    for group in module.imports:
        lines.append("")
        lines += [line for item in group for line in statement(item, "")]
    for block in module.body:
        lines += ["", "", *statement(block, "")]
    return "\n".join(lines) + "\n"


def expr(node) -> str:
    """An expression on one line."""
    write = _EXPRESSIONS.get(type(node))
    if write is None:
        raise TypeError(f"cannot write {type(node).__name__} (an unbound placeholder?)")
    return write(node)


def _bracket(opening: str, items: list, closing: str, trailing: bool = False) -> str:
    return opening + ", ".join(items) + ("," if trailing and items else "") + closing


def _call(node: code.Call) -> str:
    items = [expr(a) for a in node.args] + [expr(k) for k in node.kwargs]
    return expr(node.func) + _bracket("(", items, ")", node.trailing)


_EXPRESSIONS = {
    code.Name: lambda n: n.id,
    code.Attribute: lambda n: f"{expr(n.value)}.{n.attr}",
    code.Const: lambda n: literal(n.value),
    code.Tuple: lambda n: _bracket("(", [expr(i) for i in n.items], ")", n.trailing or len(n.items) == 1),
    code.List: lambda n: _bracket("[", [expr(i) for i in n.items], "]", n.trailing),
    code.Dict: lambda n: _bracket("{", [f"{expr(k)}: {expr(v)}" for k, v in n.items], "}", n.trailing),
    code.Keyword: lambda n: f"{n.name}={expr(n.value)}",
    code.Call: _call,
    code.BinOp: lambda n: f"{expr(n.left)} {n.op} {expr(n.right)}",
    code.Subscript: lambda n: f"{expr(n.value)}[{expr(n.index)}]",
    code.Raw: lambda n: n.text,
}


def statement(node, indent: str) -> list[str]:
    """A statement or block as lines at ``indent``."""
    return _STATEMENTS[type(node)](node, indent)


def _body(nodes, indent: str) -> list[str]:
    return [line for node in nodes for line in statement(node, indent + INDENT)]


def _param(node: code.Param) -> str:
    text = node.name
    if node.annotation is not None:
        text += f": {expr(node.annotation)}"
    if node.default is not None:
        text += f" = {expr(node.default)}" if node.annotation is not None else f"={expr(node.default)}"
    return text


def _function(node: code.FunctionDef, indent: str) -> list[str]:
    params = ", ".join(_param(p) for p in node.params)
    return layout(f"def {node.name}({params}) -> {expr(node.returns)}:", indent) + _body(node.body, indent)


def _class(node: code.ClassDef, indent: str) -> list[str]:
    lines = layout(f"class {node.name}({', '.join(expr(b) for b in node.bases)}):", indent)
    for i, member in enumerate(node.body):
        lines += ([""] if i else []) + statement(member, indent + INDENT)
    return lines


def _for(node: code.For, indent: str) -> list[str]:
    return layout(f"for {expr(node.target)} in {expr(node.iter)}:", indent) + _body(node.body, indent)


_STATEMENTS = {
    code.Assign: lambda n, indent: layout(f"{expr(n.target)} = {expr(n.value)}", indent),
    code.ExprStmt: lambda n, indent: layout(expr(n.value), indent),
    code.Return: lambda n, indent: layout(f"return {expr(n.value)}", indent),
    code.For: _for,
    code.Comment: lambda n, indent: [f"{indent}# {n.text}"],
    code.Docstring: lambda n, indent: docstring(list(n.paragraphs), indent).rstrip("\n").split("\n"),
    code.FunctionDef: _function,
    code.ClassDef: _class,
    code.Import: lambda n, indent: [f"{indent}import {n.module}"],
    code.ImportFrom: lambda n, indent: [f"{indent}from {n.module} import {n.name}"],
    code.Verbatim: lambda n, indent: reflow(n.text.rstrip("\n") + "\n").rstrip("\n").split("\n"),
}
